"""Train a PatchCore anomaly model from good images: extract, subsample, score held-out, threshold."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from anomaly.augmentation import FLIP_TRANSFORMS, augmented_copies
from anomaly.backbone import (
    BACKBONES,
    INTENSITY_FIXED,
    INTENSITY_PER_IMAGE,
    INTENSITY_RULES,
    MIN_STRIDE_32_SIDE_PX,
    FeatureExtractor,
    default_feature_blocks,
)
from anomaly.coreset import ProgressCallback, TrainingCancelled, greedy_coreset
from anomaly.patchcore import DEFAULT_SCORE_TOP_FRACTION, DEFAULT_SIGMA_PX, MapPostprocess, PatchCoreModel
from anomaly.threshold import (
    DEFAULT_MARGIN,
    DEFAULT_TARGET_FRR,
    Threshold,
    threshold_for_false_rejects,
    threshold_from_good,
)
from labeling.imageio import ImageReadError, LoadedImage, find_images, read_image, to_model_rgb
from labeling.model_input import MAX_AUTO_ASPECT, auto_size, combine_outputs, model_inputs, plan_tiles, round_size

logger = logging.getLogger(__name__)

DEFAULT_BACKBONE = "efficientnet-lite1"
# Models saved before the intensity rule existed used the fixed rule.
LEGACY_INTENSITY = INTENSITY_FIXED
INTENSITY_AUTO = "auto"
DEFAULT_INTENSITY = INTENSITY_AUTO
# Coefficient of variation of the good images' mean gray levels above which ``auto``
# standardizes each image.
EXPOSURE_VARIATION_LIMIT = 0.2
DEFAULT_CORESET_RATIO = 0.03
DEFAULT_MEMORY_BUDGET_MB = 4096
# Coreset candidates bound the training time. With mirrored copies of 60 images, 60,000
# candidates scored as well as 100,000 on three real sets and trained in about 20 s
# instead of 34 s on 2 cores.
DEFAULT_MAX_CANDIDATES = 60_000
DEFAULT_MIN_BANK_SIZE = 2048
# Flipped copies raised image AUROC with 4 and with 60 good images. They quadruple
# feature extraction, so training sets of this many images or more go without them.
DEFAULT_AUGMENT_BELOW = 100
DEFAULT_TILE_PX = 256
MIN_PATCHES_PER_INPUT = 16
BYTES_PER_FLOAT = 4


class TrainingError(Exception):
    """Training cannot go on; the message states the reason and what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run; the defaults are the ones ``inspect train`` uses.

    ``feature_blocks`` are the backbone blocks whose outputs form the patch features.
    None trains with the backbone's default blocks for the input size (see
    :func:`anomaly.backbone.default_feature_blocks`), and training stores the resolved
    blocks. A loaded model with None predates that field and is rebuilt with the
    backbone's ``legacy_blocks``.
    """

    backbone: str = DEFAULT_BACKBONE
    intensity: str = DEFAULT_INTENSITY
    feature_blocks: tuple[int, ...] | None = None
    size: tuple[int, int] | None = None
    resize: str = "auto"
    coreset_ratio: float = DEFAULT_CORESET_RATIO
    sigma_px: float = DEFAULT_SIGMA_PX
    score_top_fraction: float = DEFAULT_SCORE_TOP_FRACTION
    threshold_margin: float = DEFAULT_MARGIN
    target_frr: float | None = DEFAULT_TARGET_FRR
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    min_bank_size: int = DEFAULT_MIN_BANK_SIZE
    augment_below: int = DEFAULT_AUGMENT_BELOW
    augment_transforms: tuple[str, ...] = FLIP_TRANSFORMS
    batch_size: int = 8
    seed: int = 0


@dataclass(frozen=True)
class TrainedModel:
    """Everything a bundle needs from training: bank, geometry, depth rule and threshold."""

    config: TrainConfig
    input_size: tuple[int, int]
    bit_depth: int
    resize: str
    bank: np.ndarray
    bank_owners: np.ndarray
    threshold: Threshold
    good_scores: np.ndarray
    image_count: int
    dataset_sha256: str
    train_seconds: float
    skipped: tuple[ImageReadError, ...] = field(default_factory=tuple)

    def images_above_threshold(self, images: Sequence[LoadedImage]) -> list[tuple[str, float]]:
        """Return (source, held-out score) of the training ``images`` that score above the threshold, highest first.

        ``images`` are the images this model was trained on, in training order. A single
        image has held-out scores of shifted copies, not of files, so the list is then empty.
        """
        if len(self.good_scores) != len(images):
            return []
        pairs = zip(images, self.good_scores, strict=True)
        above = [(str(image.source), float(score)) for image, score in pairs if score > self.threshold.value]
        return sorted(above, key=lambda item: -item[1])

    def torch_model(self) -> PatchCoreModel:
        """Build the eval-mode torch model (extractor, bank, post-processing) for prediction or export."""
        extractor = FeatureExtractor(
            self.config.backbone, self.input_size, self.config.intensity, self.config.feature_blocks
        )
        model = PatchCoreModel(
            extractor, torch.from_numpy(self.bank), self.input_size, self.config.sigma_px, self.config.score_top_fraction
        )
        return model.eval()


def load_training_images(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[LoadedImage], list[ImageReadError]]:
    """Expand folders and load every image, collecting unreadable files instead of stopping."""
    files, errors = find_images(paths)
    images: list[LoadedImage] = []
    for path in files:
        try:
            images.append(read_image(path))
        except ImageReadError as error:
            # Callers report the returned errors to the user, so this line is for -v logs only.
            logger.info("Skipping training image %s", error)
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
    resize = choose_resize(config.resize, images)
    size = _choose_size(config, images, resize)
    config = replace(
        config,
        intensity=choose_intensity(config.intensity, images),
        feature_blocks=choose_feature_blocks(config.backbone, config.feature_blocks, size),
    )
    bit_depth = max(image.bit_depth for image in images)
    extractor = FeatureExtractor(config.backbone, size, config.intensity, config.feature_blocks)
    pool, pool_owners = _bank_sources(images, config)
    input_counts = [_input_count(image, size, resize) for image in pool]
    if len(pool) > len(images) and _feature_bytes(extractor, size, sum(input_counts)) > _budget_bytes(config):
        # The copies only widen the bank, so they go before the originals' patches are subsampled.
        logger.warning("Augmented copies would exceed the memory budget of %d MB: training without them", config.memory_budget_mb)
        pool, pool_owners = pool[: len(images)], pool_owners[: len(images)]
        input_counts = input_counts[: len(images)]
    per_input = _patches_per_input(extractor, size, sum(input_counts), config)
    # Over the memory budget, each input keeps only its sampled patches, so the features
    # of a large set never sit in memory at full size. Held-out scoring then extracts
    # each training image again.
    over_budget = _feature_bytes(extractor, size, sum(input_counts)) > _budget_bytes(config)
    generator = torch.Generator().manual_seed(config.seed)

    kept_per_input = per_input if over_budget else None
    features = _extract(extractor, pool, size, bit_depth, resize, config, progress, cancel, kept_per_input, generator)
    candidates, owners, sources = _sample_patches(features, pool_owners, per_input, generator)
    from_copy = sources >= len(images)
    keep = bank_size(candidates.shape[0], config)
    chosen = greedy_coreset(candidates, keep, seed=config.seed, progress=progress, cancel=cancel)
    bank = candidates[chosen].contiguous()
    bank_owners = owners[chosen]
    bank_from_copy = from_copy[chosen]

    postprocess = MapPostprocess(size, config.sigma_px, config.score_top_fraction)
    scorer = _HeldOutScorer(bank, bank_owners, bank_from_copy, postprocess, size)
    stored = None if over_budget else features[: len(images)]
    good_scores = _held_out_scores(scorer, stored, extractor, images, size, bit_depth, resize, config.batch_size)
    threshold = choose_threshold(good_scores, config)
    elapsed = time.perf_counter() - started
    logger.info(
        "Trained on %d images (%d inputs, %s) in %.1f s: bank %d x %d, input %dx%d",
        len(images), sum(input_counts), resize, elapsed, *bank.shape, *size,
    )
    return TrainedModel(
        config=config,
        input_size=size,
        bit_depth=bit_depth,
        resize=resize,
        bank=bank.numpy(),
        bank_owners=bank_owners.numpy(),
        threshold=threshold,
        good_scores=good_scores,
        image_count=len(images),
        dataset_sha256=_dataset_hash(images),
        train_seconds=elapsed,
        skipped=tuple(skipped),
    )


def choose_threshold(good_scores: np.ndarray, config: TrainConfig) -> Threshold:
    """Apply the good-only threshold rule the config names: accepted false-reject rate, or margin when it is None."""
    if config.target_frr is None:
        return threshold_from_good(good_scores, config.threshold_margin)
    return threshold_for_false_rejects(good_scores, config.target_frr)


def choose_intensity(requested: str, images: Sequence[LoadedImage]) -> str:
    """Resolve the intensity rule; ``auto`` standardizes per image when exposure varies between the good images.

    The spread is the coefficient of variation of the images' mean gray levels. Parts
    photographed at several exposures vary by tens of percent, and a line with stable
    lighting by a few percent. With one image the spread is unknown, so the raw
    intensities are kept.
    """
    if requested != INTENSITY_AUTO:
        if requested not in INTENSITY_RULES:
            raise TrainingError(f"unknown intensity rule {requested!r}; use auto, {', '.join(INTENSITY_RULES)}")
        return requested
    if len(images) < 2:
        return INTENSITY_FIXED
    depth = max(image.bit_depth for image in images)
    levels = np.array([float(to_model_rgb(image, depth).mean()) for image in images])
    variation = float(levels.std() / max(levels.mean(), 1e-6))
    chosen = INTENSITY_PER_IMAGE if variation > EXPOSURE_VARIATION_LIMIT else INTENSITY_FIXED
    logger.info("Mean gray level varies by %.1f%% between good images: intensity rule %s", 100 * variation, chosen)
    return chosen


def choose_feature_blocks(
    backbone: str, requested: Sequence[int] | None, size: tuple[int, int]
) -> tuple[int, ...] | None:
    """Return the requested feature blocks as a sorted tuple, or for None the defaults for a (height, width) input.

    An unknown backbone keeps None, so building the extractor reports it. Requested
    stride-32 blocks stay on an input below ``MIN_STRIDE_32_SIDE_PX``, with a warning.
    """
    spec = BACKBONES.get(backbone)
    if requested is not None:
        blocks = tuple(sorted({int(block) for block in requested}))
        stride_32 = [block for block in blocks if spec is not None and block in spec.stride_32_blocks]
        if stride_32 and min(size) < MIN_STRIDE_32_SIDE_PX:
            logger.warning(
                "Feature block(s) %s have stride 32 but the input is only %dx%d. Below %d px on the shorter side "
                "they raise the anomaly map across the whole part, so leave them out of feature_blocks (--feature-blocks)",
                stride_32, size[1], size[0], MIN_STRIDE_32_SIDE_PX,
            )
        return blocks
    if spec is None:
        return None
    blocks = default_feature_blocks(spec, size)
    if blocks != spec.feature_blocks:
        logger.info("Input %dx%d is below %d px on the shorter side: feature blocks %s", size[1], size[0], MIN_STRIDE_32_SIDE_PX, blocks)
    return blocks


def choose_resize(requested: str, images: Sequence[LoadedImage]) -> str:
    """Resolve ``auto`` to ``tile`` for line-scan-like images (median aspect above 4:1), else ``stretch``.

    Raises:
        TrainingError: an unknown rule was requested.
    """
    if requested in ("stretch", "tile"):
        return requested
    if requested != "auto":
        raise TrainingError(f"unknown resize rule {requested!r}; use auto, stretch or tile")
    aspects = [max(image.width, image.height) / min(image.width, image.height) for image in images]
    return "tile" if float(np.median(aspects)) > MAX_AUTO_ASPECT else "stretch"


def _choose_size(config: TrainConfig, images: Sequence[LoadedImage], resize: str) -> tuple[int, int]:
    if config.size:
        return round_size(config.size)
    if resize == "tile":
        return round_size((DEFAULT_TILE_PX, DEFAULT_TILE_PX))
    return auto_size([(image.height, image.width) for image in images])


def _input_count(image: LoadedImage, size: tuple[int, int], resize: str) -> int:
    return len(plan_tiles(image.height, image.width, size).offsets) if resize == "tile" else 1


def _feature_bytes(extractor: FeatureExtractor, size: tuple[int, int], inputs: int) -> int:
    """Return the estimated bytes of patch features (with a copy for sampling) for ``inputs`` model inputs."""
    grid = (size[0] // 8) * (size[1] // 8)
    return inputs * grid * extractor.channels * BYTES_PER_FLOAT * 2


def _budget_bytes(config: TrainConfig) -> int:
    return config.memory_budget_mb * 1024 * 1024


def _patches_per_input(extractor: FeatureExtractor, size: tuple[int, int], inputs: int, config: TrainConfig) -> int:
    """Estimate the bank's memory before extraction and return how many patches per input to keep.

    Two limits apply: the memory budget for features, and a cap on coreset
    candidates that bounds the time of coreset selection.
    """
    grid = (size[0] // 8) * (size[1] // 8)
    per_patch = extractor.channels * BYTES_PER_FLOAT * 2
    budget = _budget_bytes(config)
    needed = _feature_bytes(extractor, size, inputs)
    logger.info(
        "Estimated feature memory: %.0f MB for %d model inputs (budget %d MB)", needed / 2**20, inputs, config.memory_budget_mb
    )
    fitting = grid if needed <= budget else budget // (inputs * per_patch)
    if fitting < min(grid, MIN_PATCHES_PER_INPUT):
        raise TrainingError(
            f"{inputs} model inputs of {size[1]}x{size[0]} need about {needed / 2**20:,.0f} MB of patch features, "
            f"above the memory budget of {config.memory_budget_mb} MB; use fewer images, a smaller --size, "
            "or a larger --memory-budget-mb"
        )
    if fitting < grid:
        logger.warning(
            "Feature memory %.0f MB exceeds the budget of %d MB: keeping %d of %d patches per input",
            needed / 2**20, config.memory_budget_mb, fitting, grid,
        )
    capped = max(1, config.max_candidates // inputs)
    if capped < fitting:
        logger.info("Keeping %d of %d patches per input to bound coreset time", capped, grid)
    return int(min(fitting, capped))


@torch.no_grad()
def _extract(
    extractor: FeatureExtractor,
    images: Sequence[LoadedImage],
    size: tuple[int, int],
    bit_depth: int,
    resize: str,
    config: TrainConfig,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    keep: int | None = None,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Return, per image, an (inputs x patches x channels) tensor of patch features.

    With ``keep``, each input keeps ``keep`` random patches drawn with ``generator``,
    the same draws :func:`_sample_patches` would make from the full features.
    """
    features: list[torch.Tensor] = []
    for index, image in enumerate(images):
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("feature extraction was cancelled")
        inputs, _ = model_inputs(image, size, bit_depth, resize)
        patches = _patch_features(extractor, inputs, config.batch_size)
        if keep is not None and keep < patches.shape[1]:
            patches = torch.stack([rows[torch.randperm(rows.shape[0], generator=generator)[:keep]] for rows in patches])
        features.append(patches.contiguous())
        if progress is not None:
            progress("features", index + 1, len(images))
    return features


