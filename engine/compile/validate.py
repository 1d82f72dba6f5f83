"""Compile-time validation: compare a compiled graph with the fp32 reference and guard INT8 accuracy.

The guard rejects a compile whose image AUROC drops more than the tolerance below the
fp32 reference (where the validation images include defects) or whose OK/NG verdicts
agree with the reference on fewer images than the tolerance allows.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.metrics import roc_auc
from engine.runtime.inspector import normalize_score
from labeling.imageio import ImageReadError, LoadedImage, find_images, read_image
from labeling.model_input import model_inputs

logger = logging.getLogger(__name__)

GOOD_FOLDER = "good"


class GuardRejected(RuntimeError):
    """A compiled graph lost more accuracy than the tolerance allows; no bundle was written."""


@dataclass(frozen=True)
class GuardTolerance:
    """The largest accuracy loss a compiled bundle may show against fp32."""

    auroc_drop_points: float = 0.5
    min_verdict_agreement: float = 0.99


@dataclass(frozen=True)
class ValidationSet:
    """Preprocessed held-out images: model inputs, the image each input belongs to, labels per image.

    Labels are 1 for a defect and 0 for good, or None when unknown. A tiled image has
    several inputs; its image score is the maximum over them.
    """

    batch: np.ndarray
    owners: np.ndarray
    names: tuple[str, ...]
    labels: np.ndarray | None

    def image_scores(self, input_scores: np.ndarray) -> np.ndarray:
        """Reduce per-input scores to per-image scores (maximum over an image's inputs)."""
        scores = np.full(len(self.names), -np.inf)
        np.maximum.at(scores, self.owners, np.asarray(input_scores, dtype=np.float64))
        return scores


def stack_inputs(images: list[LoadedImage], size: tuple[int, int], bit_depth: int, resize: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (all model inputs stacked, index of the image each input came from)."""
    batches, owners = [], []
    for index, image in enumerate(images):
        inputs, _ = model_inputs(image, size, bit_depth, resize)
        batches.append(inputs)
        owners.extend([index] * len(inputs))
    return np.concatenate(batches).astype(np.float32), np.asarray(owners, dtype=np.int64)


@dataclass(frozen=True)
class ValidationReport:
    """How one compiled graph compares with the fp32 reference on the validation set."""

    engine: str
    image_count: int
    score_correlation: float
    verdict_agreement: float
    max_normalized_delta: float
    auroc_reference: float | None
    auroc_compiled: float | None

    @property
    def auroc_drop_points(self) -> float | None:
        """AUROC loss in percentage points (positive = worse than fp32), or None without defects."""
        if self.auroc_reference is None or self.auroc_compiled is None:
            return None
        return 100.0 * (self.auroc_reference - self.auroc_compiled)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON-ready form for the manifest."""
        data = asdict(self)
        data["auroc_drop_points"] = self.auroc_drop_points
        return data


def load_validation_set(
    folder: str | os.PathLike[str],
    size: tuple[int, int],
    bit_depth: int,
    resize: str = "stretch",
    *,
    limit: int | None = None,
) -> ValidationSet:
    """Load held-out images from ``folder``.

    In the MVTec AD layout (``test/good`` and ``test/<defect>``), or a folder with a
    ``good`` subfolder beside defect subfolders, images get labels; otherwise every
    image is unlabelled and only score correlation and verdict agreement are measured.

    Raises:
        FileNotFoundError: the folder holds no readable image.
    """
    root = Path(folder)
    base = root / "test" if (root / "test").is_dir() else root
    labelled = (base / GOOD_FOLDER).is_dir()
    files, _ = find_images([base])
    images, names, labels = [], [], []
    if limit and len(files) > limit:
        files = [files[index] for index in np.unique(np.linspace(0, len(files) - 1, limit).round().astype(int))]
    for path in files:
        try:
            images.append(read_image(path))
        except ImageReadError as error:
            logger.warning("Skipping validation image %s", error)
            continue
        names.append(str(path))
        labels.append(0 if path.relative_to(base).parts[0] == GOOD_FOLDER else 1)
    if not images:
        raise FileNotFoundError(f"{folder}: no readable validation images; pass a folder of images")
    batch, owners = stack_inputs(images, size, bit_depth, resize)
    truth = np.asarray(labels) if labelled else None
    return ValidationSet(batch=batch, owners=owners, names=tuple(names), labels=truth)


def compare_scores(
    engine: str,
    reference: np.ndarray,
    compiled: np.ndarray,
    threshold: float,
    normal_level: float,
    labels: np.ndarray | None,
) -> ValidationReport:
    """Compare the compiled graph's raw scores with the fp32 reference scores."""
    reference = np.asarray(reference, dtype=np.float64)
    compiled = np.asarray(compiled, dtype=np.float64)
    agreement = float(np.mean((reference > threshold) == (compiled > threshold)))
    delta = np.abs(normalize_score(reference, threshold, normal_level) - normalize_score(compiled, threshold, normal_level))
    auroc_reference = auroc_compiled = None
    if labels is not None and 0 < int(np.sum(labels)) < len(labels):
        auroc_reference = roc_auc(labels, reference)
        auroc_compiled = roc_auc(labels, compiled)
    return ValidationReport(
        engine=engine,
        image_count=int(reference.size),
        score_correlation=_correlation(reference, compiled),
        verdict_agreement=agreement,
        max_normalized_delta=float(np.max(delta)) if delta.size else 0.0,
        auroc_reference=auroc_reference,
        auroc_compiled=auroc_compiled,
    )


def guard_violations(report: ValidationReport, tolerance: GuardTolerance) -> list[str]:
    """Return what the report violates in ``tolerance`` (empty when the compile may ship)."""
    problems = []
    if report.verdict_agreement < tolerance.min_verdict_agreement:
        changed = round((1.0 - report.verdict_agreement) * report.image_count)
        problems.append(
            f"{report.engine}: {changed} of {report.image_count} images changed verdict against fp32 "
            f"({report.verdict_agreement:.2%} agree, below the required {tolerance.min_verdict_agreement:.2%}); "
            "compile in fp32, or accept the change with a lower --min-agreement"
        )
    drop = report.auroc_drop_points
    if drop is not None and drop > tolerance.auroc_drop_points:
        problems.append(
            f"{report.engine}: image AUROC {report.auroc_compiled:.4f} is {drop:.2f} points below fp32 "
            f"({report.auroc_reference:.4f}); the tolerance is {tolerance.auroc_drop_points:.2f} points"
        )
    return problems


@dataclass(frozen=True)
class GuardCheck:
    """The validation images with their fp32 scores and the tolerance that every compiled graph is judged by.

    ``reference_scores`` are the fp32 export's raw scores per model input, in the order
    of ``validation.batch``.
    """

    validation: ValidationSet
    reference_scores: np.ndarray
    threshold: float
    normal_level: float
    tolerance: GuardTolerance

    def report(self, engine: str, compiled_scores: np.ndarray) -> ValidationReport:
        """Compare a compiled graph's raw scores per model input with the fp32 scores."""
        return compare_scores(
            engine,
            self.validation.image_scores(self.reference_scores),
            self.validation.image_scores(compiled_scores),
            self.threshold,
            self.normal_level,
            self.validation.labels,
        )

    def problems(self, engine: str, compiled_scores: np.ndarray) -> list[str]:
        """Return the guard violations of a compiled graph's scores (empty when it may ship)."""
        return guard_violations(self.report(engine, compiled_scores), self.tolerance)

    def score_error(self, compiled_scores: np.ndarray) -> float:
        """Return the root mean square difference of the normalized image scores from fp32."""
        reference = self.validation.image_scores(self.reference_scores)
        compiled = self.validation.image_scores(compiled_scores)
        difference = normalize_score(reference, self.threshold, self.normal_level) - normalize_score(
            compiled, self.threshold, self.normal_level
        )
        return float(np.sqrt(np.mean(np.square(difference))))


def _correlation(reference: np.ndarray, compiled: np.ndarray) -> float:
    if reference.size < 2 or np.std(reference) == 0 or np.std(compiled) == 0:
        return 1.0 if np.allclose(reference, compiled) else 0.0
    return float(np.corrcoef(reference, compiled)[0, 1])
