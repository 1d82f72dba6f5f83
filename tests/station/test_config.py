"""Station config: a complete file parses, and each kind of mistake names its key and the fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from app.station.config import ConfigError, load_config, parse_config

EXAMPLE = """
[station]
name = "line-3"
data_dir = "{data}"

[pipeline]
result_deadline_ms = 300
max_batch = 2

[plc]
protocol = "modbus"
port = 1502

[deploy]
enabled = true
token_file = "{token}"

[[cameras]]
id = "top"
kind = "fake"
lane = 0
fps = 20

[[cameras]]
id = "side"
kind = "folder"
lane = 1
mode = "plc"
path = "/srv/inbox"
"""


def minimal(**changes):
    data = {"station": {"data_dir": "/tmp/station"}, "cameras": [{"id": "a", "kind": "fake", "lane": 0}]}
    for key, value in changes.items():
        data[key] = value
    return data


def test_example_toml_parses(tmp_path):
    token = tmp_path / "token"
    token.write_text("abc\n")
    path = tmp_path / "station.toml"
    path.write_text(EXAMPLE.format(data=tmp_path / "data", token=token))
    config = load_config(path)
    assert config.station["name"] == "line-3"
    assert config.pipeline["result_deadline_ms"] == 300
    assert config.pipeline["queue_size"] == 16
    assert config.plc["port"] == 1502
    assert [camera.id for camera in config.cameras] == ["top", "side"]
    assert config.cameras[0].options["fps"] == 20
    assert config.cameras[1].options["path"] == "/srv/inbox"
    assert config.cameras[1].mode == "plc"
    assert config.deploy_token() == "abc"


def test_json_config_parses(tmp_path):
    path = tmp_path / "station.json"
    path.write_text(json.dumps(minimal()))
    assert load_config(path).cameras[0].kind == "fake"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(pipeline={"result_deadline_ms": -5}), "pipeline.result_deadline_ms must be a number > 0, got -5"),
        (minimal(pipeline={"queue_size": "8"}), "pipeline.queue_size must be an integer, got '8'"),
        (minimal(plc={"protocl": "modbus"}), "unknown key plc.protocl"),
        (minimal(plc={"protocol": "profinet"}), "plc.protocol must be one of none, modbus, opcua"),
        (minimal(camera=[]), "unknown section 'camera'"),
        (minimal(station={}), "station.data_dir is missing"),
        (minimal(cameras=[]), "no cameras"),
        (minimal(cameras=[{"id": "a", "kind": "gige", "lane": 0}]), "cameras[0].kind must be one of"),
        (minimal(cameras=[{"id": "a", "kind": "folder", "lane": 0}]), "cameras[0].path is missing"),
        (minimal(cameras=[{"id": "a", "kind": "fake"}]), "cameras[0].lane is missing"),
        (minimal(cameras=[{"id": "a", "kind": "fake", "lane": 0}, {"id": "b", "kind": "fake", "lane": 0}]),
         "cameras share lane 0"),
        (minimal(deploy={"enabled": True}), "deploy.token_file is empty"),
        (minimal(deploy={"require_signature": True, "enabled": True, "token_file": "/t"}), "deploy.public_key is empty"),
        (minimal(deploy={"enabled": "yes"}), "deploy.enabled must be true or false"),
        (minimal(plc={"protocol": "opcua"}), "plc.opcua_security_mode is SignAndEncrypt but plc.opcua_certificate"),
        (minimal(plc={"protocol": "opcua", "opcua_security_mode": "Sign", "opcua_certificate": "/c.der"}),
         "--make-opcua-certificate"),
        (minimal(plc={"protocol": "opcua", "opcua_security_mode": "Basic128Rsa15"}),
         "plc.opcua_security_mode must be one of Sign, SignAndEncrypt"),
        (minimal(plc={"protocol": "opcua", "opcua_security_mode": "None", "opcua_username": "plc"}),
         "plc.opcua_password_file is empty"),
    ],
)
def test_invalid_config_names_key(data, message, monkeypatch):
    monkeypatch.delenv("DEFECTSEEK_DEPLOY_TOKEN", raising=False)
    monkeypatch.delenv("DEFECTSEEK_OPCUA_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, Path("station.toml"))
    assert message in str(caught.value)
    assert str(caught.value).startswith("station.toml: ")


def test_unreadable_toml_reports_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[station\n")
    with pytest.raises(ConfigError, match="broken.toml: invalid TOML"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "nope.toml")


def test_hardware_trigger_camera_not_expected_to_stream():
    from app.station.station import feed_settings

    cameras = [{"id": "free", "kind": "fake", "lane": 0},
               {"id": "eye", "kind": "fake", "lane": 1, "hardware_trigger": True},
               {"id": "inbox", "kind": "folder", "lane": 2, "path": "/srv/inbox"}]
    config = parse_config(minimal(cameras=cameras), Path("station.toml"))
    continuous = [feed_settings(camera).expect_continuous_frames for camera in config.cameras]
    assert continuous == [True, False, False]


def test_opcua_none_mode_needs_no_files():
    config = parse_config(minimal(plc={"protocol": "opcua", "opcua_security_mode": "None"}), Path("station.toml"))
    assert config.plc["opcua_security_mode"] == "None"
    assert config.plc["opcua_certificate"] == ""


def test_opcua_password_read_from_file(tmp_path):
    password_file = tmp_path / "opcua.password"
    password_file.write_text("s3cret\n")
    plc = {"protocol": "opcua", "opcua_certificate": "/c.der", "opcua_private_key": "/k.pem",
           "opcua_username": "plc", "opcua_password_file": str(password_file)}
    config = parse_config(minimal(plc=plc), Path("station.toml"))
    assert config.opcua_password() == "s3cret"


@pytest.mark.parametrize(("level", "expected"), [("INFO", logging.WARNING), ("DEBUG", logging.NOTSET)])
def test_protocol_libraries_stay_quiet_below_debug(level: str, expected: int) -> None:
    from app.station.main import CHATTY_LOGGERS, quiet_protocol_libraries

    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    quiet_protocol_libraries(level)
    assert [logging.getLogger(name).level for name in CHATTY_LOGGERS] == [expected] * len(CHATTY_LOGGERS)
