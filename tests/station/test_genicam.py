"""GenICam: software-trigger configuration on a real GenApi node map, and PLC triggers on the virtual camera.

NOTE: the virtual GenTL producer that the genicam package ships (``viky.cti``, genicam
1.6.0) runs free only: it has no TriggerMode, TriggerSource or TriggerSoftware, and
AcquisitionMode offers only Continuous. So no test acquires a software-triggered frame
through GenTL. The feature writes and the command run here against the reference
GenApi implementation with a register map in memory, and the acquisition path runs on
the free-running virtual camera with PLC triggers taking the next fresh frame.
"""

from __future__ import annotations

import os
import struct

import pytest

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.base import NullSignaller
from app.station.sources.base import CameraError
from app.station.sources.feed import CameraFeed, FeedSettings, FeedState
from app.station.store import ResultStore

from .fakes import FakeJudge
from .helpers import wait_until

genapi = pytest.importorskip("genicam.genapi")

TRIGGER_SELECTOR_REGISTER = 0x0
TRIGGER_MODE_REGISTER = 0x4
TRIGGER_SOURCE_REGISTER = 0x8
TRIGGER_SOFTWARE_REGISTER = 0xC
FRAME_START, ACQUISITION_START = 1, 0
MODE_OFF, MODE_ON = 0, 1
SOURCE_LINE0, SOURCE_SOFTWARE = 0, 7
COMMAND_VALUE = 1


def int_register(name: str, address: int) -> str:
    return (f'<IntReg Name="{name}"><Address>{address:#x}</Address><Length>4</Length><AccessMode>RW</AccessMode>'
            '<pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>LittleEndian</Endianess></IntReg>')


def enumeration(name: str, register: str, entries: dict[str, int]) -> str:
    items = "".join(f'<EnumEntry Name="{entry}"><Value>{value}</Value></EnumEntry>' for entry, value in entries.items())
    return f'<Enumeration Name="{name}" NameSpace="Standard">{items}<pValue>{register}</pValue></Enumeration>'


def camera_description(with_software_command: bool = True) -> str:
    """Return a GenICam XML with the SFNC trigger features of a camera, backed by 32-bit registers."""
    features = ["TriggerSelector", "TriggerMode", "TriggerSource"]
    nodes = [
        enumeration("TriggerSelector", "TriggerSelectorReg",
                    {"AcquisitionStart": ACQUISITION_START, "FrameStart": FRAME_START}),
        int_register("TriggerSelectorReg", TRIGGER_SELECTOR_REGISTER),
        enumeration("TriggerMode", "TriggerModeReg", {"Off": MODE_OFF, "On": MODE_ON}),
        int_register("TriggerModeReg", TRIGGER_MODE_REGISTER),
        enumeration("TriggerSource", "TriggerSourceReg", {"Line0": SOURCE_LINE0, "Software": SOURCE_SOFTWARE}),
        int_register("TriggerSourceReg", TRIGGER_SOURCE_REGISTER),
    ]
    if with_software_command:
        features.append("TriggerSoftware")
        nodes += [
            '<Command Name="TriggerSoftware" NameSpace="Standard"><pValue>TriggerSoftwareReg</pValue>'
            f'<CommandValue>{COMMAND_VALUE}</CommandValue></Command>',
            int_register("TriggerSoftwareReg", TRIGGER_SOFTWARE_REGISTER),
        ]
    feature_list = "".join(f"<pFeature>{name}</pFeature>" for name in features)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<RegisterDescription ModelName="TriggerTest" VendorName="DefectSeek" StandardNameSpace="None" '
        'SchemaMajorVersion="1" SchemaMinorVersion="1" SchemaSubMinorVersion="0" MajorVersion="1" '
        'MinorVersion="0" SubMinorVersion="0" ProductGuid="7D9D5C0E-4C3B-4E9B-9E1C-2B7A3F1D0A01" '
        'VersionGuid="7D9D5C0E-4C3B-4E9B-9E1C-2B7A3F1D0A02" '
        'xmlns="http://www.genicam.org/GenApi/Version_1_1">'
        f'<Category Name="Root" NameSpace="Standard">{feature_list}</Category>'
        + "".join(nodes)
        + '<Port Name="Device" NameSpace="Standard"/></RegisterDescription>'
    )


