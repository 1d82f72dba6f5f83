"""The per-model search for float depthwise convolutions in OpenVINO INT8: order, bounds and the real quantizer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from engine.compile.fuse import nodes_after_aggregation
from engine.compile.graphs import ONNXRUNTIME_RETRIES, quantize_onnxruntime, quantize_openvino, score_openvino_model
from engine.compile.layer_search import (
    MAX_EXTRA_ROUNDS,
    Evaluation,
    _round_sizes,
    bypass_depthwise_inputs,
    search_float_layers,
)
from engine.compile.pipeline import CompileOptions
from engine.compile.validate import GuardCheck, GuardTolerance, ValidationSet

CHANNELS = 8
SIZE = 16
BLOCKS = (2, 3)


@dataclass(frozen=True)
class FakeModel:
    """Stands for a quantized model: its leading float blocks and its float depthwise blocks."""

    leading: int
    blocks: frozenset[int]


class FakeQuantizer:
    """A graph passes when the ``needed`` depthwise blocks are float and ``leading_needed`` leading blocks are."""

    def __init__(self, needed: set[int], weights: dict[int, float], leading_needed: int = 0) -> None:
        self.needed = needed
        self.weights = weights
        self.leading_needed = leading_needed
        self.quantized: list[tuple[int, tuple[int, ...]]] = []

    def quantize(self, leading: int, blocks: tuple[int, ...]) -> FakeModel:
        self.quantized.append((leading, blocks))
        return FakeModel(leading, frozenset(blocks))

    @staticmethod
    def bypass(model: FakeModel, blocks: tuple[int, ...]) -> FakeModel:
        return FakeModel(model.leading, model.blocks | set(blocks))

    def evaluate(self, model: FakeModel) -> Evaluation:
        error = 1.0 - sum(self.weights.get(block, 0.0) for block in model.blocks)
        passes = self.needed <= model.blocks and model.leading >= self.leading_needed
        return Evaluation(error, () if passes else ("verdicts changed",))


def _search(fake: FakeQuantizer, candidates: tuple[int, ...], fallback: int | None = None):
    return search_float_layers(candidates, fake.quantize, fake.bypass, fake.evaluate, 1, fallback)


def test_search_stops_when_first_graph_passes() -> None:
    fake = FakeQuantizer(needed=set(), weights={})
    model, search = _search(fake, (11, 12), fallback=2)
    assert model == FakeModel(1, frozenset())
    assert fake.quantized == [(1, ())]
    assert search.float_blocks == 1
    assert search.float_depthwise == ()
    assert len(search.rounds) == 1
    assert search.rounds[0].passed


def test_search_keeps_most_sensitive_float() -> None:
    fake = FakeQuantizer(needed={15, 12}, weights={11: 0.05, 12: 0.3, 15: 0.4, 16: 0.1})
    model, search = _search(fake, (11, 12, 15, 16), fallback=2)
    assert [block for block, _ in search.sensitivity] == [15, 12, 16, 11]
    assert search.float_depthwise == (12, 15)
    assert search.float_blocks == 1
    assert model == FakeModel(1, frozenset({12, 15}))
    assert fake.quantized == [(1, ()), (1, (12, 15))]
    assert [step.passed for step in search.rounds] == [False, True]


class OptimisticBypass(FakeQuantizer):
    """Bypassed copies pass once block 7 is float, but no re-quantized model passes."""

    @staticmethod
    def bypass(model: FakeModel, blocks: tuple[int, ...]) -> FakeModel:
        if 7 not in blocks:
            return FakeModel(model.leading, model.blocks | set(blocks))
        return FakeModel(99, model.blocks | set(blocks) | {99})


def test_search_bounded_when_guard_never_passes() -> None:
    fake = OptimisticBypass(needed={99}, weights={block: 0.1 * block for block in range(1, 8)})
    candidates = tuple(range(1, 8))
    _, search = _search(fake, candidates)
    assert len(fake.quantized) == 1 + MAX_EXTRA_ROUNDS
    assert fake.quantized[1:] == [(1, (7,)), (1, (6, 7)), (1, candidates)]
    assert search.float_depthwise == candidates
    assert not any(step.passed for step in search.rounds)


def test_search_keeps_last_round_for_fallback() -> None:
    fake = OptimisticBypass(needed={99}, weights={block: 0.1 * block for block in range(1, 8)}, leading_needed=2)
    candidates = tuple(range(1, 8))
    _, search = _search(fake, candidates, fallback=2)
    assert len(fake.quantized) == 1 + MAX_EXTRA_ROUNDS
    assert fake.quantized[1:] == [(1, (7,)), (1, candidates), (2, candidates)]
    assert search.float_blocks == 2
    assert search.float_depthwise == candidates


def test_search_fallback_passes_on_leading_blocks() -> None:
    fake = FakeQuantizer(needed=set(), weights={11: 0.1, 12: 0.2}, leading_needed=2)
    model, search = _search(fake, (11, 12), fallback=2)
    assert fake.quantized == [(1, ()), (1, (11, 12)), (2, (11, 12))]
    assert model == FakeModel(2, frozenset({11, 12}))
    assert [step.passed for step in search.rounds] == [False, False, True]


def test_search_one_round_when_no_bypass_passes() -> None:
    fake = FakeQuantizer(needed={99}, weights={11: 0.1, 12: 0.2})
    _, search = _search(fake, (11, 12))
    assert fake.quantized == [(1, ()), (1, (11, 12))]
    assert search.float_depthwise == (11, 12)


def test_search_record_is_json_ready() -> None:
    fake = FakeQuantizer(needed={12}, weights={11: 0.1, 12: 0.2})
    _, search = _search(fake, (11, 12), fallback=2)
    record = search.to_dict()
    assert record["leading_float_blocks"] == 1
    assert record["float_depthwise_blocks"] == [12]
    assert record["candidate_blocks"] == [11, 12]
    assert [entry["block"] for entry in record["sensitivity"]] == [12, 11]
    assert [entry["passed"] for entry in record["rounds"]] == [False, True]
    assert [entry["leading_float_blocks"] for entry in record["rounds"]] == [1, 1]


@pytest.mark.parametrize(
    ("first", "count", "rounds", "expected"),
    [(1, 7, 3, [1, 2, 7]), (3, 7, 3, [3, 6, 7]), (4, 7, 3, [4, 7]), (7, 7, 3, [7]), (1, 7, 1, [7]), (2, 2, 3, [2])],
)
def test_round_sizes(first: int, count: int, rounds: int, expected: list[int]) -> None:
    assert _round_sizes(first, count, rounds) == expected


def _block_nodes(block: int, source: str, weights: list[onnx.TensorProto]) -> tuple[list[onnx.NodeProto], str]:
    """Return the expand, depthwise and project convolutions of one block, named like the exported backbone."""
    rng = np.random.default_rng(block)
    scope = f"/extractor/blocks.{block}"
    expand = numpy_helper.from_array(rng.normal(0, 0.5, (CHANNELS, CHANNELS, 1, 1)).astype(np.float32), f"w{block}e")
    depthwise = numpy_helper.from_array(rng.normal(0, 0.5, (CHANNELS, 1, 3, 3)).astype(np.float32), f"w{block}d")
    project = numpy_helper.from_array(rng.normal(0, 0.5, (CHANNELS, CHANNELS, 1, 1)).astype(np.float32), f"w{block}p")
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), f"pads{block}")
    weights += [expand, depthwise, project, pads]
    nodes = [
        helper.make_node("Conv", [source, expand.name], [f"b{block}e"], name=f"{scope}/_expand_conv/Conv"),
        helper.make_node("Relu", [f"b{block}e"], [f"b{block}r"], name=f"{scope}/_swish/Relu"),
        helper.make_node(
            "Pad", [f"b{block}r", pads.name], [f"b{block}pad"], name=f"{scope}/_depthwise_conv/static_padding/Pad"
        ),
        helper.make_node(
            "Conv", [f"b{block}pad", depthwise.name], [f"b{block}d"], name=f"{scope}/_depthwise_conv/Conv", group=CHANNELS
        ),
        helper.make_node("Relu", [f"b{block}d"], [f"b{block}dr"], name=f"{scope}/_swish_1/Relu"),
        helper.make_node("Conv", [f"b{block}dr", project.name], [f"b{block}p"], name=f"{scope}/_project_conv/Conv"),
    ]
    return nodes, f"b{block}p"


def _tiny_backbone(path: Path) -> Path:
    """Write a stem and two inverted-residual blocks with a pooled ``features`` and a max ``score`` output."""
    rng = np.random.default_rng(0)
    stem = numpy_helper.from_array(rng.normal(0, 0.3, (CHANNELS, 3, 1, 1)).astype(np.float32), "stem")
    weights = [stem]
    nodes = [helper.make_node("Conv", ["image", "stem"], ["s"], name="/extractor/stem/stem.0/Conv")]
    source = "s"
    for block in BLOCKS:
        block_nodes, source = _block_nodes(block, source, weights)
        nodes += block_nodes
    nodes += [
        helper.make_node(
            "AveragePool", [source], ["features"], name="/extractor/AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node("ReduceMax", ["features"], ["score"], name="/postprocess/ReduceMax", keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_backbone",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, CHANNELS, SIZE, SIZE]),
            helper.make_tensor_value_info("score", TensorProto.FLOAT, []),
        ],
        weights,
    )
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _guard(path: Path, batch: np.ndarray, tolerance: GuardTolerance) -> GuardCheck:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    scores = np.array([float(session.run(["score"], {"image": item[None]})[0]) for item in batch])
    validation = ValidationSet(batch, np.arange(len(batch)), tuple(f"input {i}" for i in range(len(batch))), None)
    return GuardCheck(validation, scores, float(np.median(scores)), float(scores.min()), tolerance)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A tiny backbone in ONNX with calibration and validation inputs."""
    path = _tiny_backbone(tmp_path_factory.mktemp("tiny") / "tiny.onnx")
    rng = np.random.default_rng(1)
    calibration = rng.uniform(-1, 1, (8, 3, SIZE, SIZE)).astype(np.float32)
    validation = rng.uniform(-1, 1, (12, 3, SIZE, SIZE)).astype(np.float32)
    return path, calibration, validation


