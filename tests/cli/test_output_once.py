"""Output of the ``inspect`` command: each message once, no third-party progress or log noise without -v."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from app.cli.main import main
from app.cli.progress import ProgressBar
from app.cli.quiet import OwnRecordsFilter, third_party_stdout
from engine.runtime import engines
from tests.conftest import SAMPLE

REFERENCE_IMAGE = SAMPLE / "test" / "crack" / "exp1_num_249594.png"
SUMMARY_PREFIXES = ("bundle: ", "target: ", "head: ", "note: ", "openvino int8: ", "onnxruntime int8: ", "validation ", "guard: ")
THIRD_PARTY_TEXT = (
    "Collecting tensor data",
    "Finding optimal threshold",
    "Number of tensors",
    "Statistics collection",
    "Bias correction",
    "pre-processing",
    "INFO:nncf",
)


def _record(name: str, level: int) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, "message", None, None)


def test_fp32_compile_warns_once(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compile", str(sample_model), "--out", str(tmp_path / "bundle")])

    captured = capsys.readouterr()
    assert status == 0
    assert captured.err.lower().count("no validation images") == 1
    assert "--validation DIR" in captured.err
    assert "no validation" not in captured.out.lower()


def test_compile_stages_on_stderr(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["compile", str(sample_model), "--out", str(tmp_path / "bundle"), "--validation", str(SAMPLE)]

    status = main(arguments)

    captured = capsys.readouterr()
    stages = [line for line in captured.err.splitlines() if line.startswith("compile: ")]
    assert status == 0, captured.err
    assert len(stages) == 4, stages
    assert "fp32" in stages[2]
    assert "validation images" in stages[3]
    assert "compile: " not in captured.out


def test_int8_compile_hides_library_output(
    sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["compile", str(sample_model), "--out", str(tmp_path / "bundle"), "--precision", "int8"]
    arguments += ["--calibration", str(SAMPLE / "train" / "good"), "--validation", str(SAMPLE)]

    status = main(arguments)

    captured = capsys.readouterr()
    assert status in (0, 4), captured.err
    for text in THIRD_PARTY_TEXT:
        assert text not in captured.out
        assert text not in captured.err
    for line in captured.out.splitlines():
        assert line.startswith(SUMMARY_PREFIXES), line
    if status == 0:
        assert "openvino int8: kept in float: the stem" in captured.out
        assert "onnxruntime int8: kept in float: the stem" in captured.out
        assert "guard: passed on every graph" in captured.out
        # The two engines run separately quantized graphs, and the self-test allows for that.
        assert main(["self-test", "--bundle", str(tmp_path / "bundle"), "--image", str(REFERENCE_IMAGE)]) == 0
        checked = capsys.readouterr().out
        assert "note: the engines run separately quantized INT8 graphs" in checked
        assert "self-test passed" in checked


def test_stdout_redirect_keeps_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with third_party_stdout(verbose=False):
        print("library progress")
        ProgressBar(enabled=True)("export", 1, 1)
    with third_party_stdout(verbose=True):
        print("library detail")

    captured = capsys.readouterr()
    assert "library progress" not in captured.out + captured.err
    assert "export" in captured.err
    assert "library detail" in captured.err
    assert captured.out == ""
    print("after the block")
    assert capsys.readouterr().out == "after the block\n"


def test_filter_hides_library_warnings() -> None:
    keep = OwnRecordsFilter()

    assert keep.filter(_record("engine.compile.pipeline", logging.WARNING))
    assert keep.filter(_record("app.cli.run_command", logging.INFO))
    assert not keep.filter(_record("root", logging.WARNING))
    assert not keep.filter(_record("nncf", logging.WARNING))
    assert keep.filter(_record("nncf", logging.ERROR))


def test_auto_cpu_bundle_has_no_warning(
    sample_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])

    status = main(["run", str(sample_model), str(REFERENCE_IMAGE), "--device", "auto"])

    err = capsys.readouterr().err
    assert status == 0
    assert "warning" not in err
    assert "GPU" not in err
    assert err.count("engine: ") == 1


@pytest.fixture(scope="module")
def nvidia_bundle(sample_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model compiled for the nvidia target: an ONNX graph with the fused head and no OpenVINO graph."""
    out = tmp_path_factory.mktemp("nvidia") / "bundle"
    assert main(["compile", str(sample_model), "--out", str(out), "--target", "nvidia"]) == 0
    return out


def test_auto_gpu_bundle_warns_once(
    nvidia_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])

    status = main(["run", str(nvidia_bundle), str(REFERENCE_IMAGE), "--device", "auto"])

    err = capsys.readouterr().err
    assert status == 0
    assert err.count("warning") == 1
    assert err.count("compiled for nvidia") == 1
    assert "running on the CPU" in err
    assert "engine: onnxruntime on CPUExecutionProvider" in err


def test_gpu_bundle_on_openvino_names_fix(nvidia_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", str(nvidia_bundle), str(REFERENCE_IMAGE), "--engine", "openvino", "--device", "cpu"])

    err = capsys.readouterr().err
    assert status == 2
    assert "OpenVINO cannot read" in err
    assert "--engine onnxruntime" in err
    assert "--target cpu" in err


def test_truncated_manifest_names_fix(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "truncated"
    shutil.copytree(sample_model, bundle)
    manifest_path = bundle / "manifest.json"
    manifest_path.write_bytes(manifest_path.read_bytes()[:200])

    status = main(["run", str(bundle), str(REFERENCE_IMAGE)])

    err = capsys.readouterr().err
    assert status == 2
    assert str(manifest_path) in err
    assert "truncated or corrupt" in err
    assert "copy the bundle again" in err
    assert "inspect compile MODEL --out BUNDLE" in err
    assert err.count("error: ") == 1


def test_manifest_without_schema_names_fix(
    sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "empty_manifest"
    shutil.copytree(sample_model, bundle)
    (bundle / "manifest.json").write_text("{}", encoding="utf-8")

    status = main(["run", str(bundle), str(REFERENCE_IMAGE)])

    err = capsys.readouterr().err
    assert status == 2
    assert "no schema_version" in err
    assert "inspect compile MODEL --out BUNDLE" in err


def test_self_test_failure_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_bundle"

    status = main(["self-test", "--bundle", str(missing), "--image", str(REFERENCE_IMAGE)])

    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert status == 1
    for engine in ("onnxruntime", "openvino"):
        assert output.count(f"self-test FAILED: {engine} failed: BundleError") == 1
    assert output.count(str(missing)) == 2
    assert "Self-test on" not in output
