"""Benchmark the engines on one model and one image set: torch eager, each engine x precision x head path.

For every configuration it reports the backbone and head milliseconds per image,
end-to-end images per second (batch 1) and the speed-up over two torch eager
baselines measured in the same run: batch 1 and ``--torch-batch`` (default 8). The
head is timed on its own graph (features in, map and score out) with the same bank;
the backbone time is end-to-end minus head. The OpenVINO native-head graphs are also
timed in throughput mode, as ``inspect run`` judges a folder: one single-thread stream
per thread and one batch-1 request per stream plus one spare in flight. Every number is the median
over ``--repeats`` passes over the images. The fp32 and int8 bundles
are compiled first, with ``--head native`` when the OpenVINO extension is built.

Run from the repository root (about 10 minutes on 2 CPU cores)::

    python -m engine.ops.build
    python bench/engine.py --model MODEL_DIR --calibration ../shared/data/kolektorsdd/train/good \\
        --images ../shared/data/kolektorsdd/test --threads 2 --out docs/benchmarks-engine.md

``--head-only`` skips the compiles and times only the head graph (features in, map and
score out) on each path and native search, for every ``--model`` given, with the score
difference from the standard-op head; it needs no ``--calibration`` (about 1 minute)::

    python bench/engine.py --head-only --model MODEL_2048 --model MODEL_10K \\
        --images ../shared/data/magnetic_tile/test --threads 2 --out head.md

``--float-layers N:BLOCKS`` (repeatable) skips the compiles and the torch baselines. N is the
number of leading blocks kept in float and BLOCKS the blocks whose depthwise convolution stays
float (a comma list, or ``none``). It quantizes the OpenVINO graph once per variant, as
``inspect compile`` would with that choice, adds the native head, and times the graphs
interleaved in wall and CPU time, so that they share the load::

    python bench/engine.py --model MODEL --calibration ../shared/data/magnetic_tile/train/good \\
        --images ../shared/data/magnetic_tile/test --float-layers 2:11,12,15,16,17,18,19 \\
        --float-layers 1:none --repeats 15 --out variants.md

``--request-batch 1 2 4`` adds a throughput-mode row for each number of inputs per request.

This is a script, not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.compile.export import load_trained_model  # noqa: E402
from engine.compile.pipeline import CompileOptions, compile_bundle  # noqa: E402
from engine.compile.validate import GuardRejected, stack_inputs  # noqa: E402
from engine.ops.domain import SEARCH_FP32, SEARCH_SCREENED, SEARCH_SCREENED_AVX2, SEARCH_SCREENED_VNNI  # noqa: E402
from engine.ops.functions import build_head_model, inline_functions  # noqa: E402
from engine.ops.loader import find_extension, search_kernel  # noqa: E402
from engine.runtime.engines import OnnxRuntimeEngine, OpenVinoEngine  # noqa: E402
from engine.runtime.inspector import normalize_score  # noqa: E402
from engine.runtime.throughput import requests_in_flight  # noqa: E402
from labeling.imageio import find_images, read_image  # noqa: E402

logger = logging.getLogger("bench.engine")


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    name: str
    head_path: str
    end_to_end_ms: float
    head_ms: float | None

    @property
    def backbone_ms(self) -> float | None:
        """End-to-end minus head, in milliseconds per image (None where the head is not timed alone)."""
        if self.head_ms is None:
            return None
        return max(self.end_to_end_ms - self.head_ms, 0.0)

    @property
    def images_per_second(self) -> float:
        """End-to-end images per second."""
        return 1000.0 / self.end_to_end_ms


def median_ms(
    run: Callable[[np.ndarray], object],
    inputs: np.ndarray,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
    batch: int = 1,
) -> float:
    """Return the median per-input milliseconds over ``repeats`` passes (warm-up on two batches first).

    ``clock`` is wall time by default. ``time.process_time`` gives the CPU time of all the
    process's threads, which other jobs on a loaded machine do not inflate. ``run`` gets
    ``batch`` inputs per call.
    """
    batches = [inputs[start : start + batch] for start in range(0, len(inputs), batch)]
    for item in batches[:2]:
        run(item)
    passes = []
    for _ in range(repeats):
        started = clock()
        for item in batches:
            run(item)
        passes.append((clock() - started) * 1000.0 / len(inputs))
    return statistics.median(passes)


def in_flight_ms(engine: OpenVinoEngine, inputs: np.ndarray, repeats: int, batch: int = 1) -> float:
    """Return the median per-input milliseconds with ``batch`` inputs per request and several requests in flight.

    Each pass submits every input to the engine's throughput model and waits for the
    last one. At ``batch`` 1 this is what ``Inspector.inspect_many`` does for a folder.
    Larger requests measure what batches in flight would give; the runtime does not
    send them yet (``inspect run --batch-size N`` runs one batch at a time).
    """
    compiled = engine.throughput_model()
    requests = requests_in_flight(compiled, engine.output_names)

    def one_pass(items: np.ndarray) -> None:
        starts = list(range(0, len(items), batch))
        for start in starts:
            requests.submit(start, items[start : start + batch])
        requests.wait()
        requests.take_all(starts)

    return median_ms(one_pass, inputs, repeats, batch=len(inputs))


def torch_rows(
    model_dir: Path, inputs: np.ndarray, features: np.ndarray, repeats: int, threads: int, batch: int = 1
) -> Row:
    """Time torch eager at ``batch`` inputs per call: the whole model and its head alone."""
    import torch

    torch.set_num_threads(threads)
    model = load_torch_model(model_dir)

    @torch.no_grad()
    def whole(batch: np.ndarray) -> object:
        return model(torch.from_numpy(batch))

    @torch.no_grad()
    def head(batch: np.ndarray) -> object:
        return model.postprocess(model.head(torch.from_numpy(batch)))

    name = "torch eager fp32" if batch == 1 else f"torch eager fp32, batch {batch}"
    return Row(
        name,
        "torch",
        median_ms(whole, inputs, repeats, batch=batch),
        median_ms(head, features, repeats, batch=batch),
    )


def load_torch_model(model_dir: Path):
    """Return the eval-mode torch model of a model directory."""
    return load_trained_model(model_dir).torch_model()


def head_graph(model_dir: Path, features: np.ndarray, search: str = SEARCH_SCREENED):
    """Return the stand-alone head graph of a model (features in, map and score out) with ``search``."""
    model = load_torch_model(model_dir)
    bank = model.head.bank.numpy()
    kernel = model.postprocess.kernel_rows.reshape(-1).numpy()
    size = tuple(model.postprocess.image_size)
    top_count = int(getattr(model.postprocess, "top_count", 1))
    return build_head_model(bank, kernel, features.shape[1], features.shape[2:], size, search=search, top_count=top_count)


def head_timings(model_dir: Path, features: np.ndarray, repeats: int, threads: int) -> dict[str, float]:
    """Time the head graph alone on each path: function body (ORT), standard ops (OpenVINO), native (OpenVINO)."""
    graph = head_graph(model_dir, features)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        fused = Path(folder) / "head.onnx"
        fused.write_bytes(graph.SerializeToString())
        inlined = Path(folder) / "head_inlined.onnx"
        inlined.write_bytes(inline_functions(graph).SerializeToString())
        ort_engine = OnnxRuntimeEngine(fused, ["CPUExecutionProvider"], threads)
        results["fused-function-body"] = median_ms(lambda x: ort_engine.session.run(None, {"features": x}), features, repeats)
        ov_standard = OpenVinoEngine(inlined, threads)
        results["standard-onnx-ops"] = median_ms(ov_standard.run, features, repeats)
        library = find_extension()
        if library is not None:
            native = OpenVinoEngine(fused, threads, extension=library)
            results["fused-native-openvino"] = median_ms(native.run, features, repeats)
    return results


def engine_rows(
    bundle: Path, precision: str, inputs, features, model_dir, repeats, threads, request_batches=(1,)
) -> list[Row]:
    """Time each engine and head path of a compiled bundle, and throughput mode once per request batch size."""
    rows = []
    ort_engine = OnnxRuntimeEngine(bundle / "model.onnx", ["CPUExecutionProvider"], threads)
    if precision == "int8":
        # The head runs on the INT8 backbone's features, as it does in the bundle.
        features = np.concatenate([ort_engine.run(item[None])["features"] for item in inputs])
    heads = head_timings(model_dir, features, repeats, threads)
    rows.append(Row(f"ONNX Runtime CPU {precision}", "fused-function-body", median_ms(ort_engine.run, inputs, repeats), heads["fused-function-body"]))
    ov_standard = OpenVinoEngine(bundle / "openvino" / "model.xml", threads, precision)
    rows.append(Row(f"OpenVINO CPU {precision}", "standard-onnx-ops", median_ms(ov_standard.run, inputs, repeats), heads["standard-onnx-ops"]))
    native_graph = bundle / "openvino" / "model_native.xml"
    if native_graph.is_file() and "fused-native-openvino" in heads:
        native = OpenVinoEngine(native_graph, threads, precision, extension=next((bundle / "ops").iterdir()))
        rows.append(Row(f"OpenVINO CPU {precision}", "fused-native-openvino", median_ms(native.run, inputs, repeats), heads["fused-native-openvino"]))
        for batch in request_batches:
            streams = f"OpenVINO CPU {precision}, throughput mode ({threads} streams of 1 thread)"
            if batch > 1:
                streams += f", {batch} inputs per request"
            rows.append(Row(streams, "fused-native-openvino", in_flight_ms(native, inputs, repeats, batch), None))
    return rows


@dataclass(frozen=True)
class HeadRow:
    """One head path timed on one bank, with its score difference from the standard-op head."""

    bank: tuple[int, int]
    path: str
    kernel: str
    head_ms: float
    standard_ms: float
    head_cpu_ms: float
    standard_cpu_ms: float
    max_score_delta: float
    max_normalized_delta: float
    verdict_agreement: float


def head_only_rows(model_dir: Path, features: np.ndarray, repeats: int, threads: int) -> list[HeadRow]:
    """Time the standard-op head, the function body and each native search on one model's bank."""
    trained = load_trained_model(model_dir)
    threshold = trained.threshold
    rows: list[HeadRow] = []
    with tempfile.TemporaryDirectory() as folder:
        graphs = {}
        for search in (SEARCH_SCREENED, SEARCH_FP32, SEARCH_SCREENED_AVX2, SEARCH_SCREENED_VNNI):
            graphs[search] = Path(folder) / f"head_{search}.onnx"
            graphs[search].write_bytes(head_graph(model_dir, features, search).SerializeToString())
        inlined = Path(folder) / "head_inlined.onnx"
        inlined.write_bytes(inline_functions(head_graph(model_dir, features)).SerializeToString())
        standard = OpenVinoEngine(inlined, threads)
        reference = np.array([standard.run(item[None])["score"].reshape(-1)[0] for item in features], dtype=np.float64)
        engines = {"standard-onnx-ops": (standard, "OpenVINO standard ops")}
        ort_engine = OnnxRuntimeEngine(graphs[SEARCH_SCREENED], ["CPUExecutionProvider"], threads)
        engines["fused-function-body"] = (ort_engine, "ONNX Runtime function body")
        library = find_extension()
        if library is not None:
            for search in (SEARCH_FP32, SEARCH_SCREENED_AVX2, SEARCH_SCREENED_VNNI, SEARCH_SCREENED):
                engine = OpenVinoEngine(graphs[search], threads, extension=library)
                engines[f"fused-native-openvino ({search})"] = (engine, search_kernel(library, search) or search)
        timings = {name: median_ms(engine.run, features, repeats) for name, (engine, _) in engines.items()}
        cpu_timings = {
            name: median_ms(engine.run, features, repeats, time.process_time) for name, (engine, _) in engines.items()
        }
        for name, (engine, kernel) in engines.items():
            scores = np.array([engine.run(item[None])["score"].reshape(-1)[0] for item in features], dtype=np.float64)
            normalized = normalize_score(scores, threshold.value, threshold.normal_level)
            expected = normalize_score(reference, threshold.value, threshold.normal_level)
            verdicts = (scores > threshold.value) == (reference > threshold.value)
            rows.append(
                HeadRow(
                    bank=tuple(trained.bank.shape),
                    path=name,
                    kernel=kernel,
                    head_ms=timings[name],
                    standard_ms=timings["standard-onnx-ops"],
                    head_cpu_ms=cpu_timings[name],
                    standard_cpu_ms=cpu_timings["standard-onnx-ops"],
                    max_score_delta=float(np.abs(scores - reference).max()),
                    max_normalized_delta=float(np.abs(normalized - expected).max()),
                    verdict_agreement=float(verdicts.mean()),
                )
            )
    return rows