def _quantize(tiny, tolerance: GuardTolerance, fallback_float_blocks: int = 0):
    path, calibration, validation = tiny
    keep_float = nodes_after_aggregation(onnx.load_model(str(path)))
    options = CompileOptions(
        precision="int8",
        openvino_float_blocks=fallback_float_blocks,
        openvino_search_float_blocks=0,
        openvino_float_depthwise=(*BLOCKS, 15),
        threads=1,
    )
    return quantize_openvino(path, calibration, keep_float, options, _guard(path, validation, tolerance))


def _depthwise_inputs(model) -> dict[str, str]:
    """Return the type of the operation feeding each depthwise convolution, through its zero padding."""
    inputs = {}
    for operation in model.get_ordered_ops():
        if operation.get_type_name() == "GroupConvolution":
            source = operation.input_value(0).get_node()
            if source.get_type_name() == "Pad":
                source = source.input_value(0).get_node()
            inputs[operation.get_friendly_name()] = source.get_type_name()
    return inputs


def test_openvino_search_all_int8_when_guard_passes(tiny) -> None:
    model, search = _quantize(tiny, GuardTolerance(min_verdict_agreement=0.0, auroc_drop_points=100.0))
    assert search.float_depthwise == ()
    assert search.candidates == BLOCKS
    assert len(search.rounds) == 1
    assert set(_depthwise_inputs(model).values()) == {"FakeQuantize"}


