"""Pixel geometry of regions: clamping to the image, rasterizing to masks, and tracing masks back to polygons.

Pixel (column i, row j) covers the square from (i, j) to (i + 1, j + 1), so its centre
is (i + 0.5, j + 0.5). A shape covers a pixel when the shape contains the pixel centre.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Shape

# Sub-pixel precision of cv2.fillPoly: coordinates are scaled by 2**_FILL_SHIFT_BITS.
_FILL_SHIFT_BITS = 4


def clamp_points(
    points: Iterable[tuple[float, float]], width: int, height: int
) -> tuple[tuple[tuple[float, float], ...], bool]:
    """Clamp points into the image rectangle [0, width] x [0, height].

    Returns:
        The clamped points, and True when at least one point had to move.
    """
    clamped: list[tuple[float, float]] = []
    moved = False
    for x, y in points:
        new_x = min(max(float(x), 0.0), float(width))
        new_y = min(max(float(y), 0.0), float(height))
        moved = moved or new_x != x or new_y != y
        clamped.append((new_x, new_y))
    return tuple(clamped), moved


def rectangle_from_corners(x_a: float, y_a: float, x_b: float, y_b: float) -> Rectangle:
    """Build a rectangle from two opposite corners given in any order."""
    return Rectangle(x0=min(x_a, x_b), y0=min(y_a, y_b), x1=max(x_a, x_b), y1=max(y_a, y_b))


def shape_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """Rasterize one shape into a boolean ``height`` x ``width`` mask (pixel-centre rule)."""
    if isinstance(shape, PixelMask):
        return shape.to_array(height, width)
    mask = np.zeros((height, width), dtype=np.uint8)
    if isinstance(shape, Rectangle):
        left = max(math.ceil(shape.x0 - 0.5), 0)
        right = min(math.floor(shape.x1 - 0.5), width - 1)
        top = max(math.ceil(shape.y0 - 0.5), 0)
        bottom = min(math.floor(shape.y1 - 0.5), height - 1)
        if right >= left and bottom >= top:
            mask[top : bottom + 1, left : right + 1] = 1
        return mask.astype(bool)
    if isinstance(shape, Polygon) and len(shape.points) >= 3:
        scale = 1 << _FILL_SHIFT_BITS
        centred = (np.asarray(shape.points, dtype=np.float64) - 0.5) * scale
        cv2.fillPoly(mask, [np.round(centred).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=_FILL_SHIFT_BITS)
    return mask.astype(bool)


def region_mask(region: Region, height: int, width: int) -> np.ndarray:
    """Rasterize a region's shape into a boolean mask."""
    return shape_mask(region.shape, height, width)


def label_mask(label: ImageLabel, defect_type: str | None = None) -> np.ndarray:
    """Return the union of a label's regions as a boolean image-size mask.

    Args:
        label: the image label.
        defect_type: when given, only regions of this type count.
    """
    mask = np.zeros((label.image_height, label.image_width), dtype=bool)
    for region in label.regions:
        if defect_type is not None and region.defect_type != defect_type:
            continue
        mask |= region_mask(region, label.image_height, label.image_width)
    return mask


def mask_to_polygons(mask: np.ndarray, min_area_px: int = 1) -> list[Polygon]:
    """Trace the outer contours of a boolean mask as polygons through the boundary pixel centres.

    Holes are not represented, and components smaller than ``min_area_px`` pixels or
    thinner than three distinct contour points are left out.
    """
    binary = np.ascontiguousarray(np.asarray(mask).astype(np.uint8))
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons: list[Polygon] = []
    for contour in contours:
        points = contour.reshape(-1, 2)
        if len(points) < 3:
            continue
        component = np.zeros_like(binary)
        cv2.drawContours(component, [contour], -1, 1, thickness=cv2.FILLED)
        if int(component.sum()) < min_area_px:
            continue
        polygons.append(Polygon(points=tuple((float(x) + 0.5, float(y) + 0.5) for x, y in points)))
    return polygons


def shape_bounds(shape: Shape) -> tuple[float, float, float, float]:
    """Return (x0, y0, x1, y1) of the shape's bounding box in corner coordinates."""
    if isinstance(shape, Rectangle):
        return shape.x0, shape.y0, shape.x1, shape.y1
    if isinstance(shape, PixelMask):
        return float(shape.left), float(shape.top), float(shape.left + shape.width), float(shape.top + shape.height)
    xs = [point[0] for point in shape.points]
    ys = [point[1] for point in shape.points]
    return min(xs), min(ys), max(xs), max(ys)
