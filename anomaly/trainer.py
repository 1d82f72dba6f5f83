"""Train a PatchCore anomaly model from good images: extract, subsample, score held-out, threshold."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from anomaly.backbone import FeatureExtractor
from anomaly.coreset import ProgressCallback, TrainingCancelled, greedy_coreset
from anomaly.patchcore import DEFAULT_SIGMA_PX, MapPostprocess, PatchCoreModel
from anomaly.threshold import DEFAULT_MARGIN, Threshold, threshold_from_good
from labeling.model_input import auto_size, prepare_batch, round_size
from labeling.imageio import ImageReadError, LoadedImage, find_images, read_image

logger = logging.getLogger(__name__)

DEFAULT_BACKBONE = "efficientnet-lite0"
DEFAULT_CORESET_RATIO = 0.1
DEFAULT_MEMORY_BUDGET_MB = 4096
BYTES_PER_FLOAT = 4


class TrainingError(Exception):
    """Training cannot go on; the message says why and what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run; the defaults are the ones ``inspect train`` uses."""

    backbone: str = DEFAULT_BACKBONE
    size: tuple[int, int] | None = None
    coreset_ratio: float = DEFAULT_CORESET_RATIO
    sigma_px: float = DEFAULT_SIGMA_PX
    threshold_margin: float = DEFAULT_MARGIN
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB
    batch_size: int = 8
    seed: int = 0


@dataclass(frozen=True)
class TrainedModel:
    """Everything a bundle needs from training: bank, geometry, depth rule and threshold."""

    config: TrainConfig
    input_size: tuple[int, int]
    bit_depth: int
    bank: np.ndarray
    bank_owners: np.ndarray
    threshold: Threshold
    good_scores: np.ndarray
    image_count: int
    dataset_sha256: str
    train_seconds: float
    skipped: tuple[ImageReadError, ...] = field(default_factory=tuple)

    def torch_model(self) -> PatchCoreModel:
        """Build the eval-mode torch model (extractor, bank, post-processing) for prediction or export."""
        extractor = FeatureExtractor(self.config.backbone, self.input_size)
        model = PatchCoreModel(extractor, torch.from_numpy(self.bank), self.input_size, self.config.sigma_px)
        return model.eval()


def load_training_images(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[LoadedImage], list[ImageReadError]]:
    """Expand folders and load every image, collecting unreadable files instead of stopping."""
    files, errors = find_images(paths)
    images: list[LoadedImage] = []
    for path in files:
        try:
            images.append(read_image(path))
        except ImageReadError as error:
            logger.warning("Skipping training image %s", error)
            errors.append(error)
    return images, errors


def train_patchcore(
    images: Sequence[LoadedImage],
    config: TrainConfig = TrainConfig(),
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    skipped: Sequence[ImageReadError] = (),
) -> TrainedModel:
    """Train on good images and return the model with its threshold.

    Raises:
        TrainingError: no images, or the bank cannot fit the memory budget.
        TrainingCancelled: ``cancel`` was set.
    """
    started = time.perf_counter()
    if not images:
        raise TrainingError("no readable good images to train on; check the folder and the file types")
    torch.manual_seed(config.seed)
    size = round_size(config.size) if config.size else auto_size([(i.height, i.width) for i in images])
    bit_depth = max(image.bit_depth for image in images)
    extractor = FeatureExtractor(config.backbone, size)
    patches_per_image = _patches_per_image(extractor, size, len(images), config)

    features = _extract(extractor, images, size, bit_depth, config, progress, cancel)
    candidates, owners = _sample_patches(features, patches_per_image, config.seed)
    keep = max(1, int(round(candidates.shape[0] * config.coreset_ratio)))
    chosen = greedy_coreset(candidates, keep, seed=config.seed, progress=progress, cancel=cancel)
    bank = candidates[chosen].contiguous()
    bank_owners = owners[chosen]

    postprocess = MapPostprocess(size, config.sigma_px)
    good_scores = _held_out_scores(features, bank, bank_owners, postprocess, extractor, images, size, bit_depth)
    threshold = threshold_from_good(good_scores, config.threshold_margin)
    elapsed = time.perf_counter() - started
    logger.info("Trained on %d images in %.1f s: bank %d x %d, input %dx%d", len(images), elapsed, *bank.shape, *size)
    return TrainedModel(
        config=config,
        input_size=size,
        bit_depth=bit_depth,
        bank=bank.numpy(),
        bank_owners=bank_owners.numpy(),
        threshold=threshold,
        good_scores=good_scores,
        image_count=len(images),
        dataset_sha256=_dataset_hash(images),
        train_seconds=elapsed,
        skipped=tuple(skipped),
    )


def _patches_per_image(extractor: FeatureExtractor, size: tuple[int, int], count: int, config: TrainConfig) -> int:
    """Estimate the bank's memory before extraction and return how many patches per image fit the budget."""
    grid = (size[0] // 8) * (size[1] // 8)
    channels = extractor.channels
    per_patch = channels * BYTES_PER_FLOAT * 2
    budget = config.memory_budget_mb * 1024 * 1024
    needed = count * grid * per_patch
    logger.info("Estimated feature memory: %.0f MB for %d images (budget %d MB)", needed / 2**20, count, config.memory_budget_mb)
    if needed <= budget:
        return grid
    fitting = budget // (count * per_patch)
    if fitting < max(16, grid // 64):
        raise TrainingError(
            f"{count} images at {size[1]}x{size[0]} need about {needed / 2**20:,.0f} MB of features, "
            f"above the memory budget of {config.memory_budget_mb} MB; use fewer images, a smaller --size, "
            "or a larger --memory-budget-mb"
        )
    logger.warning(
        "Feature memory %.0f MB exceeds the budget of %d MB: keeping %d of %d patches per image",
        needed / 2**20,
        config.memory_budget_mb,
        fitting,
        grid,
    )
    return int(fitting)


@torch.no_grad()
def _extract(
    extractor: FeatureExtractor,
    images: Sequence[LoadedImage],
    size: tuple[int, int],
    bit_depth: int,
    config: TrainConfig,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> list[torch.Tensor]:
    """Return one (patches x channels) tensor per image."""
    features: list[torch.Tensor] = []
    for start in range(0, len(images), config.batch_size):
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("feature extraction was cancelled")
        chunk = images[start : start + config.batch_size]
        batch = torch.from_numpy(prepare_batch(chunk, size, bit_depth))
        maps = extractor(batch)
        for item in maps:
            features.append(item.permute(1, 2, 0).reshape(-1, item.shape[0]).contiguous())
        if progress is not None:
            progress("features", min(start + len(chunk), len(images)), len(images))
    return features


def _sample_patches(features: list[torch.Tensor], per_image: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    kept, owners = [], []
    for index, item in enumerate(features):
        rows = item if per_image >= item.shape[0] else item[torch.randperm(item.shape[0], generator=generator)[:per_image]]
        kept.append(rows)
        owners.append(torch.full((rows.shape[0],), index, dtype=torch.int64))
    return torch.cat(kept), torch.cat(owners)


@torch.no_grad()
def _held_out_scores(
    features: list[torch.Tensor],
    bank: torch.Tensor,
    owners: torch.Tensor,
    postprocess: MapPostprocess,
    extractor: FeatureExtractor,
    images: Sequence[LoadedImage],
    size: tuple[int, int],
    bit_depth: int,
) -> np.ndarray:
    """Score each training image against the bank without its own patches (leave one out).

    With a single image there is nothing to leave out, so shifted and re-lit copies of
    it are scored against the full bank instead; the threshold is then a rough guess.
    """
    grid = (size[0] // 8, size[1] // 8)
    bank_norms = (bank**2).sum(dim=1)
    if len(features) == 1:
        logger.warning("Only one good image: the threshold is estimated from shifted copies of it and is approximate")
        copies = _perturbed_copies(images[0])
        batch = torch.from_numpy(prepare_batch(copies, size, bit_depth))
        candidates = [item.permute(1, 2, 0).reshape(-1, item.shape[0]) for item in extractor(batch)]
        masks = [torch.zeros_like(owners, dtype=torch.bool)] * len(candidates)
    else:
        candidates = features
        masks = [owners == index for index in range(len(features))]
    scores = []
    for patches, excluded in zip(candidates, masks):
        squared = (patches**2).sum(dim=1, keepdim=True) - 2.0 * patches @ bank.t() + bank_norms
        squared[:, excluded] = float("inf")
        nearest = squared.amin(dim=1).clamp_min(0.0).sqrt().reshape(1, 1, *grid)
        scores.append(float(postprocess(nearest)[1][0]))
    return np.asarray(scores, dtype=np.float64)


def _perturbed_copies(image: LoadedImage) -> list[LoadedImage]:
    pixels = image.pixels
    shift = max(2, min(image.height, image.width) // 64)
    pad_rows = ((0, shift),) + ((0, 0),) * (pixels.ndim - 1)
    pad_cols = ((0, 0), (0, shift)) + ((0, 0),) * (pixels.ndim - 2)
    variants = [
        np.pad(pixels[shift:], pad_rows, mode="edge"),
        np.pad(pixels[:, shift:], pad_cols, mode="edge"),
        np.clip(pixels.astype(np.float32) * 1.05, 0, np.iinfo(pixels.dtype).max).astype(pixels.dtype),
        np.clip(pixels.astype(np.float32) * 0.95, 0, np.iinfo(pixels.dtype).max).astype(pixels.dtype),
    ]
    return [LoadedImage(pixels=variant, source=image.source, source_mode=image.source_mode) for variant in variants]


def _dataset_hash(images: Sequence[LoadedImage]) -> str:
    digest = hashlib.sha256()
    for image in sorted(images, key=lambda item: item.source):
        digest.update(hashlib.sha256(np.ascontiguousarray(image.pixels).tobytes()).digest())
    return digest.hexdigest()
