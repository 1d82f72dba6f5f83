"""Fixtures for the workflow page tests: the studio GUI fixtures and a small magnetic-tile slice."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from labeling.imageio import read_image, write_image
from tests.gui.conftest import clean_settings, make_window, no_blocking_discard_question  # noqa: F401

MAGNETIC_TILE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "magnetic_tile"
SAMPLE_GOOD = Path(__file__).resolve().parents[2] / "assets" / "sample" / "train" / "good"
OUTLIER_NAME = "outlier_checkerboard.png"
CHECKER_SQUARE_PX = 25
TRAIN_IMAGES = 10
TEST_GOOD_IMAGES = 8
TEST_DEFECT_CLASSES = ("blowhole", "crack")
TEST_IMAGES_PER_DEFECT = 4


@pytest.fixture(scope="session")
def tile_slice(tmp_path_factory) -> Path:
    """An MVTec-layout copy of a few magnetic-tile images: 10 train/good, 8 test/good, 4 per defect with masks."""
    if not MAGNETIC_TILE.is_dir():
        pytest.skip(f"magnetic tile data not found at {MAGNETIC_TILE}; the end-to-end test needs ../shared/data")
    root = tmp_path_factory.mktemp("data") / "magnetic_tile"
    _copy_first(MAGNETIC_TILE / "train" / "good", root / "train" / "good", TRAIN_IMAGES)
    _copy_first(MAGNETIC_TILE / "test" / "good", root / "test" / "good", TEST_GOOD_IMAGES)
    for defect in TEST_DEFECT_CLASSES:
        names = _copy_first(MAGNETIC_TILE / "test" / defect, root / "test" / defect, TEST_IMAGES_PER_DEFECT)
        masks = root / "ground_truth" / defect
        masks.mkdir(parents=True)
        for name in names:
            mask = f"{Path(name).stem}_mask.png"
            shutil.copy2(MAGNETIC_TILE / "ground_truth" / defect / mask, masks / mask)
    return root


@pytest.fixture(scope="session")
def outlier_dataset(tmp_path_factory) -> Path:
    """An MVTec-layout folder whose train/good contains 16 tile images and one checkerboard that looks nothing like them.

    The 16 are the sample's eight good images and a centre crop of each. Sixteen or more
    images train without mirrored copies in the memory bank, so the checkerboard's
    held-out score comes from the tile images alone and lies far above theirs.
    """
    good = tmp_path_factory.mktemp("outlier") / "train" / "good"
    good.mkdir(parents=True)
    for path in sorted(SAMPLE_GOOD.glob("*.png")):
        shutil.copy2(path, good / path.name)
        pixels = read_image(path).pixels
        height, width = pixels.shape[:2]
        write_image(good / f"crop_{path.name}", pixels[height // 10 : height - height // 10, width // 10 : width - width // 10])
    rows, columns = np.mgrid[0:300, 0:300]
    checkerboard = ((rows // CHECKER_SQUARE_PX + columns // CHECKER_SQUARE_PX) % 2 * 255).astype(np.uint8)
    write_image(good / OUTLIER_NAME, checkerboard)
    return good.parent.parent


def _copy_first(source: Path, target: Path, count: int) -> list[str]:
    target.mkdir(parents=True)
    names = sorted(path.name for path in source.glob("*.png"))[:count]
    for name in names:
        shutil.copy2(source / name, target / name)
    return names
