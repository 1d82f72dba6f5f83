"""Write the graphs of a bundle (ONNX, OpenVINO IR, native-head IR) and run them for validation.

The OpenVINO IR keeps the exported standard-op head; when the native extension is
built, a second IR replaces that head with the extension's operators. The native
graph ships only where it measures faster than the standard one on this machine
(``--head auto``), and the bundle then carries a copy of the extension library.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx

from engine.compile.layer_search import (
    Evaluation,
    FloatLayerSearch,
    SearchRound,
    block_list,
    bypass_depthwise_inputs,
    search_float_layers,
)
from engine.compile.validate import GuardCheck
from engine.ops.domain import HEAD_NATIVE_OPENVINO, HEAD_STANDARD
from engine.ops.functions import build_head_model
from engine.ops.loader import LIBRARY_NAME, find_extension, search_kernel
from engine.runtime.engines import OnnxRuntimeEngine, OpenVinoEngine, default_threads

logger = logging.getLogger(__name__)

ONNX_NAME = "model.onnx"
ONNX_DATA_NAME = "model.onnx.data"
OPENVINO_NAME = "openvino/model.xml"
OPENVINO_NATIVE_NAME = "openvino/model_native.xml"
EXTENSION_DIR = "ops"
EXTERNAL_DATA_BYTES = 1536 * 1024 * 1024
"""Initializer size above which ONNX weights go to a side file (protobuf messages stop at 2 GiB)."""
TIMING_REPEATS = 9

_EXTENSION_CORES: dict[str, object] = {}
"""Cores that loaded an extension; they must outlive every model holding its operators."""

ScoreRunner = Callable[[np.ndarray, "int | None"], np.ndarray]


@dataclass(frozen=True)
class GraphSet:
    """The graphs written into a bundle's staging folder and how each runs the head."""

    onnx: str
    onnx_head: str
    root: Path | None = None
    precision: str = "fp32"
    openvino: str | None = None
    openvino_native: str | None = None
    extension: str | None = None
    head_timings_ms: dict[str, float] = field(default_factory=dict)
    native_note: str | None = None
    native_search: str | None = None
    native_kernel: str | None = None
    openvino_search: dict | None = None
    onnxruntime_search: dict | None = None

    def graph_record(self) -> dict[str, str]:
        """Return the manifest ``graphs`` table."""
        record = {"onnx": self.onnx}
        if self.openvino:
            record["openvino"] = self.openvino
        if self.openvino_native:
            record["openvino_native"] = self.openvino_native
        return record

    def head_record(self) -> dict[str, object]:
        """Return the manifest ``head`` entries: the path per engine, the extension and the timings."""
        paths = {"onnxruntime": self.onnx_head}
        if self.openvino:
            paths["openvino"] = HEAD_NATIVE_OPENVINO if self.openvino_native else HEAD_STANDARD
        record: dict[str, object] = {
            "implementation": paths.get("openvino", self.onnx_head),
            "paths": paths,
        }
        if self.extension:
            record["extension"] = self.extension
        if self.openvino_native and self.native_search:
            record["native_search"] = self.native_search
        if self.openvino_native and self.native_kernel:
            record["native_kernel_on_compile_machine"] = self.native_kernel
        if self.head_timings_ms:
            record["graph_ms_on_compile_machine"] = self.head_timings_ms
        if self.native_note:
            record["native_note"] = self.native_note
        return record

    def runners(self) -> Iterator[tuple[str, ScoreRunner]]:
        """Yield (engine label, score function) for every graph this machine can run."""
        if self.root is None:
            raise ValueError("GraphSet.root is not set; the graphs cannot be run for validation")
        root = self.root
        yield "onnxruntime:CPUExecutionProvider", lambda batch, threads: score_with(
            "onnxruntime", root / self.onnx, batch, threads
        )
        if self.openvino:
            yield "openvino", lambda batch, threads: score_with(
                "openvino", root / self.openvino, batch, threads, precision=self.precision
            )
        if self.openvino_native and self.extension:
            yield "openvino+native-head", lambda batch, threads: score_with(
                "openvino", root / self.openvino_native, batch, threads, self.precision, root / self.extension
            )


ONNXRUNTIME_RETRIES = ((1, False), (1, True))
"""Settings tried when the guard rejects the ONNX Runtime INT8 graph, in order: leading blocks
added to ``CompileOptions.float_blocks``, and whether the depthwise convolutions of
``CompileOptions.openvino_float_depthwise`` stay float as well."""


