"""Deploy service: token, signature, hot swap under a running pipeline, rollback, TLS."""

from __future__ import annotations

import datetime
import ipaddress
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.station.bundles import BundleManager
from app.station.deploy_client import DeployClientError, push_bundle, recent_results, rollback, station_status
from app.station.deploy_service import DeployService
from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.base import NullSignaller
from app.station.signing import generate_key_pair, load_public_key, sign_manifest
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore

from .fakes import open_fake_bundle, write_fake_bundle
from .helpers import wait_until

TOKEN = "s3cret-token"


@pytest.fixture
def station(tmp_path):
    """A deploy service with a store and an empty judge slot, on a free port."""
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    bundles = BundleManager(tmp_path / "deploy", slot, open_fake_bundle)
    service = DeployService(bundles, store, lambda: {"bundle_id": getattr(slot.current(), "bundle_id", None)},
                            TOKEN, host="127.0.0.1", port=0)
    port = service.start()
    yield service, slot, bundles, port
    service.stop()
    store.close()


def test_push_without_token_rejected(station, tmp_path):
    service, slot, bundles, port = station
    bundle = write_fake_bundle(tmp_path / "b1", "bundle-1")
    for token in ("", "wrong-token"):
        with pytest.raises(DeployClientError) as caught:
            push_bundle("127.0.0.1", port, token, bundle)
        assert caught.value.code == "UNAUTHENTICATED"
    assert slot.current() is None
    assert bundles.status()["installed"] == []
    with pytest.raises(DeployClientError) as caught:
        station_status("127.0.0.1", port, "wrong-token")
    assert caught.value.code == "UNAUTHENTICATED"
    assert service.rejected_calls == 3


def test_push_with_token_swaps_bundle(station, tmp_path):
    service, slot, bundles, port = station
    reply = push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "b1", "bundle-1"))
    assert reply["bundle_id"] == "bundle-1"
    assert slot.current().bundle_id == "bundle-1"
    assert slot.current().ready
    assert station_status("127.0.0.1", port, TOKEN)["bundle_id"] == "bundle-1"
    assert recent_results("127.0.0.1", port, TOKEN) == []


def test_rejected_bundle_keeps_current(station, tmp_path):
    service, slot, bundles, port = station
    push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "b1", "bundle-1"))
    with pytest.raises(DeployClientError) as caught:
        push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "bad", "bad", fail=True))
    assert caught.value.code == "FAILED_PRECONDITION"
    assert "SHA-256" in str(caught.value)
    assert slot.current().bundle_id == "bundle-1"
    assert len(bundles.status()["installed"]) == 1


def test_zip_with_parent_path_rejected(station, tmp_path):
    service, slot, bundles, port = station
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("manifest.json", '{"bundle_id": "evil", "load_s": 0, "fail": false}')
        handle.writestr("../escaped.txt", "x")
    with pytest.raises(DeployClientError) as caught:
        push_bundle("127.0.0.1", port, TOKEN, archive)
    assert "outside the bundle" in str(caught.value)
    assert not (bundles.staging_dir.parent / "escaped.txt").exists()
    assert slot.current() is None


def test_rollback_restores_previous(station, tmp_path):
    service, slot, bundles, port = station
    with pytest.raises(DeployClientError):
        rollback("127.0.0.1", port, TOKEN)
    push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "b1", "bundle-1"))
    push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "b2", "bundle-2"))
    assert slot.current().bundle_id == "bundle-2"
    assert rollback("127.0.0.1", port, TOKEN)["bundle_id"] == "bundle-1"
    assert slot.current().bundle_id == "bundle-1"
    assert rollback("127.0.0.1", port, TOKEN)["bundle_id"] == "bundle-2"


def test_current_bundle_reloaded_after_restart(station, tmp_path):
    service, slot, bundles, port = station
    push_bundle("127.0.0.1", port, TOKEN, write_fake_bundle(tmp_path / "b1", "bundle-1"))
    fresh_slot = JudgeSlot()
    BundleManager(tmp_path / "deploy", fresh_slot, open_fake_bundle).load_current()
    assert fresh_slot.current().bundle_id == "bundle-1"


