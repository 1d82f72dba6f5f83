"""Geometry rules between an image and a model's fixed input: one implementation for all paths.

Training, the torch predictor, the line runtime and the GUI import this module, so an
image is resized the same way everywhere and a heatmap maps back to exactly the
image's own size. It lives in ``labeling`` because that package is the leaf every
other package may import.

The model input has a fixed height and width per bundle, so engines that compile per
shape compile once. An image is resized to that shape with area interpolation when
shrinking and bilinear interpolation when enlarging; the anomaly map comes back with
bilinear interpolation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from labeling.imageio import ImageReadError, LoadedImage, effective_bit_depth, to_model_rgb

logger = logging.getLogger(__name__)

SIZE_MULTIPLE_PX = 32
MIN_MODEL_SIDE_PX = 64
MAX_MODEL_SIDE_PX = 2048
DEFAULT_MODEL_PIXELS = 256 * 256
MAX_AUTO_ASPECT = 4.0

SIZE_FORMS = "use 'auto', a side such as '256', or HxW such as '192x320'"


def parse_size(text: str) -> tuple[int, int] | None:
    """Parse ``"auto"``, ``"256"`` or ``"HxW"`` (height x width) into (height, width), or None for auto.

    Raises:
        ValueError: the text is not one of those forms; the message shows the forms.
    """
    value = text.strip().lower()
    if value == "auto":
        return None
    parts = value.replace("*", "x").split("x")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"invalid size {text!r}: {SIZE_FORMS}") from None
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2:
        return numbers[0], numbers[1]
    raise ValueError(f"invalid size {text!r}: {SIZE_FORMS}")


def round_size(size: tuple[int, int]) -> tuple[int, int]:
    """Round a (height, width) to the model's stride multiple, with a warning when it changes.

    Raises:
        ValueError: a side is outside the supported range.
    """
    rounded = []
    for side in size:
        if not MIN_MODEL_SIDE_PX <= side <= MAX_MODEL_SIDE_PX:
            raise ValueError(
                f"model input side {side} px is outside {MIN_MODEL_SIDE_PX}..{MAX_MODEL_SIDE_PX} px; "
                "choose a size in that range"
            )
        rounded.append(max(SIZE_MULTIPLE_PX, int(round(side / SIZE_MULTIPLE_PX)) * SIZE_MULTIPLE_PX))
    result = (rounded[0], rounded[1])
    if result != tuple(size):
        logger.warning(
            "Model input size %dx%d (HxW) is not a multiple of %d px; using %dx%d instead.",
            size[0], size[1], SIZE_MULTIPLE_PX, result[0], result[1],
        )
    return result


def auto_size(shapes: Sequence[tuple[int, int]], pixels: int = DEFAULT_MODEL_PIXELS) -> tuple[int, int]:
    """Choose a model input (height, width) from the training images' (height, width) shapes.

    The aspect ratio is the median of the training images' ratios (limited to 1:4..4:1),
    so elongated parts are not squashed, and the area stays near ``pixels``.
    """
    if not shapes:
        side = int(math.sqrt(pixels))
        return round_size((side, side))
    ratio = float(np.median([height / width for height, width in shapes]))
    ratio = min(max(ratio, 1.0 / MAX_AUTO_ASPECT), MAX_AUTO_ASPECT)
    height = math.sqrt(pixels * ratio)
    width = pixels / height
    sides = [max(MIN_MODEL_SIDE_PX, int(round(side / SIZE_MULTIPLE_PX)) * SIZE_MULTIPLE_PX) for side in (height, width)]
    return sides[0], sides[1]


def resize_to_model(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an H x W x 3 float32 image to the model's (height, width)."""
    height, width = size
    if rgb.shape[0] == height and rgb.shape[1] == width:
        return np.ascontiguousarray(rgb, dtype=np.float32)
    shrinking = rgb.shape[0] * rgb.shape[1] > height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(rgb.astype(np.float32), (width, height), interpolation=interpolation)


def to_chw_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """Stack H x W x 3 arrays into an N x 3 x H x W float32 batch."""
    return np.ascontiguousarray(np.stack([image.transpose(2, 0, 1) for image in images]).astype(np.float32))


def map_to_image(anomaly_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a model-resolution anomaly map (h x w) back to the image's own height and width."""
    values = np.asarray(anomaly_map, dtype=np.float32)
    if values.shape == (height, width):
        return values
    return cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)


def prepare_batch(images: Sequence[LoadedImage], size: tuple[int, int], bit_depth: int) -> np.ndarray:
    """Turn loaded images into the model's N x 3 x H x W float32 input by the shared rules.

    Each image goes through :func:`labeling.imageio.to_model_rgb` (depth and channel
    rule) and :func:`resize_to_model`; every path that feeds a model calls this.
    """
    return to_chw_batch([resize_to_model(to_model_rgb(image, bit_depth), size) for image in images])


