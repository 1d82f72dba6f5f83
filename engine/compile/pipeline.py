"""Compile a trained model into a bundle for a target and precision: export, quantize, fuse, validate, write.

``compile_bundle`` is what ``inspect compile`` runs. Targets map to engines in order
(cpu: OpenVINO, then ONNX Runtime CPU; nvidia: TensorRT, then CUDA; amd: MIGraphX,
then ROCm or DirectML). Every compile scores held-out images with each graph it
writes that can run on this machine, compares them with the fp32 export, and raises
:class:`engine.compile.validate.GuardRejected` instead of writing a bundle that
loses more than the tolerance.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx

from engine.bundle import Manifest, load_manifest, write_manifest
from engine.compile.export import build_manifest, export_onnx, load_trained_model
from engine.compile.fuse import fuse_head, nodes_after_aggregation
from engine.compile.graphs import GraphSet, build_openvino_graphs, quantize_onnxruntime, save_onnx
from engine.compile.validate import (
    GuardCheck,
    GuardRejected,
    GuardTolerance,
    ValidationReport,
    ValidationSet,
    guard_violations,
    load_validation_set,
    stack_inputs,
)
from engine.ops.domain import HEAD_FUNCTION_BODY, HEAD_STANDARD, NATIVE_SEARCHES, SEARCH_SCREENED
from engine.runtime.engines import ORT_PROVIDERS, available_ort_providers
from engine.runtime.inspector import NG, OK, normalize_score
from labeling.imageio import ImageReadError, find_images, read_image

logger = logging.getLogger(__name__)

TARGETS = ("auto", "cpu", "nvidia", "amd")
PRECISIONS = ("fp32", "fp16", "int8")
HEAD_CHOICES = ("auto", "native", "function", "standard")
TARGET_ENGINES = {
    "cpu": ["openvino", "onnxruntime:CPUExecutionProvider"],
    "nvidia": [f"onnxruntime:{provider}" for provider in ORT_PROVIDERS["nvidia"]],
    "amd": [f"onnxruntime:{provider}" for provider in ORT_PROVIDERS["amd"]],
}
DEFAULT_CALIBRATION_IMAGES = 64
HELD_OUT_EVERY = 4
REFERENCE_INPUT = "reference/input.npy"


class CompileError(ValueError):
    """The compile request is invalid (unknown target, missing calibration images); the message explains the fix."""


@dataclass(frozen=True)
class CompileOptions:
    """Settings of one compile; the defaults are those of ``inspect compile``.

    ``float_blocks`` and ``openvino_float_blocks`` count the leading backbone blocks that
    INT8 keeps in float, besides the stem and the intensity standardization, in the ONNX
    Runtime QDQ graph and in the NNCF-quantized OpenVINO graph. The two quantizers lose
    different amounts of accuracy in these high-resolution layers (docs/engine.md).

    ``openvino_float_depthwise`` lists further blocks whose depthwise convolution the
    OpenVINO graph may keep in float. In EfficientNet-Lite1, INT8 inputs to the depthwise
    convolutions of blocks 11-12 and 15-19 caused the largest score errors against fp32
    (docs/engine.md). Blocks that a model does not have are skipped. With
    ``openvino_layer_search`` the compile starts from ``openvino_search_float_blocks``
    leading float blocks and no float depthwise convolution, and keeps only as many of
    these in float as the guard needs on the validation images
    (:mod:`engine.compile.layer_search`). Its last round, and every compile without the
    search, keeps ``openvino_float_blocks`` leading blocks and every listed depthwise convolution in float.
    ``openvino_activation_ranges`` sets NNCF's activation ranges
    (:data:`engine.compile.quantize.ACTIVATION_RANGES`). With ``onnxruntime_layer_search``
    a QDQ graph that the guard rejects is quantized again with more layers in float
    (:func:`engine.compile.graphs.quantize_onnxruntime`).

    NOTE: the block indices were measured on EfficientNet-Lite1 only. Lite0 and Lite2
    have other layers at these indices.
    """

    target: str = "cpu"
    precision: str = "fp32"
    head: str = "auto"
    tolerance: GuardTolerance = field(default_factory=GuardTolerance)
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES
    validation_images: int | None = None
    native_search: str = SEARCH_SCREENED
    float_blocks: int = 3
    openvino_float_blocks: int = 2
    openvino_float_depthwise: tuple[int, ...] = (11, 12, 15, 16, 17, 18, 19)
    openvino_layer_search: bool = True
    openvino_search_float_blocks: int = 1
    openvino_activation_ranges: str = "minmax"
    onnxruntime_layer_search: bool = True
    bank_ratio: float = 1.0
    calibration_method: str = "percentile"
    threads: int | None = None


@dataclass(frozen=True)
class CompileResult:
    """The written bundle, its manifest and the validation of each graph."""

    bundle: Path
    manifest: Manifest
    reports: tuple[ValidationReport, ...]


def resolve_target(target: str) -> str:
    """Map ``auto`` to the accelerator whose ONNX Runtime provider is installed, else ``cpu``."""
    if target != "auto":
        return target
    available = available_ort_providers()
    for accelerator in ("nvidia", "amd"):
        if any(provider in available for provider in ORT_PROVIDERS[accelerator]):
            return accelerator
    return "cpu"


def compile_bundle(
    model_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: CompileOptions = CompileOptions(),
    *,
    calibration: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | np.ndarray | None = None,
    validation: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CompileResult:
    """Compile the model that ``inspect train`` wrote to ``model_dir`` into the bundle ``out``.

    Args:
        model_dir: model directory with training state.
        out: bundle directory to write (replaced atomically if it exists).
        options: target, precision, head path and guard tolerance.
        calibration: training images (folders, files, or an N x 3 x H x W float32
            batch of model inputs). Required for int8; every fourth image is held out
            for validation when ``validation`` is not given.
        validation: held-out images; in the MVTec AD layout the guard also checks
            image AUROC.
        progress: called with a short description of each stage as it starts
            (an INT8 compile takes tens of seconds on two cores).

    Raises:
        CompileError: invalid options or no calibration images for int8.
        GuardRejected: a graph lost more accuracy than ``options.tolerance`` allows.
        engine.bundle.BundleError: ``model_dir`` is not a model with training state.
    """
    stage = progress if progress is not None else _no_progress
    _check_options(options)
    if options.precision == "int8" and calibration is None:
        raise CompileError(_NO_CALIBRATION)
    target = resolve_target(options.target)
    source_root, source_manifest = load_manifest(model_dir)
    stage("loading the model and the calibration and validation images")
    trained = load_trained_model(model_dir)
    calibration_batch, held_out = _calibration(calibration, trained, options)
    validation_set = _validation(validation, held_out, trained, options)

    with tempfile.TemporaryDirectory(prefix="defectseek-compile-") as work:
        staging = Path(work) / "bundle"
        staging.mkdir()
        stage("exporting the fp32 reference graph")
        reference_path = export_onnx(trained, Path(work) / "reference.onnx")
        compact = compact_bank(trained, options.bank_ratio)
        source_path = reference_path if compact is trained else export_onnx(compact, Path(work) / "compact.onnx")
        guard = _guard_check(reference_path, validation_set, trained, options)
        stage(_build_stage(target, options))
        graphs = _build_graphs(compact, source_path, staging, target, calibration_batch, options, guard)
        if guard is not None:
            stage(f"checking the compiled graphs on {len(guard.validation.names)} validation images")
        reports, engine_scores = _validate(graphs, guard, options)
        reference_scores = guard.reference_scores if guard is not None else None
        _copy_task_files(source_root, source_manifest, staging)
        reference = _write_reference(staging, validation_set, reference_scores, engine_scores, trained)
        manifest = _manifest(compact, source_manifest, target, options, graphs, reports, reference, validation_set)
        written = write_manifest(staging, manifest)
        _replace_directory(staging, Path(out))
    logger.info("Compiled %s for %s/%s into %s", model_dir, target, options.precision, out)
    return CompileResult(bundle=Path(out), manifest=written, reports=tuple(reports))


def _no_progress(message: str) -> None:
    """Ignore a stage description (the default ``progress`` of :func:`compile_bundle`)."""


def _build_stage(target: str, options: CompileOptions) -> str:
    """Return the stage description of building the graphs for ``target`` and ``options``."""
    engines = "OpenVINO and ONNX Runtime" if target == "cpu" else "ONNX Runtime"
    if options.precision == "int8":
        return f"quantizing to INT8 and building the {engines} graphs"
    return f"building the {engines} graphs ({options.precision})"


def compact_bank(trained, ratio: float):
    """Return ``trained`` with its bank reduced to ``ratio`` of its rows by greedy k-center selection.

    The threshold is not re-fitted: a smaller bank raises scores, and the guard then
    rejects a ratio that changes verdicts or AUROC beyond the tolerance.
    """
    if ratio >= 1.0:
        return trained
    import torch

    from anomaly.coreset import greedy_coreset

    count = max(1, int(round(trained.bank.shape[0] * ratio)))
    chosen = greedy_coreset(torch.from_numpy(trained.bank), count, seed=trained.config.seed).numpy()
    logger.info("Compacted the bank from %d to %d rows", trained.bank.shape[0], count)
    return replace(trained, bank=trained.bank[chosen], bank_owners=trained.bank_owners[chosen])


_NO_CALIBRATION = (
    "INT8 needs calibration images: pass --calibration with the good training images "
    "(the model directory does not store images)"
)


def _check_options(options: CompileOptions) -> None:
    if not 0.0 < options.bank_ratio <= 1.0:
        raise CompileError(f"bank ratio {options.bank_ratio} is outside (0, 1]; use 1 to keep the whole bank")
    if options.target not in TARGETS:
        raise CompileError(f"unknown target {options.target!r}; choose one of {', '.join(TARGETS)}")
    if options.precision not in PRECISIONS:
        raise CompileError(f"unknown precision {options.precision!r}; choose one of {', '.join(PRECISIONS)}")
    if options.head not in HEAD_CHOICES:
        raise CompileError(f"unknown head path {options.head!r}; choose one of {', '.join(HEAD_CHOICES)}")
    if options.native_search not in NATIVE_SEARCHES:
        raise CompileError(f"unknown native search {options.native_search!r}; choose one of {', '.join(NATIVE_SEARCHES)}")


def _load_images(sources: Sequence[str | os.PathLike[str]]) -> list:
    files, _ = find_images(list(sources))
    images = []
    for path in files:
        try:
            images.append(read_image(path))
        except ImageReadError as error:
            logger.warning("Skipping calibration image %s", error)
    return images


def _calibration(source, trained, options: CompileOptions) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return (calibration inputs, held-out inputs for validation) from images or a ready batch."""
    if source is None:
        return None, None  # compile_bundle has already rejected int8 without calibration
    if isinstance(source, np.ndarray):
        batch = np.ascontiguousarray(source, dtype=np.float32)
    else:
        sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        images = _load_images(sources)
        if not images:
            raise CompileError(f"no readable calibration images in {', '.join(map(str, sources))}")
        batch, _ = stack_inputs(images, trained.input_size, trained.bit_depth, trained.resize)
    held = np.arange(len(batch)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    if len(batch) < HELD_OUT_EVERY:
        held[:] = False
    calibration = batch[~held][: options.calibration_images]
    return calibration, batch[held] if held.any() else None


def _validation(folder, held_out: np.ndarray | None, trained, options: CompileOptions) -> ValidationSet | None:
    if folder is not None:
        return load_validation_set(
            folder, trained.input_size, trained.bit_depth, trained.resize, limit=options.validation_images
        )
    if held_out is None:
        return None
    count = len(held_out)
    logger.warning(
        "Validating on %d held-out calibration images: when they are training images they all score far below "
        "the threshold, so agreement and score deltas prove little; pass --validation with a test set "
        "(good and defect images, the MVTec AD layout also checks AUROC)",
        count,
    )
    return ValidationSet(
        batch=held_out,
        owners=np.arange(count),
        names=tuple(f"held-out calibration input {index}" for index in range(count)),
        labels=None,
    )


def _build_graphs(
    trained,
    reference_path: Path,
    staging: Path,
    target: str,
    calibration: np.ndarray | None,
    options: CompileOptions,
    guard: GuardCheck | None = None,
) -> GraphSet:
    """Write model.onnx (fused head unless ``--head standard``) and, for cpu, the OpenVINO IR."""
    model = trained.torch_model()
    bank = model.head.bank.detach().numpy()
    kernel = model.postprocess.kernel_rows.detach().reshape(-1).numpy()
    output_size = tuple(int(side) for side in model.postprocess.image_size)
    top_count = int(getattr(model.postprocess, "top_count", 1))
    exported = onnx.load_model(str(reference_path))
    keep_float = nodes_after_aggregation(exported)
    base = exported
    onnxruntime_search = None
    if options.precision == "int8":
        base, onnxruntime_search = quantize_onnxruntime(exported, reference_path, calibration, keep_float, options, guard)
    head_path = HEAD_STANDARD if options.head == "standard" else HEAD_FUNCTION_BODY
    if head_path == HEAD_FUNCTION_BODY:
        base = fuse_head(base, bank, kernel, output_size, search=options.native_search, top_count=top_count)
    onnx_name = save_onnx(base, staging)
    graphs = GraphSet(
        onnx=onnx_name,
        onnx_head=head_path,
        root=staging,
        precision=options.precision,
        onnxruntime_search=onnxruntime_search,
    )
    if target == "cpu":
        graphs = build_openvino_graphs(
            graphs,
            reference_path,
            staging,
            bank,
            kernel,
            output_size,
            calibration,
            keep_float,
            options,
            top_count,
            guard,
        )
    return graphs


def _guard_check(
    reference_path: Path, validation: ValidationSet | None, trained, options: CompileOptions
) -> GuardCheck | None:
    """Score the validation inputs with the fp32 export and return the check that every compiled graph must pass.

    Raises:
        CompileError: an int8 compile has no validation images.
    """
    from engine.compile.graphs import score_with

    if validation is None:
        if options.precision == "int8":
            raise CompileError("INT8 needs held-out images: pass --validation, or at least four calibration images")
        # Info, not a warning: the result then has no reports, and each front end reports that to its user.
        logger.info("No validation images: the compiled graphs were not checked on held-out images")
        return None
    reference = score_with("onnxruntime", reference_path, validation.batch, options.threads)
    threshold = trained.threshold
    return GuardCheck(validation, reference, threshold.value, threshold.normal_level, options.tolerance)


def _validate(
    graphs: GraphSet, guard: GuardCheck | None, options: CompileOptions
) -> tuple[list[ValidationReport], dict[str, float]]:
    """Score the validation inputs with every graph written and apply the guard.

    Returns the reports and each compiled graph's score of the first input (the runtime
    self-test compares an engine with its own graph).
    """
    if guard is None:
        return [], {}
    reports, problems, first_scores = [], [], {}
    for engine, runner in graphs.runners():
        compiled = runner(guard.validation.batch, options.threads)
        first_scores[engine] = float(np.asarray(compiled, dtype=np.float64).reshape(-1)[0])
        report = guard.report(engine, compiled)
        logger.info("Validation of %s: %s", engine, report)
        reports.append(report)
        problems.extend(guard_violations(report, options.tolerance))
    if problems:
        raise GuardRejected("the compiled bundle was not written: " + "; ".join(problems))
    return reports, first_scores


def _copy_task_files(source_root: Path, source_manifest: Manifest, staging: Path) -> None:
    """Copy graphs the task needs (e.g. the defect-type classifier) from the model directory."""
    classifier = source_manifest.task.get("classifier") or {}
    graph = classifier.get("graph")
    if graph:
        target = staging / graph
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_root / graph, target)


