"""Score labelled images with a bundle and derive what the Evaluate page shows.

Metrics use :mod:`engine.metrics` exactly as ``inspect eval`` does: image AUROC over
all scored images, pixel AUROC and AUPRO over the images with masks (good images count
as all-normal masks), and overkill/escape rates at a threshold.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.gui.workflow.jobs import JobCancelled
from app.gui.workflow.project_data import LabelledSample, sample_mask
from engine.metrics import RatesAtThreshold, aupro, rates_at, roc_auc, roc_curve
from engine.runtime import Inspector
from engine.runtime.inspector import normalize_score
from engine.runtime.overlay import heatmap_overlay
from labeling.imageio import ImageReadError, read_image
from labeling.project import Project

logger = logging.getLogger(__name__)

THUMBNAIL_MAX_SIDE_PX = 160
SLIDER_STEPS = 1000
HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class ScoredImage:
    """One evaluated image: truth (0 good, 1 NG), raw score, a small heatmap overlay (RGB uint8) and,
    when the bundle has a defect-type classifier, the type it gave (None otherwise or when judged OK)."""

    image_id: str
    path: Path
    label: int
    defect_type: str
    score: float
    overlay: np.ndarray = field(repr=False, compare=False)
    predicted_type: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    """Scores and metrics of one bundle on labelled images (AUROC/AUPRO are None when undefined)."""

    bundle: Path
    bundle_id: str
    engine: str
    provider: str
    threshold: float
    normal_level: float
    images: tuple[ScoredImage, ...]
    unreadable: tuple[str, ...]
    image_auroc: float | None
    pixel_auroc: float | None
    aupro: float | None
    ms_per_image: float

    @property
    def labels(self) -> np.ndarray:
        """Truth per image (0 good, 1 NG)."""
        return np.array([item.label for item in self.images], dtype=np.int64)

    @property
    def scores(self) -> np.ndarray:
        """Raw score per image."""
        return np.array([item.score for item in self.images], dtype=np.float64)

    @property
    def has_both_classes(self) -> bool:
        """True when good and NG images were scored (ROC and AUROC need both)."""
        labels = self.labels
        return bool(labels.size) and 0 < int(labels.sum()) < labels.size


ProgressCallback = Callable[[int, int], None]


def evaluate_bundle(
    bundle: str | Path,
    project: Project,
    samples: Sequence[LabelledSample],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    engine: str = "auto",
    device: str = "cpu",
) -> EvaluationResult:
    """Score ``samples`` with ``bundle`` and compute the metrics.

    Raises:
        engine.bundle.BundleError: the bundle is invalid.
        engine.runtime.EngineUnavailableError: no engine for ``device``.
        JobCancelled: ``cancel`` was set.
    """
    inspector = Inspector.open(bundle, engine=engine, device=device)
    post = inspector.manifest.postprocessing
    scored: list[ScoredImage] = []
    unreadable: list[str] = []
    masks: list[np.ndarray] = []
    maps: list[np.ndarray] = []
    started = time.perf_counter()
    for index, sample in enumerate(samples):
        if cancel is not None and cancel.is_set():
            raise JobCancelled("evaluation was cancelled")
        try:
            image = read_image(sample.path)
            inspector.check_image(image)
        except ImageReadError as error:
            logger.warning("Evaluation skipped %s", error)
            unreadable.append(str(error))
            continue
        verdict = inspector.inspect_images([image])[0]
        normalized = normalize_score(verdict.anomaly_map, post.threshold, post.normal_level)
        overlay = _thumbnail(heatmap_overlay(image, np.asarray(normalized, dtype=np.float32)))
        scored.append(
            ScoredImage(
                sample.image_id, sample.path, sample.label, sample.defect_type, verdict.score, overlay,
                getattr(verdict, "defect_type", None),
            )
        )
        mask = sample_mask(project, sample, (image.height, image.width))
        if mask is not None:
            masks.append(mask)
            maps.append(verdict.anomaly_map)
        if progress is not None:
            progress(index + 1, len(samples))
    elapsed = time.perf_counter() - started
    labels = np.array([item.label for item in scored])
    scores = np.array([item.score for item in scored])
    has_both = bool(labels.size) and 0 < int(labels.sum()) < labels.size
    has_masks = any(mask.any() for mask in masks)
    pixel_labels = np.concatenate([mask.ravel() for mask in masks]) if has_masks else None
    pixel_scores = np.concatenate([values.ravel() for values in maps]) if has_masks else None
    return EvaluationResult(
        bundle=Path(bundle),
        bundle_id=inspector.manifest.bundle_id,
        engine=inspector.engine,
        provider=inspector.provider,
        threshold=post.threshold,
        normal_level=post.normal_level,
        images=tuple(scored),
        unreadable=tuple(unreadable),
        image_auroc=roc_auc(labels, scores) if has_both else None,
        pixel_auroc=roc_auc(pixel_labels, pixel_scores) if has_masks else None,
        aupro=aupro(masks, maps) if has_masks else None,
        ms_per_image=1000.0 * elapsed / max(1, len(scored)),
    )


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = THUMBNAIL_MAX_SIDE_PX / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


class SensitivityScale:
    """Maps a sensitivity slider (0 = least sensitive, :data:`SLIDER_STEPS` = most) to a score threshold.

    The slider spans the range of the scored images with a small margin, so every
    slider step can change a decision. Higher sensitivity means a lower threshold,
    so more images are judged NG: overkill rises and escapes fall.
    """

    def __init__(self, result: EvaluationResult) -> None:
        scores = result.scores
        values = np.append(scores, result.threshold) if scores.size else np.array([result.threshold])
        low, high = float(values.min()), float(values.max())
        margin = max((high - low) * 0.02, 1e-6)
        self.low = low - margin
        self.high = high + margin
        self._result = result

    def threshold_at(self, position: int) -> float:
        """Return the threshold for slider ``position``."""
        fraction = min(max(position, 0), SLIDER_STEPS) / SLIDER_STEPS
        return self.high - (self.high - self.low) * fraction

    def position_of(self, threshold: float) -> int:
        """Return the slider position nearest to ``threshold``."""
        fraction = (self.high - threshold) / (self.high - self.low)
        return int(round(min(max(fraction, 0.0), 1.0) * SLIDER_STEPS))

    def rates(self, threshold: float) -> RatesAtThreshold:
        """Count outcomes on the scored images when scores above ``threshold`` are NG."""
        return rates_at(self._result.labels, self._result.scores, threshold)


def roc_points(result: EvaluationResult) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (false-positive rates, true-positive rates) of the image scores, or None without both classes."""
    if not result.has_both_classes:
        return None
    fpr, tpr, _ = roc_curve(result.labels, result.scores)
    return fpr, tpr


