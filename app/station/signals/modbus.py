"""Modbus TCP transport: the station is a Modbus server (slave) that the PLC polls.

Holding registers, one block of ``LANE_BLOCK`` registers per lane (lane ``n`` starts at
``n * LANE_BLOCK``), protocol addresses counted from 0:

=========  ============== ====  ==================================================
offset     name           who   meaning
=========  ============== ====  ==================================================
0          STATUS         stn   bit 0 READY, 1 BUSY, 2 RESULT_VALID, 3 PASS, 4 FAIL, 5 FAULT, 6 HEARTBEAT
1          RESULT_CODE    stn   :class:`~app.station.results.ResultCode` of the last result
2          TRIGGER_ECHO   stn   trigger id of the part the last result is for
3          RESULT_COUNT   stn   increments with every result (wraps at 65535)
4          SCORE          stn   normalized score x 1000 (1000 = at the threshold)
5          FAULT_CODE     stn   :class:`~app.station.signals.base.FaultCode`, 0 when no fault
8          CONTROL        PLC   bit 0 TRIGGER, bit 1 RESULT_ACK, bit 2 FAULT_RESET (rising edges)
9          TRIGGER_ID     PLC   id of the part; write it with or before CONTROL
=========  ============== ====  ==================================================

Station registers are read-only for clients (a write returns ILLEGAL ADDRESS). The
station writes its block in one step inside the server, so a PLC read never returns a
half-written result.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from app.station.signals.base import LaneOutputs, Signaller

logger = logging.getLogger(__name__)

LANE_BLOCK = 16
STATION_REGISTERS = 6
CONTROL_OFFSET = 8
TRIGGER_ID_OFFSET = 9
WRITE_FUNCTIONS = (6, 16, 23)
START_TIMEOUT_S = 5.0

STATUS_BITS = ("ready", "busy", "result_valid", "passed", "failed", "fault", "heartbeat")


def encode_lane(outputs: LaneOutputs) -> list[int]:
    """Return the ``STATION_REGISTERS`` register values of one lane."""
    status = 0
    for bit, name in enumerate(STATUS_BITS):
        if getattr(outputs, name):
            status |= 1 << bit
    return [status, outputs.result_code, outputs.trigger_id, outputs.result_counter, outputs.score_permille,
            outputs.fault_code]


class ModbusSignaller(Signaller):
    """Serve the handshake registers on ``host:port``.

    Args:
        lanes: number of lanes.
        host: address to bind; use the PLC network's interface address in production.
        port: TCP port (502 is the Modbus standard; it needs privileges on Linux).
        device_id: Modbus unit id the PLC addresses; with 0 the server replies to every id.
        heartbeat_s: HEARTBEAT toggle period.
    """

    def __init__(self, lanes: int, host: str = "127.0.0.1", port: int = 502, device_id: int = 0,
                 heartbeat_s: float = 0.5) -> None:
        super().__init__(lanes, heartbeat_s)
        self.host = host
        self.port = port
        self.device_id = device_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._thread: threading.Thread | None = None
        self._registers: list[int] | None = None

    def _start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="modbus-server", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"Modbus server on {self.host}:{self.port} did not start within {START_TIMEOUT_S} s")
        if failure:
            raise RuntimeError(f"Modbus server could not listen on {self.host}:{self.port}: {failure[0]}. "
                               "Pick a free port or run with the privilege to bind it.") from failure[0]
        logger.info("Modbus TCP server listening on %s:%d for %d lane(s)", self.host, self.port, self.lanes)

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except Exception as error:  # noqa: BLE001 - reported to the starting thread
            failure.append(error)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    async def _listen(self) -> None:
        device = SimDevice(
            id=self.device_id,
            simdata=[SimData(address=0, count=self.lanes * LANE_BLOCK, values=0, datatype=DataType.REGISTERS)],
            action=self._on_access,
        )
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        runtime = self._server.context.devices[self.device_id]
        self._registers = runtime.block["x"][2]

    async def _on_access(self, function_code: int, start_address: int, address: int, count: int,
                         registers: list[int], values: list[int] | None) -> ExcCodes | None:
        if values is None or function_code not in WRITE_FUNCTIONS:
            return None
        written = dict(zip(range(address, address + count), values, strict=False))
        for register in written:
            if register % LANE_BLOCK < STATION_REGISTERS:
                return ExcCodes.ILLEGAL_ADDRESS
        for register, value in written.items():
            lane, offset = divmod(register, LANE_BLOCK)
            if offset != CONTROL_OFFSET:
                continue
            id_register = lane * LANE_BLOCK + TRIGGER_ID_OFFSET
            trigger_id = written.get(id_register, registers[id_register - start_address])
            self._control_written(lane, int(value), int(trigger_id))
        return None

    def _stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None or not loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(START_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the loop stops below either way
            logger.warning("Modbus server on %s:%d did not shut down cleanly", self.host, self.port, exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)

    def _write(self, lane: int, outputs: LaneOutputs) -> None:
        registers = self._registers
        if registers is None:
            return
        base = lane * LANE_BLOCK
        # One slice assignment is atomic for the server thread, so a read never returns half a result.
        registers[base:base + STATION_REGISTERS] = encode_lane(outputs)
