"""Transformed copies of good training images that widen a few-shot memory bank.

With one to a few good images, the bank lacks the small variations of position,
orientation and lighting that good parts show on the line, so every one of them
reads as an anomaly. Mirrored and re-lit copies of the training images add those
variations. The copies are plain numpy operations on the loaded pixels, so the
bit depth and channel layout of the original are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeling.imageio import LoadedImage

FLIP_TRANSFORMS = ("flip_horizontal", "flip_vertical", "rotate_180")
LIGHTING_TRANSFORMS = ("darker", "brighter")
ALL_TRANSFORMS = FLIP_TRANSFORMS + LIGHTING_TRANSFORMS
LIGHTING_GAIN = 0.15


def transform_pixels(pixels: np.ndarray, transform: str, bit_depth: int = 8) -> np.ndarray:
    """Return a transformed copy of an H x W or H x W x C pixel array.

    Lighting changes clip at ``2**bit_depth - 1``, so a 12-bit image stays 12-bit.

    Raises:
        ValueError: ``transform`` is not one of :data:`ALL_TRANSFORMS`.
    """
    if transform == "flip_horizontal":
        result = pixels[:, ::-1]
    elif transform == "flip_vertical":
        result = pixels[::-1]
    elif transform == "rotate_180":
        result = pixels[::-1, ::-1]
    elif transform in LIGHTING_TRANSFORMS:
        gain = 1.0 - LIGHTING_GAIN if transform == "darker" else 1.0 + LIGHTING_GAIN
        highest = min(2**bit_depth - 1, np.iinfo(pixels.dtype).max)
        result = np.clip(pixels.astype(np.float32) * gain, 0, highest).astype(pixels.dtype)
    else:
        raise ValueError(f"unknown augmentation {transform!r}; choose from {', '.join(ALL_TRANSFORMS)}")
    return np.ascontiguousarray(result)


def augmented_copies(images: Sequence[LoadedImage], transforms: Sequence[str] = FLIP_TRANSFORMS) -> list[LoadedImage]:
    """Return one transformed copy of every image for every transform, image by image."""
    copies = []
    for image in images:
        for transform in transforms:
            copies.append(
                LoadedImage(
                    pixels=transform_pixels(image.pixels, transform, image.bit_depth),
                    source=f"{image.source}#{transform}",
                    source_mode=image.source_mode,
                )
            )
    return copies
