"""Region descriptor and few-shot head as torch modules, exported together as ``classifier.onnx``.

A region descriptor has three parts. The appearance part is the mean patch embedding
inside the region minus the mean over the whole image, so lighting and surface
texture shared by the whole part cancel out. The contrast part is the mean inside the
region minus the mean of a ring of cells around it, divided by each channel's standard
deviation over the image: it describes how the defect differs from its own surroundings.
The shape part is eight numbers from the region's image moments and outline. They are
log area, elongation, the two principal extents, contact with the image border, how
elliptic the region is, and two perimeter ratios. The perimeter ratios matter because
a thin crack has a long outline for its area.

The head normalizes the parts with statistics of the support set. It returns the
Euclidean distance to every type's prototype, computed from appearance and shape
(Snell et al., "Prototypical Networks for Few-shot Learning", NeurIPS 2017). It also
returns the distance to each type's nearest support example, computed from contrast
and shape, which the open-set rule compares with a per-type radius. Every step uses
standard ONNX operators, so the training side and every engine compute the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FEATURE_STRIDE_PX = 8
SHAPE_DIMENSIONS = 8
BORDER_WIDTH_PX = 3
REGION_LEVEL = 0.5
EPSILON = 1e-8
RING_CELL_LEVEL = 0.05
RING_WIDTH_CELLS = 3
# Added to the distance of every support row of another type, so a per-type minimum skips those rows.
FAR_PENALTY = 1e6


def channels_of(width: int) -> int:
    """Return the embedding channels C of a raw descriptor of ``width`` = 2 C + 8 values.

    Raises:
        ValueError: the width does not have that form; the message names it.
    """
    channels, odd = divmod(width - SHAPE_DIMENSIONS, 2)
    if odd or channels <= 0:
        raise ValueError(
            f"a raw region descriptor has 2 C + {SHAPE_DIMENSIONS} values, got {width}; "
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

    Input ``features``: N x C x h x w patch embeddings (the anomaly graph's third
    output). Input ``region``: N x 1 x H x W region weights in 0..1 at the model input
    size, with H = 8 h and W = 8 w. Output: N x (2 C + 8) raw descriptors: appearance,
    contrast, shape.
    """

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        """Return the appearance, contrast and shape parts side by side; see the class docstring."""
        cells = F.avg_pool2d(region, kernel_size=FEATURE_STRIDE_PX, stride=FEATURE_STRIDE_PX)
        inside = _weighted_mean(features, cells)
        image_mean = features.mean(dim=(2, 3))
        return torch.cat([inside - image_mean, self._contrast(features, cells, inside, image_mean), self._shape(region)], dim=1)

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
    def _shape(region: torch.Tensor) -> torch.Tensor:
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
        return torch.stack(
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


class PrototypeHead(nn.Module):
    """Normalize raw descriptors; return prototype distances and nearest-support distances per type.

    Outputs: ``distance`` N x K (Euclidean distance to each prototype in the appearance
    and shape space), ``descriptor`` N x (2 C + 8), the raw descriptor, so a region
    judged at the line can later become a new support example, and
    ``support_distance`` N x K (distance to the nearest support example of each type
    in the contrast and shape space).
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
        self.descriptor = RegionDescriptor()
        self.channels = int(appearance_centre.shape[0])
        self.register_buffer("appearance_centre", torch.as_tensor(appearance_centre, dtype=torch.float32))
        self.register_buffer("contrast_centre", torch.as_tensor(contrast_centre, dtype=torch.float32))
        self.register_buffer("shape_mean", torch.as_tensor(shape_mean, dtype=torch.float32))
        factor = shape_weight / math.sqrt(SHAPE_DIMENSIONS)
        self.register_buffer("shape_factor", torch.as_tensor(factor / shape_scale, dtype=torch.float32))
        self.register_buffer("prototypes", torch.as_tensor(prototypes, dtype=torch.float32))
        self.register_buffer("support_rows", torch.as_tensor(support_rows, dtype=torch.float32))
        types = np.asarray(support_types, dtype=np.int64)
        penalty = np.where(np.arange(prototypes.shape[0])[:, None] == types[None, :], 0.0, FAR_PENALTY)
        self.register_buffer("support_penalty", torch.as_tensor(penalty, dtype=torch.float32))

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (distance N x K, raw descriptor N x D, support distance N x K)."""
        raw = self.descriptor(features, region)
        channels = self.channels
        shape = (raw[:, 2 * channels :] - self.shape_mean) * self.shape_factor
        prototype_space = torch.cat([_unit_torch(raw[:, :channels] - self.appearance_centre), shape], dim=1)
        distance = _euclidean_torch(prototype_space, self.prototypes)
        open_set_space = torch.cat([_unit_torch(raw[:, channels : 2 * channels] - self.contrast_centre), shape], dim=1)
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
    """Normalize raw N x (2 C + 8) descriptors into the space of one part plus shape.

    ``part="appearance"`` gives the prototype space and ``part="contrast"`` the open-set
    space. The chosen part is centred on ``centre`` and scaled to unit length. The shape
    part is z-scored and weighted so that it weighs ``shape_weight`` against it.
    """
    channels = centre.shape[0]
    start = 0 if part == "appearance" else channels
    values = raw[:, start : start + channels] - centre
    values = values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), EPSILON)
    shape = (raw[:, 2 * channels :] - shape_mean) / shape_scale * (shape_weight / math.sqrt(SHAPE_DIMENSIONS))
    return np.concatenate([values, shape], axis=1)


@torch.no_grad()
def describe_regions(features: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Return raw descriptors for N feature maps (N x C x h x w) and regions (N x H x W)."""
    module = RegionDescriptor()
    feature_tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    region_tensor = torch.from_numpy(np.ascontiguousarray(regions, dtype=np.float32)).unsqueeze(1)
    return module(feature_tensor, region_tensor).numpy().astype(np.float64)
