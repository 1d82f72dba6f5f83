"""READY on the PLC follows the camera: low until the source delivers a frame, low while it is lost."""

from __future__ import annotations

import threading

import pytest

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.base import FaultCode
from app.station.signals.modbus import ModbusSignaller
from app.station.signals.opcua import OpcUaSignaller
from app.station.signals.opcua_security import OpcUaSecurity
from app.station.sources.base import CameraError
from app.station.sources.fake import FakeCamera, FakeDriver
from app.station.sources.feed import CameraFeed, FeedSettings, FeedState
from app.station.store import ResultStore

from .fakes import FakeJudge
from .helpers import wait_until
from .plc_clients import ModbusPlc, OpcUaPlc

TRIGGERED = FeedSettings(lost_after_s=1.0, backoff_initial_s=0.1, backoff_max_s=0.3, supervise_interval_s=0.02,
                         expect_continuous_frames=False, probe_retry_s=0.1)


class UnpluggableCamera(FakeCamera):
    """A software-triggered camera whose cable the test can pull and plug back."""

    def __init__(self, **options) -> None:
        super().__init__(10**6, "continue", fps=0, software_trigger=True, **options)
        self.unplugged = threading.Event()

    def driver(self) -> FakeDriver:
        return UnpluggableDriver(self)


class UnpluggableDriver(FakeDriver):
    """Fails to open and to read while the camera is unplugged."""

    def open(self) -> None:
        if self.camera.unplugged.is_set():
            raise CameraError("fake camera: no device answers (cable unplugged)")
        super().open()

    def read(self):
        if self.camera.unplugged.is_set():
            raise CameraError("fake camera: transfer failed (cable unplugged)")
        return super().read()


def test_probe_frame_makes_feed_live():
    camera = FakeCamera(100, "continue", fps=0, software_trigger=True, ignored_triggers=3)
    frames = []
    states = []
    feed = CameraFeed("cam", camera.driver, TRIGGERED, on_frame=frames.append,
                      on_state=lambda source, old, new: states.append((new, camera.triggers_received)))
    feed.start()
    try:
        assert wait_until(lambda: feed.state == FeedState.LIVE, timeout_s=5)
        assert states == [(FeedState.LIVE, 4)]
        assert frames == []
        assert feed.trigger()
        assert wait_until(lambda: len(frames) == 1, timeout_s=5)
    finally:
        feed.stop()
    assert frames[0].device_frame_id == 1
    assert frames[0].sequence == 1


def start_station(tmp_path, signaller, camera):
    store = ResultStore.open(tmp_path / "store")
    pipeline = InspectionPipeline(JudgeSlot(FakeJudge()), store, signaller, PipelineSettings(result_deadline_s=1.0))
    pipeline.add_feed(CameraFeed("cam0", camera.driver, TRIGGERED), lane=0, mode="plc")
    signaller.start()
    return pipeline, store


def inspect_when_ready(plc, trigger_id: int) -> int:
    """Play a PLC that waits for READY, triggers one part and acknowledges it; returns the result code."""
    assert wait_until(lambda: plc.read().ready, timeout_s=10, interval_s=0.005)
    counter = plc.read().result_counter
    plc.control(1, trigger_id)
    assert wait_until(lambda: plc.read().result_counter != counter, timeout_s=5)
    view = plc.read()
    assert view.trigger_echo == trigger_id
    plc.control(2, trigger_id)
    plc.control(0, trigger_id)
    return view.result_code


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
def test_ready_follows_camera(tmp_path, port, protocol):
    # The sensor drops its first triggers after power-up, so a camera that responds to
    # reads is not yet able to deliver a part's frame.
    camera = UnpluggableCamera(ignored_triggers=4)
    if protocol == "modbus":
        signaller = ModbusSignaller(lanes=1, port=port, heartbeat_s=0)
    else:
        signaller = OpcUaSignaller(lanes=1, port=port, heartbeat_s=0, security=OpcUaSecurity(mode="None"))
    pipeline, store = start_station(tmp_path, signaller, camera)
    plc = ModbusPlc(port) if protocol == "modbus" else OpcUaPlc(signaller.endpoint)
    try:
        assert not plc.read().ready
        pipeline.refresh_ready()
        pipeline.start()
        assert inspect_when_ready(plc, 11) == ResultCode.OK
        assert camera.triggers_received == 6

        camera.unplugged.set()
        assert wait_until(lambda: plc.read().fault_code == FaultCode.CAMERA_LOST, timeout_s=5)
        assert not plc.read().ready
        camera.ignored_triggers = 2
        camera.unplugged.clear()
        assert inspect_when_ready(plc, 12) == ResultCode.OK
        assert camera.ignored_triggers == 0
        assert plc.read().fault is False
        rows = store.recent()
    finally:
        plc.close()
        pipeline.stop()
        signaller.stop()
        store.close()
    assert [row["result_code"] for row in rows] == ["OK", "OK"]