def quantize_onnxruntime(
    exported: onnx.ModelProto,
    reference_path: Path,
    calibration: np.ndarray,
    keep_float: list[str],
    options,
    guard: GuardCheck | None,
) -> tuple[onnx.ModelProto, dict | None]:
    """Return the QDQ-quantized ONNX graph and the record of its quantize-and-validate rounds.

    The first round keeps ``options.float_blocks`` leading blocks in float. When the guard
    rejects its graph, :data:`ONNXRUNTIME_RETRIES` add float layers until a graph passes.
    If none passes, the last graph is returned and the compile's own validation rejects it.
    Without a guard, or with ``options.onnxruntime_layer_search`` off, only the first round
    runs and the record is None.
    """
    from engine.compile.fuse import depthwise_scopes, nodes_in_leading_blocks
    from engine.compile.quantize import quantize_onnx_qdq

    def quantize(leading: int, blocks: tuple[int, ...]) -> onnx.ModelProto:
        scopes = tuple(depthwise_scopes(blocks))
        depthwise = [node.name for node in exported.graph.node if scopes and node.name.startswith(scopes)]
        exclude = keep_float + nodes_in_leading_blocks(exported, leading) + depthwise
        return quantize_onnx_qdq(exported, calibration, exclude, options.calibration_method)

    if guard is None or not options.onnxruntime_layer_search:
        return quantize(options.float_blocks, ()), None
    candidates = depthwise_blocks_present(reference_path, options.openvino_float_depthwise)
    settings = [(options.float_blocks, ())]
    settings += [(options.float_blocks + extra, candidates if depthwise else ()) for extra, depthwise in ONNXRUNTIME_RETRIES]
    rounds: list[SearchRound] = []
    for leading, blocks in settings:
        model = quantize(leading, blocks)
        scores = score_onnx_model(model, guard.validation.batch, options.threads)
        problems = tuple(guard.problems("onnxruntime:CPUExecutionProvider", scores))
        rounds.append(SearchRound(leading, blocks, guard.score_error(scores), problems))
        logger.info(
            "ONNX Runtime INT8, leading blocks in float: %d, depthwise convolutions in float: %s: %s",
            leading,
            block_list(blocks),
            "; ".join(problems) or "passed",
        )
        if not problems:
            break
    last = rounds[-1]
    record = FloatLayerSearch(last.float_blocks, last.float_depthwise, candidates, (), tuple(rounds)).to_dict()
    return model, record


