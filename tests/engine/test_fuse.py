"""The head rewrite on a real exported graph: which nodes stay float, what the fused graph contains."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from engine.compile.export import export_onnx, load_trained_model
from engine.compile.fuse import fuse_head, head_node_names, nodes_after_aggregation
from engine.ops.domain import DOMAIN, MAP_POSTPROCESS, NEAREST_DISTANCE


def test_fused_graph_matches_export(models, tmp_path) -> None:
    trained = load_trained_model(models.model("elpv"))
    exported = onnx.load_model(str(export_onnx(trained, tmp_path / "exported.onnx")))
    model = trained.torch_model()

    keep_float = set(nodes_after_aggregation(exported))
    pools = {node.name for node in exported.graph.node if node.op_type == "AveragePool"}
    assert pools and pools <= keep_float
    head_names = set(head_node_names(exported))
    computing_head = {
        node.name
        for node in exported.graph.node
        if node.name in head_names and node.op_type in ("MatMul", "ReduceMin", "Sqrt", "Resize", "Conv", "TopK")
    }
    assert computing_head
    assert computing_head <= keep_float
    convolutions = {node.name for node in exported.graph.node if node.op_type == "Conv" and "/extractor/" in node.name}
    assert not convolutions & keep_float

    fused = fuse_head(
        exported,
        model.head.bank.numpy(),
        model.postprocess.kernel_rows.reshape(-1).numpy(),
        tuple(model.postprocess.image_size),
        top_count=int(getattr(model.postprocess, "top_count", 1)),
    )
    onnx.checker.check_model(fused)
    assert not head_node_names(fused)
    custom = [node.op_type for node in fused.graph.node if node.domain == DOMAIN]
    assert custom == [NEAREST_DISTANCE, MAP_POSTPROCESS]
    assert [output.name for output in fused.graph.output] == [output.name for output in exported.graph.output]

    batch = np.random.default_rng(5).uniform(0, 255, (2, 3, *trained.input_size)).astype(np.float32)
    expected = ort.InferenceSession(exported.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"image": batch})
    actual = ort.InferenceSession(fused.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"image": batch})
    for reference, result in zip(expected, actual, strict=True):
        np.testing.assert_allclose(result, reference, rtol=1e-4, atol=1e-4)


def test_intensity_standardization_stays_in_float(tmp_path) -> None:
    from anomaly import TrainConfig, train_patchcore
    from engine.compile.fuse import nodes_in_leading_blocks
    from labeling.imageio import image_from_array

    rng = np.random.default_rng(5)
    images = [image_from_array(rng.integers(0, 255, (64, 64), dtype=np.uint8), f"good{i}") for i in range(2)]
    trained = train_patchcore(images, TrainConfig(size=(64, 64), min_bank_size=64, intensity="per-image"))
    model = onnx.load(str(export_onnx(trained, tmp_path / "model.onnx")))
    intensity = {node.name for node in model.graph.node if node.name.startswith("/extractor/intensity/")}
    assert intensity
    assert intensity <= set(nodes_in_leading_blocks(model, 0))