def test_openvino_search_floats_all_when_guard_fails(tiny) -> None:
    # An agreement above 100 % cannot be met, so every round fails and the last keeps every candidate float.
    model, search = _quantize(tiny, GuardTolerance(min_verdict_agreement=1.01))
    assert search.float_depthwise == BLOCKS
    assert [block for block, _ in search.sensitivity] != []
    assert sorted(block for block, _ in search.sensitivity) == list(BLOCKS)
    assert 2 <= len(search.rounds) <= 1 + MAX_EXTRA_ROUNDS
    assert search.rounds[-1].float_depthwise == BLOCKS
    assert "FakeQuantize" not in _depthwise_inputs(model).values()


def test_openvino_search_fallback_floats_leading_blocks(tiny) -> None:
    # With three leading float blocks the fallback round keeps blocks 0-2 wholly in float.
    model, search = _quantize(tiny, GuardTolerance(min_verdict_agreement=1.01), fallback_float_blocks=3)
    assert search.rounds[0].float_blocks == 0
    assert search.rounds[-1].float_blocks == 3
    assert search.float_blocks == 3
    expand = next(op for op in model.get_ordered_ops() if op.get_friendly_name().startswith("/extractor/blocks.2/_expand"))
    assert expand.input_value(0).get_node().get_type_name() != "FakeQuantize"


