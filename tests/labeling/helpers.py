"""Input generators shared by the labeling tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labeling.imageio import write_image

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MAGNETIC_TILE = SHARED_DATA / "magnetic_tile"


def make_image(path: Path, width: int, height: int, seed: int = 0, channels: int = 3) -> Path:
    """Write a random image of the given size (suffix picks the format) and return its path."""
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return write_image(path, rng.integers(0, 256, shape, dtype=np.uint8))


def make_mvtec_folder(root: Path, seed: int = 0) -> Path:
    """Write a small MVTec AD category: 3 train/good, 2 test/good, 2 test/crack and 1 test/hole with masks."""
    rng = np.random.default_rng(seed)
    for index in range(3):
        make_image(root / "train" / "good" / f"{index:03d}.png", 40, 32, seed + index, channels=1)
    for index in range(2):
        make_image(root / "test" / "good" / f"{index:03d}.png", 40, 32, seed + 10 + index, channels=1)
    for defect, count in (("crack", 2), ("hole", 1)):
        for index in range(count):
            make_image(root / "test" / defect / f"{index:03d}.png", 40, 32, seed + 20 + index, channels=1)
            mask = np.zeros((32, 40), dtype=np.uint8)
            top, left = rng.integers(0, 20), rng.integers(0, 28)
            mask[top : top + 8, left : left + 10] = 255
            mask[rng.integers(0, 32), rng.integers(0, 40)] = 255
            write_image(root / "ground_truth" / defect / f"{index:03d}_mask.png", mask)
    return root
