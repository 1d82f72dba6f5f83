"""Decision thresholds chosen from scores of good images only, or with defect samples when they exist.

Default rule for good images only (``threshold_for_false_rejects``): the held-out good
scores are taken as a sample of a normal distribution, and the threshold is the
one-sided prediction bound that a new good part exceeds with the accepted
false-reject rate ``target_frr``:
``threshold = mean + t(n - 1, 1 - target_frr) * sd * sqrt(1 + 1 / n)``. Student's t
and the ``sqrt(1 + 1 / n)`` factor widen the bound by themselves when there are few
scores. Unlike the maximum, one unusual training image does not move it far.

Older rule, still available (``threshold_from_good``): ``threshold = max(good) + margin * widening * (max(good) - median(good))``.
The good scores are held-out scores (each image scored against a bank that excludes
its own patches), so the threshold sits above every good image seen in training, by a
margin proportional to their spread. A few scores understate how far good parts
spread, so ``widening = sqrt(20 / n)`` for n < 20 held-out scores (1 from 20 on). The
threshold never falls to the lowest score, which is how F1-based auto-thresholds flag
every part when no defects are available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import stats

logger = logging.getLogger(__name__)

DEFAULT_MARGIN = 0.25
DEFAULT_TARGET_FRR = 0.01
MIN_FIT_SCORES = 3
MIN_SPREAD_FRACTION = 0.05
FULL_REFERENCE_COUNT = 20


@dataclass(frozen=True)
class Threshold:
    """A decision threshold, the score that maps to 0 on the normalized scale, and how it was chosen."""

    value: float
    normal_level: float
    method: str
    margin: float
    good_count: int
    defect_count: int
    note: str
    target_frr: float | None = None
    good_above: int = 0


def threshold_from_good(good_scores: np.ndarray, margin: float = DEFAULT_MARGIN) -> Threshold:
    """Choose a threshold above the held-out good scores.

    Raises:
        ValueError: no scores were given.
    """
    scores = np.asarray(good_scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no good-image scores: at least one good image is needed to choose a threshold")
    highest = float(scores.max())
    median = float(np.median(scores))
    spread = max(highest - median, MIN_SPREAD_FRACTION * abs(highest))
    widening = max(1.0, (FULL_REFERENCE_COUNT / scores.size) ** 0.5)
    value = highest + margin * widening * spread
    note = "No defect samples were available: the threshold comes from good images only."
    logger.warning(note)
    return Threshold(
        value=value,
        normal_level=_normal_level(median, value),
        method="good-max-plus-margin",
        margin=margin,
        good_count=int(scores.size),
        defect_count=0,
        note=note,
    )


def threshold_for_false_rejects(good_scores: np.ndarray, target_frr: float = DEFAULT_TARGET_FRR) -> Threshold:
    """Choose the threshold that a new good part exceeds with probability ``target_frr``.

    ``target_frr`` is the accepted false-reject rate (0.01: one good part in a hundred
    is sent to re-inspection). With fewer than three held-out scores the spread cannot
    be estimated, so the margin rule of :func:`threshold_from_good` is used instead.

    Raises:
        ValueError: no scores, or ``target_frr`` outside (0, 0.5).
    """
    if not 0.0 < target_frr < 0.5:
        raise ValueError(f"invalid accepted false-reject rate {target_frr}; use a value between 0 and 0.5, such as 0.01")
    scores = np.asarray(good_scores, dtype=np.float64)
    if scores.size < MIN_FIT_SCORES:
        return threshold_from_good(scores)
    mean = float(scores.mean())
    spread = max(float(scores.std(ddof=1)), MIN_SPREAD_FRACTION * abs(mean) / 10)
    factor = float(stats.t.isf(target_frr, df=scores.size - 1)) * (1.0 + 1.0 / scores.size) ** 0.5
    value = mean + factor * spread
    above = int((scores > value).sum())
    note = (
        f"No defect samples were available: the threshold comes from {scores.size} good images only, "
        f"set for an expected false-reject rate of {target_frr:.1%}."
    )
    logger.warning(note)
    if above:
        # Stored with the model for reports and the GUI, not logged: the CLI lists those images by name.
        note += f" {above} training image(s) score above it; check them for defects or unusual parts."
    return Threshold(
        value=value,
        normal_level=_normal_level(float(np.median(scores)), value),
        method="good-prediction-bound",
        margin=0.0,
        good_count=int(scores.size),
        defect_count=0,
        note=note,
        target_frr=float(target_frr),
        good_above=above,
    )


def threshold_with_defects(good_scores: np.ndarray, defect_scores: np.ndarray, max_miss_rate: float = 0.0) -> Threshold:
    """Choose the highest threshold whose miss rate on the defect scores is at most ``max_miss_rate``.

    Falls back to :func:`threshold_from_good` when no defect scores are given.
    """
    good = np.asarray(good_scores, dtype=np.float64)
    defects = np.sort(np.asarray(defect_scores, dtype=np.float64))
    if defects.size == 0:
        return threshold_from_good(good)
    allowed_misses = int(np.floor(max_miss_rate * defects.size))
    lowest_caught = float(defects[allowed_misses])
    below = good[good < lowest_caught]
    value = (float(below.max()) + lowest_caught) / 2 if below.size else lowest_caught - 1e-6
    median = float(np.median(good)) if good.size else 0.0
    return Threshold(
        value=value,
        normal_level=_normal_level(median, value),
        method="defect-miss-rate",
        margin=0.0,
        good_count=int(good.size),
        defect_count=int(defects.size),
        note=f"Highest threshold that misses at most {max_miss_rate:.1%} of {defects.size} defect samples.",
    )


def _normal_level(median: float, value: float) -> float:
    spread = value - median
    if spread <= MIN_SPREAD_FRACTION * abs(value):
        return value - max(MIN_SPREAD_FRACTION * abs(value), 1e-6)
    return median