def _write_reference(
    staging: Path, validation: ValidationSet | None, reference_scores, engine_scores: dict[str, float], trained
) -> dict | None:
    """Store one validation input with its fp32 CPU score and each compiled graph's score, for the runtime self-test.

    An INT8 graph legitimately scores a little apart from fp32, so the runtime compares
    an engine with the score its own graph gave on this machine (``engine_scores``).
    """
    if validation is None or reference_scores is None:
        return None
    path = staging / REFERENCE_INPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, validation.batch[:1])
    threshold = trained.threshold

    def outcome(score: float) -> dict:
        return {
            "score": score,
            "normalized_score": float(normalize_score(score, threshold.value, threshold.normal_level)),
            "verdict": NG if score > threshold.value else OK,
        }

    return {
        "input": REFERENCE_INPUT,
        **outcome(float(reference_scores[0])),
        "engine": "onnxruntime:CPUExecutionProvider (fp32 export)",
        "engine_scores": {engine: outcome(score) for engine, score in engine_scores.items()},
    }


def _manifest(
    trained,
    source: Manifest,
    target: str,
    options: CompileOptions,
    graphs: GraphSet,
    reports: list[ValidationReport],
    reference: dict | None,
    validation: ValidationSet | None,
) -> Manifest:
    base = build_manifest(trained, target=target, precision=options.precision)
    head = dict(base.head)
    head.update(graphs.head_record())
    head["engines"] = TARGET_ENGINES[target]
    head["bank_channels"] = int(trained.bank.shape[1])
    validation_record = {
        "tolerance": {
            "auroc_drop_points": options.tolerance.auroc_drop_points,
            "min_verdict_agreement": options.tolerance.min_verdict_agreement,
        },
        "image_count": len(validation.names) if validation is not None else 0,
        "labelled": validation is not None and validation.labels is not None,
        "reports": [report.to_dict() for report in reports],
    }
    if reference is not None:
        validation_record["reference"] = reference
    if graphs.openvino_search is not None:
        validation_record["openvino_float_layers"] = graphs.openvino_search
    if graphs.onnxruntime_search is not None:
        validation_record["onnxruntime_float_layers"] = graphs.onnxruntime_search
    return replace(base, task=dict(source.task), graphs=graphs.graph_record(), head=head, validation=validation_record)


def _replace_directory(staging: Path, target: Path) -> None:
    """Move the finished bundle into place, keeping the old one until the new one is there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(f".{target.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(staging, incoming)
    if target.exists():
        backup = target.with_name(f".{target.name}.previous")
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(target, backup)
        os.replace(incoming, target)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(incoming, target)
