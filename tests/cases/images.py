"""Generators of test images with fixed seeds, shared by the bad-input case tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def textured(rng: np.random.Generator, height: int = 96, width: int = 128) -> np.ndarray:
    """Return a uint8 gray surface with smooth shading and mild noise, like a machined part."""
    rows = np.linspace(0, 1, height)[:, None]
    cols = np.linspace(0, 1, width)[None, :]
    base = 110 + 40 * np.sin(6 * cols + 3 * rows) + rng.normal(0, 6, (height, width))
    return np.clip(base, 0, 255).astype(np.uint8)


def save_png(path: Path, pixels: np.ndarray, mode: str | None = None) -> Path:
    """Save an array as PNG through Pillow (with an explicit mode when given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels, mode) if mode else Image.fromarray(pixels)
    image.save(path, format="PNG")
    return path


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode an array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(pixels: np.ndarray, **options: object) -> bytes:
    """Encode an array as JPEG bytes (extra Pillow save options allowed)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()
