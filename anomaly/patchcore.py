"""PatchCore scoring in torch: nearest-neighbour distance to a memory bank of normal patches.

Roth et al., "Towards Total Recall in Industrial Anomaly Detection" (CVPR 2022). Each
test patch is scored by its Euclidean distance to the nearest bank entry; the patch
map is upsampled to the model input, smoothed with a Gaussian and its maximum is the
image score. Every step is per image, so a score never depends on the batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from anomaly.backbone import FeatureExtractor

DEFAULT_SIGMA_PX = 4.0


def gaussian_kernel_1d(sigma: float) -> torch.Tensor:
    """Return a normalized 1-D Gaussian kernel truncated at four sigma."""
    radius = max(1, int(math.ceil(4.0 * sigma)))
    positions = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(positions**2) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


class MapPostprocess(nn.Module):
    """Upsample a patch score map to the input size, smooth it, and take the image score."""

    def __init__(self, image_size: tuple[int, int], sigma: float = DEFAULT_SIGMA_PX) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
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
        score = full.amax(dim=(1, 2, 3))
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
    ) -> None:
        super().__init__()
        self.extractor = extractor
        self.head = NearestNeighbourHead(bank)
        self.postprocess = MapPostprocess(image_size, sigma)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score a batch; see the class docstring for shapes."""
        features = self.extractor(images)
        anomaly_map, score = self.postprocess(self.head(features))
        return anomaly_map, score, features
