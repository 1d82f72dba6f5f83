"""The station with a real bundle: trained by the CLI on the shipped sample, run by the line runtime."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from app.station.bundles import BundleManager, DeployError
from app.station.deploy_client import push_bundle, rollback
from app.station.deploy_service import DeployService
from app.station.judge import InspectorJudge, JudgeSlot, inspector_opener
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.base import NullSignaller
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.sources.folder_source import FolderDriver
from app.station.store import ResultStore
from labeling.imageio import find_images, read_image

from .helpers import wait_until

SAMPLE_TEST = Path(__file__).resolve().parents[2] / "assets" / "sample" / "test"


def sample_images() -> list[Path]:
    images, _ = find_images([SAMPLE_TEST])
    if not images:
        pytest.skip(f"no sample test images at {SAMPLE_TEST}")
    return images


def test_inspector_judge_matches_runtime(sample_model):
    judge = InspectorJudge(sample_model, engine="onnxruntime", device="cpu")
    judge.warm_up()
    images = [read_image(path) for path in sample_images()]
    judgements = judge.judge(images)
    assert len(judgements) == len(images)
    for judgement in judgements:
        assert judgement.verdict in ("OK", "NG")
        assert judgement.bundle_id == judge.bundle_id
        assert (judgement.score > judgement.threshold) == (judgement.verdict == "NG")


def test_tampered_bundle_rejected(sample_model, tmp_path):
    copy = shutil.copytree(sample_model, tmp_path / "tampered")
    victim = next(path for path in sorted(copy.rglob("*")) if path.is_file() and path.name != "manifest.json")
    victim.write_bytes(victim.read_bytes() + b"\0")
    manager = BundleManager(tmp_path / "deploy", JudgeSlot(), inspector_opener("onnxruntime", "cpu"))
    with pytest.raises(DeployError, match="rejected by the runtime"):
        manager.install_directory(copy)
    assert manager.status()["installed"] == []


def test_folder_line_with_real_bundle(sample_model, tmp_path):
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    signaller = NullSignaller()
    signaller.start()
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=30.0))
    manager = BundleManager(tmp_path / "deploy", slot, inspector_opener("onnxruntime", "cpu"),
                            on_swap=pipeline.refresh_ready)
    installed = manager.install_directory(sample_model)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    driver = FolderDriver(inbox, poll_s=0.05, settle_s=0.05)
    pipeline.add_feed(CameraFeed("folder", lambda: driver, FeedSettings(expect_continuous_frames=False)), lane=0)
    pipeline.start()
    images = sample_images()

    try:
        for path in images:
            shutil.copy(path, inbox / f"{path.parent.name}_{path.name}")
        assert wait_until(lambda: len(signaller.published) == len(images), timeout_s=120)
        time.sleep(0.2)
    finally:
        pipeline.stop()
        signaller.stop()
    rows = store.recent(100)
    store.close()

    assert len(rows) == len(images)
    for row in rows:
        assert row["bundle_id"] == installed.bundle_id
        assert row["result_code"] in (ResultCode.OK.name, ResultCode.NG.name)
        assert row["threshold"] is not None
        assert row["frame_ref"].startswith(str(inbox))
        if row["verdict"] == "NG":
            assert row["image_path"]


def test_real_bundle_hot_swap_and_rollback(sample_model, tmp_path):
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    signaller = NullSignaller()
    signaller.start()
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=10.0, queue_size=64))
    manager = BundleManager(tmp_path / "deploy", slot, inspector_opener("onnxruntime", "cpu"),
                            on_swap=pipeline.refresh_ready)
    first = manager.install_directory(sample_model)
    camera = FakeCamera(120, "repeat", fps=20, width=128, height=128)
    pipeline.add_feed(CameraFeed("cam0", camera.driver, FeedSettings(frozen_after_s=30)), lane=0)
    service = DeployService(manager, store, pipeline.status, "token", port=0)
    port = service.start()
    pipeline.start()

    try:
        assert wait_until(lambda: len(signaller.published) >= 30, timeout_s=60)
        pushed = push_bundle("127.0.0.1", port, "token", sample_model)
        assert manager.status()["current"] == pushed["name"]
        assert wait_until(lambda: len(signaller.published) >= 60, timeout_s=60)
        assert rollback("127.0.0.1", port, "token")["name"] == first.name
        assert wait_until(lambda: len(signaller.published) == 120, timeout_s=60)
    finally:
        pipeline.stop()
        service.stop()
        signaller.stop()

    published = signaller.published
    assert [result.frame_sequence for result in published] == list(range(1, 121))
    assert {result.result_code for result in published} <= {ResultCode.OK, ResultCode.NG}
    assert {result.bundle_id for result in published} == {first.bundle_id}
    assert manager.status()["previous"] == pushed["name"]
    assert store.count() == 120
    store.close()


def test_too_deep_frame_is_a_frame_error(sample_model, tmp_path):
    # A camera switched to 16 bits for an 8-bit model must not fail the inference batch
    # or raise the model fault: the frame alone is rejected with the depth in the reason.
    tifffile = pytest.importorskip("tifffile")
    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    signaller = NullSignaller()
    signaller.start()
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=30.0))
    BundleManager(tmp_path / "deploy", slot, inspector_opener("onnxruntime", "cpu"),
                  on_swap=pipeline.refresh_ready).install_directory(sample_model)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    driver = FolderDriver(inbox, poll_s=0.05, settle_s=0.05)
    pipeline.add_feed(CameraFeed("folder", lambda: driver, FeedSettings(expect_continuous_frames=False)), lane=0)
    pipeline.start()
    gray = read_image(sample_images()[0]).pixels
    if gray.ndim == 3:
        gray = gray[:, :, 0]

    try:
        tifffile.imwrite(inbox / "deep.tif", gray.astype("uint16") * 257)
        assert wait_until(lambda: len(signaller.published) == 1, timeout_s=60)
    finally:
        pipeline.stop()
        signaller.stop()
    rows = store.recent(10)
    store.close()

    assert len(rows) == 1
    assert rows[0]["result_code"] == ResultCode.NG_ERROR.name
    assert rows[0]["reason"].startswith("frame rejected")
    assert "16-bit values" in rows[0]["reason"]
    assert signaller.published[0].result_code == ResultCode.NG_ERROR
