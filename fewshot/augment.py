"""Augmented copies of support examples (albumentations), applied to the image and its mask together.

Only label-preserving changes are used: flips, right-angle turns and mild brightness
and contrast changes. A flipped crack is still a crack.
"""

from __future__ import annotations

import numpy as np


def augmented_copies(pixels: np.ndarray, mask: np.ndarray, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``count`` augmented (pixels, mask) pairs; pixels keep their dtype and channels.

    Raises:
        ImportError: albumentations is not installed; the message names the package.
    """
    if count <= 0:
        return []
    try:
        import albumentations as A
    except ImportError:
        raise ImportError("augmentation needs the package albumentations; install it with: pip install albumentations") from None
    transform = A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.1, p=0.5),
        ],
        seed=seed,
    )
    copies = []
    for _ in range(count):
        result = transform(image=np.ascontiguousarray(pixels), mask=np.ascontiguousarray(mask))
        copies.append((result["image"], result["mask"]))
    return copies