def _patch_features(extractor: FeatureExtractor, inputs: np.ndarray, batch_size: int) -> torch.Tensor:
    """Return the (inputs x patches x channels) patch features of model inputs, ``batch_size`` at a time."""
    chunks = []
    for start in range(0, inputs.shape[0], batch_size):
        maps = extractor(torch.from_numpy(inputs[start : start + batch_size]))
        chunks.append(maps.permute(0, 2, 3, 1).reshape(maps.shape[0], -1, maps.shape[1]))
    return torch.cat(chunks)


def bank_size(candidates: int, config: TrainConfig) -> int:
    """Return how many coreset entries to keep: ``coreset_ratio`` of the candidates, at least ``min_bank_size``.

    The floor keeps few-shot banks, whose candidates are few, from shrinking to a
    handful of entries; it never exceeds the number of candidates.
    """
    by_ratio = int(round(candidates * config.coreset_ratio))
    return max(1, by_ratio, min(candidates, config.min_bank_size))


def _bank_sources(images: Sequence[LoadedImage], config: TrainConfig) -> tuple[list[LoadedImage], list[int]]:
    """Return the images whose patches feed the bank and, for each, the index of its original image.

    The training images come first, followed by augmented copies when there are fewer
    than ``augment_below`` of them. A copy has the owner of its original, so leaving
    one image out for held-out scoring also leaves out its copies.
    """
    pool = list(images)
    owners = list(range(len(images)))
    if len(images) < config.augment_below and config.augment_transforms:
        pool.extend(augmented_copies(images, config.augment_transforms))
        owners.extend(index for index in range(len(images)) for _ in config.augment_transforms)
        logger.info(
            "%d training images, fewer than %d: adding %d augmented copies to the bank",
            len(images), config.augment_below, len(pool) - len(images),
        )
    return pool, owners


