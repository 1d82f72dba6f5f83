"""Diversity picker: k training images that cover every kind of good part."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.picker import pick_diverse, pick_diverse_from_descriptors
from labeling.imageio import image_from_array


def test_descriptor_pick_covers_both_clusters(rng: np.random.Generator) -> None:
    common = rng.normal(0.0, 0.05, size=(9, 4)) + np.array([1.0, 0.0, 0.0, 0.0])
    rare = rng.normal(0.0, 0.05, size=(3, 4)) + np.array([0.0, 1.0, 0.0, 0.0])
    descriptors = np.vstack([common, rare])
    chosen = pick_diverse_from_descriptors(descriptors, 2)
    assert len(set(chosen)) == 2
    assert any(index < 9 for index in chosen)
    assert any(index >= 9 for index in chosen)


def test_descriptor_pick_starts_from_most_typical(rng: np.random.Generator) -> None:
    descriptors = rng.normal(size=(20, 3))
    first = pick_diverse_from_descriptors(descriptors, 1)[0]
    distances = ((descriptors - descriptors.mean(axis=0)) ** 2).sum(axis=1)
    assert first == int(np.argmin(distances))


def test_pick_more_than_available_returns_all(rng: np.random.Generator) -> None:
    assert pick_diverse_from_descriptors(rng.normal(size=(3, 2)), 5) == [0, 1, 2]


def test_pick_rejects_zero_count(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pick_diverse_from_descriptors(rng.normal(size=(3, 2)), 0)


def test_pick_images_covers_both_kinds(rng: np.random.Generator) -> None:
    plain = [np.clip(rng.normal(128, 4, size=(64, 64)), 0, 255).astype(np.uint8) for _ in range(6)]
    stripes = np.tile((np.arange(64) // 4 % 2 * 200 + 20).astype(np.uint8), (64, 1))
    striped = [np.clip(stripes + rng.normal(0, 4, size=(64, 64)), 0, 255).astype(np.uint8) for _ in range(2)]
    images = [image_from_array(pixels, source=f"part{index}") for index, pixels in enumerate(plain + striped)]
    chosen = pick_diverse(images, 2)
    assert any(index < 6 for index in chosen)
    assert any(index >= 6 for index in chosen)
