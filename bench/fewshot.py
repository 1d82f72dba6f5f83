"""Benchmark few-shot defect typing on magnetic_tile: closed-set and open-set accuracy over random support draws.

Usage::

    python bench/fewshot.py [--data ../shared/data/magnetic_tile] [--model MODEL_DIR] [--draws 10]
        [--augmentations 0] [--all-channels] [--cache FILE.npz] [--out docs/benchmarks-fewshot.md]

Without ``--model`` a PatchCore model is trained on ``train/good`` first (minutes on
a 2-core CPU). Every defect image is described once per region source. Each draw
then picks k support images per type and classifies all other images of every type.

With ``--cache``, the descriptors are stored in that file and reused by later runs on
the same model bundle, data folder, augmentation count and channel choice.

Region sources: ``mask`` (support and query regions are the labelled masks),
``map+mask`` (support regions are the anomaly map's view of each labelled mask,
queries use the map's peak region, as a bundle does), ``map`` (no masks anywhere).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anomaly import TrainConfig, load_training_images, train_patchcore  # noqa: E402
from engine.bundle import load_manifest  # noqa: E402
from engine.compile import write_model_bundle  # noqa: E402
from engine.compile.defect_types import model_extractor, model_geometry  # noqa: E402
from engine.compile.export import load_trained_model  # noqa: E402
from fewshot.augment import augmented_copies  # noqa: E402
from fewshot.classifier import DefectTypeClassifier, distances_to_prototypes, distances_to_support, predict  # noqa: E402
from fewshot.descriptor import describe_regions  # noqa: E402
from fewshot.regions import region_from_map  # noqa: E402
from labeling.imageio import LoadedImage, read_image, read_mask  # noqa: E402
from labeling.model_input import combine_outputs, model_inputs  # noqa: E402
from labeling.model_regions import region_in_input  # noqa: E402

SOURCES = ("mask", "map+mask", "map")
SHOTS = (1, 3, 5)
MARGINS = (0.8, 0.9, 0.95, 1.0, 1.1, 1.2)
# unknown_margin grid for the share reported unknown at a bounded known-type loss.
MARGIN_GRID = tuple(round(0.5 + 0.02 * step, 2) for step in range(56))
MAX_KNOWN_LOSS_POINTS = 5.0


@dataclass
class Described:
    """Descriptors of every defect image: per region source, support and query rows (N x D)."""

    labels: np.ndarray
    type_names: list[str]
    support: dict[str, np.ndarray]
    query: dict[str, np.ndarray]
    backbone: str = ""


def describe_dataset(data: Path, trained, augmentations: int, geometry) -> Described:
    """Extract features once per image and describe its regions for every source."""
    extract = model_extractor(trained)
    type_names = sorted(p.name for p in (data / "test").iterdir() if p.is_dir() and p.name != "good")
    labels, support, query = [], {s: [] for s in SOURCES}, {s: [] for s in SOURCES}
    for index, name in enumerate(type_names):
        for path in sorted((data / "test" / name).glob("*.png")):
            image = read_image(path)
            mask = read_mask(data / "ground_truth" / name / f"{path.stem}_mask.png", (image.height, image.width))
            views = [_views(image, mask, extract, geometry)]
            for pixels, copy_mask in augmented_copies(image.pixels, mask.astype(np.uint8), augmentations, len(labels)):
                views.append(_views(LoadedImage(pixels=pixels, source=str(path), source_mode="L"), copy_mask > 0, extract, geometry))
            for source in SOURCES:
                support[source].append(np.mean([view[source][0] for view in views], axis=0))
                query[source].append(views[0][source][1])
            labels.append(index)
    return Described(
        np.array(labels),
        type_names,
        {s: np.stack(v) for s, v in support.items()},
        {s: np.stack(v) for s, v in query.items()},
        trained.config.backbone,
    )


def _views(image: LoadedImage, mask: np.ndarray, extract, geometry) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    inputs, plan = model_inputs(image, geometry.input_size, geometry.bit_depth, geometry.resize)
    features, maps = extract(inputs)
    image_map, _ = combine_outputs(maps, maps.max(axis=(1, 2)), plan, image.height, image.width)
    regions = {
        "mask": mask.astype(np.float32),
        "focused": region_from_map(image_map, geometry.threshold, geometry.normal_level, focus=mask),
        "peak": region_from_map(image_map, geometry.threshold, geometry.normal_level),
    }
    described = {}
    for name, region in regions.items():
        row, model_region = region_in_input(region, plan, geometry.input_size)
        described[name] = describe_regions(features[row : row + 1], model_region[None], geometry.descriptor_channels)[0]
    return {
        "mask": (described["mask"], described["mask"]),
        "map+mask": (described["focused"], described["peak"]),
        "map": (described["peak"], described["peak"]),
    }


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, classes: list[int]) -> float:
    """Mean per-class recall over ``classes``."""
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in classes if np.any(truth == c)]))


def run_draws(
    described: Described, source: str, shots: int, draws: int, held_out: int | None, seed: int, margin: float = 1.0
) -> dict:
    """Average closed-set (and, with ``held_out``, open-set) results over random support draws."""
    logging.disable(logging.WARNING)
    rng = np.random.default_rng(seed)
    labels = described.labels
    known = [c for c in range(len(described.type_names)) if c != held_out]
    closed, open_known, rejected, fit_ms, taken_for = [], [], [], [], []
    for _ in range(draws):
        chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in known])
        queries = np.setdiff1d(np.arange(labels.size), chosen)
        classifier = DefectTypeClassifier(unknown_margin=margin)
        started = time.perf_counter()
        for c in known:
            classifier.add_examples(described.type_names[c], described.support[source][chosen[labels[chosen] == c]])
        parameters = classifier.fit()
        fit_ms.append(1000.0 * (time.perf_counter() - started))
        distances = distances_to_prototypes(parameters, described.query[source][queries])
        support = distances_to_support(parameters, described.query[source][queries])
        index_of = {name: described.type_names.index(name) for name in parameters.type_names}
        nearest = np.array([index_of[parameters.type_names[i]] for i in distances.argmin(axis=1)])
        decided = np.array([index_of.get(p.defect_type, -1) for p in predict(parameters, distances, support)])
        truth = labels[queries]
        closed.append(balanced_accuracy(truth, nearest, known))
        if held_out is not None:
            open_known.append(balanced_accuracy(truth, decided, known))
            rejected.append(float(np.mean(decided[truth == held_out] == -1)))
            taken_for.extend(int(value) for value in decided[truth == held_out] if value >= 0)
    logging.disable(logging.NOTSET)
    result = {"closed": float(np.mean(closed)), "closed_std": float(np.std(closed)), "fit_ms": float(np.median(fit_ms))}
    if held_out is not None:
        result.update(open_known=float(np.mean(open_known)), unknown_rate=float(np.mean(rejected)), taken_for=taken_for)
    return result


def load_or_describe(cache: Path | None, key: dict, describe) -> Described:
    """Load the descriptors from ``cache`` when its key matches ``key``.

    Otherwise call ``describe()`` and, with a ``cache`` path, store its result there.
    """
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if json.loads(str(stored["key"])) == key:
                sources = [str(name) for name in stored["sources"]]
                return Described(
                    stored["labels"],
                    [str(name) for name in stored["type_names"]],
                    {source: stored[f"support_{index}"] for index, source in enumerate(sources)},
                    {source: stored[f"query_{index}"] for index, source in enumerate(sources)},
                    str(stored["backbone"]),
                )
        print(
            f"{cache} was made for another model, data folder, augmentation count or channel choice, so the images are described again",
            file=sys.stderr,
        )
    described = describe()
    if cache is not None:
        arrays = {f"support_{index}": described.support[source] for index, source in enumerate(SOURCES)}
        arrays.update({f"query_{index}": described.query[source] for index, source in enumerate(SOURCES)})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache,
            key=np.array(json.dumps(key)),
            labels=described.labels,
            type_names=np.array(described.type_names),
            sources=np.array(SOURCES),
            backbone=np.array(described.backbone),
            **arrays,
        )
    return described


def load_or_train(data: Path, model: str | None):
    """Return the trained anomaly model from ``model``, or train one on ``data/train/good``."""
    if model:
        return load_trained_model(model)
    images, _ = load_training_images([data / "train" / "good"])
    trained = train_patchcore(images, TrainConfig())
    write_model_bundle(trained, Path(tempfile.mkdtemp(prefix="fewshot-bench-")) / "model")
    return trained


def main() -> int:
    """Run the benchmark and write the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / ".." / "shared" / "data" / "magnetic_tile"))
    parser.add_argument("--model", help="model directory from 'inspect train' on the dataset's train/good")
    parser.add_argument("--draws", type=int, default=10, help="random support draws per setting (default: 10)")
    parser.add_argument("--augmentations", type=int, default=0, help="augmented copies per support image (default: 0)")
    parser.add_argument(
        "--all-channels",
        action="store_true",
        help="describe regions with every feature channel, stride-32 blocks included (default: the finer blocks only)",
    )
    parser.add_argument("--cache", type=Path, help="npz file that stores the descriptors for reuse with --model")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-fewshot.md"))
    args = parser.parse_args()
    data = Path(args.data)
    started = time.perf_counter()
    trained = load_or_train(data, args.model)
    cache = args.cache if args.model else None
    if args.cache and not args.model:
        print(
            "--cache is ignored without --model, because a model trained by this run has no fixed bundle id",
            file=sys.stderr,
        )
    geometry = model_geometry(trained)
    if args.all_channels:
        geometry = replace(geometry, descriptor_channels=None)
    key = {"data": str(data.resolve()), "augmentations": args.augmentations, "channels": str(geometry.descriptor_channels)}
    if args.model:
        key["bundle_id"] = load_manifest(args.model, verify=False)[1].bundle_id
    described = load_or_describe(cache, key, lambda: describe_dataset(data, trained, args.augmentations, geometry))
    lines = _table(described, args.draws, args.augmentations)
    print("\n".join(lines))
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with open(args.out, "a", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n\n")
    return 0


def _table(described: Described, draws: int, augmentations: int) -> list[str]:
    lines = [
        f"### magnetic_tile, {described.backbone}, {len(described.labels)} defect images, {draws} draws, "
        f"augmentations {augmentations}",
        "",
        "| regions | k | balanced acc. (closed) | open set: held-out reported unknown | open set: known balanced acc. | fit ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for source in SOURCES:
        for shots in SHOTS:
            closed = run_draws(described, source, shots, draws, None, seed=shots)
            opened = [run_draws(described, source, shots, draws, held, seed=shots) for held in range(len(described.type_names))]
            unknown = np.mean([item["unknown_rate"] for item in opened])
            known_open = np.mean([item["open_known"] for item in opened])
            known_closed = np.mean([item["closed"] for item in opened])
            lines.append(
                f"| {source} | {shots} | {closed['closed']:.3f} ± {closed['closed_std']:.3f} | {unknown:.3f} | "
                f"{known_open:.3f} (closed {known_closed:.3f}) | {closed['fit_ms']:.1f} |"
            )
    lines += ["", _margin_table(described, draws), "", _bounded_loss_table(described, draws)]
    lines += ["", _held_out_table(described, draws)]
    return lines


def _table_start(title: str, columns: tuple[str, ...]) -> list[str]:
    """Return the title, a blank line and the header rows of a Markdown table."""
    return [title, "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]


def _margin_table(described: Described, draws: int) -> str:
    """Return the open-set trade-off of ``unknown_margin`` for mask regions at 5 shots as Markdown."""
    rows = _table_start(
        "Open-set trade-off, mask regions, k = 5 (unknown_margin scales the calibrated per-type radii):",
        ("unknown_margin", "held-out reported unknown", "known balanced acc. (closed)"),
    )
    for margin in MARGINS:
        opened = [run_draws(described, "mask", 5, draws, held, seed=5, margin=margin) for held in range(len(described.type_names))]
        unknown = np.mean([item["unknown_rate"] for item in opened])
        known = np.mean([item["open_known"] for item in opened])
        closed = np.mean([item["closed"] for item in opened])
        rows.append(f"| {margin:.2f} | {unknown:.3f} | {known:.3f} ({closed:.3f}) |")
    return "\n".join(rows)


def _bounded_loss_table(described: Described, draws: int) -> str:
    """Find, per shot count, the largest share reported unknown with one margin for all draws and held-out types.

    The margin is taken from :data:`MARGIN_GRID`. Among the margins at which the known
    types lose at most :data:`MAX_KNOWN_LOSS_POINTS` points of balanced accuracy on
    average, the one that reports the most held-out regions unknown is chosen. Unlike a
    threshold chosen per draw, a user can set this margin.
    """
    rows = _table_start(
        f"Open set at a known-type loss of at most {MAX_KNOWN_LOSS_POINTS:.0f} points, mask regions "
        "(one unknown_margin for all draws and held-out types):",
        ("k", "unknown_margin", "held-out reported unknown", "known-type loss (points)"),
    )
    for shots in SHOTS:
        best = None
        for margin in MARGIN_GRID:
            opened = [
                run_draws(described, "mask", shots, draws, held, seed=shots, margin=margin)
                for held in range(len(described.type_names))
            ]
            unknown = float(np.mean([item["unknown_rate"] for item in opened]))
            loss = 100.0 * float(np.mean([item["closed"] - item["open_known"] for item in opened]))
            if loss <= MAX_KNOWN_LOSS_POINTS and (best is None or unknown > best[1]):
                best = (margin, unknown, loss)
        if best is None:
            rows.append(f"| {shots} | - | - | over {MAX_KNOWN_LOSS_POINTS:.0f} at every margin |")
        else:
            rows.append(f"| {shots} | {best[0]:.2f} | {best[1]:.3f} | {best[2]:.1f} |")
    return "\n".join(rows)


def _held_out_table(described: Described, draws: int) -> str:
    """Return, per held-out type, its share reported unknown and the known types it is taken for (mask regions, k = 5)."""
    rows = _table_start(
        "Per held-out type, mask regions, k = 5, unknown_margin 1.0:",
        ("held-out type", "reported unknown", "otherwise taken for"),
    )
    for held, name in enumerate(described.type_names):
        result = run_draws(described, "mask", 5, draws, held, seed=5)
        counts = np.bincount(np.array(result["taken_for"], dtype=int), minlength=len(described.type_names))
        taken = [f"{described.type_names[index]} {counts[index]}" for index in np.argsort(-counts) if counts[index]]
        rows.append(f"| {name} | {result['unknown_rate']:.3f} | {', '.join(taken) or '-'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
