"""Synchronous PLC stand-ins for the station tests: one over Modbus TCP, one over OPC UA."""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import ua
from asyncua.sync import Client
from pymodbus.client import ModbusTcpClient

from app.station.signals.modbus import CONTROL_OFFSET, LANE_BLOCK
from app.station.signals.opcua import NAMESPACE_URI


@dataclass(frozen=True)
class LaneView:
    """What the PLC reads from one lane."""

    ready: bool
    fault: bool
    fault_code: int
    result_code: int
    trigger_echo: int
    result_counter: int


class ModbusPlc:
    """Reads and writes one lane's handshake registers."""

    def __init__(self, port: int, lane: int = 0) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port)
        self.base = lane * LANE_BLOCK
        if not self.client.connect():
            raise ConnectionError(f"Modbus server on 127.0.0.1:{port} refused the connection")

    def read(self) -> LaneView:
        reply = self.client.read_holding_registers(self.base, count=6, device_id=1)
        if reply.isError():
            raise ConnectionError(f"Modbus read failed: {reply}")
        status, code, echo, counter, _, fault_code = reply.registers
        return LaneView(bool(status & 1), bool(status & 32), fault_code, code, echo, counter)

    def control(self, control: int, trigger_id: int) -> None:
        reply = self.client.write_registers(self.base + CONTROL_OFFSET, [control, trigger_id], device_id=1)
        if reply.isError():
            raise ConnectionError(f"Modbus write failed: {reply}")

    def close(self) -> None:
        self.client.close()


class OpcUaPlc:
    """Reads and writes one lane's handshake variables through an asyncua client.

    Args:
        endpoint: the station's ``opc.tcp://`` URL.
        lane: the lane to read and write.
        configure: called with the client before it connects (security settings, user).
    """

    def __init__(self, endpoint: str, lane: int = 0, configure=None) -> None:
        self.client = Client(endpoint, timeout=10)
        try:
            if configure is not None:
                configure(self.client)
            self.client.connect()
            namespace = self.client.get_namespace_index(NAMESPACE_URI)
            folder = self.client.nodes.objects.get_child([f"{namespace}:Station", f"{namespace}:Lane{lane}"])
        except BaseException:
            # The sync client runs its event loop in a non-daemon thread, which would keep
            # the test process alive after a rejected connection unless it is stopped.
            self.close()
            raise
        names = ("Ready", "Fault", "FaultCode", "ResultCode", "TriggerIdEcho", "ResultCounter", "Trigger",
                 "ResultAck", "TriggerId")
        self.nodes = {name: folder.get_child(f"{namespace}:{name}") for name in names}

    def read(self) -> LaneView:
        values = {name: self.nodes[name].read_value() for name in
                  ("Ready", "Fault", "FaultCode", "ResultCode", "TriggerIdEcho", "ResultCounter")}
        return LaneView(values["Ready"], values["Fault"], values["FaultCode"], values["ResultCode"],
                        values["TriggerIdEcho"], values["ResultCounter"])

    def control(self, control: int, trigger_id: int) -> None:
        self.nodes["TriggerId"].write_value(ua.Variant(trigger_id, ua.VariantType.UInt16))
        self.nodes["ResultAck"].write_value(ua.Variant(bool(control & 2), ua.VariantType.Boolean))
        self.nodes["Trigger"].write_value(ua.Variant(bool(control & 1), ua.VariantType.Boolean))

    def close(self) -> None:
        """Disconnect; the client's event loop thread stops even when the disconnect fails."""
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - a rejected or broken connection has nothing left to close
            pass
