"""``defectseek-station`` as a process: config check, READY and Modbus handshake, deploy, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from app.station.deploy_client import DeployClientError, station_status
from app.station.results import ResultCode

from .helpers import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[station]
name = "test-line"
data_dir = "{data}"

[model]
engine = "onnxruntime"
device = "cpu"
bundle = "{bundle}"

[pipeline]
result_deadline_ms = 2000

[plc]
protocol = "modbus"
port = {modbus_port}
heartbeat_ms = 100

[deploy]
enabled = true
port = {deploy_port}
token_file = "{token}"

[[cameras]]
id = "cam0"
kind = "fake"
lane = 0
mode = "plc"
software_trigger = true
width = 64
height = 48
"""


def run_station(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen([sys.executable, "-m", "app.station.main", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_check_reports_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[station]\nname = 3\n")
    process = run_station(["--config", str(path), "--check"])
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "station.name must be a string, got 3" in output


def test_station_process_serves_and_stops(tmp_path, sample_model):
    modbus_port, deploy_port = free_port(), free_port()
    token = tmp_path / "token"
    token.write_text("process-token")
    path = tmp_path / "station.toml"
    path.write_text(CONFIG.format(data=tmp_path / "data", modbus_port=modbus_port, deploy_port=deploy_port,
                                  token=token, bundle=sample_model))
    process = run_station(["--config", str(path)])
    client = ModbusTcpClient("127.0.0.1", port=modbus_port)
    failure: AssertionError | None = None
    try:
        assert wait_until(client.connect, timeout_s=30, interval_s=0.2)

        def registers() -> list[int]:
            return client.read_holding_registers(0, count=6, device_id=1).registers

        # A PLC that triggers as soon as READY rises: READY must mean that the camera
        # can deliver the part's frame, so no part may come back NG_CAMERA.
        assert wait_until(lambda: registers()[0] & 0b1, timeout_s=60, interval_s=0.005)
        codes = []
        for trigger_id in (55, 56, 57):
            counter = registers()[3]
            client.write_registers(8, [1, trigger_id], device_id=1)
            assert wait_until(lambda counter=counter: registers()[3] != counter, timeout_s=10)
            assert registers()[2] == trigger_id
            codes.append(registers()[1])
            client.write_registers(8, [2, trigger_id], device_id=1)
            client.write_registers(8, [0, trigger_id], device_id=1)
        assert set(codes) <= {ResultCode.OK, ResultCode.NG}
        status = None
        deadline = time.monotonic() + 20
        while status is None and time.monotonic() < deadline:
            try:
                status = station_status("127.0.0.1", deploy_port, "process-token", timeout_s=2)
            except DeployClientError:
                time.sleep(0.1)
        assert status is not None
        assert status["station"] == "test-line"
        assert status["store"]["rows"] == 3
        assert status["feeds"]["cam0"]["faults"] == []
    except AssertionError as error:
        failure = error
    finally:
        client.close()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert failure is None, f"{failure}\nstation output:\n{output}"
    assert process.returncode == 0, output
    assert time.monotonic() - started < 15
    assert "Station test-line stopped" in output