TILE_OVERLAP_FRACTION = 0.125


@dataclass(frozen=True)
class TilePlan:
    """How one image is cut into model-sized tiles.

    The image is scaled by ``scale`` so its short side matches the model's
    corresponding side (aspect ratio kept), then cut along its long side into tiles
    that overlap by about an eighth; the last tile ends at the image's edge, so every
    pixel, including the remainder, is covered.
    """

    scale: float
    scaled_height: int
    scaled_width: int
    offsets: tuple[tuple[int, int], ...]
    tile_size: tuple[int, int]


def plan_tiles(height: int, width: int, size: tuple[int, int]) -> TilePlan:
    """Plan tiles of the model's (height, width) over an image of ``height`` x ``width``."""
    tile_height, tile_width = size
    if width / tile_width >= height / tile_height:
        scale = tile_height / height
    else:
        scale = tile_width / width
    scaled_height = max(tile_height, int(round(height * scale)))
    scaled_width = max(tile_width, int(round(width * scale)))
    rows = _tile_starts(scaled_height, tile_height)
    cols = _tile_starts(scaled_width, tile_width)
    offsets = tuple((row, col) for row in rows for col in cols)
    return TilePlan(scale, scaled_height, scaled_width, offsets, (tile_height, tile_width))


def _tile_starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = max(1, int(tile * (1.0 - TILE_OVERLAP_FRACTION)))
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def cut_tiles(rgb: np.ndarray, plan: TilePlan) -> list[np.ndarray]:
    """Scale an H x W x 3 float32 image by the plan and return its tiles."""
    scaled = resize_to_model(rgb, (plan.scaled_height, plan.scaled_width))
    tile_height, tile_width = plan.tile_size
    return [scaled[row : row + tile_height, col : col + tile_width] for row, col in plan.offsets]


def stitch_tiles(tile_maps: Sequence[np.ndarray], plan: TilePlan) -> np.ndarray:
    """Average overlapping tile maps into one map at the plan's scaled resolution."""
    total = np.zeros((plan.scaled_height, plan.scaled_width), dtype=np.float64)
    weight = np.zeros_like(total)
    tile_height, tile_width = plan.tile_size
    for (row, col), values in zip(plan.offsets, tile_maps):
        total[row : row + tile_height, col : col + tile_width] += values
        weight[row : row + tile_height, col : col + tile_width] += 1.0
    return (total / weight).astype(np.float32)


def check_bit_depth(image: LoadedImage, bit_depth: int) -> None:
    """Raise when ``image`` contains values above the range of a model trained at ``bit_depth``.

    The depth rule scales 16-bit containers by the model's depth and clips, so a 12- or
    16-bit image given to an 8-bit model would turn mostly white and be judged NG for the
    wrong reason. Data at or below the model's depth passes (an 8-bit camera may deliver
    16-bit containers).

    Raises:
        ImageReadError: kind ``depth_mismatch``; the reason names both depths and the fix.
    """
    if image.pixels.dtype != np.uint16 or image.pixels.size == 0:
        return
    if int(image.pixels.max()) > (1 << bit_depth) - 1:
        depth = effective_bit_depth(image.pixels)
        raise ImageReadError(
            image.source,
            "depth_mismatch",
            f"the image contains {depth}-bit values but the model was trained on {bit_depth}-bit images, so its bright "
            f"areas would be clipped; set the camera or export to {bit_depth} bits, or train on {depth}-bit images.",
        )


def model_inputs(image: LoadedImage, size: tuple[int, int], bit_depth: int, resize: str) -> tuple[np.ndarray, TilePlan | None]:
    """Return the model inputs (n x 3 x H x W) of one image and the tile plan (None when stretched).

    ``resize`` is ``stretch`` (one input, the whole image resized to the model size)
    or ``tile`` (aspect ratio kept, several overlapping inputs).

    Raises:
        ImageReadError: the image is deeper than ``bit_depth`` (see :func:`check_bit_depth`).
    """
    check_bit_depth(image, bit_depth)
    if resize == "tile":
        plan = plan_tiles(image.height, image.width, size)
        return to_chw_batch(cut_tiles(to_model_rgb(image, bit_depth), plan)), plan
    if resize != "stretch":
        raise ValueError(f"unknown resize rule {resize!r}; expected 'stretch' or 'tile'")
    return prepare_batch([image], size, bit_depth), None


def combine_outputs(
    maps: np.ndarray, scores: np.ndarray, plan: TilePlan | None, height: int, width: int
) -> tuple[np.ndarray, float]:
    """Turn the graph outputs of one image's inputs into (map at the image's size, image score).

    Stretched images keep the graph's score; tiled images are scored by the maximum
    of the stitched map, so overlapping tiles count once.
    """
    if plan is None:
        return map_to_image(maps[0], height, width), float(scores[0])
    stitched = stitch_tiles(list(maps), plan)
    return map_to_image(stitched, height, width), float(stitched.max())
