"""OPC UA security against a real asyncua server and clients on 127.0.0.1: certificates, users, refusals."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.opcua import OpcUaSignaller
from app.station.signals.opcua_security import (
    OpcUaSecurity,
    OpcUaSecurityError,
    make_self_signed_certificate,
    write_server_certificate,
)
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore

from .fakes import FakeJudge
from .helpers import free_port
from .plc_clients import OpcUaPlc
from .test_ready import inspect_when_ready

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_URI = "urn:defectseek:test-plc"
PASSWORD = "correct horse battery staple"
TRIGGERED = FeedSettings(lost_after_s=2.0, backoff_initial_s=0.1, expect_continuous_frames=False, probe_retry_s=0.2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A station certificate pair, a trusted client pair and an untrusted client pair on disk."""
    root = tmp_path_factory.mktemp("pki")
    server_certificate, server_key = write_server_certificate(root / "server", ["127.0.0.1", "localhost"])
    files = {"server_certificate": server_certificate, "server_key": server_key}
    (root / "trusted").mkdir()
    for name in ("client", "stranger"):
        certificate, key = make_self_signed_certificate(f"test {name}", CLIENT_URI, ["localhost"])
        files[f"{name}_certificate"] = root / f"{name}.der"
        files[f"{name}_key"] = root / f"{name}-key.pem"
        files[f"{name}_certificate"].write_bytes(certificate)
        files[f"{name}_key"].write_bytes(key)
    (root / "trusted" / "client.der").write_bytes(files["client_certificate"].read_bytes())
    files["trusted"] = root / "trusted"
    return files


def secured(pki, mode="SignAndEncrypt", username="plc") -> OpcUaSecurity:
    return OpcUaSecurity(mode=mode, certificate=pki["server_certificate"], private_key=pki["server_key"],
                         trusted_clients=pki["trusted"], username=username, password=PASSWORD if username else "")


def client_settings(pki, name="client", mode=ua.MessageSecurityMode.SignAndEncrypt, username="plc",
                    password=PASSWORD):
    """Return a function that configures an asyncua client before it connects."""

    def configure(client) -> None:
        client.application_uri = CLIENT_URI
        if mode is not None:
            client.set_security(SecurityPolicyBasic256Sha256, certificate=str(pki[f"{name}_certificate"]),
                                private_key=str(pki[f"{name}_key"]), mode=mode)
        if username:
            client.set_user(username)
            client.set_password(password)

    return configure


@pytest.fixture
def station(tmp_path, request):
    """A one-lane triggered line behind an OPC UA signaller built from the test's security settings."""
    started = []

    def start(security: OpcUaSecurity):
        signaller = OpcUaSignaller(lanes=1, port=free_port(), heartbeat_s=0, security=security)
        store = ResultStore.open(tmp_path / "store")
        pipeline = InspectionPipeline(JudgeSlot(FakeJudge()), store, signaller, PipelineSettings(result_deadline_s=2))
        camera = FakeCamera(1000, "continue", fps=0, software_trigger=True)
        pipeline.add_feed(CameraFeed("cam0", camera.driver, TRIGGERED), lane=0, mode="plc")
        started.append((pipeline, signaller, store))
        signaller.start()
        pipeline.refresh_ready()
        pipeline.start()
        return signaller

    yield start
    for pipeline, signaller, store in started:
        pipeline.stop()
        signaller.stop()
        store.close()


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
def test_trusted_client_inspects_part(pki, station, mode):
    signaller = station(secured(pki, mode=mode))
    message_mode = getattr(ua.MessageSecurityMode, mode)
    plc = OpcUaPlc(signaller.endpoint, configure=client_settings(pki, mode=message_mode))
    try:
        assert inspect_when_ready(plc, 21) == ResultCode.OK
        assert plc.read().result_counter == 1
    finally:
        plc.close()


REFUSED_CLIENTS = {
    "anonymous_none_policy": {"mode": None, "username": ""},
    "none_policy_with_user": {"mode": None},
    "anonymous_secure_channel": {"username": ""},
    "wrong_password": {"password": "guess"},
    "untrusted_certificate": {"name": "stranger"},
    "sign_only_client": {"mode": ua.MessageSecurityMode.Sign},
}


@pytest.mark.parametrize("case", sorted(REFUSED_CLIENTS))
def test_client_refused(pki, station, case):
    signaller = station(secured(pki))
    with pytest.raises(Exception) as raised:
        plc = OpcUaPlc(signaller.endpoint, configure=client_settings(pki, **REFUSED_CLIENTS[case]))
        plc.close()
    assert not isinstance(raised.value, AssertionError)
    if case == "wrong_password":
        assert signaller.user_manager.rejected == 1


