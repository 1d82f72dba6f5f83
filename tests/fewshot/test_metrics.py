"""Per-type precision, recall and confusion matrix."""

from __future__ import annotations

import pytest

from fewshot.metrics import type_metrics


def test_confusion_counts_and_scores():
    metrics = type_metrics(
        ["crack", "crack", "crack", "spot", "spot"],
        ["crack", "spot", "unknown", "spot", None],
    )
    assert metrics.rows == ("crack", "spot")
    assert metrics.columns == ("crack", "spot", "unknown", "none")
    assert metrics.matrix.tolist() == [[1, 1, 1, 0], [0, 1, 0, 1]]
    crack, spot = metrics.per_type
    assert crack.recall == pytest.approx(1 / 3)
    assert crack.precision == 1.0
    assert spot.recall == 0.5
    assert spot.precision == 0.5
    assert metrics.balanced_accuracy == pytest.approx((1 / 3 + 0.5) / 2)


def test_never_predicted_type_has_no_precision():
    metrics = type_metrics(["crack", "spot"], ["spot", "spot"])
    assert metrics.per_type[0].precision is None
    assert metrics.per_type[0].recall == 0.0


def test_prediction_outside_true_types():
    metrics = type_metrics(["crack"], ["dent"])
    assert metrics.columns == ("crack", "dent", "unknown", "none")
    assert metrics.to_dict()["confusion_matrix"] == [[0, 1, 0, 0]]


def test_length_mismatch_rejected():
    with pytest.raises(ValueError):
        type_metrics(["crack"], ["crack", "spot"])
