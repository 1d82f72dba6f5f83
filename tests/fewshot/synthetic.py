"""Synthetic parts for few-shot tests: a textured surface with dark spots or bright scratches."""

from __future__ import annotations

import cv2
import numpy as np

from labeling.imageio import LoadedImage, image_from_array

SIZE_PX = 96


def surface(rng: np.random.Generator, size_px: int = SIZE_PX) -> np.ndarray:
    """Return a uint8 grayscale surface with fine noise and a soft gradient."""
    noise = cv2.GaussianBlur(rng.normal(0.0, 12.0, (size_px, size_px)), (0, 0), 1.5)
    gradient = np.linspace(-8.0, 8.0, size_px)[None, :]
    return np.clip(128.0 + noise + gradient, 0, 255).astype(np.uint8)


def spot(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a dark round spot in place and return its mask."""
    mask = np.zeros(pixels.shape, np.uint8)
    centre = (int(rng.integers(24, SIZE_PX - 24)), int(rng.integers(24, SIZE_PX - 24)))
    cv2.circle(mask, centre, int(rng.integers(7, 10)), 1, -1)
    pixels[mask > 0] = 30
    return mask.astype(bool)


def scratch(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a long bright line in place and return its mask."""
    mask = np.zeros(pixels.shape, np.uint8)
    start = (int(rng.integers(8, 30)), int(rng.integers(8, SIZE_PX - 8)))
    end = (int(rng.integers(SIZE_PX - 30, SIZE_PX - 8)), int(rng.integers(8, SIZE_PX - 8)))
    cv2.line(mask, start, end, 1, 3)
    pixels[mask > 0] = 235
    return mask.astype(bool)


def grid(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a square grid patch in place (a type never taught) and return its mask."""
    mask = np.zeros(pixels.shape, bool)
    row, col = int(rng.integers(20, SIZE_PX - 50)), int(rng.integers(20, SIZE_PX - 50))
    patch = pixels[row : row + 30, col : col + 30]
    patch[::4, :] = 255
    patch[:, ::4] = 0
    mask[row : row + 30, col : col + 30] = True
    return mask


DRAWERS = {"spot": spot, "scratch": scratch, "grid": grid}


def good_images(count: int, seed: int) -> list[LoadedImage]:
    """Return ``count`` defect-free images."""
    rng = np.random.default_rng(seed)
    return [image_from_array(surface(rng), f"good_{index}.png") for index in range(count)]


def defect_images(kind: str, count: int, seed: int) -> list[tuple[LoadedImage, np.ndarray]]:
    """Return ``count`` (image, mask) pairs of one synthetic defect kind."""
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        pixels = surface(rng)
        mask = DRAWERS[kind](pixels, rng)
        items.append((image_from_array(pixels, f"{kind}_{index}.png"), mask))
    return items