def score_onnx_model(model: onnx.ModelProto, batch: np.ndarray, threads: int | None) -> np.ndarray:
    """Return the raw score of every input in ``batch`` from an in-memory ONNX graph on ONNX Runtime's CPU provider."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="defectseek-score-") as folder:
        path = Path(folder) / ONNX_NAME
        onnx.save_model(model, str(path))
        return score_with("onnxruntime", path, batch, threads)


def save_onnx(model: onnx.ModelProto, staging: Path) -> str:
    """Save ``model`` as ``model.onnx``; weights above 1.5 GiB go to ``model.onnx.data`` beside it."""
    path = staging / ONNX_NAME
    size = sum(len(tensor.raw_data) for tensor in model.graph.initializer)
    if size > EXTERNAL_DATA_BYTES:
        logger.info("Graph weights are %.1f GiB: writing them as ONNX external data", size / 2**30)
        onnx.save_model(
            model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=ONNX_DATA_NAME
        )
    else:
        onnx.save_model(model, str(path))
    return ONNX_NAME


def score_with(
    engine: str,
    path: Path,
    batch: np.ndarray,
    threads: int | None,
    precision: str = "fp32",
    extension: Path | None = None,
) -> np.ndarray:
    """Return the raw score of every input in ``batch`` on the CPU engine named."""
    count = threads or default_threads()
    if engine == "onnxruntime":
        loaded = OnnxRuntimeEngine(path, ["CPUExecutionProvider"], count)
    else:
        loaded = OpenVinoEngine(path, count, precision, extension=extension)
    scores = [np.asarray(loaded.run(batch[index : index + 1])["score"]).reshape(-1)[0] for index in range(len(batch))]
    return np.asarray(scores, dtype=np.float64)


def build_openvino_graphs(
    graphs: GraphSet,
    reference_path: Path,
    staging: Path,
    bank: np.ndarray,
    kernel: np.ndarray,
    output_size: tuple[int, int],
    calibration: np.ndarray | None,
    keep_float: list[str],
    options,
    top_count: int = 1,
    guard: GuardCheck | None = None,
) -> GraphSet:
    """Write the OpenVINO IR (NNCF-quantized for int8) and, when the extension is built, the native-head IR.

    For int8 with ``options.openvino_layer_search`` and a ``guard``, the float leading
    blocks and depthwise convolutions are chosen per model
    (:mod:`engine.compile.layer_search`); otherwise the fixed setting of ``options`` applies.
    """
    import openvino as ov

    search = None
    if options.precision == "int8":
        model, search = quantize_openvino(reference_path, calibration, keep_float, options, guard)
    else:
        model = ov.Core().read_model(str(reference_path))
    ov.save_model(model, str(staging / OPENVINO_NAME), compress_to_fp16=options.precision == "fp16")
    graphs = replace(
        graphs,
        root=staging,
        precision=options.precision,
        openvino=OPENVINO_NAME,
        openvino_search=search.to_dict() if search is not None else None,
    )
    if options.head not in ("auto", "native"):
        return graphs
    library = find_extension()
    if library is None:
        note = "the native OpenVINO extension is not built here (python -m engine.ops.build)"
        if options.head == "native":
            from engine.compile.pipeline import CompileError

            raise CompileError(f"--head native: {note}")
        logger.info("Native head skipped: %s", note)
        return replace(graphs, native_note=note)
    try:
        native = stitch_native_head(model, library, bank, kernel, output_size, options.native_search, top_count)
    except RuntimeError as error:
        # A library built from older sources lacks the attributes this version's head operator sets.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        note = (
            f"the native OpenVINO extension {library} does not accept this version's head operator ({reason}); "
            "rebuild it with: python -m engine.ops.build"
        )
        if options.head == "native":
            from engine.compile.pipeline import CompileError

            raise CompileError(f"--head native: {note}") from None
        logger.warning("Native head skipped: %s", note)
        return replace(graphs, native_note=note)
    ov.save_model(native, str(staging / OPENVINO_NATIVE_NAME), compress_to_fp16=options.precision == "fp16")
    (staging / EXTENSION_DIR).mkdir(exist_ok=True)
    shutil.copy2(library, staging / EXTENSION_DIR / LIBRARY_NAME)
    graphs = replace(
        graphs,
        openvino_native=OPENVINO_NATIVE_NAME,
        extension=f"{EXTENSION_DIR}/{LIBRARY_NAME}",
        native_search=options.native_search,
        native_kernel=search_kernel(library, options.native_search),
    )
    return _keep_native_if_faster(graphs, staging, calibration, options)


def openvino_float_scopes(
    options, float_depthwise: tuple[int, ...] | None = None, float_blocks: int | None = None
) -> list[str]:
    """Return the node-name prefixes that the NNCF-quantized OpenVINO graph keeps in float for ``options``.

    These are the intensity standardization, the stem, the first ``float_blocks`` blocks
    (default: ``options.openvino_float_blocks``) and the depthwise convolutions of the
    blocks in ``float_depthwise`` (default: ``options.openvino_float_depthwise``).
    """
    from engine.compile.fuse import depthwise_scopes, leading_scopes

    blocks = options.openvino_float_depthwise if float_depthwise is None else float_depthwise
    leading = options.openvino_float_blocks if float_blocks is None else float_blocks
    return leading_scopes(leading) + depthwise_scopes(blocks)


def quantize_openvino(
    reference_path: Path, calibration: np.ndarray, keep_float: list[str], options, guard: GuardCheck | None
) -> tuple[object, FloatLayerSearch | None]:
    """Return the NNCF-quantized OpenVINO model of the fp32 export and the float-layer search record.

    Without ``options.openvino_layer_search`` or a ``guard`` the record is None, the
    first ``options.openvino_float_blocks`` blocks stay float, and every block of
    ``options.openvino_float_depthwise`` keeps its depthwise convolution in float. The
    search starts from ``options.openvino_search_float_blocks`` leading float blocks and
    falls back to that fixed setting in its last round.
    """
    from engine.compile.quantize import quantize_openvino_nncf

    def quantize(leading: int, blocks: tuple[int, ...]):
        return quantize_openvino_nncf(
            reference_path,
            calibration,
            keep_float,
            openvino_float_scopes(options, blocks, leading),
            activation_ranges=options.openvino_activation_ranges,
        )

    if not options.openvino_layer_search or guard is None:
        return quantize(options.openvino_float_blocks, tuple(options.openvino_float_depthwise)), None
    threads = options.threads or default_threads()

    def evaluate(model) -> Evaluation:
        scores = score_openvino_model(model, guard.validation.batch, threads)
        return Evaluation(guard.score_error(scores), tuple(guard.problems("openvino", scores)))

    candidates = depthwise_blocks_present(reference_path, options.openvino_float_depthwise)
    model, search = search_float_layers(
        candidates,
        quantize,
        bypass_depthwise_inputs,
        evaluate,
        float_blocks=options.openvino_search_float_blocks,
        fallback_float_blocks=options.openvino_float_blocks,
    )
    logger.info(
        "OpenVINO INT8 keeps in float: leading blocks: %d, depthwise convolutions: %s",
        search.float_blocks,
        block_list(search.float_depthwise),
    )
    return model, search


def depthwise_blocks_present(reference_path: Path, blocks: tuple[int, ...]) -> tuple[int, ...]:
    """Return the blocks of ``blocks`` that have a depthwise convolution in the ONNX graph at ``reference_path``."""
    from engine.compile.fuse import DEPTHWISE_SCOPE

    names = [node.name for node in onnx.load_model(str(reference_path), load_external_data=False).graph.node]
    return tuple(
        block for block in blocks if any(name.startswith(DEPTHWISE_SCOPE.format(index=block)) for name in names)
    )


def score_openvino_model(model, batch: np.ndarray, threads: int) -> np.ndarray:
    """Return the raw score of every input in ``batch`` from an in-memory OpenVINO model, one input per inference.

    The compile settings are those of :class:`engine.runtime.engines.OpenVinoEngine` for
    fp32 and int8 bundles.
    """
    import openvino as ov

    config = {
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32",
    }
    compiled = ov.Core().compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    output = next(port for port in compiled.outputs if "score" in port.get_names())
    scores = []
    for index in range(len(batch)):
        result = request.infer({0: batch[index : index + 1]})
        scores.append(np.asarray(result[output]).reshape(-1)[0])
    return np.asarray(scores, dtype=np.float64)


def stitch_native_head(
    model, library: Path, bank: np.ndarray, kernel: np.ndarray, output_size, search: str, top_count: int = 1
):
    """Return a copy of the OpenVINO ``model`` whose ``anomaly_map`` and ``score`` come from the native head."""
    import openvino as ov

    core = _EXTENSION_CORES.get(str(library))
    if core is None:
        core = ov.Core()
        core.add_extension(str(library))
        _EXTENSION_CORES[str(library)] = core
    features_result = next(result for result in model.get_results() if "features" in result.output(0).get_names())
    features = features_result.input_value(0)
    shape = features.get_partial_shape()
    channels, grid = shape[1].get_length(), (shape[2].get_length(), shape[3].get_length())
    head_graph = build_head_model(
        bank, kernel, channels, grid, output_size, search=search, top_count=top_count
    )
    head = core.read_model(head_graph.SerializeToString(), b"")
    for target in head.get_parameters()[0].output(0).get_target_inputs():
        target.replace_source_output(features)
    head_results = {name: result for result in head.get_results() for name in result.output(0).get_names()}
    results = []
    for result in model.get_results():
        names = result.output(0).get_names()
        replacement = next((head_results[name] for name in names if name in head_results), None)
        results.append(replacement if replacement is not None else result)
    return ov.Model(results, model.get_parameters(), "defectseek_native_head")


def _keep_native_if_faster(graphs: GraphSet, staging: Path, calibration: np.ndarray | None, options) -> GraphSet:
    sample = calibration[:1] if calibration is not None else np.full((1, 3, *_input_size(staging)), 127.0, np.float32)
    threads = options.threads or default_threads()
    standard_engine = OpenVinoEngine(staging / graphs.openvino, threads, options.precision)
    native_engine = OpenVinoEngine(staging / graphs.openvino_native, threads, options.precision, staging / graphs.extension)
    standard, native = _median_ms_interleaved(standard_engine, native_engine, sample)
    timings = {"openvino_standard_head": round(standard, 3), "openvino_native_head": round(native, 3)}
    if options.head == "auto" and native >= standard:
        (staging / graphs.openvino_native).unlink()
        (staging / graphs.openvino_native).with_suffix(".bin").unlink(missing_ok=True)
        shutil.rmtree(staging / EXTENSION_DIR)
        note = f"native head not faster here ({native:.2f} ms vs {standard:.2f} ms per image): standard head kept"
        logger.info("%s", note)
        return replace(graphs, openvino_native=None, extension=None, head_timings_ms=timings, native_note=note)
    return replace(graphs, head_timings_ms=timings)


def _median_ms_interleaved(first, second, sample: np.ndarray) -> tuple[float, float]:
    """Return the median milliseconds of each engine, alternating runs so that both see the same load."""
    first.run(sample)
    second.run(sample)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(TIMING_REPEATS):
        for engine, record in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            engine.run(sample)
            record.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times[0]), statistics.median(times[1])


def _input_size(staging: Path) -> tuple[int, int]:
    model = onnx.load_model(str(staging / ONNX_NAME), load_external_data=False)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return int(dims[2].dim_value), int(dims[3].dim_value)