def _sample_patches(
    features: list[torch.Tensor], pool_owners: Sequence[int], per_input: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (patch rows, owner image index per row, pool index per row)."""
    kept, owners, sources = [], [], []
    for source, (owner, item) in enumerate(zip(pool_owners, features)):
        for rows in item:
            if per_input < rows.shape[0]:
                rows = rows[torch.randperm(rows.shape[0], generator=generator)[:per_input]]
            kept.append(rows)
            owners.append(torch.full((rows.shape[0],), owner, dtype=torch.int64))
            sources.append(torch.full((rows.shape[0],), source, dtype=torch.int64))
    return torch.cat(kept), torch.cat(owners), torch.cat(sources)


class _HeldOutScorer:
    """Score patch features against the bank, optionally leaving out a masked set of bank entries."""

    def __init__(
        self,
        bank: torch.Tensor,
        owners: torch.Tensor,
        from_copy: torch.Tensor,
        postprocess: MapPostprocess,
        size: tuple[int, int],
    ) -> None:
        self.bank = bank
        self.owners = owners
        self.from_copy = from_copy
        self.bank_norms = (bank**2).sum(dim=1)
        self.postprocess = postprocess
        self.grid = (size[0] // 8, size[1] // 8)

    @torch.no_grad()
    def maps(self, patches: torch.Tensor, excluded: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
        """Return (maps n x H x W, scores n) for n inputs' patch features (n x patches x C)."""
        maps, scores = [], []
        for rows in patches:
            squared = (rows**2).sum(dim=1, keepdim=True) - 2.0 * rows @ self.bank.t() + self.bank_norms
            if excluded is not None:
                squared[:, excluded] = float("inf")
            nearest = squared.amin(dim=1).clamp_min(0.0).sqrt().reshape(1, 1, *self.grid)
            full, score = self.postprocess(nearest)
            maps.append(full[0, 0].numpy())
            scores.append(float(score[0]))
        return np.stack(maps), np.asarray(scores)


@torch.no_grad()
def _held_out_scores(
    scorer: _HeldOutScorer,
    features: list[torch.Tensor] | None,
    extractor: FeatureExtractor,
    images: Sequence[LoadedImage],
    size: tuple[int, int],
    bit_depth: int,
    resize: str,
    batch_size: int,
) -> np.ndarray:
    """Score each training image against the bank without its own patches (leave one out).

    ``features`` are the images' full patch features. None extracts them again, one
    image at a time.

    With a single image there is nothing to leave out, so shifted and re-lit copies of
    it are scored instead, and the threshold is then a rough guess. When the bank contains
    augmented copies, the original's own entries are left out, so those copies are
    scored against mirrored views only, as a new good part would be.
    """
    scores = []
    if len(images) == 1:
        logger.warning("Only one good image: the threshold is estimated from shifted copies of it and is approximate")
        excluded = ~scorer.from_copy if bool(scorer.from_copy.any()) else None
        for copy in _perturbed_copies(images[0]):
            inputs, plan = model_inputs(copy, size, bit_depth, resize)
            patches = extractor(torch.from_numpy(inputs))
            patches = patches.permute(0, 2, 3, 1).reshape(patches.shape[0], -1, patches.shape[1])
            maps, tile_scores = scorer.maps(patches, excluded)
            scores.append(combine_outputs(maps, tile_scores, plan, copy.height, copy.width)[1])
        return np.asarray(scores, dtype=np.float64)
    for index, image in enumerate(images):
        plan = plan_tiles(image.height, image.width, size) if resize == "tile" else None
        if features is None:
            patches = _patch_features(extractor, model_inputs(image, size, bit_depth, resize)[0], batch_size)
        else:
            patches = features[index]
        maps, tile_scores = scorer.maps(patches, scorer.owners == index)
        scores.append(combine_outputs(maps, tile_scores, plan, image.height, image.width)[1])
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
