"""fp32 bundles score like torch eager on every CPU engine here, on slices of the three shared sets.

For each set, a model is trained on 10 good images at 128x128 and compiled for the
cpu target. Torch eager then judges 8 test images (good and defective), and so do
ONNX Runtime CPU (fused function-body head), OpenVINO CPU (native head when the
extension builds) and OpenVINO with the standard-op head. Normalized scores must agree
within 1e-3 and verdicts must be identical.
"""

from __future__ import annotations

import pytest

from engine.compile import TorchPredictor
from engine.ops.domain import HEAD_FUNCTION_BODY, HEAD_NATIVE_OPENVINO, HEAD_STANDARD
from engine.runtime import Inspector
from engine.runtime.engines import OpenVinoEngine
from labeling.imageio import read_image
from tests.conftest import shared_set
from tests.engine.conftest import SETS, pick_test_images

MAX_NORMALIZED_DELTA = 1e-3


def _assert_parity(expected, actual, label: str) -> None:
    for index, (reference, result) in enumerate(zip(expected, actual, strict=True)):
        delta = abs(result.normalized_score - reference.normalized_score)
        assert delta <= MAX_NORMALIZED_DELTA, f"{label} image {index}: normalized score differs by {delta:.2e}"
        assert result.verdict == reference.verdict, f"{label} image {index}: verdict differs"


@pytest.mark.parametrize("name", SETS)
def test_fp32_engines_match_torch(models, name: str) -> None:
    bundle = models.fp32_bundle(name)
    images = [read_image(path) for path in pick_test_images(shared_set(name))]
    expected = TorchPredictor.from_model_dir(models.model(name)).predict(images)

    ort_inspector = Inspector.open(bundle, engine="onnxruntime", device="cpu")
    assert ort_inspector.head_path == HEAD_FUNCTION_BODY
    _assert_parity(expected, ort_inspector.inspect_images(images), f"{name} onnxruntime")

    ov_inspector = Inspector.open(bundle, engine="openvino", device="cpu")
    assert ov_inspector.head_path in (HEAD_NATIVE_OPENVINO, HEAD_STANDARD)
    assert ov_inspector.head_path == ov_inspector.manifest.head["paths"]["openvino"]
    _assert_parity(expected, ov_inspector.inspect_images(images), f"{name} openvino ({ov_inspector.head_path})")

    standard = OpenVinoEngine(bundle / ov_inspector.manifest.graphs["openvino"], 2)
    ov_inspector._engine = standard
    assert ov_inspector.head_path == HEAD_STANDARD
    _assert_parity(expected, ov_inspector.inspect_images(images), f"{name} openvino standard head")


@pytest.mark.parametrize("name", SETS)
def test_fp32_manifest_records_compile(models, name: str) -> None:
    inspector = Inspector.open(models.fp32_bundle(name), engine="onnxruntime", device="cpu")
    manifest = inspector.manifest
    assert manifest.target == "cpu"
    assert manifest.precision == "fp32"
    assert manifest.head["engines"] == ["openvino", "onnxruntime:CPUExecutionProvider"]
    assert manifest.head["paths"]["onnxruntime"] == HEAD_FUNCTION_BODY
    reports = {report["engine"]: report for report in manifest.validation["reports"]}
    assert {"onnxruntime:CPUExecutionProvider", "openvino"} <= set(reports)
    for engine, report in reports.items():
        assert report["verdict_agreement"] == 1.0, engine
        assert report["max_normalized_delta"] <= MAX_NORMALIZED_DELTA, engine
    assert inspector.self_test_result is not None
    assert inspector.self_test_result.passed


def test_native_head_records_search(models, tmp_path) -> None:
    from engine.compile.pipeline import CompileOptions, compile_bundle
    from engine.ops.domain import SEARCH_SCREENED
    from engine.ops.loader import find_extension, search_kernel
    from tests.engine.conftest import TEST_IMAGES

    if find_extension() is None:
        pytest.skip("the native extension is not built here")
    name = "magnetic_tile"
    out = tmp_path / "native"
    options = CompileOptions(precision="fp32", head="native", validation_images=TEST_IMAGES)
    compile_bundle(models.model(name), out, options, validation=shared_set(name))

    inspector = Inspector.open(out, engine="openvino", device="cpu")
    head = inspector.manifest.head
    assert head["paths"]["openvino"] == HEAD_NATIVE_OPENVINO
    assert head["native_search"] == SEARCH_SCREENED
    assert head["native_kernel_on_compile_machine"] == search_kernel(find_extension(), SEARCH_SCREENED)
    assert inspector.head_path == HEAD_NATIVE_OPENVINO
    assert inspector.native_kernel == head["native_kernel_on_compile_machine"]
    assert set(head["graph_ms_on_compile_machine"]) == {"openvino_standard_head", "openvino_native_head"}

    images = [read_image(path) for path in pick_test_images(shared_set(name))]
    expected = TorchPredictor.from_model_dir(models.model(name)).predict(images)
    _assert_parity(expected, inspector.inspect_images(images), f"{name} openvino native head")
