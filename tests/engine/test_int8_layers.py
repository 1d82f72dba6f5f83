"""The NNCF-quantized OpenVINO graph runs its quantized backbone blocks in INT8 on the CPU plugin."""

from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest

from engine.compile.export import export_onnx, load_trained_model
from engine.compile.fuse import nodes_after_aggregation
from engine.compile.graphs import openvino_float_scopes
from engine.compile.pipeline import CompileOptions
from engine.compile.quantize import quantize_openvino_nncf
from engine.compile.validate import stack_inputs
from labeling.imageio import read_image
from tests.conftest import shared_set

CALIBRATION_IMAGES = 8
INT8_PRECISIONS = ("u8", "i8")
BLOCK_PATTERN = re.compile(r"/extractor/blocks\.(\d+)/_(depthwise|expand|project)_conv/Conv/WithoutBiases$")


def _runtime_convolutions(model) -> dict[str, str]:
    """Return the runtime precision of every backbone convolution, by name, as the CPU plugin compiled it."""
    import openvino as ov

    core = ov.Core()
    if "INT8" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no INT8 support in OpenVINO's CPU plugin")
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "f32"})
    precisions = {}
    for operation in compiled.get_runtime_model().get_ordered_ops():
        name = operation.get_friendly_name()
        info = operation.get_rt_info()
        if info["layerType"].astype(str) == "Convolution" and BLOCK_PATTERN.search(name):
            precisions[name] = info["runtimePrecision"].astype(str)
    return precisions


def test_quantized_blocks_run_in_int8(models, tmp_path: Path) -> None:
    data = shared_set("magnetic_tile")
    trained = load_trained_model(models.model("magnetic_tile"))
    reference = export_onnx(trained, tmp_path / "reference.onnx")
    files = sorted((data / "train" / "good").iterdir())[:CALIBRATION_IMAGES]
    calibration, _ = stack_inputs([read_image(path) for path in files], trained.input_size, trained.bit_depth, trained.resize)
    options = CompileOptions()
    keep_float = nodes_after_aggregation(onnx.load_model(str(reference)))
    quantized = quantize_openvino_nncf(reference, calibration, keep_float, openvino_float_scopes(options))

    precisions = _runtime_convolutions(quantized)

    def kept_float(name: str) -> bool:
        match = BLOCK_PATTERN.search(name)
        block, kind = int(match.group(1)), match.group(2)
        return block < options.openvino_float_blocks or (kind == "depthwise" and block in options.openvino_float_depthwise)

    quantized_names = [name for name in precisions if not kept_float(name)]
    depthwise = [name for name in quantized_names if "_depthwise_conv" in name]
    assert depthwise, sorted(precisions)
    float_depthwise = [
        name
        for name in precisions
        if "_depthwise_conv" in name and int(BLOCK_PATTERN.search(name).group(1)) in options.openvino_float_depthwise
    ]
    assert float_depthwise, sorted(precisions)
    for name in quantized_names:
        assert precisions[name] in INT8_PRECISIONS, f"{name} runs in {precisions[name]}"
    for name in precisions:
        if kept_float(name):
            assert precisions[name] not in INT8_PRECISIONS, f"{name} is kept in float but runs in {precisions[name]}"
