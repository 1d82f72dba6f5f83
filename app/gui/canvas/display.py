"""Window/level mapping from stored pixels (8 or 16 bit) to 8-bit display pixels.

The mapping reads the pixel array and writes a new display array; the stored
pixels, which training and the label files use, are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from labeling.imageio import effective_bit_depth

AUTO_WINDOW_PERCENTILES = (0.5, 99.5)
AUTO_WINDOW_SAMPLE_STRIDE = 4


@dataclass(frozen=True)
class WindowLevel:
    """A display window: stored values at or below ``low`` show black, at or above ``high`` white.

    Attributes:
        low: the stored value mapped to display 0.
        high: the stored value mapped to display 255; always greater than ``low``.
    """

    low: float
    high: float

    @property
    def level(self) -> float:
        """Centre of the window (the brightness control)."""
        return (self.low + self.high) / 2.0

    @property
    def width(self) -> float:
        """Width of the window (the contrast control; smaller is more contrast)."""
        return self.high - self.low

    @classmethod
    def from_level_width(cls, level: float, width: float) -> WindowLevel:
        """Build a window from its centre and width (width at least 1)."""
        half = max(width, 1.0) / 2.0
        return cls(level - half, level + half)


def max_display_value(pixels: np.ndarray) -> int:
    """Return the largest value the pixels' effective bit depth can hold (255, 1023, 4095, ... 65535)."""
    return (1 << effective_bit_depth(pixels)) - 1


def default_window(pixels: np.ndarray) -> WindowLevel:
    """Return the full range of the effective bit depth, the same rule as ``to_display_rgb8``."""
    return WindowLevel(0.0, float(max_display_value(pixels)))


def auto_window(pixels: np.ndarray) -> WindowLevel:
    """Return a window spanning the 0.5th to 99.5th percentile of a subsample of the pixels."""
    sample = pixels[::AUTO_WINDOW_SAMPLE_STRIDE, ::AUTO_WINDOW_SAMPLE_STRIDE]
    low, high = np.percentile(sample, AUTO_WINDOW_PERCENTILES)
    if high <= low:
        high = low + 1.0
    return WindowLevel(float(low), float(high))


def display_lut(dtype: np.dtype, window: WindowLevel) -> np.ndarray:
    """Build a lookup table from every value of ``dtype`` (uint8 or uint16) to a display byte."""
    size = 256 if np.dtype(dtype) == np.uint8 else 65536
    values = np.arange(size, dtype=np.float32)
    scaled = (values - window.low) * (255.0 / max(window.high - window.low, 1e-6))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def render_display(pixels: np.ndarray, window: WindowLevel) -> np.ndarray:
    """Map ``pixels`` (H x W or H x W x 3, uint8 or uint16) through ``window`` into a new uint8 array."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"display needs uint8 or uint16 pixels, got {pixels.dtype}; load images with labeling.imageio")
    return display_lut(pixels.dtype, window)[pixels]


def qimage_from_display(display: np.ndarray) -> QImage:
    """Copy an H x W or H x W x 3 uint8 array into a QImage (Grayscale8 or RGB888)."""
    array = np.ascontiguousarray(display)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888)
    return image.copy()
