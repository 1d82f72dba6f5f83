"""Reference bodies of the fused head operators as ONNX model-local functions (compile side; imports onnx).

``NearestDistance`` maps N x C x h x w patch features and an M x C memory bank to the
N x 1 x h x w Euclidean distance of each patch to its nearest bank entry.
``MapPostprocess`` upsamples that map bilinearly to the model input, smooths it with
a separable Gaussian (edge padding) and returns it with its per-image maximum.
The bodies use standard opset-17 operators only, so ONNX Runtime and any other ONNX
engine run a graph that contains the fused nodes.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.ops.domain import DOMAIN, DOMAIN_VERSION, MAP_POSTPROCESS, NEAREST_DISTANCE, SEARCH_SCREENED

ONNX_OPSET = 17


def _constant(name: str, values: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(values, name))


def _attribute_ref(name: str, reference: str, kind: int) -> onnx.AttributeProto:
    attribute = onnx.AttributeProto(name=name, ref_attr_name=reference, type=kind)
    return attribute


def nearest_distance_function() -> onnx.FunctionProto:
    """Return the reference body of ``NearestDistance(features, bank, bank_norms) -> distances``.

    The attribute ``search`` only selects the native kernel's strategy; every strategy and
    this body return the same distances.
    """
    nodes = [
        helper.make_node("Transpose", ["features"], ["patches"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["bank"], ["bank_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["patches", "bank_t"], ["dot"]),
        helper.make_node("Mul", ["patches", "patches"], ["squares"]),
        _constant("last_axis", np.array([-1], dtype=np.int64)),
        helper.make_node("ReduceSum", ["squares", "last_axis"], ["patch_norms"], keepdims=1),
        _constant("minus_two", np.array(-2.0, dtype=np.float32)),
        helper.make_node("Mul", ["dot", "minus_two"], ["scaled_dot"]),
        helper.make_node("Add", ["scaled_dot", "patch_norms"], ["partial"]),
        helper.make_node("Add", ["partial", "bank_norms"], ["squared"]),
        helper.make_node("ReduceMin", ["squared"], ["nearest_squared"], axes=[3], keepdims=0),
        _constant("zero", np.array(0.0, dtype=np.float32)),
        helper.make_node("Max", ["nearest_squared", "zero"], ["clamped"]),
        helper.make_node("Sqrt", ["clamped"], ["nearest"]),
        _constant("channel_axis", np.array([1], dtype=np.int64)),
        helper.make_node("Unsqueeze", ["nearest", "channel_axis"], ["distances"]),
    ]
    return helper.make_function(
        DOMAIN,
        NEAREST_DISTANCE,
        ["features", "bank", "bank_norms"],
        ["distances"],
        nodes,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        attributes=["search"],
    )


def map_postprocess_function() -> onnx.FunctionProto:
    """Return the reference body of ``MapPostprocess(patch_map, kernel_rows, kernel_cols) -> (map, score)``.

    The attribute ``output_size`` is the model input [height, width]; the kernels are
    1 x 1 x K x 1 and 1 x 1 x 1 x K with an odd K, padded by (K - 1) / 2 at each edge.
    The score is the mean of the ``top_count`` highest map pixels (``[1]``: the maximum).
    """
    size_constant = helper.make_node("Constant", [], ["output_size"])
    size_constant.attribute.append(_attribute_ref("value_ints", "output_size", onnx.AttributeProto.INTS))
    top_constant = helper.make_node("Constant", [], ["top_count"])
    top_constant.attribute.append(_attribute_ref("value_ints", "top_count", onnx.AttributeProto.INTS))
    nodes = [
        helper.make_node("Shape", ["patch_map"], ["map_shape"]),
        _constant("start", np.array([0], dtype=np.int64)),
        _constant("stop", np.array([2], dtype=np.int64)),
        helper.make_node("Slice", ["map_shape", "start", "stop"], ["batch_channels"]),
        size_constant,
        helper.make_node("Concat", ["batch_channels", "output_size"], ["sizes"], axis=0),
        helper.make_node(
            "Resize",
            ["patch_map", "", "", "sizes"],
            ["upsampled"],
            mode="linear",
            coordinate_transformation_mode="half_pixel",
        ),
        helper.make_node("Shape", ["kernel_rows"], ["kernel_shape"]),
        _constant("kernel_axis", np.array([2], dtype=np.int64)),
        _constant("kernel_axis_end", np.array([3], dtype=np.int64)),
        helper.make_node("Slice", ["kernel_shape", "kernel_axis", "kernel_axis_end"], ["taps"]),
        _constant("one", np.array([1], dtype=np.int64)),
        _constant("two", np.array([2], dtype=np.int64)),
        helper.make_node("Sub", ["taps", "one"], ["taps_minus_one"]),
        helper.make_node("Div", ["taps_minus_one", "two"], ["radius"]),
        _constant("zeros_1", np.array([0], dtype=np.int64)),
        _constant("zeros_2", np.array([0, 0], dtype=np.int64)),
        helper.make_node("Concat", ["zeros_2", "radius", "zeros_1", "zeros_2", "radius", "zeros_1"], ["row_pads"], axis=0),
        helper.make_node("Concat", ["zeros_2", "zeros_1", "radius", "zeros_2", "zeros_1", "radius"], ["col_pads"], axis=0),
        helper.make_node("Pad", ["upsampled", "row_pads"], ["row_padded"], mode="edge"),
        helper.make_node("Conv", ["row_padded", "kernel_rows"], ["row_smoothed"]),
        helper.make_node("Pad", ["row_smoothed", "col_pads"], ["col_padded"], mode="edge"),
        helper.make_node("Conv", ["col_padded", "kernel_cols"], ["anomaly_map"]),
        helper.make_node("Flatten", ["anomaly_map"], ["pixels"], axis=1),
        top_constant,
        helper.make_node("TopK", ["pixels", "top_count"], ["top_values", "top_indices"], axis=1, largest=1, sorted=1),
        helper.make_node("ReduceMean", ["top_values"], ["score"], axes=[1], keepdims=0),
    ]
    return helper.make_function(
        DOMAIN,
        MAP_POSTPROCESS,
        ["patch_map", "kernel_rows", "kernel_cols"],
        ["anomaly_map", "score"],
        nodes,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        attributes=["output_size", "top_count"],
    )


def fused_head_nodes(
    features: str,
    anomaly_map: str,
    score: str,
    output_size: tuple[int, int],
    *,
    search: str = SEARCH_SCREENED,
    top_count: int = 1,
    prefix: str = "defectseek_head",
) -> tuple[list[onnx.NodeProto], list[str]]:
    """Return the two fused head nodes and the names of the initializers they read.

    The caller supplies initializers named ``<prefix>/bank``, ``<prefix>/bank_norms``,
    ``<prefix>/kernel_rows`` and ``<prefix>/kernel_cols`` (see :func:`head_initializers`).
    """
    names = [f"{prefix}/{suffix}" for suffix in ("bank", "bank_norms", "kernel_rows", "kernel_cols")]
    distances = f"{prefix}/distances"
    nodes = [
        helper.make_node(
            NEAREST_DISTANCE,
            [features, names[0], names[1]],
            [distances],
            name=f"{prefix}/{NEAREST_DISTANCE}",
            domain=DOMAIN,
            search=str(search),
        ),
        helper.make_node(
            MAP_POSTPROCESS,
            [distances, names[2], names[3]],
            [anomaly_map, score],
            name=f"{prefix}/{MAP_POSTPROCESS}",
            domain=DOMAIN,
            output_size=[int(output_size[0]), int(output_size[1])],
            top_count=[int(top_count)],
        ),
    ]
    return nodes, names


def head_initializers(bank: np.ndarray, kernel: np.ndarray, prefix: str = "defectseek_head") -> list[onnx.TensorProto]:
    """Return the bank, its squared norms and the two Gaussian kernels as ONNX initializers."""
    bank32 = np.ascontiguousarray(bank, dtype=np.float32)
    taps = np.asarray(kernel, dtype=np.float32).reshape(-1)
    return [
        numpy_helper.from_array(bank32, f"{prefix}/bank"),
        numpy_helper.from_array((bank32.astype(np.float64) ** 2).sum(axis=1).astype(np.float32), f"{prefix}/bank_norms"),
        numpy_helper.from_array(taps.reshape(1, 1, -1, 1), f"{prefix}/kernel_rows"),
        numpy_helper.from_array(taps.reshape(1, 1, 1, -1), f"{prefix}/kernel_cols"),
    ]


def domain_opsets() -> list[onnx.OperatorSetIdProto]:
    """Return the opset imports a graph with fused nodes needs."""
    return [helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)]


def head_functions() -> list[onnx.FunctionProto]:
    """Return both reference function bodies."""
    return [nearest_distance_function(), map_postprocess_function()]


def build_head_model(
    bank: np.ndarray,
    kernel: np.ndarray,
    channels: int,
    grid: tuple[int, int],
    output_size: tuple[int, int],
    **options: int | str,
) -> onnx.ModelProto:
    """Build a stand-alone head graph: ``features`` N x C x h x w in, ``anomaly_map`` and ``score`` out."""
    nodes, _ = fused_head_nodes("features", "anomaly_map", "score", output_size, **options)
    graph = helper.make_graph(
        nodes,
        "defectseek_head",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", channels, grid[0], grid[1]])],
        [
            helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, ["batch", 1, output_size[0], output_size[1]]),
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"]),
        ],
        head_initializers(bank, kernel),
    )
    model = helper.make_model(graph, opset_imports=domain_opsets(), functions=head_functions())
    model.ir_version = 8
    return model


def inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy with every model-local function expanded into standard ops (for engines that need it)."""
    from onnx import inliner

    return inliner.inline_local_functions(model)