def test_signature_required_and_checked(tmp_path):
    generate_key_pair(tmp_path / "deploy.key", tmp_path / "deploy.pub")
    generate_key_pair(tmp_path / "other.key", tmp_path / "other.pub")
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    bundles = BundleManager(tmp_path / "deploy", slot, open_fake_bundle,
                            public_key=load_public_key(tmp_path / "deploy.pub"), require_signature=True)
    service = DeployService(bundles, store, dict, TOKEN, port=0)
    port = service.start()
    try:
        bundle = write_fake_bundle(tmp_path / "b1", "bundle-1")
        with pytest.raises(DeployClientError) as unsigned:
            push_bundle("127.0.0.1", port, TOKEN, bundle)
        assert "not signed" in str(unsigned.value)
        with pytest.raises(DeployClientError) as forged:
            push_bundle("127.0.0.1", port, TOKEN, bundle, signature=sign_manifest(bundle, tmp_path / "other.key"))
        assert "does not match" in str(forged.value)
        assert slot.current() is None
        signature = sign_manifest(bundle, tmp_path / "deploy.key")
        assert push_bundle("127.0.0.1", port, TOKEN, bundle, signature=signature)["bundle_id"] == "bundle-1"
        installed = bundles.status()["current"]
        assert (bundles.bundles_dir / f"{installed}.sig").read_bytes() == signature
    finally:
        service.stop()
        store.close()


def test_hot_swap_drops_no_frame(tmp_path):
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    signaller = NullSignaller()
    signaller.start()
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=2.0, queue_size=64))
    bundles = BundleManager(tmp_path / "deploy", slot, open_fake_bundle, on_swap=pipeline.refresh_ready)
    bundles.install_directory(write_fake_bundle(tmp_path / "b0", "bundle-0"))
    camera = FakeCamera(300, "repeat", fps=150)
    pipeline.add_feed(CameraFeed("cam0", camera.driver, FeedSettings(frozen_after_s=5)), lane=0)
    service = DeployService(bundles, store, pipeline.status, TOKEN, port=0)
    port = service.start()
    pipeline.start()

    try:
        for index in (1, 2, 3):
            assert wait_until(lambda index=index: len(signaller.published) >= index * 60, timeout_s=10)
            bundle = write_fake_bundle(tmp_path / f"b{index}", f"bundle-{index}", load_s=0.1)
            assert push_bundle("127.0.0.1", port, TOKEN, bundle)["bundle_id"] == f"bundle-{index}"
        assert wait_until(lambda: len(signaller.published) == 300, timeout_s=15)
    finally:
        pipeline.stop()
        service.stop()
        signaller.stop()

    published = signaller.published
    assert [result.frame_sequence for result in published] == list(range(1, 301))
    assert {result.result_code for result in published} == {ResultCode.OK}
    order = [int(result.bundle_id.split("-")[1]) for result in published]
    assert order == sorted(order)
    assert set(order) == {0, 1, 2, 3}
    assert store.count() == 300
    store.close()


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


def test_tls_deploy_roundtrip(tmp_path):
    cert_pem, key_pem = _self_signed(tmp_path)
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    bundles = BundleManager(tmp_path / "deploy", slot, open_fake_bundle)
    service = DeployService(bundles, store, dict, TOKEN, host="127.0.0.1", port=0, tls_cert=cert_pem, tls_key=key_pem)
    port = service.start()
    try:
        bundle = write_fake_bundle(tmp_path / "b1", "bundle-1")
        reply = push_bundle("127.0.0.1", port, TOKEN, bundle, root_certificates=cert_pem)
        assert reply["bundle_id"] == "bundle-1"
        with pytest.raises(DeployClientError):
            push_bundle("127.0.0.1", port, TOKEN, bundle, timeout_s=3)
    finally:
        service.stop()
        store.close()