def test_bypass_removes_only_named_quantizer(tiny) -> None:
    path, calibration, validation = tiny
    model, _ = _quantize(tiny, GuardTolerance(min_verdict_agreement=0.0, auroc_drop_points=100.0))
    bypassed = bypass_depthwise_inputs(model, (3,))
    before, after = _depthwise_inputs(model), _depthwise_inputs(bypassed)
    block2 = next(name for name in after if name.startswith("/extractor/blocks.2/"))
    block3 = next(name for name in after if name.startswith("/extractor/blocks.3/"))
    assert after[block2] == "FakeQuantize"
    assert after[block3] != "FakeQuantize"
    assert before[block3] == "FakeQuantize"
    scores = score_openvino_model(bypassed, validation, 1)
    assert scores.shape == (len(validation),)
    assert np.isfinite(scores).all()


def test_bypass_rejects_missing_block(tiny) -> None:
    model, _ = _quantize(tiny, GuardTolerance(min_verdict_agreement=0.0, auroc_drop_points=100.0))
    with pytest.raises(ValueError, match=r"blocks \[7\] have no quantized depthwise input"):
        bypass_depthwise_inputs(model, (7,))


def _quantize_onnxruntime(tiny, tolerance: GuardTolerance | None):
    path, calibration, validation = tiny
    exported = onnx.load_model(str(path))
    keep_float = nodes_after_aggregation(exported)
    options = CompileOptions(precision="int8", float_blocks=0, openvino_float_depthwise=(*BLOCKS, 15), threads=1)
    guard = None if tolerance is None else _guard(path, validation, tolerance)
    return quantize_onnxruntime(exported, path, calibration, keep_float, options, guard)


def _float_depthwise_convolutions(model: onnx.ModelProto) -> set[str]:
    """Return the depthwise convolutions whose weights are not quantized (no DequantizeLinear feeds them)."""
    dequantized = {output for node in model.graph.node if node.op_type == "DequantizeLinear" for output in node.output}
    return {
        node.name
        for node in model.graph.node
        if node.op_type == "Conv" and "_depthwise_conv" in node.name and node.input[1] not in dequantized
    }


def test_onnxruntime_one_round_when_guard_passes(tiny) -> None:
    model, record = _quantize_onnxruntime(tiny, GuardTolerance(min_verdict_agreement=0.0, auroc_drop_points=100.0))
    assert len(record["rounds"]) == 1
    assert record["rounds"][0]["passed"]
    assert record["leading_float_blocks"] == 0
    assert record["float_depthwise_blocks"] == []
    assert _float_depthwise_convolutions(model) == set()


def test_onnxruntime_retries_with_float_layers_when_guard_fails(tiny) -> None:
    # An agreement above 100 % cannot be met, so every retry runs and the last keeps every candidate float.
    model, record = _quantize_onnxruntime(tiny, GuardTolerance(min_verdict_agreement=1.01))
    assert len(record["rounds"]) == 1 + len(ONNXRUNTIME_RETRIES)
    assert not any(step["passed"] for step in record["rounds"])
    assert record["rounds"][1]["float_depthwise_blocks"] == []
    assert record["float_depthwise_blocks"] == list(BLOCKS)
    assert record["leading_float_blocks"] == 1
    assert _float_depthwise_convolutions(model) == {f"/extractor/blocks.{block}/_depthwise_conv/Conv" for block in BLOCKS}


def test_onnxruntime_without_guard_runs_one_quantization(tiny) -> None:
    model, record = _quantize_onnxruntime(tiny, None)
    assert record is None
    assert any(node.op_type == "QuantizeLinear" for node in model.graph.node)
