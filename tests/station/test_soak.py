"""Soak: a two-camera station with Modbus, webhook, disk limit and camera failures runs for 30 minutes.

Set ``DEFECTSEEK_SOAK_S`` to shorten or lengthen the run (default 1800 seconds).
"""

from __future__ import annotations

import os
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from pymodbus.client import ModbusTcpClient

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.modbus import LANE_BLOCK, ModbusSignaller
from app.station.signals.webhook import WebhookSink
from app.station.sources.base import CameraError
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore, StoreSettings

from .fakes import FakeJudge
from .test_signals import MesHandler

SOAK_S = float(os.environ.get("DEFECTSEEK_SOAK_S", "1800"))
FAILURE_EVERY_FRAMES = 3000
BASELINE_AFTER_S = 120
MAX_RSS_GROWTH_MB = 64


class FlakyCamera(FakeCamera):
    """Streams distinct frames and fails 6 reads in a row every ``FAILURE_EVERY_FRAMES`` frames."""

    def __init__(self, **options) -> None:
        super().__init__(10**9, "continue", **options)
        self.failures_left = 0
        self.outages = 0

    def next_raw(self, release):
        with self._lock:
            if self.frames_served and self.frames_served % FAILURE_EVERY_FRAMES == 0 and self.failures_left == 0:
                self.failures_left = 6
                self.outages += 1
                self.frames_served += 1
            if self.failures_left > 0:
                self.failures_left -= 1
                raise CameraError("soak: injected read failure")
        return super().next_raw(release)


def rss_mb() -> float | None:
    """Return the current resident set size in MiB, or None where /proc is missing."""
    try:
        pages = int(open("/proc/self/statm").read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.timeout(SOAK_S + 300)
def test_station_soak(tmp_path, port):
    MesHandler.received = []
    MesHandler.received_count = 0
    MesHandler.keep_bodies = False
    MesHandler.fail_first = 0
    mes = ThreadingHTTPServer(("127.0.0.1", 0), MesHandler)
    threading.Thread(target=mes.serve_forever, daemon=True).start()
    store = ResultStore.open(tmp_path / "store", StoreSettings(max_disk_bytes=20 * 1024 * 1024, ok_sample_every=10))
    judge = FakeJudge(delay_s=0.005, is_ng=lambda source: source.endswith("7"), record_batches=False)
    signaller = ModbusSignaller(lanes=2, port=port, heartbeat_s=0.5)
    pipeline = InspectionPipeline(JudgeSlot(judge), store, signaller, PipelineSettings(result_deadline_s=1.0))
    free_camera = FlakyCamera(fps=25, width=320, height=240, seed=1)
    triggered = FakeCamera(10**9, "continue", fps=0, software_trigger=True, width=320, height=240, seed=2)
    pipeline.add_feed(CameraFeed("free", free_camera.driver, FeedSettings(backoff_max_s=2)), lane=0)
    pipeline.add_feed(CameraFeed("plc", triggered.driver, FeedSettings(expect_continuous_frames=False)), lane=1,
                      mode="plc")
    sink = WebhookSink(store, f"http://127.0.0.1:{mes.server_port}/r", "soak")

    signaller.start()
    pipeline.refresh_ready()
    pipeline.start()
    sink.start()
    client = ModbusTcpClient("127.0.0.1", port=port)
    assert client.connect()
    triggers = answered = 0
    baseline_threads = None
    baseline_rss = None
    started = time.monotonic()

    try:
        while time.monotonic() - started < SOAK_S:
            registers = client.read_holding_registers(LANE_BLOCK, count=6, device_id=1).registers
            counter = registers[3]
            triggers += 1
            client.write_registers(LANE_BLOCK + 8, [1, triggers & 0xFFFF], device_id=1)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                registers = client.read_holding_registers(LANE_BLOCK, count=6, device_id=1).registers
                if registers[3] != counter:
                    answered += 1
                    break
                time.sleep(0.002)
            client.write_registers(LANE_BLOCK + 8, [2, triggers & 0xFFFF], device_id=1)
            client.write_registers(LANE_BLOCK + 8, [0, triggers & 0xFFFF], device_id=1)
            time.sleep(0.05)
            if baseline_threads is None and time.monotonic() - started > BASELINE_AFTER_S:
                baseline_threads = threading.active_count()
                baseline_rss = rss_mb()
    finally:
        client.close()
        final_rss = rss_mb()
        status = pipeline.status()
        sink.stop()
        pipeline.stop()
        signaller.stop()
        usage = store.disk_usage_bytes()
        codes = status["counters"]
        store.close()
        mes.shutdown()

    assert answered == triggers
    assert free_camera.outages >= 1
    assert status["feeds"]["free"]["reconnects"] >= free_camera.outages
    assert usage <= 20 * 1024 * 1024
    assert codes.get(f"code_{ResultCode.NG_OVERLOAD.name}", 0) == 0
    assert codes.get(f"code_{ResultCode.NG_ERROR.name}", 0) == 0
    if baseline_threads is not None:
        assert threading.active_count() <= baseline_threads + 5
    if baseline_rss is not None and final_rss is not None:
        assert final_rss - baseline_rss < MAX_RSS_GROWTH_MB
    assert MesHandler.received_count > 0
