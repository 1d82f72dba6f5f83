"""PatchCore scoring in torch: nearest-neighbour distance to a memory bank of normal patches.

Roth et al., "Towards Total Recall in Industrial Anomaly Detection" (CVPR 2022). Each
test patch is scored by its Euclidean distance to the nearest bank entry; the patch
map is upsampled to the model input and smoothed with a Gaussian. The image score is
the mean of the highest ``score_top_fraction`` of map pixels (5% by default) (the plain maximum when
that count is one pixel): on the shared factory sets it ranks defects above good
images better than the maximum, which single bright texture spots on good parts
reach too. Every step is per image, so a score never depends on the batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from anomaly.backbone import FeatureExtractor

DEFAULT_SIGMA_PX = 4.0
DEFAULT_SCORE_TOP_FRACTION = 0.05


def gaussian_kernel_1d(sigma: float) -> torch.Tensor:
    """Return a normalized 1-D Gaussian kernel truncated at four sigma."""
    radius = max(1, int(math.ceil(4.0 * sigma)))
    positions = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(positions**2) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def top_pixel_count(image_size: tuple[int, int], fraction: float) -> int:
    """Return how many map pixels the image score averages: ``fraction`` of the map, at least one."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"invalid score top fraction {fraction}; use a value in 0..1 (0 scores by the maximum)")
    return max(1, int(round(image_size[0] * image_size[1] * fraction)))


class MapPostprocess(nn.Module):
    """Upsample a patch score map to the input size, smooth it, and take the image score.

    The image score is the mean of the ``top_count`` highest pixels; ``top_count`` is
    fixed when the graph is built, so the exported graph contains a ``TopK`` with a constant K.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        sigma: float = DEFAULT_SIGMA_PX,
        score_top_fraction: float = DEFAULT_SCORE_TOP_FRACTION,
    ) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
        self.top_count = top_pixel_count(self.image_size, score_top_fraction)
        kernel = gaussian_kernel_1d(sigma) if sigma > 0 else torch.ones(1)
        self.radius = (kernel.numel() - 1) // 2
        self.register_buffer("kernel_rows", kernel.view(1, 1, -1, 1).clone())
        self.register_buffer("kernel_cols", kernel.view(1, 1, 1, -1).clone())

    def forward(self, patch_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (N x 1 x H x W anomaly map, N image scores) from an N x 1 x h x w patch map."""
        full = F.interpolate(patch_map, size=self.image_size, mode="bilinear", align_corners=False)
        if self.radius > 0:
            full = F.conv2d(F.pad(full, (0, 0, self.radius, self.radius), mode="replicate"), self.kernel_rows)
            full = F.conv2d(F.pad(full, (self.radius, self.radius, 0, 0), mode="replicate"), self.kernel_cols)
        pixels = full.flatten(1)
        if self.top_count == 1:
            score = pixels.amax(dim=1)
        else:
            score = pixels.topk(self.top_count, dim=1).values.mean(dim=1)
        return full, score


class NearestNeighbourHead(nn.Module):
    """Distance of every patch feature to its nearest memory-bank entry."""

    def __init__(self, bank: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("bank", bank.float().contiguous())
        self.register_buffer("bank_norms", (bank.float() ** 2).sum(dim=1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return an N x 1 x h x w map of nearest distances for N x C x h x w features."""
        batch, channels, height, width = features.shape
        patches = features.permute(0, 2, 3, 1).reshape(batch, height * width, channels)
        squared = (patches * patches).sum(dim=2, keepdim=True) - 2.0 * patches @ self.bank.t() + self.bank_norms
        nearest = squared.amin(dim=2).clamp_min(0.0).sqrt()
        return nearest.reshape(batch, 1, height, width)


class PatchCoreModel(nn.Module):
    """Feature extractor, nearest-neighbour head and map post-processing in one graph.

    Input: N x 3 x H x W float32 RGB in 0..255 at the bundle's fixed size.
    Outputs: anomaly map N x 1 x H x W, image score N, and the patch embeddings
    N x C x H/8 x W/8 that the defect-type classifier pools over NG regions.
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        bank: torch.Tensor,
        image_size: tuple[int, int],
        sigma: float = DEFAULT_SIGMA_PX,
        score_top_fraction: float = DEFAULT_SCORE_TOP_FRACTION,
    ) -> None:
        super().__init__()
        self.extractor = extractor
        self.head = NearestNeighbourHead(bank)
        self.postprocess = MapPostprocess(image_size, sigma, score_top_fraction)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score a batch; see the class docstring for shapes."""
        features = self.extractor(images)
        anomaly_map, score = self.postprocess(self.head(features))
        return anomaly_map, score, features
