"""Map post-processing, top-pixel image score, coreset selection and their ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly.coreset import greedy_coreset
from anomaly.patchcore import MapPostprocess, NearestNeighbourHead, top_pixel_count


def test_top_pixel_count_rounds_fraction() -> None:
    assert top_pixel_count((100, 50), 0.01) == 50
    assert top_pixel_count((100, 50), 0.0) == 1


def test_top_pixel_count_rejects_bad_fraction() -> None:
    with pytest.raises(ValueError, match="0..1"):
        top_pixel_count((100, 50), 1.5)


def test_score_is_mean_of_top_pixels(rng: np.random.Generator) -> None:
    patch_map = torch.from_numpy(rng.random((2, 1, 8, 8), dtype=np.float32))
    postprocess = MapPostprocess((64, 64), sigma=2.0, score_top_fraction=0.05)
    full, score = postprocess(patch_map)
    expected = np.sort(full.flatten(1).numpy(), axis=1)[:, -postprocess.top_count :].mean(axis=1)
    assert postprocess.top_count == 205
    np.testing.assert_allclose(score.numpy(), expected, rtol=1e-5)


def test_zero_fraction_scores_by_maximum(rng: np.random.Generator) -> None:
    patch_map = torch.from_numpy(rng.random((3, 1, 8, 8), dtype=np.float32))
    full, score = MapPostprocess((32, 32), sigma=1.0, score_top_fraction=0.0)(patch_map)
    np.testing.assert_allclose(score.numpy(), full.amax(dim=(1, 2, 3)).numpy())


def test_score_does_not_depend_on_batch(rng: np.random.Generator) -> None:
    patch_map = torch.from_numpy(rng.random((4, 1, 8, 8), dtype=np.float32))
    postprocess = MapPostprocess((32, 32), sigma=2.0, score_top_fraction=0.02)
    _, together = postprocess(patch_map)
    alone = torch.cat([postprocess(patch_map[index : index + 1])[1] for index in range(4)])
    np.testing.assert_allclose(together.numpy(), alone.numpy(), rtol=1e-6)


def test_coreset_matches_brute_force_farthest_point(rng: np.random.Generator) -> None:
    features = torch.from_numpy(rng.normal(size=(300, 16)).astype(np.float32))
    chosen = greedy_coreset(features, 20, seed=3)
    nearest = ((features - features[chosen[0]]) ** 2).sum(dim=1)
    for step in range(1, 20):
        assert int(chosen[step]) == int(torch.argmax(nearest))
        nearest = torch.minimum(nearest, ((features - features[chosen[step]]) ** 2).sum(dim=1))


def test_coreset_indices_are_unique(rng: np.random.Generator) -> None:
    features = torch.from_numpy(rng.normal(size=(500, 200)).astype(np.float32))
    chosen = greedy_coreset(features, 50, seed=0)
    assert len(set(chosen.tolist())) == 50


def test_nearest_neighbour_head_distances(rng: np.random.Generator) -> None:
    bank = torch.from_numpy(rng.normal(size=(40, 6)).astype(np.float32))
    features = torch.from_numpy(rng.normal(size=(1, 6, 3, 5)).astype(np.float32))
    result = NearestNeighbourHead(bank)(features)
    patches = features.permute(0, 2, 3, 1).reshape(-1, 6)
    expected = torch.cdist(patches, bank).amin(dim=1).reshape(1, 1, 3, 5)
    np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)
