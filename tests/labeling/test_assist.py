"""Tests of anomaly-map region proposals."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.assist import accept_proposals, propose_regions
from labeling.model import ImageLabel, Verdict


def _anomaly_map() -> np.ndarray:
    scores = np.random.default_rng(4).random((40, 60)).astype(np.float32) * 0.3
    scores[5:10, 5:12] = 0.9
    scores[30, 50] = 0.8
    scores[20:26, 30:40] = 0.7
    return scores


def test_components_above_threshold() -> None:
    proposals = propose_regions(_anomaly_map(), 0.5)
    assert [proposal.area_px for proposal in proposals] == [35, 1, 60]
    assert proposals[0].max_score == pytest.approx(0.9)
    first = proposals[0].mask
    assert (first.left, first.top, first.width, first.height) == (5, 5, 7, 5)


def test_min_area_drops_specks() -> None:
    proposals = propose_regions(_anomaly_map(), 0.5, min_area_px=2)
    assert [proposal.area_px for proposal in proposals] == [35, 60]


def test_map_resized_to_image() -> None:
    proposals = propose_regions(_anomaly_map(), 0.5, min_area_px=10, image_size=(120, 80))
    assert len(proposals) == 2
    for proposal in proposals:
        assert proposal.mask.left + proposal.mask.width <= 120
        assert proposal.mask.top + proposal.mask.height <= 80


def test_nan_is_below_threshold() -> None:
    scores = np.full((20, 20), np.nan, dtype=np.float32)
    scores[2:4, 2:4] = 1.0
    assert [proposal.area_px for proposal in propose_regions(scores, 0.5)] == [4]


def test_invalid_map_rejected() -> None:
    with pytest.raises(ValueError, match="H x W"):
        propose_regions(np.zeros((4, 4, 3)), 0.5)


def test_label_unchanged_until_accepted() -> None:
    label = ImageLabel(image_width=60, image_height=40)
    proposals = propose_regions(_anomaly_map(), 0.5, min_area_px=2)
    assert label.regions == ()
    assert accept_proposals(label, []) is label

    accepted = accept_proposals(label, proposals[:1], defect_type="crack")

    assert accepted.verdict is Verdict.NG
    assert accepted.defect_type == "crack"
    assert len(accepted.regions) == 1
    assert accepted.regions[0].origin == "assist"
    assert accepted.regions[0].shape == proposals[0].mask
    assert label.regions == ()


def test_accept_rejects_wrong_size() -> None:
    proposals = propose_regions(_anomaly_map(), 0.5, min_area_px=2)
    with pytest.raises(ValueError, match="outside the 20x20 image"):
        accept_proposals(ImageLabel(image_width=20, image_height=20), proposals)
