"""Layout part of the region descriptor: border distances, orientation, flip invariance, use in the open-set space only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fewshot.classifier import DefectTypeClassifier, distances_to_prototypes, distances_to_support
from fewshot.descriptor import BORDER_GAP_OFFSET, EMPTY_BORDER_GAP, LAYOUT_DIMENSIONS, describe_regions

SIZE = (64, 48)
CHANNELS = 8


def layout_of(regions: np.ndarray) -> np.ndarray:
    """Return the N x 3 layout values of N x H x W regions on random features."""
    features = np.random.default_rng(0).normal(0.0, 1.0, (regions.shape[0], CHANNELS, SIZE[0] // 8, SIZE[1] // 8))
    return describe_regions(features.astype(np.float32), regions.astype(np.float32))[:, -LAYOUT_DIMENSIONS:]


def box(top: int, left: int, height: int, width: int) -> np.ndarray:
    region = np.zeros(SIZE, np.float32)
    region[top : top + height, left : left + width] = 1.0
    return region


def test_layout_border_distance():
    at_top = box(0, 20, 6, 6)
    centred = box(29, 21, 6, 6)
    values = layout_of(np.stack([at_top, centred]))
    assert values[0, 1] == pytest.approx(math.log(BORDER_GAP_OFFSET), abs=1e-5)
    assert values[1, 1] == pytest.approx(math.log(29 / SIZE[0] + BORDER_GAP_OFFSET), abs=1e-5)
    assert values[1, 2] == pytest.approx(math.log(21 / SIZE[1] + BORDER_GAP_OFFSET), abs=1e-5)


def test_layout_orientation_sign():
    values = layout_of(np.stack([box(10, 20, 30, 4), box(30, 5, 4, 30)]))
    assert values[0, 0] > 0.5
    assert values[1, 0] < -0.5


def test_layout_flip_invariant():
    rng = np.random.default_rng(3)
    region = (rng.random(SIZE) > 0.97).astype(np.float32)
    region[5:20, 30:40] = 1.0
    flips = np.stack([region, region[::-1], region[:, ::-1], region[::-1, ::-1]])
    values = layout_of(np.ascontiguousarray(flips))
    np.testing.assert_allclose(values, np.repeat(values[:1], 4, axis=0), atol=1e-4)


def test_layout_empty_region():
    values = layout_of(np.zeros((1, *SIZE), np.float32))
    assert np.all(np.isfinite(values))
    assert values[0, 1] == pytest.approx(math.log(EMPTY_BORDER_GAP + BORDER_GAP_OFFSET), abs=1e-6)


def test_layout_only_in_open_set_space():
    rng = np.random.default_rng(5)
    classifier = DefectTypeClassifier()
    width = 2 * CHANNELS + 8 + LAYOUT_DIMENSIONS
    for index, name in enumerate(("spot", "chip")):
        classifier.add_examples(name, rng.normal(index, 1.0, (3, width)))
    parameters = classifier.fit()
    query = rng.normal(0.5, 1.0, (1, width))
    moved = query.copy()
    moved[0, -LAYOUT_DIMENSIONS:] += 3.0
    np.testing.assert_allclose(distances_to_prototypes(parameters, moved), distances_to_prototypes(parameters, query))
    assert np.all(distances_to_support(parameters, moved) != distances_to_support(parameters, query))
