"""The INT8 quantization settings that the accuracy guard was measured with stay the compile defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from engine.compile.graphs import openvino_float_scopes
from engine.compile.layer_search import MAX_EXTRA_ROUNDS
from engine.compile.pipeline import CompileOptions
from engine.compile.quantize import quantize_openvino_nncf


def _tiny_convolution_model(path: Path) -> Path:
    """Write a 1x1 convolution followed by a 3x3 average pooling as an ONNX file."""
    weight = numpy_helper.from_array(np.ones((4, 3, 1, 1), dtype=np.float32), "weight")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "weight"], ["convolved"], name="/extractor/blocks.3/_project_conv/Conv"),
            helper.make_node(
                "AveragePool",
                ["convolved"],
                ["features"],
                name="/extractor/AveragePool",
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
            ),
        ],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 4, 8, 8])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path))
    return path


def test_default_float_layers() -> None:
    options = CompileOptions()
    assert options.float_blocks == 3
    assert options.calibration_method == "percentile"
    assert options.openvino_float_blocks == 2
    assert options.openvino_float_depthwise == (11, 12, 15, 16, 17, 18, 19)
    assert options.openvino_layer_search is True
    assert options.openvino_search_float_blocks == 1
    assert MAX_EXTRA_ROUNDS == 3
    assert options.openvino_activation_ranges == "minmax"


def test_openvino_float_scopes_default() -> None:
    scopes = openvino_float_scopes(CompileOptions())
    assert scopes == [
        "/extractor/intensity/",
        "/extractor/stem/",
        "/extractor/blocks.0/",
        "/extractor/blocks.1/",
        "/extractor/blocks.11/_depthwise_conv/",
        "/extractor/blocks.12/_depthwise_conv/",
        "/extractor/blocks.15/_depthwise_conv/",
        "/extractor/blocks.16/_depthwise_conv/",
        "/extractor/blocks.17/_depthwise_conv/",
        "/extractor/blocks.18/_depthwise_conv/",
        "/extractor/blocks.19/_depthwise_conv/",
    ]


def test_openvino_float_scopes_chosen_blocks() -> None:
    scopes = openvino_float_scopes(CompileOptions(), (12,))
    assert scopes[-1] == "/extractor/blocks.12/_depthwise_conv/"
    assert len(scopes) == 5
    assert openvino_float_scopes(CompileOptions(), ()) == [
        "/extractor/intensity/",
        "/extractor/stem/",
        "/extractor/blocks.0/",
        "/extractor/blocks.1/",
    ]


def test_nncf_gets_pinned_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nncf
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    calls = []

    def record(model, dataset, **settings):
        calls.append(settings)
        return model

    monkeypatch.setattr(nncf, "quantize", record)
    source = _tiny_convolution_model(tmp_path / "tiny.onnx")
    calibration = np.zeros((3, 3, 8, 8), dtype=np.float32)
    quantize_openvino_nncf(source, calibration, [], openvino_float_scopes(CompileOptions()))

    assert len(calls) == 1
    settings = calls[0]
    assert settings["subset_size"] == 3
    assert settings["fast_bias_correction"] is True
    assert "preset" not in settings
    ranges = settings["advanced_parameters"].activations_range_estimator_params
    assert ranges == RangeEstimatorParametersSet.MINMAX
    scope = settings["ignored_scope"]
    assert "^/extractor/blocks\\.11/_depthwise_conv/.*" in scope.patterns
    assert "^/extractor/blocks\\.12/_depthwise_conv/.*" in scope.patterns
    assert "^/extractor/blocks\\.19/_depthwise_conv/.*" in scope.patterns
    assert scope.types == ["AvgPool"]


def test_nncf_rejects_unknown_ranges(tmp_path: Path) -> None:
    source = _tiny_convolution_model(tmp_path / "tiny.onnx")
    calibration = np.zeros((1, 3, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="unknown activation ranges 'histogram'"):
        quantize_openvino_nncf(source, calibration, [], activation_ranges="histogram")
