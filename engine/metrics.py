"""Evaluation metrics in numpy: ROC and its area, AUPRO, and rates at a threshold.

AUPRO follows Bergmann et al., "The MVTec Anomaly Detection Dataset" (IJCV 2021):
the mean per-region overlap of every connected defect region, integrated over the
false-positive rate from 0 to 0.3 and divided by 0.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

AUPRO_FPR_LIMIT = 0.3
AUPRO_STEPS = 200


@dataclass(frozen=True)
class RatesAtThreshold:
    """Counts and rates of a threshold on labelled images (1 = defect)."""

    threshold: float
    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int

    @property
    def overkill_rate(self) -> float:
        """False-reject rate: share of good images judged NG."""
        good = self.false_positive + self.true_negative
        return self.false_positive / good if good else 0.0

    @property
    def escape_rate(self) -> float:
        """Miss rate: share of defective images judged OK."""
        defects = self.true_positive + self.false_negative
        return self.false_negative / defects if defects else 0.0

    @property
    def f1(self) -> float:
        """F1 score of the NG class."""
        denominator = 2 * self.true_positive + self.false_positive + self.false_negative
        return 2 * self.true_positive / denominator if denominator else 0.0


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (false-positive rates, true-positive rates, thresholds), ties handled as one step.

    Raises:
        ValueError: the labels do not contain both classes.
    """
    truth = np.asarray(labels).astype(bool).ravel()
    values = np.asarray(scores, dtype=np.float64).ravel()
    positives = int(truth.sum())
    negatives = truth.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC needs both good and defective samples")
    order = np.argsort(-values, kind="mergesort")
    sorted_values = values[order]
    sorted_truth = truth[order]
    last_of_tie = np.r_[np.nonzero(np.diff(sorted_values))[0], truth.size - 1]
    true_positive = np.cumsum(sorted_truth)[last_of_tie]
    false_positive = (last_of_tie + 1) - true_positive
    tpr = np.r_[0.0, true_positive / positives]
    fpr = np.r_[0.0, false_positive / negatives]
    thresholds = np.r_[np.inf, sorted_values[last_of_tie]]
    return fpr, tpr, thresholds


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the area under the ROC curve."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.trapezoid(tpr, fpr))


def rates_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> RatesAtThreshold:
    """Count outcomes when scores above ``threshold`` are judged NG."""
    truth = np.asarray(labels).astype(bool)
    judged = np.asarray(scores, dtype=np.float64) > threshold
    return RatesAtThreshold(
        threshold=float(threshold),
        true_positive=int(np.sum(judged & truth)),
        false_positive=int(np.sum(judged & ~truth)),
        true_negative=int(np.sum(~judged & ~truth)),
        false_negative=int(np.sum(~judged & truth)),
    )


def aupro(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray], fpr_limit: float = AUPRO_FPR_LIMIT) -> float:
    """Return the normalized area under the per-region-overlap curve up to ``fpr_limit``.

    Args:
        masks: boolean ground-truth masks (all-false for good images).
        maps: anomaly maps of the same shapes.

    Raises:
        ValueError: no defect region in any mask.
    """
    region_values: list[np.ndarray] = []
    normal_values: list[np.ndarray] = []
    for mask, values in zip(masks, maps):
        normal_values.append(values[~mask].ravel())
        count, labelled = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        for region in range(1, count):
            region_values.append(np.sort(values[labelled == region]))
    if not region_values:
        raise ValueError("AUPRO needs at least one defect region in the masks")
    normal = np.sort(np.concatenate(normal_values))
    limit_index = int(np.floor((1.0 - fpr_limit) * (normal.size - 1)))
    thresholds = np.linspace(normal[-1], normal[limit_index], AUPRO_STEPS)
    fpr = 1.0 - np.searchsorted(normal, thresholds, side="right") / normal.size
    pro = np.mean(
        [1.0 - np.searchsorted(values, thresholds, side="right") / values.size for values in region_values], axis=0
    )
    fpr = np.r_[0.0, fpr, fpr_limit]
    pro = np.r_[0.0, pro, pro[-1]]
    keep = fpr <= fpr_limit
    return float(np.trapezoid(pro[keep], fpr[keep]) / fpr_limit)
