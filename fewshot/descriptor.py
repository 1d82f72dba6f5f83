"""Region descriptor and nearest-prototype head as torch modules, exported together as ``classifier.onnx``.

A region descriptor has two parts. The appearance part is the mean patch embedding
inside the region minus the mean over the whole image, so lighting and surface
texture shared by the whole part cancel out. The shape part is eight numbers from
the region's image moments and outline. They are log area, elongation, the two
principal extents, contact with the image border, how elliptic the region is, and two
perimeter ratios. The perimeter ratios matter because a thin crack has a long outline
for its area.

The head normalizes both parts with statistics of the support set and returns the
Euclidean distance to every type's prototype (Snell et al., "Prototypical Networks
for Few-shot Learning", NeurIPS 2017). Every step uses standard ONNX operators, so
the training side and every engine compute the same numbers.
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


class RegionDescriptor(nn.Module):
    """Describe regions from patch embeddings and region masks.

    Input ``features``: N x C x h x w patch embeddings (the anomaly graph's third
    output). Input ``region``: N x 1 x H x W region weights in 0..1 at the model input
    size, with H = 8 h and W = 8 w. Output: N x (C + 8) raw descriptors.
    """

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        """Return the appearance part followed by the shape part; see the class docstring."""
        return torch.cat([self._appearance(features, region), self._shape(region)], dim=1)

    @staticmethod
    def _appearance(features: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        weights = F.avg_pool2d(region, kernel_size=FEATURE_STRIDE_PX, stride=FEATURE_STRIDE_PX)
        total = weights.sum(dim=(2, 3), keepdim=True)
        cells = weights.shape[2] * weights.shape[3]
        weights = torch.where(total > EPSILON, weights / total.clamp_min(EPSILON), torch.full_like(weights, 1.0 / cells))
        inside = (features * weights).sum(dim=(2, 3))
        return inside - features.mean(dim=(2, 3))

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
    """Normalize raw descriptors and return their distance to each type's prototype.

    Outputs: ``distance`` N x K (Euclidean, in the normalized space) and
    ``descriptor`` N x (C + 8), the raw descriptor, so a region judged at the line can
    later become a new support example.
    """

    def __init__(
        self,
        appearance_centre: np.ndarray,
        shape_mean: np.ndarray,
        shape_scale: np.ndarray,
        shape_weight: float,
        prototypes: np.ndarray,
    ) -> None:
        super().__init__()
        self.descriptor = RegionDescriptor()
        self.channels = int(appearance_centre.shape[0])
        self.register_buffer("appearance_centre", torch.as_tensor(appearance_centre, dtype=torch.float32))
        self.register_buffer("shape_mean", torch.as_tensor(shape_mean, dtype=torch.float32))
        factor = shape_weight / math.sqrt(SHAPE_DIMENSIONS)
        self.register_buffer("shape_factor", torch.as_tensor(factor / shape_scale, dtype=torch.float32))
        self.register_buffer("prototypes", torch.as_tensor(prototypes, dtype=torch.float32))

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (distance N x K, raw descriptor N x D)."""
        raw = self.descriptor(features, region)
        normalized = normalize_descriptors_torch(raw, self)
        squared = (normalized.unsqueeze(1) - self.prototypes.unsqueeze(0)) ** 2
        return torch.sqrt(squared.sum(dim=2).clamp_min(0.0)), raw


def normalize_descriptors_torch(raw: torch.Tensor, head: PrototypeHead) -> torch.Tensor:
    """Apply the head's normalization to raw descriptors (torch version of :func:`normalize_descriptors`)."""
    appearance = raw[:, : head.channels] - head.appearance_centre
    appearance = appearance / torch.sqrt((appearance * appearance).sum(dim=1, keepdim=True)).clamp_min(EPSILON)
    shape = (raw[:, head.channels :] - head.shape_mean) * head.shape_factor
    return torch.cat([appearance, shape], dim=1)


def normalize_descriptors(
    raw: np.ndarray, appearance_centre: np.ndarray, shape_mean: np.ndarray, shape_scale: np.ndarray, shape_weight: float
) -> np.ndarray:
    """Normalize raw N x (C + 8) descriptors: L2 on the centred appearance, z-score on the shape part."""
    channels = appearance_centre.shape[0]
    appearance = raw[:, :channels] - appearance_centre
    appearance = appearance / np.maximum(np.linalg.norm(appearance, axis=1, keepdims=True), EPSILON)
    shape = (raw[:, channels:] - shape_mean) / shape_scale * (shape_weight / math.sqrt(SHAPE_DIMENSIONS))
    return np.concatenate([appearance, shape], axis=1)


@torch.no_grad()
def describe_regions(features: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Return raw descriptors for N feature maps (N x C x h x w) and regions (N x H x W)."""
    module = RegionDescriptor()
    feature_tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    region_tensor = torch.from_numpy(np.ascontiguousarray(regions, dtype=np.float32)).unsqueeze(1)
    return module(feature_tensor, region_tensor).numpy().astype(np.float64)