def write_head_table(rows: list[HeadRow], args: argparse.Namespace) -> str:
    """Return the Markdown report of the head-only mode."""
    models = " ".join(f"--model {model}" for model in args.model)
    lines = [
        "# Head benchmark",
        "",
        f"Command: `python bench/engine.py --head-only {models} --images {args.images} --threads {args.threads} "
        f"--repeats {args.repeats} --limit {args.limit}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {args.threads} threads "
        f"used; Python {platform.python_version()}; {platform.platform()}.",
        f"Load average (1 min) at start and end: {args.load_start:.1f} and {os.getloadavg()[0]:.1f}; compare the "
        "ratios, which were measured in the same run, rather than the milliseconds.",
        f"Images: {args.count} feature maps per bank; median of {args.repeats} passes at batch 1. CPU ms is the "
        "process CPU time of all threads per image, which other jobs do not inflate. Deltas are the largest "
        "differences from the standard-op head over these images.",
        "",
        "| bank | head path | kernel on this CPU | head ms | vs standard | head CPU ms | vs standard (CPU) "
        "| max score delta | max normalized delta | verdicts equal |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.bank[0]} x {row.bank[1]} | {row.path} | {row.kernel} | {row.head_ms:.2f} | "
            f"{row.standard_ms / row.head_ms:.2f}x | {row.head_cpu_ms:.2f} | {row.standard_cpu_ms / row.head_cpu_ms:.2f}x | "
            f"{row.max_score_delta:.2e} | {row.max_normalized_delta:.2e} | {row.verdict_agreement:.1%} |"
        )
    return "\n".join([*lines, ""])


