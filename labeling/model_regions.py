"""Map an image-size region to one graph input at the model size, by the same rule on every path.

The few-shot trainer and the line runtime both describe a defect region from one
graph input's patch embeddings. A stretched image has one input; a tiled image uses
the tile that contains most of the region's weight.
"""

from __future__ import annotations

import cv2
import numpy as np

from labeling.model_input import TilePlan


def resize_region(region: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize region weights (0..1) to (height, width) with area interpolation, so thin regions keep partial weight."""
    height, width = size
    values = np.asarray(region, dtype=np.float32)
    if values.shape == (height, width):
        return values
    return np.clip(cv2.resize(values, (width, height), interpolation=cv2.INTER_AREA), 0.0, 1.0)


def region_in_input(region: np.ndarray, plan: TilePlan | None, size: tuple[int, int]) -> tuple[int, np.ndarray]:
    """Return (graph input index, region weights at the model size) for an image-size region.

    Args:
        region: image-size weights in 0..1 (a mask as bool or 0/1 works too).
        plan: the image's tile plan, or None when the image is stretched to one input.
        size: the model input (height, width).
    """
    if plan is None:
        return 0, resize_region(region, size)
    scaled = resize_region(region, (plan.scaled_height, plan.scaled_width))
    tile_height, tile_width = plan.tile_size
    crops = [scaled[row : row + tile_height, col : col + tile_width] for row, col in plan.offsets]
    best = int(np.argmax([crop.sum() for crop in crops]))
    return best, np.ascontiguousarray(crops[best])
