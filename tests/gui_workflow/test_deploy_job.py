"""The deploy job on a small trained model: cpu bundles at fp32 and int8, guard verdicts, timing, export."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.gui.workflow.deploy_job import DeployRequest, export_bundle, run_deploy
from app.gui.workflow.jobs import JobFailure
from app.gui.workflow.train_job import TrainRequest, run_training
from engine.bundle import load_manifest
from labeling.imageio import write_image


def _ignore(*_args) -> None:
    return None


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> tuple[Path, tuple[str, ...]]:
    """A 128 x 128 model trained on eight generated good images."""
    folder = tmp_path_factory.mktemp("deploy")
    rng = np.random.default_rng(3)
    images = []
    for index in range(8):
        pixels = rng.integers(80, 120, (128, 160), np.uint8)
        images.append(str(write_image(folder / "good" / f"{index}.png", pixels)))
    model = folder / "model"
    run_training(TrainRequest(tuple(images), str(model), size=(128, 128)), _ignore, threading.Event())
    return model, tuple(images)


@pytest.mark.parametrize("precision", ["fp32", pytest.param("int8", marks=pytest.mark.slow)])
def test_cpu_bundle_built_and_timed(trained_model, tmp_path, precision):
    model, images = trained_model
    request = DeployRequest(str(model), str(tmp_path), ("cpu",), precision, images[:2], images)
    (entry,) = run_deploy(request, _ignore, threading.Event())["bundles"]
    assert entry["error"] == "", entry
    assert entry["guard"]["passed"] is True
    assert entry["guard"]["copied"] is False
    assert entry["guard"]["reports"], "the guard compares every compiled graph on held-out images"
    for report in entry["guard"]["reports"]:
        assert report["images"] == 2
        assert report["agreement"] >= 0.5
    assert entry["ms_per_image"] > 0
    manifest = load_manifest(entry["path"])[1]
    assert manifest.precision == precision
    assert manifest.bundle_id == entry["bundle_id"]


def test_missing_target_rejected(trained_model, tmp_path):
    model, images = trained_model
    with pytest.raises(JobFailure, match="no target chosen"):
        run_deploy(DeployRequest(str(model), str(tmp_path), ()), _ignore, threading.Event())
    with pytest.raises(JobFailure, match="invalid precision"):
        run_deploy(DeployRequest(str(model), str(tmp_path), ("cpu",), "int4"), _ignore, threading.Event())


def test_export_folder_and_zip(trained_model, tmp_path):
    model, _ = trained_model
    folder = export_bundle(model, tmp_path / "usb", as_zip=False)
    archive = export_bundle(model, tmp_path / "usb", as_zip=True)
    assert load_manifest(folder)[1].bundle_id == load_manifest(model)[1].bundle_id
    assert archive.suffix == ".zip"
    assert archive.stat().st_size > 0
