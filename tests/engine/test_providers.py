"""Engine and provider selection: simulated missing providers, failure messages, threads and precision hints."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.cli.main import main
from engine.runtime import engines
from engine.runtime.engines import EngineUnavailableError, OnnxRuntimeEngine, OpenVinoEngine, open_engine


@pytest.fixture()
def graph(models) -> Path:
    return models.fp32_bundle("magnetic_tile") / "model.onnx"


def test_explicit_gpu_without_provider_fails(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])
    for device, provider in (("nvidia", "TensorrtExecutionProvider"), ("amd", "MIGraphXExecutionProvider")):
        with pytest.raises(EngineUnavailableError) as caught:
            open_engine(graph, engine="onnxruntime", device=device)
        message = str(caught.value)
        assert f"--device {device}" in message
        assert provider in message
        assert "--device cpu" in message
        assert engines.GPU_PACKAGES[device] in message
    assert "onnxruntime-gpu" in engines.GPU_PACKAGES["nvidia"]


def test_auto_falls_back_to_cpu_with_warning(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])
    choice = open_engine(graph, engine="onnxruntime", device="auto", threads=1)
    assert choice.engine.provider == "CPUExecutionProvider"
    assert "running on the CPU" in choice.fallback_warning


def test_auto_skips_gpu_provider_that_fails(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The provider is listed as available but ONNX Runtime cannot start it here (no GPU build).
    monkeypatch.setattr(
        engines, "available_ort_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    choice = open_engine(graph, engine="onnxruntime", device="auto", threads=1)
    assert choice.engine.provider == "CPUExecutionProvider"
    assert choice.fallback_warning
    with pytest.raises(EngineUnavailableError, match="could not start CUDAExecutionProvider"):
        open_engine(graph, engine="onnxruntime", device="nvidia", threads=1)


def test_auto_cpu_target_falls_back_quietly(
    graph: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.INFO, logger="engine.runtime.engines"):
        choice = open_engine(graph, engine="onnxruntime", device="auto", threads=1, target="cpu")
    assert choice.engine.provider == "CPUExecutionProvider"
    assert choice.fallback_warning is None
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert any("CPUExecutionProvider" in record.getMessage() for record in caplog.records)


def test_auto_gpu_target_warns_once(graph: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(
        engines, "available_ort_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    with caplog.at_level(logging.INFO, logger="engine.runtime.engines"):
        choice = open_engine(graph, engine="onnxruntime", device="auto", threads=1, target="nvidia")
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert choice.engine.provider == "CPUExecutionProvider"
    assert warnings == [choice.fallback_warning]
    assert "compiled for nvidia" in choice.fallback_warning
    assert "could not start CUDAExecutionProvider" in choice.fallback_warning
    assert "running on the CPU" in choice.fallback_warning


def test_missing_openvino_messages(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "openvino_installed", lambda: False)
    with pytest.raises(EngineUnavailableError, match="pip install openvino"):
        open_engine(graph, engine="openvino", device="cpu")
    choice = open_engine(graph, engine="auto", device="cpu", threads=1)
    assert choice.engine.name == "onnxruntime"
    with pytest.raises(EngineUnavailableError, match="does not run on the nvidia device"):
        open_engine(graph, engine="openvino", device="nvidia")


def test_missing_onnxruntime_message(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: [])
    with pytest.raises(EngineUnavailableError, match="pip install onnxruntime"):
        open_engine(graph, engine="onnxruntime", device="cpu")


def test_cli_explicit_device_exits_nonzero(models, monkeypatch, capsys) -> None:
    monkeypatch.setattr(engines, "available_ort_providers", lambda: ["CPUExecutionProvider"])
    bundle = models.fp32_bundle("magnetic_tile")
    image = next((Path(__file__).resolve().parents[2] / "assets" / "sample" / "test" / "good").iterdir())
    status = main(["run", str(bundle), str(image), "--engine", "onnxruntime", "--device", "nvidia"])
    assert status != 0
    assert "TensorrtExecutionProvider" in capsys.readouterr().err


def test_onnxruntime_thread_settings(graph: Path) -> None:
    engine = OnnxRuntimeEngine(graph, ["CPUExecutionProvider"], threads=1)
    options = engine.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_openvino_thread_and_precision_settings(models) -> None:
    bundle = models.fp32_bundle("magnetic_tile")
    engine = OpenVinoEngine(bundle / "openvino" / "model.xml", threads=1, precision="fp32")
    assert int(engine.compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert str(engine.compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"
    assert int(engine.compiled.get_property("NUM_STREAMS")) == 1
