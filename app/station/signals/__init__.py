"""Signals to the PLC (Modbus TCP, OPC UA) and result sinks for the MES (HTTP webhook)."""
