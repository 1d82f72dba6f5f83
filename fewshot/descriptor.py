"""Region descriptor and few-shot head as torch modules, exported together as ``classifier.onnx``.

A region descriptor has three parts. The appearance part is the mean patch embedding
inside the region minus the mean over the whole image, so lighting and surface
texture shared by the whole part cancel out. The contrast part is the mean inside the
region minus the mean of a ring of cells around it, divided by each channel's standard
deviation over the image: it describes how the defect differs from its own surroundings.
The shape part is eight numbers from the region's image moments and outline. They are
log area, elongation, the two principal extents, contact with the image border, how
elliptic the region is, and two perimeter ratios. The perimeter ratios matter because
a thin crack has a long outline for its area. The layout part is three numbers that
horizontal and vertical flips leave unchanged: the log ratio of the region's row and
column spreads (upright or lying), and the log distance from the region to the nearest
top or bottom border and to the nearest left or right border. A chipped edge lies at
the border, a spot anywhere.

The head normalizes the parts with statistics of the support set. It returns the
Euclidean distance to every type's prototype, computed from appearance and shape
(Snell et al., "Prototypical Networks for Few-shot Learning", NeurIPS 2017). It also
returns the distance to each type's nearest support example, computed from contrast,
shape and layout, which the open-set rule compares with a per-type radius. Every step
uses standard ONNX operators, so the training side and every engine compute the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FEATURE_STRIDE_PX = 8
SHAPE_DIMENSIONS = 8
LAYOUT_DIMENSIONS = 3
# Shape and layout values at the end of a raw descriptor. The prototype space uses only the shape values.
GEOMETRY_DIMENSIONS = SHAPE_DIMENSIONS + LAYOUT_DIMENSIONS
# Added to a border distance (a fraction of the image side) before its log, so a region at the border stays finite.
BORDER_GAP_OFFSET = 0.02
# Border distance of an empty region, the largest a region can have.
EMPTY_BORDER_GAP = 0.5
BORDER_WIDTH_PX = 3
REGION_LEVEL = 0.5
EPSILON = 1e-8
RING_CELL_LEVEL = 0.05
RING_WIDTH_CELLS = 3
# Added to the distance of every support row of another type, so a per-type minimum skips those rows.
FAR_PENALTY = 1e6


def channels_of(width: int) -> int:
    """Return the embedding channels C of a raw descriptor of ``width`` = 2 C + 11 values.

    Raises:
        ValueError: the width does not have that form; the message names it.
    """
    channels, odd = divmod(width - GEOMETRY_DIMENSIONS, 2)
    if odd or channels <= 0:
        raise ValueError(
            f"a raw region descriptor has 2 C + {GEOMETRY_DIMENSIONS} values, got {width}; "
            "describe the regions again with fewshot.descriptor.describe_regions"
        )
    return channels


def _weighted_mean(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Return the N x C mean of ``features`` under N x 1 x h x w ``weights``; all-zero weights give the image mean."""
    total = weights.sum(dim=(2, 3), keepdim=True)
    cells = weights.shape[2] * weights.shape[3]
    weights = torch.where(total > EPSILON, weights / total.clamp_min(EPSILON), torch.full_like(weights, 1.0 / cells))
    return (features * weights).sum(dim=(2, 3))


