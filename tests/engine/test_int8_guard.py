"""INT8 compiles stay within the accuracy guard; a broken quantization is rejected and writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from engine.compile import pipeline
from engine.compile import quantize as quantize_module
from engine.compile.pipeline import CompileError, CompileOptions, compile_bundle
from engine.compile.validate import GuardRejected
from engine.runtime import Inspector
from tests.conftest import shared_set
from tests.engine.conftest import SETS, TEST_IMAGES

# NOTE: the guard rejects the slice models (10 training images at 128x128) on both engines,
# so these cases run with the slow marker. ONNX Runtime and OpenVINO INT8 changed 3 and 4
# verdicts of 96 on magnetic_tile and 1 and 2 of 64 on kolektorsdd, and elpv passed. Models
# trained on all 60 images at their default size pass on all three sets
# (docs/benchmarks-engine.md).
INT8_SETS = [pytest.param(name, marks=pytest.mark.slow) for name in SETS]


def _compile_int8(models, name: str, out: Path, **overrides) -> pipeline.CompileResult:
    data = shared_set(name)
    limit = overrides.pop("validation_images", 2 * TEST_IMAGES)
    options = CompileOptions(precision="int8", validation_images=limit)
    return compile_bundle(
        models.model(name), out, options, calibration=data / "train" / "good", validation=data, **overrides
    )


@pytest.mark.parametrize("name", INT8_SETS)
def test_int8_within_guard(models, tmp_path: Path, name: str) -> None:
    # With 16 images one flipped verdict (93.8 %) or one swapped good/defect pair already
    # breaks the guard's tolerance, so the guard validates on every test image of the set.
    result = _compile_int8(models, name, tmp_path / "int8", validation_images=None)
    manifest = result.manifest
    assert manifest.precision == "int8"
    tolerance = manifest.validation["tolerance"]
    engines = {report.engine for report in result.reports}
    assert {"onnxruntime:CPUExecutionProvider", "openvino"} <= engines
    for report in result.reports:
        assert report.verdict_agreement >= tolerance["min_verdict_agreement"], report
        if report.auroc_drop_points is not None:
            assert report.auroc_drop_points <= tolerance["auroc_drop_points"], report
    inspector = Inspector.open(result.bundle, engine="onnxruntime", device="cpu")
    assert inspector.self_test_result.passed


def _break_weights(quantize):
    """Wrap the QDQ quantizer so that every weight scale is tripled (a deliberately broken quantization)."""

    def broken(model: onnx.ModelProto, calibration: np.ndarray, exclude, *options) -> onnx.ModelProto:
        quantized = quantize(model, calibration, exclude, *options)
        scale_names = {
            node.input[1]
            for node in quantized.graph.node
            if node.op_type == "DequantizeLinear" and node.input[0].endswith("_quantized")
        }
        for tensor in quantized.graph.initializer:
            if tensor.name in scale_names:
                tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * 3.0, tensor.name))
        return quantized

    return broken


def test_guard_rejects_broken_quantization(models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quantize_module, "quantize_onnx_qdq", _break_weights(quantize_module.quantize_onnx_qdq))
    out = tmp_path / "broken"
    with pytest.raises(GuardRejected) as caught:
        _compile_int8(models, "magnetic_tile", out)
    assert "onnxruntime:CPUExecutionProvider" in str(caught.value)
    assert "was not written" in str(caught.value)
    assert not out.exists()


def test_int8_needs_calibration(models, tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="--calibration"):
        compile_bundle(models.model("magnetic_tile"), tmp_path / "x", CompileOptions(precision="int8"))
