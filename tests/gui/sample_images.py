"""Generated test images: three 8-bit colour images and one 12-bit gray image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labeling.imageio import write_image

RGB_SIZE = (240, 320)
DEEP_SIZE = (200, 260)


def make_images(folder: Path) -> list[Path]:
    """Write three 8-bit colour images (PNG, JPEG, PNG) and one 12-bit gray image in a 16-bit PNG."""
    rng = np.random.default_rng(20261204)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, suffix in enumerate((".png", ".jpg", ".png")):
        rgb = rng.integers(0, 256, size=(*RGB_SIZE, 3), dtype=np.uint8)
        rgb[40:80, 60:120] = (250, 20, 20)
        paths.append(write_image(folder / f"part_{index}{suffix}", rgb))
    ramp = np.tile(np.linspace(0, 4095, DEEP_SIZE[1]).astype(np.uint16), (DEEP_SIZE[0], 1))
    paths.append(write_image(folder / "part_3_deep.png", ramp))
    return paths