async def raw_session_on_unsecured_channel(endpoint: str) -> str:
    """Open a None channel without the client's endpoint check and request a session; returns the outcome."""
    client = Client(endpoint)
    await client.connect_socket()
    try:
        await client.send_hello()
        await client.open_secure_channel()
        endpoints = await client.get_endpoints()
        assert {endpoint.SecurityMode for endpoint in endpoints} == {ua.MessageSecurityMode.SignAndEncrypt}
        parameters = ua.CreateSessionParameters(
            ClientDescription=ua.ApplicationDescription(ApplicationUri=CLIENT_URI,
                                                        ApplicationType=ua.ApplicationType.Client),
            EndpointUrl=endpoint, SessionName="intruder", ClientNonce=os.urandom(32),
            RequestedSessionTimeout=60000, MaxResponseMessageSize=0)
        try:
            await client.uaclient.create_session(parameters)
        except ua.UaStatusCodeError as error:
            return type(error).__name__
        return "session created"
    finally:
        client.disconnect_socket()


def test_unsecured_channel_gets_no_session(pki, station):
    signaller = station(secured(pki, username=""))
    assert asyncio.run(raw_session_on_unsecured_channel(signaller.endpoint)) == "BadSecurityModeRejected"


def test_anonymous_sessions_without_username(pki, station):
    signaller = station(secured(pki, username=""))
    plc = OpcUaPlc(signaller.endpoint, configure=client_settings(pki, username=""))
    try:
        assert inspect_when_ready(plc, 5) == ResultCode.OK
    finally:
        plc.close()


def test_none_mode_warns(station, caplog):
    with caplog.at_level(logging.WARNING, logger="app.station.signals.opcua"):
        signaller = station(OpcUaSecurity(mode="None"))
    plc = OpcUaPlc(signaller.endpoint)
    try:
        assert inspect_when_ready(plc, 6) == ResultCode.OK
    finally:
        plc.close()
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("has no security" in message for message in warnings)


def missing_certificate(pki, tmp_path):
    return OpcUaSecurity(certificate=tmp_path / "absent.der", private_key=pki["server_key"])


def unreadable_key(pki, tmp_path):
    return OpcUaSecurity(certificate=pki["server_certificate"], private_key=tmp_path)


def key_of_other_pair(pki, tmp_path):
    return OpcUaSecurity(certificate=pki["server_certificate"], private_key=pki["client_key"])


def not_a_certificate(pki, tmp_path):
    fake = tmp_path / "cert.der"
    fake.write_bytes(b"not a certificate")
    return OpcUaSecurity(certificate=fake, private_key=pki["server_key"])


def files_not_set(pki, tmp_path):
    return OpcUaSecurity()


def empty_trusted_folder(pki, tmp_path):
    (tmp_path / "empty").mkdir()
    return OpcUaSecurity(certificate=pki["server_certificate"], private_key=pki["server_key"],
                         trusted_clients=tmp_path / "empty")


BAD_FILES = {
    missing_certificate: "absent.der not found",
    unreadable_key: "cannot be read",
    key_of_other_pair: "does not belong to",
    not_a_certificate: "is not an X.509 certificate",
    files_not_set: "plc.opcua_certificate is not set",
    empty_trusted_folder: "contains no certificate",
}


@pytest.mark.parametrize("make_security", list(BAD_FILES), ids=lambda function: function.__name__)
def test_bad_files_refuse_start(pki, tmp_path, make_security):
    signaller = OpcUaSignaller(lanes=1, port=free_port(), heartbeat_s=0, security=make_security(pki, tmp_path))
    with pytest.raises(OpcUaSecurityError, match=BAD_FILES[make_security]):
        signaller.start()
    signaller.stop()


def test_station_process_refuses_missing_certificate(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text(f"""
[station]
data_dir = "{tmp_path / 'data'}"

[plc]
protocol = "opcua"
port = {free_port()}
opcua_certificate = "{tmp_path / 'missing.der'}"
opcua_private_key = "{tmp_path / 'missing-key.pem'}"

[[cameras]]
id = "cam0"
kind = "fake"
lane = 0
""")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.run([sys.executable, "-m", "app.station.main", "--config", str(config)], cwd=REPO_ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 3
    assert "plc.opcua_certificate" in process.stderr
    assert "missing.der not found" in process.stderr
    assert "--make-opcua-certificate" in process.stderr


def test_certificate_command_writes_pair(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "app.station.main", "--make-opcua-certificate", str(tmp_path / "pki"),
               "--hostname", "line-3.local", "--hostname", "10.0.0.7"]
    process = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert "opcua_certificate = " in process.stdout
    key = tmp_path / "pki" / "opcua-server-key.pem"
    assert key.stat().st_mode & 0o077 == 0
    from cryptography import x509

    certificate = x509.load_der_x509_certificate((tmp_path / "pki" / "opcua-server.der").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:defectseek:station:line-3.local"]
    assert names.get_values_for_type(x509.DNSName) == ["line-3.local"]
    assert [str(address) for address in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    again = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert "already exists" in again.stderr