class RegionDescriptor(nn.Module):
    """Describe regions from patch embeddings and region masks.

    Input ``features``: N x F x h x w patch embeddings (the anomaly graph's third
    output). Input ``region``: N x 1 x H x W region weights in 0..1 at the model input
    size, with H = 8 h and W = 8 w. Output: N x (2 C + 11) raw descriptors: appearance,
    contrast, shape, layout. C is ``channels``, the leading channels of the embeddings
    that the descriptor uses (all F when None).
    """

    def __init__(self, channels: int | None = None) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        """Return the appearance, contrast, shape and layout parts side by side; see the class docstring."""
        if self.channels is not None and self.channels < features.shape[1]:
            features = features[:, : self.channels]
        cells = F.avg_pool2d(region, kernel_size=FEATURE_STRIDE_PX, stride=FEATURE_STRIDE_PX)
        inside = _weighted_mean(features, cells)
        image_mean = features.mean(dim=(2, 3))
        return torch.cat([inside - image_mean, self._contrast(features, cells, inside, image_mean), self._geometry(region)], dim=1)

    @staticmethod
    def _contrast(features: torch.Tensor, cells: torch.Tensor, inside: torch.Tensor, image_mean: torch.Tensor) -> torch.Tensor:
        """Return (region mean - ring mean) / channel standard deviation over the image.

        The region's cells are those with more than :data:`RING_CELL_LEVEL` of their
        pixels in it, and the ring is the cells within :data:`RING_WIDTH_CELLS` of them.
        When the ring is empty, because the region is empty or reaches every cell, every
        cell outside the region is used, and when no cell is outside it, the whole image.
        """
        core = (cells > RING_CELL_LEVEL).float()
        width = 2 * RING_WIDTH_CELLS + 1
        ring = F.max_pool2d(core, kernel_size=width, stride=1, padding=RING_WIDTH_CELLS) - core
        has_ring = ring.sum(dim=(2, 3), keepdim=True) > EPSILON
        ring = torch.where(has_ring, ring, 1.0 - core)
        centred = features - image_mean[:, :, None, None]
        deviation = torch.sqrt((centred * centred).mean(dim=(2, 3))).clamp_min(EPSILON)
        return (inside - _weighted_mean(features, ring)) / deviation

    @staticmethod
    def _geometry(region: torch.Tensor) -> torch.Tensor:
        """Return the shape part (8 values) and the layout part (3 values) of N x 1 x H x W regions."""
        height, width = region.shape[2], region.shape[3]
        rows = (torch.arange(height, dtype=torch.float32) / height).view(1, 1, height, 1)
        cols = (torch.arange(width, dtype=torch.float32) / width).view(1, 1, 1, width)
        mass = region.sum(dim=(1, 2, 3)).clamp_min(EPSILON)
        centre_row = (region * rows).sum(dim=(1, 2, 3)) / mass
        centre_col = (region * cols).sum(dim=(1, 2, 3)) / mass
        delta_row = rows - centre_row.view(-1, 1, 1, 1)
        delta_col = cols - centre_col.view(-1, 1, 1, 1)
        var_row = (region * delta_row * delta_row).sum(dim=(1, 2, 3)) / mass
        var_col = (region * delta_col * delta_col).sum(dim=(1, 2, 3)) / mass
        covariance = (region * delta_row * delta_col).sum(dim=(1, 2, 3)) / mass
        half_trace = 0.5 * (var_row + var_col)
        spread = torch.sqrt(0.25 * (var_row - var_col) ** 2 + covariance**2)
        major = (half_trace + spread).clamp_min(EPSILON)
        minor = (half_trace - spread).clamp_min(EPSILON)
        area = region.mean(dim=(1, 2, 3))

        binary = (region > REGION_LEVEL).float()
        eroded = -F.max_pool2d(-binary, kernel_size=3, stride=1, padding=1)
        perimeter = (binary - eroded).sum(dim=(1, 2, 3))
        area_px = binary.sum(dim=(1, 2, 3))
        frame = torch.ones(1, 1, height, width)
        frame[:, :, BORDER_WIDTH_PX:-BORDER_WIDTH_PX, BORDER_WIDTH_PX:-BORDER_WIDTH_PX] = 0.0
        border = (binary * frame).amax(dim=(1, 2, 3))
        shape = torch.stack(
            [
                torch.log(area + 1e-5),
                0.5 * torch.log(major / minor),
                0.5 * torch.log(major),
                0.5 * torch.log(minor),
                border,
                torch.log(area / (4.0 * math.pi * torch.sqrt(major * minor)) + EPSILON),
                torch.log(perimeter * perimeter / (area_px + 1.0) + 1.0),
                torch.log(area_px / (perimeter + 1.0) + 0.1),
            ],
            dim=1,
        )
        return torch.cat([shape, _layout(binary, var_row, var_col)], dim=1)


def _layout(binary: torch.Tensor, var_row: torch.Tensor, var_col: torch.Tensor) -> torch.Tensor:
    """Return N x 3 flip-invariant layout values of N x 1 x H x W binary regions with the given spreads.

    The first value is the log ratio of the row and column spreads. The other two are the
    logs of the smallest distance from a region pixel to the top or bottom border and to
    the left or right border, as fractions of the image height and width. An empty
    region is :data:`EMPTY_BORDER_GAP` from every border.
    """
    height, width = binary.shape[2], binary.shape[3]
    row_index = torch.arange(height, dtype=torch.float32)
    col_index = torch.arange(width, dtype=torch.float32)
    row_gap = (torch.minimum(row_index, height - 1.0 - row_index) / height).view(1, 1, height, 1)
    col_gap = (torch.minimum(col_index, width - 1.0 - col_index) / width).view(1, 1, 1, width)
    inside = binary > REGION_LEVEL
    nearest_row = torch.where(inside, row_gap, torch.full_like(binary, EMPTY_BORDER_GAP)).amin(dim=(1, 2, 3))
    nearest_col = torch.where(inside, col_gap, torch.full_like(binary, EMPTY_BORDER_GAP)).amin(dim=(1, 2, 3))
    return torch.stack(
        [
            0.5 * torch.log((var_row + 1e-6) / (var_col + 1e-6)),
            torch.log(nearest_row + BORDER_GAP_OFFSET),
            torch.log(nearest_col + BORDER_GAP_OFFSET),
        ],
        dim=1,
    )


