"""Pick k training images that cover every kind of good part (greedy k-center on image descriptors).

Few-shot training fails when the k images show only one kind of a bimodal good
class (for example mono- and polycrystalline solar cells). The picker describes
each candidate by the mean and standard deviation of its backbone features and
chooses k images by farthest-point (k-center) selection, starting from the most
typical one, so that every cluster of good images gets a representative.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from anomaly.backbone import FeatureExtractor
from labeling.imageio import LoadedImage
from labeling.model_input import auto_size, prepare_batch

logger = logging.getLogger(__name__)

DESCRIPTOR_PIXELS = 160 * 160
BATCH_SIZE = 8


@torch.no_grad()
def image_descriptors(images: Sequence[LoadedImage], backbone: str = "efficientnet-lite0") -> np.ndarray:
    """Return one L2-normalized descriptor per image: channel means and standard deviations of its features."""
    size = auto_size([(image.height, image.width) for image in images], DESCRIPTOR_PIXELS)
    bit_depth = max(image.bit_depth for image in images)
    extractor = FeatureExtractor(backbone, size)
    rows = []
    for start in range(0, len(images), BATCH_SIZE):
        batch = torch.from_numpy(prepare_batch(images[start : start + BATCH_SIZE], size, bit_depth))
        features = extractor(batch).flatten(2)
        rows.append(torch.cat([features.mean(dim=2), features.std(dim=2)], dim=1))
    descriptors = torch.cat(rows).numpy().astype(np.float64)
    return descriptors / np.maximum(np.linalg.norm(descriptors, axis=1, keepdims=True), 1e-12)


def pick_diverse_from_descriptors(descriptors: np.ndarray, count: int) -> list[int]:
    """Choose ``count`` row indices by greedy k-center selection, starting from the row nearest the mean.

    Raises:
        ValueError: ``count`` is below 1.
    """
    if count < 1:
        raise ValueError(f"invalid number of images to pick: {count}; pick at least 1")
    total = descriptors.shape[0]
    if count >= total:
        return list(range(total))
    centre = descriptors.mean(axis=0)
    first = int(np.argmin(((descriptors - centre) ** 2).sum(axis=1)))
    chosen = [first]
    nearest = ((descriptors - descriptors[first]) ** 2).sum(axis=1)
    while len(chosen) < count:
        candidate = int(np.argmax(nearest))
        chosen.append(candidate)
        nearest = np.minimum(nearest, ((descriptors - descriptors[candidate]) ** 2).sum(axis=1))
    return chosen


def pick_diverse(images: Sequence[LoadedImage], count: int, backbone: str = "efficientnet-lite0") -> list[int]:
    """Choose ``count`` of ``images`` (indices) that together cover the kinds of good parts present.

    Raises:
        ValueError: no images, or ``count`` below 1.
    """
    if not images:
        raise ValueError("no images to pick from; load the candidate good images first")
    return pick_diverse_from_descriptors(image_descriptors(images, backbone), count)
