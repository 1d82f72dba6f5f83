"""The training job: load good images, optionally pick k diverse ones, train, calibrate, write the model.

:func:`run_training` runs inside the worker process of :class:`app.gui.workflow.jobs.JobProcess`,
so it may import torch; the studio's own process never does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.gui.workflow.jobs import JobFailure
from app.gui.workflow.project_data import TypedExample

logger = logging.getLogger(__name__)

TRAIN_TARGET = "app.gui.workflow.train_job:run_training"
STAGE_LOAD = "load"
STAGE_PICK = "pick"
STAGE_CALIBRATE = "calibrate"
STAGE_EXPORT = "export"
STAGE_TYPES = "types"


# The same defaults as ``anomaly.TrainConfig`` (a test checks it); repeated here so the
# GUI does not import torch before a training job starts.
DEFAULT_BACKBONE = "efficientnet-lite1"
DEFAULT_CORESET_RATIO = 0.03


@dataclass(frozen=True)
class TrainRequest:
    """Training request from the Train page.

    Attributes:
        good_images: files of the good training images.
        model_dir: folder to write the model bundle to (replaced if it exists).
        pick_count: train on this many images chosen to cover every kind of good part (0: all).
        defect_images: labelled NG images; when given, the threshold is set between good and NG scores.
        backbone: feature extractor name.
        size: model input (height, width), or None to derive it from the images.
        resize: ``auto``, ``stretch`` or ``tile``.
        coreset_ratio: fraction of patches kept in the memory bank.
        target_frr: accepted false-reject rate of the good-only threshold (0.01: one good part in a
            hundred is judged NG); None selects the older rule, ``threshold_margin`` above the
            highest good score.
        threshold_margin: margin above the highest good score, in units of their spread (used only
            when ``target_frr`` is None).
        memory_budget_mb: memory for patch features.
        seed: random seed.
        type_examples: labelled NG examples that teach the few-shot defect-type classifier (none: OK/NG only).
        type_names: the project's defect types, including those without examples.
    """

    good_images: tuple[str, ...]
    model_dir: str
    pick_count: int = 0
    defect_images: tuple[str, ...] = ()
    backbone: str = DEFAULT_BACKBONE
    size: tuple[int, int] | None = None
    resize: str = "auto"
    coreset_ratio: float = DEFAULT_CORESET_RATIO
    target_frr: float | None = 0.01
    threshold_margin: float = 0.25
    memory_budget_mb: int = 4096
    seed: int = 0
    type_examples: tuple[TypedExample, ...] = ()
    type_names: tuple[str, ...] = ()


def run_training(request: TrainRequest, progress: Callable[[str, int, int], None], cancel: Any) -> dict[str, Any]:
    """Train from ``request`` and return a summary for the page.

    Raises:
        JobFailure: no readable images, or training rejected the settings (the message states what to change).
        anomaly.TrainingCancelled: ``cancel`` was set.
    """
    from anomaly import TrainConfig, TrainingCancelled, TrainingError, load_training_images, train_patchcore
    from engine.compile import write_model_bundle

    progress(STAGE_LOAD, 0, 1)
    images, skipped = load_training_images(list(request.good_images))
    progress(STAGE_LOAD, 1, 1)
    if not images:
        raise JobFailure("no readable good images to train on; mark images as good in the Label page or import them")
    picked: list[str] = []
    if 0 < request.pick_count < len(images):
        images, picked = _pick(images, request, progress)
    _check_cancel(cancel, TrainingCancelled)
    config = TrainConfig(
        backbone=request.backbone,
        size=request.size,
        resize=request.resize,
        coreset_ratio=request.coreset_ratio,
        threshold_margin=request.threshold_margin,
        target_frr=request.target_frr,
        memory_budget_mb=request.memory_budget_mb,
        seed=request.seed,
    )
    try:
        trained = train_patchcore(images, config, progress=progress, cancel=cancel, skipped=skipped)
    except TrainingError as error:
        raise JobFailure(str(error)) from error
    _check_cancel(cancel, TrainingCancelled)
    if request.defect_images:
        trained = _calibrate_with_defects(trained, request.defect_images, progress)
    sources_above = [source for source, _ in trained.images_above_threshold(images)]
    _check_cancel(cancel, TrainingCancelled)
    progress(STAGE_EXPORT, 0, 1)
    manifest = write_model_bundle(trained, request.model_dir)
    progress(STAGE_EXPORT, 1, 1)
    type_counts, type_warnings = _teach_types(request, trained, progress) if request.type_examples else ({}, [])
    return {
        "model_dir": str(request.model_dir),
        "bundle_id": manifest.bundle_id,
        "image_count": trained.image_count,
        "picked": picked,
        "input_size": list(trained.input_size),
        "threshold": trained.threshold.value,
        "threshold_method": trained.threshold.method,
        "threshold_note": trained.threshold.note,
        "threshold_target_frr": trained.threshold.target_frr,
        "threshold_margin": trained.threshold.margin,
        "threshold_good_count": trained.threshold.good_count,
        "threshold_defect_count": trained.threshold.defect_count,
        "good_above": trained.threshold.good_above,
        "good_above_images": sources_above,
        "train_seconds": trained.train_seconds,
        "skipped": [str(error) for error in skipped],
        "defect_types": type_counts,
        "warnings": type_warnings,
    }


def _check_cancel(cancel: Any, cancelled: type[Exception]) -> None:
    if cancel is not None and cancel.is_set():
        raise cancelled("training was cancelled")


def _pick(images: list, request: TrainRequest, progress: Callable[[str, int, int], None]) -> tuple[list, list[str]]:
    from anomaly.picker import pick_diverse

    progress(STAGE_PICK, 0, 1)
    indices = pick_diverse(images, request.pick_count, request.backbone)
    progress(STAGE_PICK, 1, 1)
    chosen = [images[index] for index in indices]
    logger.info("Picked %d of %d good images", len(chosen), len(images))
    return chosen, [image.source for image in chosen]


def _calibrate_with_defects(trained: Any, defect_images: tuple[str, ...], progress: Callable[[str, int, int], None]) -> Any:
    """Move the threshold between the good (held-out) scores and the scores of labelled NG images.

    The new threshold also counts the good training images that score above it, as the
    good-only rule does.
    """
    import numpy as np

    from anomaly import load_training_images, threshold_with_defects
    from engine.compile import TorchPredictor

    images, skipped = load_training_images(list(defect_images))
    for error in skipped:
        logger.warning("Skipping defect example %s", error)
    if not images:
        return trained
    predictor = TorchPredictor(trained)
    scores = []
    for index, image in enumerate(images):
        scores.append(predictor.predict([image])[0].score)
        progress(STAGE_CALIBRATE, index + 1, len(images))
    threshold = threshold_with_defects(trained.good_scores, scores)
    good_above = int((np.asarray(trained.good_scores) > threshold.value).sum())
    threshold = dataclasses.replace(threshold, good_above=good_above)
    return dataclasses.replace(trained, threshold=threshold)


def _teach_types(
    request: TrainRequest, trained: Any, progress: Callable[[str, int, int], None]
) -> tuple[dict[str, int], list[str]]:
    """Write the few-shot defect-type classifier into the model; return examples per type and warnings.

    Raises:
        JobFailure: no example could be read, or no type has an example.
    """
    from engine.compile.defect_types import add_defect_types
    from fewshot.classifier import FewShotError
    from fewshot.examples import DefectExample
    from labeling.imageio import ImageReadError, read_image

    progress(STAGE_TYPES, 0, 1)
    examples = []
    for item in request.type_examples:
        try:
            examples.append(DefectExample(read_image(item.path), item.defect_type, item.mask, str(item.path)))
        except ImageReadError as error:
            logger.warning("Skipping defect-type example %s", error)
    try:
        result = add_defect_types(request.model_dir, examples, type_names=request.type_names, trained=trained)
    except FewShotError as error:
        raise JobFailure(f"defect types: {error}") from error
    progress(STAGE_TYPES, 1, 1)
    counts = {item.name: item.examples for item in result.classifier.summary()}
    return counts, list(result.warnings)