def model_features(model_dir: Path, images: Path, limit: int) -> tuple[np.ndarray, np.ndarray, object]:
    """Return (model inputs, backbone features, trained model) for the first ``limit`` images."""
    trained = load_trained_model(model_dir)
    files, _ = find_images([images])
    inputs, _ = stack_inputs([read_image(path) for path in files[:limit]], trained.input_size, trained.bit_depth, trained.resize)
    import torch

    with torch.no_grad():
        features = trained.torch_model().extractor(torch.from_numpy(inputs)).numpy()
    return inputs, features, trained


def write_table(rows: list[Row], baselines: tuple[Row, Row], args: argparse.Namespace, notes: list[str]) -> str:
    """Return the Markdown report; ``baselines`` are torch eager at batch 1 and at ``--torch-batch``."""
    baseline, batched = baselines
    lines = [
        "# Engine benchmark",
        "",
        f"Command: `python bench/engine.py --model {args.model} --calibration {args.calibration} --images {args.images} "
        f"--threads {args.threads} --repeats {args.repeats} --limit {args.limit} --torch-batch {args.torch_batch}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {args.threads} threads "
        f"used; Python {platform.python_version()}; {platform.platform()}.",
        f"Load average (1 min) at start and end: {args.load_start:.1f} and {os.getloadavg()[0]:.1f}; numbers taken "
        "while other processes load the CPUs are not comparable with a quiet machine.",
        f"Images: {args.count} model inputs at {args.size[1]}x{args.size[0]}; bank {args.bank[0]} x {args.bank[1]}; "
        f"median of {args.repeats} passes at batch 1, except the torch batch {args.torch_batch} row. Throughput-mode "
        "rows keep several batch-1 requests in flight and time whole passes, so they have no backbone and head split.",
        "",
        "| configuration | head path | backbone ms | head ms | end-to-end ms | images/s "
        f"| vs torch eager batch 1 | vs torch eager batch {args.torch_batch} |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in [baseline, batched, *rows]:
        backbone = "-" if row.backbone_ms is None else f"{row.backbone_ms:.1f}"
        head = "-" if row.head_ms is None else f"{row.head_ms:.1f}"
        lines.append(
            f"| {row.name} | {row.head_path} | {backbone} | {head} | {row.end_to_end_ms:.1f} | "
            f"{row.images_per_second:.1f} | {baseline.end_to_end_ms / row.end_to_end_ms:.2f}x | "
            f"{batched.end_to_end_ms / row.end_to_end_ms:.2f}x |"
        )
    lines += ["", *notes, ""]
    return "\n".join(lines)


def parse_float_layers(text: str) -> tuple[int, tuple[int, ...]]:
    """Parse ``N:BLOCKS`` (``2:11,12`` or ``1:none``) into (leading float blocks, depthwise blocks)."""
    leading, _, blocks = text.partition(":")
    if not blocks:
        raise argparse.ArgumentTypeError(f"invalid variant {text!r}; expected N:BLOCKS, for example 2:11,12 or 1:none")
    if blocks.strip().lower() == "none":
        return int(leading), ()
    return int(leading), tuple(int(part) for part in blocks.split(",") if part.strip())


def float_layer_graphs(
    model_dir: Path, calibration: Path, variants: list[tuple[int, tuple[int, ...]]], threads: int, work: Path
) -> dict[tuple[int, tuple[int, ...]], OpenVinoEngine]:
    """Return a native-head OpenVINO engine per (leading float blocks, float depthwise blocks), quantized as compiled.

    Each variant is quantized with the compile's NNCF settings and its fixed float layers, without the search.
    """
    import onnx
    import openvino as ov

    from engine.compile.export import export_onnx
    from engine.compile.fuse import nodes_after_aggregation
    from engine.compile.graphs import openvino_float_scopes, stitch_native_head
    from engine.compile.pipeline import _calibration
    from engine.compile.quantize import quantize_openvino_nncf

    library = find_extension()
    if library is None:
        raise SystemExit("--float-layers needs the native extension: python -m engine.ops.build")
    trained = load_trained_model(model_dir)
    options = CompileOptions(precision="int8", threads=threads)
    batch, _ = _calibration(calibration, trained, options)
    reference = export_onnx(trained, work / "reference.onnx")
    keep_float = nodes_after_aggregation(onnx.load_model(str(reference)))
    model = trained.torch_model()
    bank = model.head.bank.detach().numpy()
    kernel = model.postprocess.kernel_rows.detach().reshape(-1).numpy()
    output_size = tuple(int(side) for side in model.postprocess.image_size)
    top_count = int(getattr(model.postprocess, "top_count", 1))
    engines = {}
    for leading, blocks in variants:
        scopes = openvino_float_scopes(options, blocks, leading)
        quantized = quantize_openvino_nncf(reference, batch, keep_float, scopes, options.openvino_activation_ranges)
        native = stitch_native_head(quantized, library, bank, kernel, output_size, options.native_search, top_count)
        path = work / f"float_{leading}_{'-'.join(map(str, blocks)) or 'none'}.xml"
        ov.save_model(native, str(path))
        engines[(leading, blocks)] = OpenVinoEngine(path, threads, "int8", extension=library)
    return engines


def interleaved_ms(engines: dict, inputs: np.ndarray, repeats: int) -> dict[object, tuple[float, float]]:
    """Return each engine's median (wall ms, CPU ms) per input. Every pass runs every engine once, in turn."""
    for engine in engines.values():
        engine.run(inputs[:1])
    passes: dict[object, list[tuple[float, float]]] = {key: [] for key in engines}
    for _ in range(repeats):
        for key, engine in engines.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for item in inputs:
                engine.run(item[None])
            wall_ms = (time.perf_counter() - wall) * 1000.0 / len(inputs)
            passes[key].append((wall_ms, (time.process_time() - cpu) * 1000.0 / len(inputs)))
    return {
        key: (statistics.median(wall for wall, _ in values), statistics.median(cpu for _, cpu in values))
        for key, values in passes.items()
    }


def write_variant_table(timings: dict[tuple[int, tuple[int, ...]], tuple[float, float]], args) -> str:
    """Return the Markdown report of the ``--float-layers`` mode, with ratios against the first variant."""
    first_wall, first_cpu = next(iter(timings.values()))
    variants = " ".join(f"--float-layers {lead}:{','.join(map(str, blocks)) or 'none'}" for lead, blocks in timings)
    lines = [
        "# OpenVINO INT8 with chosen float layers",
        "",
        f"Command: `python bench/engine.py --model {args.model[0]} --calibration {args.calibration} "
        f"--images {args.images} {variants} --threads {args.threads} --repeats {args.repeats} --limit {args.limit}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {args.threads} threads "
        f"used; Python {platform.python_version()}. Load average (1 min) at start and end: {args.load_start:.1f} and "
        f"{os.getloadavg()[0]:.1f}. Native head, batch 1, {args.count} images, "
        f"median of {args.repeats} interleaved passes. "
        "CPU ms is the process CPU time of all threads per image, which other jobs inflate less than wall time.",
        "",
        "| leading blocks in float | depthwise kept in float | wall ms | CPU ms | wall vs first | CPU vs first |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for (leading, blocks), (wall, cpu) in timings.items():
        name = ", ".join(map(str, blocks)) or "none"
        lines.append(
            f"| {leading} | {name} | {wall:.2f} | {cpu:.2f} | {wall / first_wall:.3f} | {cpu / first_cpu:.3f} |"
        )
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> int:
    """Compile, measure and write the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", type=Path, action="append", required=True, help="model directory from inspect train (repeat with --head-only)"
    )
    parser.add_argument("--calibration", type=Path, default=None, help="good training images for INT8 (not with --head-only)")
    parser.add_argument("--head-only", action="store_true", help="time only the head graph on each path and native search")
    parser.add_argument("--images", type=Path, required=True, help="images to time (and to validate the compiles)")
    parser.add_argument("--validation", type=Path, default=None, help="MVTec-layout set for the guard (default: none)")
    parser.add_argument("--threads", type=int, default=2, help="threads per engine (default: 2)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the images (default: 5)")
    parser.add_argument("--limit", type=int, default=24, help="images timed (default: 24)")
    parser.add_argument(
        "--torch-batch", type=int, default=8, help="batch size of the second torch eager baseline (default: 8)"
    )
    parser.add_argument(
        "--float-layers",
        type=parse_float_layers,
        action="append",
        default=None,
        metavar="N:BLOCKS",
        help="time only OpenVINO INT8 with N leading blocks and these blocks' depthwise convolutions in float "
        "(for example 2:11,12 or 1:none; repeat)",
    )
    parser.add_argument(
        "--request-batch",
        type=int,
        nargs="+",
        default=[1],
        help="inputs per request in the throughput-mode rows, one row each (default: 1, as inspect run sends them)",
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for the compiled bundles (default: temporary)")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks-engine.md"), help="Markdown table to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.load_start = os.getloadavg()[0]
    os.environ.setdefault("DEFECTSEEK_THREADS", str(args.threads))
    if args.head_only:
        head_rows = []
        for model_dir in args.model:
            inputs, features, _ = model_features(model_dir, args.images, args.limit)
            args.count = len(inputs)
            head_rows += head_only_rows(model_dir, features, args.repeats, args.threads)
        return _write(write_head_table(head_rows, args), args.out)
    if len(args.model) != 1 or args.calibration is None:
        parser.error("without --head-only, give exactly one --model and --calibration")
    if args.float_layers:
        inputs, _, _ = model_features(args.model[0], args.images, args.limit)
        args.count = len(inputs)
        work = args.work or Path(tempfile.mkdtemp(prefix="defectseek-bench-"))
        engines = float_layer_graphs(args.model[0], args.calibration, args.float_layers, args.threads, work)
        return _write(write_variant_table(interleaved_ms(engines, inputs, args.repeats), args), args.out)
    args.model = args.model[0]

    inputs, features, trained = model_features(args.model, args.images, args.limit)
    args.count, args.size, args.bank = len(inputs), trained.input_size, trained.bank.shape

    baselines = (
        torch_rows(args.model, inputs, features, args.repeats, args.threads),
        torch_rows(args.model, inputs, features, args.repeats, args.threads, batch=args.torch_batch),
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="defectseek-bench-"))
    head = "native" if find_extension() else "function"
    rows, notes = [], []
    for precision in ("fp32", "int8"):
        bundle = work / f"bundle_{precision}"
        options = CompileOptions(precision=precision, head=head, threads=args.threads)
        try:
            result = compile_bundle(args.model, bundle, options, calibration=args.calibration, validation=args.validation)
        except GuardRejected as error:
            notes.append(f"- {precision}: the guard rejected the compile ({error}); not timed.")
            continue
        search = result.manifest.validation.get("openvino_float_layers")
        if search is not None:
            depthwise = search["float_depthwise_blocks"] or "none"
            notes.append(
                f"- {precision} openvino: {search['leading_float_blocks']} leading blocks and the depthwise convolutions "
                f"of blocks {depthwise} kept in float after {len(search['rounds'])} quantize-and-validate rounds"
            )
        for report in result.reports:
            notes.append(
                f"- {precision} {report.engine}: verdict agreement {report.verdict_agreement:.1%}, score correlation "
                f"{report.score_correlation:.4f}, AUROC drop {report.auroc_drop_points if report.auroc_drop_points is not None else 'n/a'} points"
            )
        rows += engine_rows(
            bundle, precision, inputs, features, args.model, args.repeats, args.threads, tuple(args.request_batch)
        )
    return _write(write_table(rows, baselines, args, notes), args.out)


def _write(report: str, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
