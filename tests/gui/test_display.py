"""Window/level changes what the screen shows and never the stored pixels."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from app.gui.canvas.display import WindowLevel, auto_window, default_window, qimage_from_display, render_display

pytestmark = pytest.mark.gui


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_render_12bit_full_window_maps_ends():
    pixels = np.array([[0, 2048, 4095]], dtype=np.uint16)
    display = render_display(pixels, default_window(pixels))
    assert display.dtype == np.uint8
    assert display.tolist() == [[0, 128, 255]]


def test_render_narrow_window_clips():
    pixels = np.array([[100, 200, 300, 400]], dtype=np.uint16)
    display = render_display(pixels, WindowLevel(200, 300))
    assert display.tolist() == [[0, 0, 255, 255]]


def test_render_keeps_rgb_channels():
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[..., 0] = 255
    display = render_display(pixels, WindowLevel(0, 255))
    assert display.shape == (2, 2, 3)
    assert display[0, 0].tolist() == [255, 0, 0]


def test_render_rejects_float_pixels():
    with pytest.raises(ValueError, match="uint8 or uint16"):
        render_display(np.zeros((2, 2), dtype=np.float32), WindowLevel(0, 1))


def test_auto_window_spans_data():
    rng = np.random.default_rng(7)
    pixels = rng.integers(1000, 1200, size=(64, 64), dtype=np.uint16)
    window = auto_window(pixels)
    assert 1000 <= window.low < window.high <= 1200


def test_level_width_round_trip():
    window = WindowLevel.from_level_width(2000, 1000)
    assert (window.low, window.high) == (1500, 2500)
    assert (window.level, window.width) == (2000, 1000)


def test_qimage_from_gray_and_rgb():
    gray = qimage_from_display(np.full((3, 5), 7, dtype=np.uint8))
    assert (gray.width(), gray.height()) == (5, 3)
    rgb = qimage_from_display(np.zeros((3, 5, 3), dtype=np.uint8))
    assert rgb.pixelColor(0, 0).red() == 0


def test_window_level_leaves_pixels_unchanged(make_window, project_dir):
    window = make_window()
    assert window.pages["project"].open_project(project_dir)
    window.show_page("label")
    page = window.pages["label"]
    assert page.open_image("camera/part_3_deep")
    pixels = page.image.pixels
    assert pixels.dtype == np.uint16
    assert page.image.bit_depth == 12
    before = digest(pixels)
    scene = page.canvas.label_scene
    shown_before = scene._image_item.pixmap().toImage().pixelColor(130, 100).red()

    widget = page.panel.window_level
    assert widget.level_slider.maximum() == 4095
    widget.level_slider.setValue(800)
    widget.width_slider.setValue(400)
    assert scene.window == WindowLevel(600, 1000)
    shown_after = scene._image_item.pixmap().toImage().pixelColor(130, 100).red()
    widget.auto_button.click()
    widget.reset_button.click()

    assert digest(page.image.pixels) == before
    assert page.image.pixels is pixels
    assert shown_before != shown_after
    assert not page.loaded.document.modified
