"""Measure light fine-tuning for few-shot defect typing on magnetic_tile, next to the frozen baseline.

Usage::

    python bench/fewshot_finetune.py metric --model MODEL_DIR --cache FILE.npz [--draws 10]
        [--shots 1 3 5] [--variant FORM:PENALTY:PARTS ...] [--draw-set 0] [--out FILE.md]
    python bench/fewshot_finetune.py backbone --model MODEL_DIR [--data DIR] [--draws 5]
        [--shots 1 5] [--tune STEPS:LEARNING_RATE ...] [--features FILE.pt] [--out FILE.md]

Both experiments use labelled-mask regions and the draws of ``bench/fewshot.py`` (the
random generator seeded by the shot count, k support images per type, every other
defect image a query). Each draw learns from its support set only, and the queries are
classified with the prototype and open-set rules of :mod:`fewshot.classifier`.

``metric`` learns, per draw, a linear map of the appearance part and one of the
contrast part of the raw descriptors with a prototypical loss. Each map starts at the
identity, and a penalty pulls it back towards the identity. The unchanged classifier
then receives the mapped descriptors. The experiment reads the descriptors from the
cache that ``bench/fewshot.py --cache`` writes for the same model.

``backbone`` fine-tunes block 14 of the EfficientNet-Lite1 backbone (the deepest
block whose channels enter the region descriptor) on the support images with a
prototypical loss on their region descriptors, then describes every image again with
the tuned block. Blocks 0 to 13 stay frozen, so block 5's features and the input of
block 14 are computed once per image (about 20 s for the 56 images and their flips)
and can be stored in ``--features``.

Every table lists the baseline (no learning) from the same run. "Unknown at a 5-point
cost" uses one ``unknown_margin`` for all draws and held-out types, as in
``bench/fewshot.py``. Fit time is the median per draw of learning plus
``DefectTypeClassifier.fit`` (for ``backbone`` also describing the support and query
images again), in wall seconds, with the process CPU seconds beside it.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fewshot.classifier import (  # noqa: E402
    DefectTypeClassifier,
    distances_to_prototypes,
    distances_to_support,
)
from fewshot.descriptor import SHAPE_DIMENSIONS, RegionDescriptor, geometry_factor  # noqa: E402


def _load_benchmark():
    """Import ``bench/fewshot.py`` under another name, because ``fewshot`` is also the package's name."""
    spec = importlib.util.spec_from_file_location("fewshot_benchmark", ROOT / "bench" / "fewshot.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


benchmark = _load_benchmark()
logger = logging.getLogger(__name__)

# Settings of the learned linear map (metric experiment).
METRIC_STEPS = 300
METRIC_LEARNING_RATE = 0.01
# Factor on squared distances in the prototypical softmax, not tuned. At 10, a gap of 0.3
# in squared distance (the spaces are unit-length parts plus weighted shape values) makes
# the odds about 20 to 1.
LOGIT_SCALE = 10.0
# steps:learning_rate of the block-14 tunings that the backbone experiment compares by default.
BACKBONE_TUNINGS = ("20:3e-4",)
TUNED_BLOCK = 14
DESCRIPTOR_BLOCKS = (5, 14)


@dataclass(frozen=True)
class Variant:
    """One way to learn from a draw's support set: a name and a factory of a descriptor map.

    ``learn(support_rows, support_labels)`` returns a function that maps raw N x D
    descriptors of any region to the descriptors that the classifier is fitted on and applied to.
    """

    name: str
    learn: Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


@dataclass
class DrawOutcome:
    """Per-query results of one draw: truth, nearest type, the open-set ratio, the fit time."""

    truth: np.ndarray
    nearest: np.ndarray
    ratio: np.ndarray
    fit_wall_s: float
    fit_cpu_s: float


def _support_split(
    labels: np.ndarray, known: list[int], shots: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return (support indices, query indices) exactly as ``bench/fewshot.py`` draws them."""
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in known])
    return chosen, np.setdiff1d(np.arange(labels.size), chosen)


def classify(support: np.ndarray, support_labels: np.ndarray, queries: np.ndarray, type_names: list[str]):
    """Fit the product's classifier on ``support`` and return (nearest type index, open-set ratio) per query.

    A query is known at ``unknown_margin`` m when its ratio is at most m, which is the
    rule of :func:`fewshot.classifier.predict`.
    """
    classifier = DefectTypeClassifier()
    for c in np.unique(support_labels):
        classifier.add_examples(type_names[c], support[support_labels == c])
    parameters = classifier.fit()
    index_of = {name: type_names.index(name) for name in parameters.type_names}
    distances = distances_to_prototypes(parameters, queries)
    nearest = np.array([index_of[parameters.type_names[i]] for i in distances.argmin(axis=1)])
    ratio = (distances_to_support(parameters, queries) / parameters.type_radius).min(axis=1)
    return nearest, ratio


def run_metric_draws(
    described, variant: Variant, shots: int, draws: int, held_out: int | None, draw_set: int = 0
) -> list[DrawOutcome]:
    """Run ``draws`` support draws of mask regions, learning ``variant`` on each support set.

    ``draw_set`` 0 gives the draws of ``bench/fewshot.py``, and any other value a fresh set of draws.
    """
    logging.disable(logging.WARNING)
    rng = np.random.default_rng(shots if draw_set == 0 else (draw_set, shots))
    labels = described.labels
    rows = described.support["mask"]
    known = [c for c in range(len(described.type_names)) if c != held_out]
    outcomes = []
    for _ in range(draws):
        chosen, queries = _support_split(labels, known, shots, rng)
        wall, cpu = time.perf_counter(), time.process_time()
        transform = variant.learn(rows[chosen], labels[chosen])
        support = transform(rows[chosen])
        nearest, ratio = classify(
            support, labels[chosen], transform(described.query["mask"][queries]), described.type_names
        )
        outcomes.append(
            DrawOutcome(labels[queries], nearest, ratio, time.perf_counter() - wall, time.process_time() - cpu)
        )
    logging.disable(logging.NOTSET)
    return outcomes


def summarize(closed: list[DrawOutcome], opened: dict[int, list[DrawOutcome]], type_count: int) -> dict:
    """Return closed accuracy, open-set numbers at margin 1.0 and the best share unknown at a 5-point cost.

    The known-type loss is measured against the same classifier's nearest-type
    accuracy on the known types, so a variant that lowers that accuracy can show a
    smaller loss. ``open_known`` (the known types' balanced accuracy with the open-set
    rule) allows a comparison across variants.
    """
    closed_accuracy = [benchmark.balanced_accuracy(o.truth, o.nearest, list(range(type_count))) for o in closed]
    result = {
        "closed": float(np.mean(closed_accuracy)),
        "closed_std": float(np.std(closed_accuracy)),
        "fit_wall_s": float(np.median([o.fit_wall_s for o in closed])),
        "fit_cpu_s": float(np.median([o.fit_cpu_s for o in closed])),
    }
    result["unknown"], result["loss"], result["open_known"] = _open_set(opened, type_count, 1.0)
    best = None
    for margin in benchmark.MARGIN_GRID:
        unknown, loss, open_known = _open_set(opened, type_count, margin)
        if loss <= benchmark.MAX_KNOWN_LOSS_POINTS and (best is None or unknown > best[1]):
            best = (margin, unknown, open_known)
    result["bounded"] = best
    return result


def _open_set(opened: dict[int, list[DrawOutcome]], type_count: int, margin: float) -> tuple[float, float, float]:
    """Return (held-out share reported unknown, known-type loss in points, known types' open-set accuracy)."""
    unknown, loss, open_known = [], [], []
    for held_out, outcomes in opened.items():
        known = [c for c in range(type_count) if c != held_out]
        for o in outcomes:
            decided = np.where(o.ratio <= margin, o.nearest, -1)
            unknown.append(float(np.mean(decided[o.truth == held_out] == -1)))
            open_known.append(benchmark.balanced_accuracy(o.truth, decided, known))
            loss.append(benchmark.balanced_accuracy(o.truth, o.nearest, known) - open_known[-1])
    return float(np.mean(unknown)), 100.0 * float(np.mean(loss)), float(np.mean(open_known))


# ----------------------------------------------------------------------------- metric


def _prototype_loss(space: torch.Tensor, labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Prototypical cross-entropy of every support row against the type means.

    A row's own type mean leaves the row out when the type has another example, so
    the loss measures how a new region of the type would fall. With one example the
    own mean is the row itself, and the loss only pushes the other types away.
    """
    onehot = (labels[:, None] == classes[None, :]).float()
    sums = onehot.T @ space
    counts = onehot.sum(dim=0)
    own_sum = sums[None, :, :] - onehot[:, :, None] * space[:, None, :]
    own_count = counts[None, :] - onehot
    leave_out = own_count > 0
    means = torch.where(
        leave_out[:, :, None], own_sum / own_count.clamp_min(1.0)[:, :, None], sums[None] / counts[None, :, None]
    )
    squared = ((space[:, None, :] - means) ** 2).sum(dim=2)
    return F.cross_entropy(-LOGIT_SCALE * squared, onehot.argmax(dim=1))


def _unit(values: torch.Tensor) -> torch.Tensor:
    return values / values.norm(dim=1, keepdim=True).clamp_min(1e-8)


def fit_support(raw: np.ndarray, labels: np.ndarray) -> tuple:
    """Fit the product classifier on support rows and return its parameters, channel count and z-scored geometry."""
    classifier = DefectTypeClassifier()
    for c in np.unique(labels):
        classifier.add_examples(str(c), raw[labels == c])
    parameters = classifier.fit()
    channels = parameters.appearance_centre.shape[0]
    geometry = (raw[:, 2 * channels :] - parameters.shape_mean) / parameters.shape_scale
    return parameters, channels, geometry


def learn_linear_map(form: str, penalty: float, parts: tuple[str, ...] = ("appearance", "contrast")):
    """Return a :class:`Variant` learner of a linear map of the appearance and contrast parts.

    ``form`` is ``diagonal`` (one factor per channel) or ``full`` (a C x C matrix).
    ``penalty`` weighs the squared distance of the map from the identity, per entry.
    Each part's map is trained in the space the classifier uses for it: the
    appearance part with the shape values, the contrast part with the shape and layout
    values, both normalized with the support set's statistics.
    """

    def learn(rows: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        parameters, channels, geometry = fit_support(rows, labels)
        target = torch.as_tensor(labels)
        classes = torch.as_tensor(np.unique(labels))
        maps = {}
        for part in parts:
            start, centre = (
                (0, parameters.appearance_centre) if part == "appearance" else (channels, parameters.contrast_centre)
            )
            count = SHAPE_DIMENSIONS if part == "appearance" else geometry.shape[1]
            fixed = torch.as_tensor(
                geometry[:, :count] * geometry_factor(parameters.shape_weight, part), dtype=torch.float32
            )
            centred = torch.as_tensor(rows[:, start : start + channels] - centre, dtype=torch.float32)
            maps[part] = (start, centre, _train_map(form, penalty, centred, fixed, target, classes))

        def transform(raw: np.ndarray) -> np.ndarray:
            mapped = np.array(raw, dtype=np.float64, copy=True)
            for start, centre, matrix in maps.values():
                mapped[:, start : start + channels] = (raw[:, start : start + channels] - centre) @ matrix.T + centre
            return mapped

        return transform

    return learn


def _train_map(form, penalty, centred, fixed, target, classes) -> np.ndarray:
    """Train one part's map from the identity with Adam and return it as a C x C array."""
    channels = centred.shape[1]
    weights = torch.ones(channels) if form == "diagonal" else torch.eye(channels)
    weights.requires_grad_(True)
    identity = torch.ones(channels) if form == "diagonal" else torch.eye(channels)
    optimizer = torch.optim.Adam([weights], lr=METRIC_LEARNING_RATE)
    for _ in range(METRIC_STEPS):
        mapped = centred * weights if form == "diagonal" else centred @ weights.T
        space = torch.cat([_unit(mapped), fixed], dim=1)
        loss = _prototype_loss(space, target, classes) + penalty * ((weights - identity) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    matrix = weights.detach().numpy().astype(np.float64)
    return np.diag(matrix) if form == "diagonal" else matrix


def identity_variant() -> Variant:
    """Return the baseline: the classifier on the raw descriptors."""
    return Variant("baseline (no learning)", lambda rows, labels: lambda raw: raw)


# form:penalty:parts of the learned maps that the metric experiment compares by default.
METRIC_VARIANTS = (
    "diagonal:0:appearance+contrast",
    "full:0.01:appearance+contrast",
    "diagonal:0:contrast",
    "full:0.001:contrast",
    "full:0.01:contrast",
    "full:0.1:contrast",
)


def parse_variant(text: str) -> Variant:
    """Return the learned-map :class:`Variant` of a ``form:penalty:parts`` string such as ``full:0.01:contrast``."""
    try:
        form, penalty, parts = text.split(":")
        value = float(penalty)
    except ValueError:
        raise SystemExit(
            f"invalid variant {text!r}; expected FORM:PENALTY:PARTS, for example full:0.01:appearance+contrast"
        ) from None
    names = tuple(parts.split("+"))
    if form not in ("diagonal", "full") or not names or any(name not in ("appearance", "contrast") for name in names):
        raise SystemExit(
            f"invalid variant {text!r}; FORM is diagonal or full, PARTS is appearance, contrast or both joined by +"
        )
    return Variant(
        f"{form} map of {' and '.join(names)}, identity penalty {value:g}", learn_linear_map(form, value, names)
    )


def metric_experiment(
    described, draws: int, shots_list: tuple[int, ...], variants: list[Variant], draw_set: int = 0
) -> list[str]:
    """Run the baseline and every learned linear map in ``variants`` and return the Markdown lines.

    After the results table comes, for the largest shot count, each held-out type's
    share reported unknown at the margin of the variant's "unknown at a 5-point cost".
    """
    rows = _results_header()
    per_type = []
    for variant in [identity_variant(), *variants]:
        for shots in shots_list:
            started = time.perf_counter()
            closed = run_metric_draws(described, variant, shots, draws, None, draw_set)
            opened = {
                held_out: run_metric_draws(described, variant, shots, draws, held_out, draw_set)
                for held_out in range(len(described.type_names))
            }
            result = summarize(closed, opened, len(described.type_names))
            rows.append(_results_row(variant.name, shots, result))
            logger.info("%s, k = %d: %.0f s", variant.name, shots, time.perf_counter() - started)
            print(rows[-1], flush=True)
        if result["bounded"] is not None:
            per_type.append(_held_out_row(variant.name, opened, result["bounded"][0]))
    names = " | ".join(described.type_names)
    return [
        *rows,
        "",
        f"Share of each held-out type reported unknown, k = {max(shots_list)}, at the margin of the 5-point cost:",
        "",
        f"| variant | margin | {names} |",
        "|" + " --- |" * (len(described.type_names) + 2),
        *per_type,
    ]


def _held_out_row(name: str, opened: dict[int, list[DrawOutcome]], margin: float) -> str:
    shares = [
        np.mean([np.mean(outcome.ratio[outcome.truth == held_out] > margin) for outcome in outcomes])
        for held_out, outcomes in sorted(opened.items())
    ]
    return f"| {name} | {margin:.2f} | " + " | ".join(f"{share:.3f}" for share in shares) + " |"


def _results_header() -> list[str]:
    return [
        "| variant | k | balanced acc. (closed) | unknown at margin 1.0 | known-type loss (points) | known acc. (open set) "
        "| unknown at a 5-point cost | its margin; known acc. (open set) | fit s per draw: wall (CPU) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]


def _results_row(name: str, shots: int, result: dict) -> str:
    bounded = (
        "| - | - "
        if result["bounded"] is None
        else f"| {result['bounded'][1]:.3f} | {result['bounded'][0]:.2f}; {result['bounded'][2]:.3f} "
    )
    return (
        f"| {name} | {shots} | {result['closed']:.3f} ± {result['closed_std']:.3f} | {result['unknown']:.3f} | "
        f"{result['loss']:.1f} | {result['open_known']:.3f} {bounded}| {result['fit_wall_s']:.2f} ({result['fit_cpu_s']:.2f}) |"
    )


# ----------------------------------------------------------------------------- backbone


@dataclass
class BlockInputs:
    """Frozen features and tuned-block inputs per defect image, for the model input and its horizontal flip.

    ``fine`` holds the 3x3-averaged outputs of the finer descriptor blocks (frozen),
    ``before`` the input of the tuned block, ``regions`` the mask at the model input
    size (N x 1 x H x W). Index 0 of each list is the image as it is, index 1 its flip.
    """

    labels: np.ndarray
    type_names: list[str]
    fine: list[torch.Tensor]
    before: list[torch.Tensor]
    regions: list[torch.Tensor]


@torch.no_grad()
def compute_block_inputs(trained, data: Path) -> BlockInputs:
    """Run the frozen backbone up to the tuned block on every defect image of ``data`` and its flip."""
    from engine.compile.defect_types import model_geometry
    from labeling.imageio import read_image, read_mask
    from labeling.model_input import model_inputs
    from labeling.model_regions import region_in_input

    network = trained.torch_model()
    extractor = network.extractor
    geometry = model_geometry(trained, network)
    if tuple(extractor.feature_blocks[:2]) != DESCRIPTOR_BLOCKS or geometry.descriptor_channels != _descriptor_width(
        extractor
    ):
        raise SystemExit(
            f"the model's descriptor blocks are not {DESCRIPTOR_BLOCKS}; "
            "train an EfficientNet-Lite1 model with the default blocks (5, 14, 19) for this experiment"
        )
    type_names = sorted(p.name for p in (data / "test").iterdir() if p.is_dir() and p.name != "good")
    labels, views = [], {"fine": ([], []), "before": ([], []), "regions": ([], [])}
    for index, name in enumerate(type_names):
        for path in sorted((data / "test" / name).glob("*.png")):
            image = read_image(path)
            mask = read_mask(data / "ground_truth" / name / f"{path.stem}_mask.png", (image.height, image.width))
            inputs, plan = model_inputs(image, geometry.input_size, geometry.bit_depth, geometry.resize)
            row, region = region_in_input(mask.astype(np.float32), plan, geometry.input_size)
            batch = torch.from_numpy(np.ascontiguousarray(inputs[row : row + 1], dtype=np.float32))
            batch = torch.cat([batch, batch.flip(-1)])
            fine, before = _frozen_part(extractor, batch)
            region_tensor = torch.from_numpy(np.ascontiguousarray(region))[None, None]
            for flip in (0, 1):
                views["fine"][flip].append(fine[flip : flip + 1])
                views["before"][flip].append(before[flip : flip + 1])
                views["regions"][flip].append(region_tensor.flip(-1) if flip else region_tensor)
            labels.append(index)
    stacked = {key: [torch.cat(parts) for parts in value] for key, value in views.items()}
    return BlockInputs(np.array(labels), type_names, stacked["fine"], stacked["before"], stacked["regions"])


def _descriptor_width(extractor) -> int:
    return sum(extractor.blocks[index]._block_args.output_filters for index in DESCRIPTOR_BLOCKS)


def _frozen_part(extractor, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (3x3-averaged block-5 output, input of the tuned block) of a 0..255 RGB batch."""
    from anomaly.backbone import INPUT_MEAN, INPUT_SCALE

    if extractor.intensity is not None:
        batch = extractor.intensity(batch)
    x = extractor.stem((batch - INPUT_MEAN) / INPUT_SCALE)
    fine = None
    for index, block in enumerate(extractor.blocks[:TUNED_BLOCK]):
        x = block(x)
        if index == DESCRIPTOR_BLOCKS[0]:
            fine = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    return fine, x


def describe_with_block(block, inputs: BlockInputs, flip: int, rows: np.ndarray | slice = slice(None)) -> torch.Tensor:
    """Return raw region descriptors of the chosen images, with ``block`` as the tuned block.

    The features are built as :class:`anomaly.backbone.FeatureExtractor` builds them:
    3x3 average, bilinear upsampling to the stride-8 grid, blocks side by side.
    """
    fine = inputs.fine[flip][rows]
    stage = F.avg_pool2d(block(inputs.before[flip][rows]), kernel_size=3, stride=1, padding=1, count_include_pad=False)
    upsampled = F.interpolate(stage, size=fine.shape[-2:], mode="bilinear", align_corners=False)
    features = torch.cat([fine, upsampled], dim=1)
    return RegionDescriptor(features.shape[1])(features, inputs.regions[flip][rows])


def tune_block(original, inputs: BlockInputs, chosen: np.ndarray, steps: int, learning_rate: float):
    """Return a copy of ``original`` fine-tuned on the support images ``chosen`` and their flips.

    The loss is the prototypical loss of :func:`_prototype_loss` in the appearance
    space and in the contrast space, each normalized with the support set's statistics
    as :meth:`DefectTypeClassifier.fit` does. A flipped copy of each support image is
    an extra example of its type, so a type with one image still has a held-out row.
    Batch-norm layers keep their running statistics.
    """
    block = copy.deepcopy(original)
    block.eval()
    for parameter in block.parameters():
        parameter.requires_grad_(True)
    labels = torch.as_tensor(np.concatenate([inputs.labels[chosen]] * 2))
    classes = torch.as_tensor(np.unique(inputs.labels[chosen]))
    with torch.no_grad():
        raw = describe_with_block(block, inputs, 0, chosen).double().numpy()
    fixed = _fixed_geometry(raw, inputs.labels[chosen])
    optimizer = torch.optim.Adam(block.parameters(), lr=learning_rate)
    for _ in range(steps):
        raw = torch.cat([describe_with_block(block, inputs, flip, chosen) for flip in (0, 1)])
        loss = _two_space_loss(raw, labels, classes, fixed)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for parameter in block.parameters():
        parameter.requires_grad_(False)
    return block


def _fixed_geometry(raw: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    """Return the weighted shape values per space of support rows and their flips.

    A horizontal flip leaves every shape and layout value unchanged, so the flipped rows repeat them.
    """
    parameters, channels, geometry = fit_support(raw, labels)
    geometry = np.concatenate([geometry, geometry])
    appearance = geometry[:, :SHAPE_DIMENSIONS] * geometry_factor(parameters.shape_weight, "appearance")
    contrast = geometry * geometry_factor(parameters.shape_weight, "contrast")
    return {
        "appearance": torch.as_tensor(appearance, dtype=torch.float32),
        "contrast": torch.as_tensor(contrast, dtype=torch.float32),
    }


def _two_space_loss(
    raw: torch.Tensor, labels: torch.Tensor, classes: torch.Tensor, fixed: dict[str, torch.Tensor]
) -> torch.Tensor:
    channels = (raw.shape[1] - fixed["contrast"].shape[1]) // 2
    total = raw.new_zeros(())
    for part, start in (("appearance", 0), ("contrast", channels)):
        values = raw[:, start : start + channels]
        centre = torch.stack([values[labels == c].mean(dim=0) for c in classes]).mean(dim=0)
        space = torch.cat([_unit(values - centre), fixed[part]], dim=1)
        total = total + _prototype_loss(space, labels, classes)
    return total


def run_backbone_draws(
    inputs: BlockInputs, original, shots: int, draws: int, held_out: int | None, steps: int, learning_rate: float
) -> list[DrawOutcome]:
    """Run ``draws`` support draws. With ``steps`` > 0, tune the block per draw and describe every image again."""
    logging.disable(logging.WARNING)
    rng = np.random.default_rng(shots)
    labels = inputs.labels
    known = [c for c in range(len(inputs.type_names)) if c != held_out]
    outcomes = []
    for _ in range(draws):
        chosen, queries = _support_split(labels, known, shots, rng)
        wall, cpu = time.perf_counter(), time.process_time()
        block = tune_block(original, inputs, chosen, steps, learning_rate) if steps else original
        with torch.no_grad():
            raw = describe_with_block(block, inputs, 0).double().numpy()
        nearest, ratio = classify(raw[chosen], labels[chosen], raw[queries], inputs.type_names)
        outcomes.append(
            DrawOutcome(labels[queries], nearest, ratio, time.perf_counter() - wall, time.process_time() - cpu)
        )
    logging.disable(logging.NOTSET)
    return outcomes


def parse_tuning(text: str) -> tuple[int, float]:
    """Return (Adam steps, learning rate) of a ``steps:learning_rate`` string such as ``20:3e-4``."""
    try:
        steps, learning_rate = text.split(":")
        return int(steps), float(learning_rate)
    except ValueError:
        raise SystemExit(f"invalid tuning {text!r}; expected STEPS:LEARNING_RATE, for example 20:3e-4") from None


def backbone_experiment(
    inputs: BlockInputs,
    original,
    draws: int,
    shots_list: tuple[int, ...],
    tunings: list[tuple[int, float]],
) -> list[str]:
    """Run the frozen block and each (steps, learning rate) tuning, and return the Markdown table rows."""
    rows = _results_header()
    for steps, learning_rate in [(0, 0.0), *tunings]:
        name = (
            f"block {TUNED_BLOCK} tuned, {steps} Adam steps, lr {learning_rate:g}"
            if steps
            else "baseline (frozen block)"
        )
        for shots in shots_list:
            started = time.perf_counter()
            closed = run_backbone_draws(inputs, original, shots, draws, None, steps, learning_rate)
            opened = {
                held_out: run_backbone_draws(inputs, original, shots, draws, held_out, steps, learning_rate)
                for held_out in range(len(inputs.type_names))
            }
            rows.append(_results_row(name, shots, summarize(closed, opened, len(inputs.type_names))))
            logger.info("%s, k = %d: %.0f s", name, shots, time.perf_counter() - started)
            print(rows[-1], flush=True)
    return rows


def main() -> int:
    """Parse the command line, run one experiment and append its Markdown table to ``--out``."""
    args = _parser().parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    lines = _run_metric(args) if args.experiment == "metric" else _run_backbone(args)
    lines.append("")
    lines.append(
        f"Run: {time.perf_counter() - started_wall:.0f} s wall, {time.process_time() - started_cpu:.0f} s CPU, "
        f"load average {os.getloadavg()[0]:.1f} at the end."
    )

    print("\n".join(lines))
    with open(args.out, "a", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=("metric", "backbone"))
    parser.add_argument("--data", default=str(ROOT / ".." / "shared" / "data" / "magnetic_tile"))
    parser.add_argument(
        "--model", required=True, help="model directory from 'inspect train' on the dataset's train/good"
    )
    parser.add_argument("--cache", type=Path, help="descriptor cache of bench/fewshot.py for this model (metric)")
    parser.add_argument("--features", type=Path, help="file that stores the block-14 inputs for reuse (backbone)")
    parser.add_argument("--draws", type=int, help="support draws per setting (default: 10 metric, 5 backbone)")
    parser.add_argument(
        "--shots", type=int, nargs="+", help="support images per type (default: 1 3 5 metric, 1 5 backbone)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument(
        "--out", type=Path, default=Path("fewshot-finetune.md"), help="Markdown file the table is appended to"
    )

    parser.add_argument(
        "--variant",
        action="append",
        help="learned map FORM:PENALTY:PARTS to compare, repeatable (metric; default: "
        + ", ".join(METRIC_VARIANTS)
        + "); FORM is diagonal or full, PARTS appearance, contrast or appearance+contrast",
    )
    parser.add_argument(
        "--draw-set",
        type=int,
        default=0,
        help="0 for the draws of bench/fewshot.py, another number for a fresh set of draws (metric; default: 0)",
    )

    parser.add_argument(
        "--tune",
        action="append",
        help="block tuning STEPS:LEARNING_RATE to compare, repeatable (backbone; default: "
        + ", ".join(BACKBONE_TUNINGS)
        + "); Adam steps per draw and Adam learning rate",
    )
    return parser


def _run_metric(args) -> list[str]:
    if args.cache is None or not args.cache.is_file():
        raise SystemExit(
            f"--cache {args.cache}: not found; write it first with bench/fewshot.py --model MODEL --cache FILE"
        )
    described = benchmark.load_or_describe(args.cache, _cache_key(args), _no_describe(args.cache))
    draws = args.draws or 10
    shots = tuple(args.shots or (1, 3, 5))
    title = f"### Learned linear map per draw, mask regions, {draws} draws, {METRIC_STEPS} Adam steps"
    if args.draw_set:
        title += f", draw set {args.draw_set}"
    variants = [parse_variant(text) for text in (args.variant or METRIC_VARIANTS)]
    return [title, "", *metric_experiment(described, draws, shots, variants, args.draw_set)]


def _cache_key(args) -> dict:
    """Return the cache key of ``bench/fewshot.py`` for this model and data folder, default channels, no augmentation."""
    from engine.bundle import load_manifest

    trained_channels = _descriptor_channels(args.model)
    return {
        "data": str(Path(args.data).resolve()),
        "augmentations": 0,
        "channels": str(trained_channels),
        "bundle_id": load_manifest(args.model, verify=False)[1].bundle_id,
    }


def _descriptor_channels(model: str) -> int:
    from engine.compile.defect_types import model_geometry
    from engine.compile.export import load_trained_model

    return model_geometry(load_trained_model(model)).descriptor_channels


def _no_describe(cache: Path):
    def fail():
        raise SystemExit(
            f"{cache} was written for another model or data folder; write it again with bench/fewshot.py --cache"
        )

    return fail


def _run_backbone(args) -> list[str]:
    from engine.compile.export import load_trained_model

    trained = load_trained_model(args.model)
    if args.features is not None and args.features.is_file():
        inputs = BlockInputs(**torch.load(args.features, weights_only=False))
    else:
        inputs = compute_block_inputs(trained, Path(args.data))
        if args.features is not None:
            torch.save(inputs.__dict__, args.features)
    original = trained.torch_model().extractor.blocks[TUNED_BLOCK]
    draws = args.draws or 5
    shots = tuple(args.shots or (1, 5))
    tunings = [parse_tuning(text) for text in (args.tune or BACKBONE_TUNINGS)]
    title = f"### Block {TUNED_BLOCK} fine-tuned per draw, mask regions, {draws} draws"
    return [title, "", *backbone_experiment(inputs, original, draws, shots, tunings)]


if __name__ == "__main__":
    sys.exit(main())
