"""Compiled bundles at the runtime: tampering rejected, native-head fallback, self-test, the compile CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from app.cli.main import main
from engine.bundle import BundleError
from engine.ops.domain import HEAD_STANDARD
from engine.runtime import Inspector
from engine.runtime.engines import open_engine
from tests.conftest import shared_set


@pytest.fixture()
def bundle_copy(models, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(models.fp32_bundle("magnetic_tile"), target)
    return target


@pytest.mark.parametrize("name", ["model.onnx", "openvino/model.xml", "reference/input.npy"])
def test_tampered_file_rejected(bundle_copy: Path, name: str) -> None:
    path = bundle_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256"):
        Inspector.open(bundle_copy, engine="onnxruntime", device="cpu")


def test_tampered_manifest_rejected(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["files"].pop("model.onnx")
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not listed"):
        Inspector.open(bundle_copy, engine="onnxruntime", device="cpu")


def test_unloadable_extension_falls_back(bundle_copy: Path, tmp_path: Path) -> None:
    inspector = Inspector.open(bundle_copy, engine="onnxruntime", device="cpu", self_test=False)
    graphs = inspector.manifest.graphs
    bogus = tmp_path / "libbogus.so"
    bogus.write_bytes(b"not a library")
    choice = open_engine(
        bundle_copy / graphs["onnx"],
        engine="openvino",
        device="cpu",
        threads=1,
        openvino_model=bundle_copy / graphs["openvino"],
        openvino_native=(bundle_copy / graphs.get("openvino_native", graphs["openvino"]), bogus),
    )
    assert choice.engine.name == "openvino"
    assert choice.engine.head_path == HEAD_STANDARD
    assert "native head unavailable" in choice.fallback_warning


def test_self_test_flags_disagreement(bundle_copy: Path) -> None:
    inspector = Inspector.open(bundle_copy, engine="onnxruntime", device="cpu")
    assert inspector.self_test_result.passed
    assert inspector.warnings == ()
    reference = dict(inspector.manifest.validation["reference"])
    own = dict(reference["engine_scores"]["onnxruntime:CPUExecutionProvider"])
    own["normalized_score"] = own["normalized_score"] + 0.05
    reference["engine_scores"] = {**reference["engine_scores"], "onnxruntime:CPUExecutionProvider": own}
    validation = {**inspector.manifest.validation, "reference": reference}
    inspector.manifest = dataclasses.replace(inspector.manifest, validation=validation)
    result = inspector.self_test()
    assert not result.passed
    assert result.delta == pytest.approx(0.05, abs=1e-3)
    message = next(warning for warning in inspector.warnings if "self-test" in warning)
    assert "compile the bundle on this PC" in message


def test_self_test_compares_with_the_same_graph(bundle_copy: Path) -> None:
    inspector = Inspector.open(bundle_copy, engine="onnxruntime", device="cpu")
    reference = dict(inspector.manifest.validation["reference"])
    reference["normalized_score"] = reference["normalized_score"] + 0.05
    validation = {**inspector.manifest.validation, "reference": reference}
    inspector.manifest = dataclasses.replace(inspector.manifest, validation=validation)
    assert inspector.self_test().passed


def test_self_test_older_bundle_fp32(bundle_copy: Path) -> None:
    inspector = Inspector.open(bundle_copy, engine="onnxruntime", device="cpu")
    reference = dict(inspector.manifest.validation["reference"])
    del reference["engine_scores"]
    validation = {**inspector.manifest.validation, "reference": reference}
    inspector.manifest = dataclasses.replace(inspector.manifest, validation=validation)
    assert inspector.self_test().passed


def test_compile_cli(models, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli_bundle"
    status = main(
        [
            "compile",
            str(models.model("kolektorsdd")),
            "--out",
            str(out),
            "--validation",
            str(shared_set("kolektorsdd")),
            "--validation-images",
            "6",
            "--head",
            "function",
        ]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "precision: fp32" in printed.out
    assert "validation onnxruntime:CPUExecutionProvider: 6 images" in printed.out
    assert (out / "manifest.json").is_file()
    assert "openvino_native" not in json.loads((out / "manifest.json").read_text())["graphs"]


def test_compile_cli_int8_without_calibration(models, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compile", str(models.model("kolektorsdd")), "--out", str(tmp_path / "b"), "--precision", "int8"])
    assert status == 2
    assert "--calibration" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_nvidia_target_compiles_without_gpu(models, tmp_path: Path) -> None:
    from engine.compile.pipeline import CompileOptions, compile_bundle

    result = compile_bundle(
        models.model("elpv"),
        tmp_path / "nvidia",
        CompileOptions(target="nvidia", validation_images=6),
        validation=shared_set("elpv"),
    )
    manifest = result.manifest
    assert manifest.target == "nvidia"
    assert manifest.head["engines"] == [
        "onnxruntime:TensorrtExecutionProvider",
        "onnxruntime:CUDAExecutionProvider",
    ]
    assert "openvino" not in manifest.graphs
    assert [report.engine for report in result.reports] == ["onnxruntime:CPUExecutionProvider"]
    assert result.reports[0].verdict_agreement == 1.0
