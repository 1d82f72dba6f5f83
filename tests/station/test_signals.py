"""PLC handshake over real Modbus TCP and OPC UA servers, and MES webhook delivery, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.base import FaultCode
from app.station.signals.modbus import LANE_BLOCK, ModbusSignaller
from app.station.signals.opcua import NAMESPACE_URI, OpcUaSignaller
from app.station.signals.opcua_security import OpcUaSecurity
from app.station.signals.webhook import WebhookSink
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore

from .fakes import FakeJudge
from .helpers import wait_until
from .test_store import make_result

READY, BUSY, VALID, PASS, FAIL, FAULT, HEARTBEAT = (1 << bit for bit in range(7))
TRIGGERED = FeedSettings(lost_after_s=2.0, backoff_initial_s=0.1, expect_continuous_frames=False)


def start_line(tmp_path, signaller, judge, cameras=1):
    store = ResultStore.open(tmp_path / "store")
    pipeline = InspectionPipeline(JudgeSlot(judge), store, signaller, PipelineSettings(result_deadline_s=1.0))
    for lane in range(cameras):
        camera = FakeCamera(1000, "continue", fps=0, software_trigger=True, seed=lane)
        pipeline.add_feed(CameraFeed(f"cam{lane}", camera.driver, TRIGGERED), lane=lane, mode="plc")
    signaller.start()
    pipeline.refresh_ready()
    pipeline.start()
    return pipeline, store


class Plc:
    """A Modbus client playing the PLC."""

    def __init__(self, port: int) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port)
        assert self.client.connect()

    def registers(self, lane: int) -> list[int]:
        reply = self.client.read_holding_registers(lane * LANE_BLOCK, count=10, device_id=1)
        assert not reply.isError()
        return reply.registers

    def control(self, lane: int, control: int, trigger_id: int) -> None:
        reply = self.client.write_registers(lane * LANE_BLOCK + 8, [control, trigger_id], device_id=1)
        assert not reply.isError()


def test_modbus_trigger_result_ack(tmp_path, port):
    # Device frame 0 answers the feed's probe trigger, so the two parts get frames 1 and 2.
    judge = FakeJudge(is_ng=lambda source: source.endswith("#2"))
    signaller = ModbusSignaller(lanes=2, port=port, heartbeat_s=0.1)
    pipeline, store = start_line(tmp_path, signaller, judge, cameras=2)
    plc = Plc(port)
    try:
        assert wait_until(lambda: plc.registers(1)[0] & READY, timeout_s=5)
        for trigger_id, expected in ((101, PASS), (102, FAIL)):
            counter = plc.registers(1)[3]
            plc.control(1, 1, trigger_id)
            assert wait_until(lambda counter=counter: plc.registers(1)[3] == counter + 1, timeout_s=5)
            status, code, echo, _, score, fault_code = plc.registers(1)[:6]
            assert status & VALID
            assert status & expected
            assert not status & BUSY
            assert echo == trigger_id
            assert code == (ResultCode.OK if expected == PASS else ResultCode.NG)
            assert score == (200 if expected == PASS else 1800)
            assert fault_code == 0
            plc.control(1, 2, trigger_id)
            assert wait_until(lambda: not plc.registers(1)[0] & VALID, timeout_s=5)
            plc.control(1, 0, trigger_id)
        assert plc.registers(0)[3] == 0
        assert len(judge.batches) == 2
        beats = {plc.registers(0)[0] & HEARTBEAT for _ in range(40) if not threading.Event().wait(0.01)}
        assert beats == {0, HEARTBEAT}
    finally:
        plc.client.close()
        pipeline.stop()
        signaller.stop()
        store.close()


def test_modbus_fault_and_reset(tmp_path, port):
    judge = FakeJudge()
    judge.fail = True
    signaller = ModbusSignaller(lanes=1, port=port, heartbeat_s=0)
    pipeline, store = start_line(tmp_path, signaller, judge)
    plc = Plc(port)
    try:
        assert wait_until(lambda: plc.registers(0)[0] & READY, timeout_s=5)
        plc.control(0, 1, 7)
        assert wait_until(lambda: plc.registers(0)[3] == 1, timeout_s=5)
        status, code, *_ , fault_code = plc.registers(0)[:6]
        assert status & FAIL
        assert status & FAULT
        assert code == ResultCode.NG_ERROR
        assert fault_code == FaultCode.MODEL_ERROR
        judge.fail = False
        plc.control(0, 0, 7)
        plc.control(0, 4, 7)
        assert wait_until(lambda: not plc.registers(0)[0] & FAULT, timeout_s=5)
        assert plc.registers(0)[5] == 0
    finally:
        plc.client.close()
        pipeline.stop()
        signaller.stop()
        store.close()


def test_modbus_station_registers_read_only(port):
    signaller = ModbusSignaller(lanes=1, port=port, heartbeat_s=0)
    signaller.start()
    plc = Plc(port)
    try:
        assert plc.client.write_register(0, 0xFFFF, device_id=1).isError()
        assert plc.client.write_register(3, 5, device_id=1).isError()
        assert not plc.client.write_register(9, 5, device_id=1).isError()
        assert plc.registers(0)[:6] == [0, 0, 0, 0, 0, 0]
    finally:
        plc.client.close()
        signaller.stop()


def test_opcua_trigger_and_result(tmp_path, port):
    judge = FakeJudge()
    signaller = OpcUaSignaller(lanes=1, port=port, heartbeat_s=0, security=OpcUaSecurity(mode="None"))
    pipeline, store = start_line(tmp_path, signaller, judge)

    async def plc() -> dict[str, object]:
        async with Client(f"opc.tcp://127.0.0.1:{port}/defectseek/station") as client:
            namespace = await client.get_namespace_index(NAMESPACE_URI)
            lane = await client.nodes.objects.get_child([f"{namespace}:Station", f"{namespace}:Lane0"])

            async def node(name):
                return await lane.get_child(f"{namespace}:{name}")

            for _ in range(500):
                if await (await node("Ready")).read_value():
                    break
                await asyncio.sleep(0.01)
            await (await node("TriggerId")).write_value(ua.Variant(33, ua.VariantType.UInt16))
            await (await node("Trigger")).write_value(ua.Variant(True, ua.VariantType.Boolean))
            for _ in range(500):
                if await (await node("ResultValid")).read_value():
                    break
                await asyncio.sleep(0.01)
            names = ("ResultValid", "Pass", "Fail", "ResultCode", "TriggerIdEcho", "ResultCounter", "Score")
            values = {name: await (await node(name)).read_value() for name in names}
            await (await node("ResultAck")).write_value(ua.Variant(True, ua.VariantType.Boolean))
            for _ in range(500):
                if not await (await node("ResultValid")).read_value():
                    values["cleared"] = True
                    break
                await asyncio.sleep(0.01)
            return values

    try:
        values = asyncio.run(plc())
    finally:
        pipeline.stop()
        signaller.stop()
        store.close()
    assert values["ResultValid"] is True
    assert values["Pass"] is True
    assert values["Fail"] is False
    assert values["ResultCode"] == ResultCode.OK
    assert values["TriggerIdEcho"] == 33
    assert values["ResultCounter"] == 1
    assert values["Score"] == pytest.approx(0.2)
    assert values.get("cleared") is True


class MesHandler(BaseHTTPRequestHandler):
    """Accepts posted results, failing the first ``fail_first`` requests with HTTP 500."""

    received: list[dict[str, object]] = []
    received_count = 0
    keep_bodies = True
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(500)
        else:
            type(self).received_count += 1
            if type(self).keep_bodies:
                type(self).received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server signature
        return None


def test_webhook_retries_and_marks_synced(tmp_path):
    MesHandler.received = []
    MesHandler.fail_first = 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), MesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = ResultStore.open(tmp_path)
    results = [make_result(index, ng=index == 1) for index in range(3)]
    for result in results:
        store.record(result)
    sink = WebhookSink(store, f"http://127.0.0.1:{server.server_port}/results", "line-1", max_backoff_s=0.2)
    sink.start()
    try:
        assert wait_until(lambda: len(MesHandler.received) == 3, timeout_s=10)
        late = make_result(3, ng=True)
        store.record(late)
        assert wait_until(lambda: len(MesHandler.received) == 4, timeout_s=10)
        assert wait_until(lambda: store.unsynced() == [], timeout_s=5)
    finally:
        sink.stop()
        server.shutdown()
        store.close()
    assert [body["job_id"] for body in MesHandler.received] == [r.job_id for r in [*results, late]]
    assert MesHandler.received[1]["verdict"] == "NG"
    assert MesHandler.received[0]["station"] == "line-1"
    assert sink.failures == 2
