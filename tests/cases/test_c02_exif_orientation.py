"""EXIF orientation is applied on load, so every consumer gets the same upright image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from app.cli.main import main
from labeling.imageio import read_image, read_image_info
from tests.cases.images import jpeg_bytes


def _stored_image() -> np.ndarray:
    """A 200x100 (width x height) RGB image with a red marker at the stored top-left."""
    pixels = np.full((100, 200, 3), 200, dtype=np.uint8)
    pixels[:20, :30] = (255, 0, 0)
    return pixels


def _with_orientation(path: Path, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.write_bytes(jpeg_bytes(_stored_image(), exif=exif.tobytes()))
    return path


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_loader_matches_exif_transpose(tmp_path: Path, orientation: int) -> None:
    path = _with_orientation(tmp_path / f"o{orientation}.jpg", orientation)
    loaded = read_image(path)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    assert loaded.pixels.shape == expected.shape
    assert np.abs(loaded.pixels.astype(int) - expected.astype(int)).max() <= 1
    info = read_image_info(path)
    assert (info.height, info.width) == expected.shape[:2]


@pytest.mark.parametrize(("orientation", "corner"), [(6, "top-right"), (8, "bottom-left"), (3, "bottom-right")])
def test_marker_lands_where_a_viewer_shows_it(tmp_path: Path, orientation: int, corner: str) -> None:
    loaded = read_image(_with_orientation(tmp_path / "marker.jpg", orientation)).pixels
    height, width = loaded.shape[:2]
    assert (height, width) == ((200, 100) if orientation in (6, 8) else (100, 200))
    red = (loaded[:, :, 0] > 200) & (loaded[:, :, 1] < 80)
    rows, cols = np.nonzero(red)
    centre = (rows.mean() / height, cols.mean() / width)
    expected = {"top-right": (0, 1), "bottom-left": (1, 0), "bottom-right": (1, 1)}[corner]
    assert abs(centre[0] - expected[0]) < 0.25
    assert abs(centre[1] - expected[1]) < 0.25


def test_cli_reports_upright_size(tmp_path: Path, sample_model: Path) -> None:
    path = _with_orientation(tmp_path / "rotated.jpg", 6)
    report = tmp_path / "r.json"
    assert main(["run", str(sample_model), str(path), "--report", str(report)]) == 0
    row = json.loads(report.read_text(encoding="utf-8"))[0]
    assert (row["width"], row["height"]) == (100, 200)
