"""A native extension library that OpenVINO cannot use leaves the compile on the standard head, with advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from anomaly import TrainConfig, load_training_images, train_patchcore
    from engine.compile import write_model_bundle

    images, _ = load_training_images([SAMPLE / "train" / "good"])
    trained = train_patchcore(images[:3], TrainConfig(size=(64, 64), min_bank_size=64))
    out = tmp_path_factory.mktemp("small") / "model"
    write_model_bundle(trained, out)
    return out


@pytest.fixture()
def unusable_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    library = tmp_path / "libdefectseek_openvino.so"
    library.write_bytes(b"not a shared library")
    monkeypatch.setenv("DEFECTSEEK_OV_EXTENSION", str(library))
    return library


def test_auto_head_falls_back_with_rebuild_advice(small_model: Path, unusable_library: Path, tmp_path: Path) -> None:
    from engine.bundle import load_manifest
    from engine.compile.pipeline import CompileOptions, compile_bundle

    out = tmp_path / "bundle"
    compile_bundle(small_model, out, CompileOptions(precision="fp32", head="auto"))
    _, manifest = load_manifest(out)
    assert "openvino_native" not in manifest.graphs
    assert "python -m engine.ops.build" in manifest.head["native_note"]


def test_native_head_request_fails_with_advice(small_model: Path, unusable_library: Path, tmp_path: Path) -> None:
    from engine.compile.pipeline import CompileError, CompileOptions, compile_bundle

    with pytest.raises(CompileError, match="rebuild it with: python -m engine.ops.build"):
        compile_bundle(small_model, tmp_path / "bundle", CompileOptions(precision="fp32", head="native"))
    assert not (tmp_path / "bundle").exists()
