"""CMYK and other colour spaces are converted to RGB with the right colours."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from labeling.imageio import read_image


def _red_blue_rgb() -> np.ndarray:
    pixels = np.zeros((128, 128, 3), dtype=np.uint8)
    pixels[:, :64] = (255, 0, 0)
    pixels[:, 64:] = (0, 0, 255)
    return pixels


def _assert_red_blue(pixels: np.ndarray) -> None:
    assert pixels.shape == (128, 128, 3)
    left = pixels[:, :56].reshape(-1, 3).mean(axis=0)
    right = pixels[:, 72:].reshape(-1, 3).mean(axis=0)
    assert left[0] > 200
    assert left[1] < 60
    assert left[2] < 60
    assert right[2] > 200
    assert right[0] < 60
    assert right[1] < 60


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_red_blue_rgb()).convert("CMYK").save(path, format="JPEG", quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    loaded = read_image(path)
    assert loaded.source_mode == "CMYK"
    _assert_red_blue(loaded.pixels)


def test_cmyk_tiff_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.tif"
    Image.fromarray(_red_blue_rgb()).convert("CMYK").save(path, format="TIFF")
    _assert_red_blue(read_image(path).pixels)


def test_palette_and_ycbcr_become_rgb(tmp_path: Path) -> None:
    palette_path = tmp_path / "palette.png"
    Image.fromarray(_red_blue_rgb()).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(palette_path)
    _assert_red_blue(read_image(palette_path).pixels)
    buffer = io.BytesIO()
    Image.fromarray(_red_blue_rgb()).convert("YCbCr").save(buffer, format="JPEG", quality=95)
    (tmp_path / "ycbcr.jpg").write_bytes(buffer.getvalue())
    _assert_red_blue(read_image(tmp_path / "ycbcr.jpg").pixels)