class PrototypeHead(nn.Module):
    """Normalize raw descriptors; return prototype distances and nearest-support distances per type.

    Outputs: ``distance`` N x K (Euclidean distance to each prototype in the appearance
    and shape space), ``descriptor`` N x (2 C + 11), the raw descriptor, so a region
    judged at the line can later become a new support example, and
    ``support_distance`` N x K (distance to the nearest support example of each type
    in the contrast, shape and layout space). C is the length of ``appearance_centre``:
    the descriptor uses the first C channels of the input features.
    """

    def __init__(
        self,
        appearance_centre: np.ndarray,
        contrast_centre: np.ndarray,
        shape_mean: np.ndarray,
        shape_scale: np.ndarray,
        shape_weight: float,
        prototypes: np.ndarray,
        support_rows: np.ndarray,
        support_types: np.ndarray,
    ) -> None:
        super().__init__()
        self.channels = int(appearance_centre.shape[0])
        self.descriptor = RegionDescriptor(self.channels)
        self.register_buffer("appearance_centre", torch.as_tensor(appearance_centre, dtype=torch.float32))
        self.register_buffer("contrast_centre", torch.as_tensor(contrast_centre, dtype=torch.float32))
        self.register_buffer("geometry_mean", torch.as_tensor(shape_mean, dtype=torch.float32))
        prototype_factor = geometry_factor(shape_weight, "appearance") / shape_scale[:SHAPE_DIMENSIONS]
        open_set_factor = geometry_factor(shape_weight, "contrast") / shape_scale
        self.register_buffer("prototype_factor", torch.as_tensor(prototype_factor, dtype=torch.float32))
        self.register_buffer("open_set_factor", torch.as_tensor(open_set_factor, dtype=torch.float32))
        self.register_buffer("prototypes", torch.as_tensor(prototypes, dtype=torch.float32))
        self.register_buffer("support_rows", torch.as_tensor(support_rows, dtype=torch.float32))
        types = np.asarray(support_types, dtype=np.int64)
        penalty = np.where(np.arange(prototypes.shape[0])[:, None] == types[None, :], 0.0, FAR_PENALTY)
        self.register_buffer("support_penalty", torch.as_tensor(penalty, dtype=torch.float32))

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (distance N x K, raw descriptor N x D, support distance N x K)."""
        raw = self.descriptor(features, region)
        channels = self.channels
        geometry = raw[:, 2 * channels :] - self.geometry_mean
        shape = geometry[:, :SHAPE_DIMENSIONS] * self.prototype_factor
        prototype_space = torch.cat([_unit_torch(raw[:, :channels] - self.appearance_centre), shape], dim=1)
        distance = _euclidean_torch(prototype_space, self.prototypes)
        open_set_space = torch.cat(
            [_unit_torch(raw[:, channels : 2 * channels] - self.contrast_centre), geometry * self.open_set_factor], dim=1
        )
        to_rows = _euclidean_torch(open_set_space, self.support_rows)
        support_distance = (to_rows.unsqueeze(1) + self.support_penalty.unsqueeze(0)).amin(dim=2)
        return distance, raw, support_distance


def _unit_torch(values: torch.Tensor) -> torch.Tensor:
    return values / torch.sqrt((values * values).sum(dim=1, keepdim=True)).clamp_min(EPSILON)


def _euclidean_torch(rows: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    squared = (rows.unsqueeze(1) - references.unsqueeze(0)) ** 2
    return torch.sqrt(squared.sum(dim=2).clamp_min(0.0))


def normalize_descriptors(
    raw: np.ndarray,
    centre: np.ndarray,
    shape_mean: np.ndarray,
    shape_scale: np.ndarray,
    shape_weight: float,
    part: str = "appearance",
) -> np.ndarray:
    """Normalize raw N x (2 C + 11) descriptors into the space of one part plus geometry.

    ``part="appearance"`` gives the prototype space, with the shape part, and
    ``part="contrast"`` the open-set space, with the shape and layout parts. The chosen
    part is centred on ``centre`` and scaled to unit length. ``shape_mean`` and
    ``shape_scale`` hold the statistics of all 11 shape and layout values. Those values
    are z-scored and weighted so that together they weigh ``shape_weight`` against it.
    """
    channels = centre.shape[0]
    start = 0 if part == "appearance" else channels
    values = raw[:, start : start + channels] - centre
    values = values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), EPSILON)
    count = SHAPE_DIMENSIONS if part == "appearance" else GEOMETRY_DIMENSIONS
    end = 2 * channels + count
    geometry = (raw[:, 2 * channels : end] - shape_mean[:count]) / shape_scale[:count] * geometry_factor(shape_weight, part)
    return np.concatenate([values, geometry], axis=1)


def geometry_factor(shape_weight: float, part: str) -> float:
    """Return the factor on z-scored geometry values: ``shape_weight`` shared among the values that ``part``'s space uses."""
    count = SHAPE_DIMENSIONS if part == "appearance" else GEOMETRY_DIMENSIONS
    return shape_weight / math.sqrt(count)


@torch.no_grad()
def describe_regions(features: np.ndarray, regions: np.ndarray, channels: int | None = None) -> np.ndarray:
    """Return raw descriptors for N feature maps (N x F x h x w) and regions (N x H x W).

    ``channels`` is how many leading feature channels the descriptors use (all when None).
    """
    module = RegionDescriptor(channels)
    feature_tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    region_tensor = torch.from_numpy(np.ascontiguousarray(regions, dtype=np.float32)).unsqueeze(1)
    return module(feature_tensor, region_tensor).numpy().astype(np.float64)