class MemoryPort(genapi.AbstractPort):
    """A GenApi port over a bytearray of camera registers; records every write."""

    def __init__(self, size: int = 16) -> None:
        super().__init__()
        self.memory = bytearray(size)
        self.writes: list[tuple[int, int]] = []

    def get_access_mode(self):
        return genapi.EAccessMode.RW

    def read(self, address, length):
        return bytes(self.memory[address:address + length])

    def write(self, address, value):
        self.memory[address:address + len(value)] = value
        self.writes.append((address, struct.unpack_from("<I", self.memory, address)[0]))

    def register(self, address: int) -> int:
        return struct.unpack_from("<I", self.memory, address)[0]


def node_map_with(port: MemoryPort, with_software_command: bool = True):
    node_map = genapi.NodeMap()
    node_map.load_xml_from_string(camera_description(with_software_command))
    node_map.connect(port, "Device")
    return node_map


def test_software_trigger_sets_sfnc_features():
    from app.station.sources.genicam_source import enable_software_trigger, fire_software_trigger

    port = MemoryPort()
    node_map = node_map_with(port)
    enable_software_trigger(node_map, "test-camera")
    assert port.register(TRIGGER_SELECTOR_REGISTER) == FRAME_START
    assert port.register(TRIGGER_MODE_REGISTER) == MODE_ON
    assert port.register(TRIGGER_SOURCE_REGISTER) == SOURCE_SOFTWARE
    assert port.register(TRIGGER_SOFTWARE_REGISTER) == 0
    assert node_map.TriggerMode.value == "On"
    assert node_map.TriggerSource.value == "Software"

    fire_software_trigger(node_map)
    assert port.writes[-1] == (TRIGGER_SOFTWARE_REGISTER, COMMAND_VALUE)


def test_missing_trigger_command_named():
    from app.station.sources.genicam_source import enable_software_trigger

    port = MemoryPort()
    node_map = node_map_with(port, with_software_command=False)
    with pytest.raises(CameraError, match=r"\(missing TriggerSoftware\); set software_trigger = false"):
        enable_software_trigger(node_map, "test-camera")
    assert port.register(TRIGGER_MODE_REGISTER) == MODE_OFF


def test_plc_trigger_takes_virtual_camera_frame(tmp_path):
    pytest.importorskip("harvesters")
    import genicam

    from app.station.sources.genicam_source import GenicamDriver

    cti = os.path.join(os.path.dirname(genicam.__file__), "viky.cti")
    if not os.path.isfile(cti):
        pytest.skip(f"the genicam package ships no virtual GenTL producer at {cti}")
    signaller = NullSignaller(lanes=1)
    store = ResultStore.open(tmp_path / "store")
    judge = FakeJudge()
    pipeline = InspectionPipeline(JudgeSlot(judge), store, signaller, PipelineSettings(result_deadline_s=3.0))
    feed = CameraFeed("viky", lambda: GenicamDriver(cti, "VikyTL_DEV_green"),
                      FeedSettings(frozen_after_s=2, lost_after_s=3))
    pipeline.add_feed(feed, lane=0, mode="plc")
    signaller.start()
    pipeline.refresh_ready()
    pipeline.start()
    try:
        assert wait_until(lambda: signaller.outputs(0).ready, timeout_s=20)
        assert feed.state == FeedState.LIVE
        for trigger_id in (1, 2):
            signaller.trigger(0, trigger_id)
            assert wait_until(lambda trigger_id=trigger_id: len(signaller.published) == trigger_id, timeout_s=10)
    finally:
        pipeline.stop()
        signaller.stop()
        store.close()
    first, second = signaller.published
    assert first.result_code == ResultCode.OK
    assert second.result_code == ResultCode.OK
    assert first.trigger_id == 1
    assert first.frame_ref.startswith("viky#")
    assert second.frame_sequence > first.frame_sequence
    assert pipeline.stats.counter("frames_without_trigger") > 0
