"""Replace the exported head of a PatchCore graph with the fused DefectSeek operators.

The exported graph names its nodes after the torch modules of
:class:`anomaly.patchcore.PatchCoreModel`: everything under ``/head/`` (nearest
neighbour) and ``/postprocess/`` (upsample, smoothing, maximum) is the head. The
rewrite removes those nodes and adds one ``NearestDistance`` and one
``MapPostprocess`` node between the ``features`` output and the ``anomaly_map`` and
``score`` outputs, with the bank and kernel as initializers and the reference
function bodies attached. Other outputs and nodes are left as they are.
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np
import onnx

from engine.ops.domain import DOMAIN, DOMAIN_VERSION, SEARCH_SCREENED
from engine.ops.functions import fused_head_nodes, head_functions, head_initializers

logger = logging.getLogger(__name__)

HEAD_SCOPES = ("/head/", "/postprocess/")
STEM_SCOPE = "/extractor/stem/"
# The per-image intensity standardization: 8-bit steps in its mean and spread would shift every feature.
INTENSITY_SCOPE = "/extractor/intensity/"
BLOCK_SCOPE = "/extractor/blocks.{index}/"
DEPTHWISE_SCOPE = "/extractor/blocks.{index}/_depthwise_conv/"
FEATURES_OUTPUT = "features"
MAP_OUTPUT = "anomaly_map"
SCORE_OUTPUT = "score"


class FuseError(ValueError):
    """The graph does not have the structure the head rewrite expects."""


def head_node_names(model: onnx.ModelProto) -> list[str]:
    """Return the names of the exported head's nodes (``/head/...`` and ``/postprocess/...``)."""
    return [node.name for node in model.graph.node if node.name.startswith(HEAD_SCOPES)]


def nodes_after_aggregation(model: onnx.ModelProto) -> list[str]:
    """Return the names of the ``AveragePool`` nodes and of every node downstream of them.

    These are the patch aggregation (3x3 average pooling, upsampling, concatenation)
    and the head. INT8 quantization must leave them in float: quantizing the average
    pooling corrupts the one-pixel border of the feature map, and the head's distances
    need the features' full resolution.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    queue = deque(node for node in model.graph.node if node.op_type == "AveragePool")
    seen: dict[int, onnx.NodeProto] = {}
    while queue:
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for output in node.output:
            queue.extend(consumers.get(output, []))
    return [node.name for node in model.graph.node if id(node) in seen and node.name]


def leading_scopes(blocks: int) -> list[str]:
    """Return the node-name prefixes of the intensity standardization, the stem and the first ``blocks`` blocks."""
    return [INTENSITY_SCOPE, STEM_SCOPE] + [BLOCK_SCOPE.format(index=index) for index in range(blocks)]


def depthwise_scopes(blocks: tuple[int, ...]) -> list[str]:
    """Return the node-name prefixes of the depthwise convolutions (and their padding) of ``blocks``."""
    return [DEPTHWISE_SCOPE.format(index=index) for index in blocks]


def nodes_in_leading_blocks(model: onnx.ModelProto, blocks: int) -> list[str]:
    """Return the names of the stem's nodes and those of the first ``blocks`` backbone blocks.

    Names follow the torch modules of :class:`anomaly.backbone.FeatureExtractor`
    (``stem``, ``blocks.<i>``). On the shared sets, quantizing these early layers
    caused about half of the INT8 feature error.
    """
    scopes = tuple(leading_scopes(blocks))
    return [node.name for node in model.graph.node if node.name.startswith(scopes)]


def fuse_head(
    model: onnx.ModelProto,
    bank: np.ndarray,
    kernel: np.ndarray,
    output_size: tuple[int, int],
    *,
    search: str = SEARCH_SCREENED,
    top_count: int = 1,
) -> onnx.ModelProto:
    """Return a copy of ``model`` whose head runs as the two fused operators.

    ``search`` is the native kernel's strategy (see ``engine.ops.domain.NATIVE_SEARCHES``);
    ``top_count`` is how many of the highest map pixels the image score averages.

    Raises:
        FuseError: the graph lacks the ``features``, ``anomaly_map`` or ``score``
            outputs or the ``/head/`` nodes (it was not exported from a PatchCoreModel).
    """
    fused = onnx.ModelProto()
    fused.CopyFrom(model)
    graph = fused.graph
    outputs = {output.name for output in graph.output}
    missing = {FEATURES_OUTPUT, MAP_OUTPUT, SCORE_OUTPUT} - outputs
    if missing:
        raise FuseError(f"graph has no output(s) {sorted(missing)}; export it with engine.compile.export_onnx")
    head = set(head_node_names(fused))
    if not head:
        raise FuseError("graph has no /head/ or /postprocess/ nodes; export it with engine.compile.export_onnx")

    kept = [node for node in graph.node if node.name not in head]
    new_nodes, _ = fused_head_nodes(
        FEATURES_OUTPUT, MAP_OUTPUT, SCORE_OUTPUT, output_size, search=search, top_count=top_count
    )
    del graph.node[:]
    graph.node.extend(_topological(kept + new_nodes, graph))
    graph.initializer.extend(head_initializers(bank, kernel))
    _prune(graph)

    if not any(opset.domain == DOMAIN for opset in fused.opset_import):
        fused.opset_import.append(onnx.helper.make_opsetid(DOMAIN, DOMAIN_VERSION))
    existing = {(function.domain, function.name) for function in fused.functions}
    fused.functions.extend(f for f in head_functions() if (f.domain, f.name) not in existing)
    logger.info("Fused the head: removed %d nodes, bank %d x %d", len(head), *bank.shape)
    return fused


def _topological(nodes: list[onnx.NodeProto], graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Order nodes so every input is produced before use (stable for an already ordered list)."""
    available = {value.name for value in graph.input} | {tensor.name for tensor in graph.initializer} | {""}
    available |= {f"defectseek_head/{suffix}" for suffix in ("bank", "bank_norms", "kernel_rows", "kernel_cols")}
    ordered: list[onnx.NodeProto] = []
    pending = list(nodes)
    while pending:
        deferred: list[onnx.NodeProto] = []
        for node in pending:
            if all(name in available for name in node.input):
                ordered.append(node)
                available.update(node.output)
            else:
                deferred.append(node)
        if len(deferred) == len(pending):
            names = ", ".join(node.name or node.op_type for node in deferred[:5])
            raise FuseError(f"graph has a cycle or a missing input after the head rewrite (at {names})")
        pending = deferred
    return ordered


def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes and initializers that no longer reach a graph output."""
    needed = {output.name for output in graph.output}
    kept: list[onnx.NodeProto] = []
    for node in reversed(list(graph.node)):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    initializers = [tensor for tensor in graph.initializer if tensor.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    values = [value for value in graph.value_info if value.name in needed]
    del graph.value_info[:]
    graph.value_info.extend(values)