def score_histograms(result: EvaluationResult, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (bin edges, good counts, NG counts) over a common range of the scores."""
    scores = result.scores
    if scores.size == 0:
        return np.linspace(0.0, 1.0, bins + 1), np.zeros(bins, np.int64), np.zeros(bins, np.int64)
    low = min(float(scores.min()), result.threshold)
    high = max(float(scores.max()), result.threshold)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    labels = result.labels
    good, _ = np.histogram(scores[labels == 0], edges)
    defective, _ = np.histogram(scores[labels == 1], edges)
    return edges, good, defective


def worst_cases(result: EvaluationResult, count: int = 6) -> tuple[list[ScoredImage], list[ScoredImage]]:
    """Return the highest-scoring good images and the lowest-scoring NG images, worst first."""
    good = sorted((item for item in result.images if item.label == 0), key=lambda item: -item.score)
    defective = sorted((item for item in result.images if item.label == 1), key=lambda item: item.score)
    return good[:count], defective[:count]


NO_TYPE = "none"


def type_confusion(result: EvaluationResult) -> tuple[list[str], list[str], np.ndarray] | None:
    """Return (true types, given types, counts) over the NG images, or None when no image got a type.

    The columns are the types seen on either side, then ``none`` for NG images that got
    no type (usually because they were judged OK). A classifier's ``unknown`` result is
    a column like any type name.
    """
    defective = [item for item in result.images if item.label == 1]
    if not any(item.predicted_type for item in result.images):
        return None
    rows = sorted({item.defect_type for item in defective})
    given = sorted({item.predicted_type for item in defective if item.predicted_type})
    columns = sorted(set(rows) | set(given)) + [NO_TYPE]
    counts = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for item in defective:
        counts[rows.index(item.defect_type), columns.index(item.predicted_type or NO_TYPE)] += 1
    return rows, columns, counts
