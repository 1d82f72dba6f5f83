"""Bundle verification: schema, hashes and unlisted files are checked before anything loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from anomaly import TrainConfig
from app.cli.main import main
from engine.bundle import BundleError, load_manifest, zip_bundle
from engine.runtime import Inspector
from tests.conftest import SAMPLE


@pytest.fixture()
def bundle_copy(sample_model: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(sample_model, target)
    return target


def test_manifest_lists_every_file(sample_model: Path) -> None:
    root, manifest = load_manifest(sample_model)
    files = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}
    assert set(manifest.files) == files - {"manifest.json"}
    assert manifest.precision == "fp32"
    assert manifest.postprocessing.threshold_method == "good-prediction-bound"
    assert manifest.training["backbone"] == TrainConfig().backbone


def test_tampered_graph_is_rejected(bundle_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = bundle_copy / "model.onnx"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        Inspector.open(bundle_copy)
    assert main(["run", str(bundle_copy), str(SAMPLE / "test" / "good")]) == 2
    assert "model.onnx" in capsys.readouterr().err


def test_tampered_threshold_is_rejected(bundle_copy: Path) -> None:
    state = bundle_copy / "training" / "config.json"
    config = json.loads(state.read_text(encoding="utf-8"))
    config["seed"] = 99
    state.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(BundleError, match="config.json"):
        load_manifest(bundle_copy)


def test_missing_and_extra_files_are_rejected(bundle_copy: Path) -> None:
    (bundle_copy / "notes.txt").write_text("added by hand", encoding="utf-8")
    with pytest.raises(BundleError, match="not listed"):
        load_manifest(bundle_copy)
    (bundle_copy / "notes.txt").unlink()
    (bundle_copy / "training" / "state.npz").unlink()
    with pytest.raises(BundleError, match="missing"):
        load_manifest(bundle_copy)


def test_unsupported_schema_is_rejected(bundle_copy: Path) -> None:
    manifest_path = bundle_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["schema_version"] = 999
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="schema version 999"):
        load_manifest(bundle_copy)


def test_damaged_manifest_is_rejected(bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="cannot be read as JSON"):
        load_manifest(bundle_copy)


def test_zipped_bundle_runs(sample_model: Path, tmp_path: Path) -> None:
    archive = zip_bundle(sample_model, tmp_path / "bundle.zip")
    inspector = Inspector.open(archive, engine="onnxruntime", device="cpu")
    assert inspector.manifest.bundle_id == load_manifest(sample_model)[1].bundle_id


def test_atomic_writes_use_normal_file_mode(tmp_path: Path) -> None:
    import os
    import stat

    from labeling.fileio import atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "<p>ok</p>")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
