"""Measure detection quality of ``inspect train`` defaults on MVTec-layout sets: full and k-shot.

For every set it trains on all good training images, then on k randomly drawn
ones (several draws per k), and scores the test images with the torch predictor.
It reports image AUROC and pixel AUROC (sets with masks). It also reports the
false-reject rate at the threshold chosen from good images only and at the
threshold that catches every defect, training seconds and ms per test image.

Run from the repository root (one set took 20 to 40 minutes on a 2-core machine
shared with other jobs)::

    python bench/accuracy.py --out docs/benchmarks-accuracy.md --json bench/accuracy.json

Sets can run in separate processes and be merged into one table::

    python bench/accuracy.py --sets elpv --json elpv.json
    python bench/accuracy.py --merge magnetic_tile.json kolektorsdd.json elpv.json --out docs/benchmarks-accuracy.md

``--option key=value`` overrides a :class:`anomaly.TrainConfig` field for an
experiment, for example ``--option backbone=efficientnet-lite1``. This is a
script, not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from anomaly import TrainConfig, TrainedModel, load_training_images, train_patchcore  # noqa: E402
from anomaly.picker import pick_diverse  # noqa: E402
from app.cli.eval_command import TestSample, discover_test_set  # noqa: E402
from engine.compile.predictor import TorchPredictor  # noqa: E402
from engine.metrics import rates_at, roc_auc  # noqa: E402
from labeling.imageio import LoadedImage, read_image, read_mask  # noqa: E402

logger = logging.getLogger("bench.accuracy")

DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data"
DEFAULT_SETS = ("magnetic_tile", "kolektorsdd", "elpv")
PIXEL_SETS = ("magnetic_tile", "kolektorsdd")
DEFAULT_SHOTS = (4, 1)
DEFAULT_DRAWS = 3
EVAL_BATCH = 8


@dataclass
class RunResult:
    """Metrics of one training run on one set."""

    dataset: str
    regime: str
    draw: int
    train_images: int
    image_auroc: float
    pixel_auroc: float | None
    frr_good_threshold: float
    miss_good_threshold: float
    frr_catch_all: float
    train_seconds: float
    ms_per_image: float
    input_size: tuple[int, int]


@dataclass
class TestSet:
    """Loaded test images with labels and (for sets with masks) ground-truth masks."""

    images: list[LoadedImage]
    labels: np.ndarray
    masks: list[np.ndarray | None]


def load_test_set(root: Path, with_masks: bool) -> TestSet:
    """Read every test image of an MVTec-layout set, with masks where the set has them."""
    samples: list[TestSample] = discover_test_set(root)
    images, masks = [], []
    for sample in samples:
        image = read_image(sample.path)
        images.append(image)
        if not with_masks:
            masks.append(None)
        elif sample.label == 0:
            masks.append(np.zeros((image.height, image.width), dtype=bool))
        else:
            masks.append(read_mask(sample.mask_path, (image.height, image.width)) if sample.mask_path else None)
    return TestSet(images, np.array([sample.label for sample in samples]), masks)


def score_test_set(trained: TrainedModel, test: TestSet) -> tuple[np.ndarray, list[np.ndarray], float]:
    """Return (image scores, anomaly maps at image size, ms per image) from the torch predictor."""
    predictor = TorchPredictor(trained)
    started = time.perf_counter()
    verdicts = predictor.predict(test.images, batch_size=EVAL_BATCH)
    elapsed = time.perf_counter() - started
    scores = np.asarray([verdict.score for verdict in verdicts])
    return scores, [verdict.anomaly_map for verdict in verdicts], 1000.0 * elapsed / len(test.images)


def evaluate_run(dataset: str, regime: str, draw: int, train: list[LoadedImage], test: TestSet, config: TrainConfig) -> RunResult:
    """Train on ``train``, score ``test`` and compute the metrics."""
    trained = train_patchcore(train, config)
    scores, maps, ms_per_image = score_test_set(trained, test)
    pixel_auroc = None
    if any(mask is not None and mask.any() for mask in test.masks):
        pairs = [(mask, values) for mask, values in zip(test.masks, maps) if mask is not None]
        pixel_auroc = roc_auc(
            np.concatenate([mask.ravel() for mask, _ in pairs]), np.concatenate([values.ravel() for _, values in pairs])
        )
    at_good = rates_at(test.labels, scores, trained.threshold.value)
    lowest_defect = float(scores[test.labels == 1].min())
    at_catch_all = rates_at(test.labels, scores, np.nextafter(lowest_defect, -np.inf))
    return RunResult(
        dataset=dataset,
        regime=regime,
        draw=draw,
        train_images=len(train),
        image_auroc=roc_auc(test.labels, scores),
        pixel_auroc=pixel_auroc,
        frr_good_threshold=at_good.overkill_rate,
        miss_good_threshold=at_good.escape_rate,
        frr_catch_all=at_catch_all.overkill_rate,
        train_seconds=trained.train_seconds,
        ms_per_image=ms_per_image,
        input_size=trained.input_size,
    )


def draw_shots(train: list[LoadedImage], shots: int, draw: int, picker: str) -> list[LoadedImage]:
    """Return ``shots`` training images: a seeded random draw, or the diversity picker's choice."""
    shuffled = random.Random(1000 * shots + draw).sample(train, len(train))
    if picker == "random":
        return shuffled[:shots]
    candidates = shuffled[: min(len(train), 4 * shots + 8)]
    return [candidates[index] for index in pick_diverse(candidates, shots)]


def run_set(name: str, root: Path, args: argparse.Namespace, config: TrainConfig) -> list[RunResult]:
    """Run the full and k-shot regimes on one set."""
    train, errors = load_training_images([root / "train" / "good"])
    if errors:
        logger.warning("%s: %d unreadable training images skipped", name, len(errors))
    train.sort(key=lambda image: image.source)
    test = load_test_set(root, name in PIXEL_SETS)
    results = []
    if not args.skip_full:
        timings = []
        for repeat in range(args.timing_repeats):
            result = evaluate_run(name, "full", 0, train, test, config)
            timings.append((result.train_seconds, result.ms_per_image))
        result.train_seconds = statistics.median(t for t, _ in timings)
        result.ms_per_image = statistics.median(m for _, m in timings)
        results.append(result)
        _log(result)
    for shots in args.shots:
        for draw in range(args.draws):
            result = evaluate_run(name, f"{shots}-shot", draw, draw_shots(train, shots, draw, args.picker), test, config)
            results.append(result)
            _log(result)
    return results


def _log(result: RunResult) -> None:
    pixel = f"{result.pixel_auroc:.3f}" if result.pixel_auroc is not None else "-"
    logger.info(
        "%s %s draw %d: image AUROC %.3f, pixel AUROC %s, FRR %.2f (miss %.2f), FRR catch-all %.2f, %.1f s, %.1f ms/image",
        result.dataset, result.regime, result.draw, result.image_auroc, pixel, result.frr_good_threshold,
        result.miss_good_threshold, result.frr_catch_all, result.train_seconds, result.ms_per_image,
    )


def summarize(results: list[RunResult]) -> list[dict]:
    """Average the draws of each (set, regime) pair and add the mean over sets per regime."""
    rows = []
    keys = sorted({(r.regime, r.dataset) for r in results}, key=lambda key: (_regime_order(key[0]), key[1]))
    fields = ("image_auroc", "pixel_auroc", "frr_good_threshold", "miss_good_threshold", "frr_catch_all",
              "train_seconds", "ms_per_image")
    for regime, dataset in keys:
        group = [r for r in results if r.regime == regime and r.dataset == dataset]
        row = {"regime": regime, "dataset": dataset, "draws": len(group), "train_images": group[0].train_images,
               "input_size": list(group[0].input_size)}
        for name in fields:
            values = [getattr(r, name) for r in group if getattr(r, name) is not None]
            row[name] = float(np.mean(values)) if values else None
        rows.append(row)
    for regime in sorted({r.regime for r in results}, key=_regime_order):
        group = [row for row in rows if row["regime"] == regime and row["dataset"] != "mean"]
        mean = {"regime": regime, "dataset": "mean", "draws": None, "train_images": None, "input_size": None}
        for name in fields:
            values = [row[name] for row in group if row[name] is not None]
            mean[name] = float(np.mean(values)) if values else None
        rows.append(mean)
    return rows


def _regime_order(regime: str) -> int:
    return 0 if regime == "full" else 1000 - int(regime.split("-")[0])


def markdown_table(rows: list[dict], config: TrainConfig, command: str, draws: int) -> str:
    """Render the summary rows as a Markdown page."""
    def show(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "# Detection quality benchmark",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} (CPU, torch eager, "
        f"{torch.get_num_threads()} threads). k-shot rows average {draws} seeded draws.",
        "FRR: false-reject rate on test/good; at the threshold chosen from the training good images only",
        "(with the share of defects it misses), and at the highest threshold that still catches every defect.",
        "With --timing-repeats above 1, full-regime seconds and ms per image are medians of the repeats.",
        "",
        f"Configuration: `{json.dumps(dataclasses.asdict(config))}`",
        "",
        "| regime | set | image AUROC | pixel AUROC | FRR (good-only thr.) | miss (good-only thr.) "
        "| FRR (all defects caught) | train s | ms/image | input HxW |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        size = "x".join(str(side) for side in row["input_size"]) if row["input_size"] else "-"
        name = f"**{row['dataset']}**" if row["dataset"] == "mean" else row["dataset"]
        lines.append(
            f"| {row['regime']} | {name} | {show(row['image_auroc'])} | {show(row['pixel_auroc'])} "
            f"| {show(row['frr_good_threshold'], 2)} | {show(row['miss_good_threshold'], 2)} "
            f"| {show(row['frr_catch_all'], 2)} | {show(row['train_seconds'], 1)} | {show(row['ms_per_image'], 1)} | {size} |"
        )
    return "\n".join(lines) + "\n"


def parse_options(pairs: list[str]) -> TrainConfig:
    """Build a TrainConfig from ``key=value`` overrides (values parsed as JSON when possible)."""
    overrides = {}
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in names:
            raise SystemExit(f"unknown TrainConfig field {key!r}; choose from {', '.join(sorted(names))}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides[key] = tuple(value) if isinstance(value, list) else value
    return TrainConfig(**overrides)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the sets")
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), help="set names under --data")
    parser.add_argument("--shots", nargs="*", type=int, default=list(DEFAULT_SHOTS), help="k values (default: 4 1)")
    parser.add_argument("--draws", type=int, default=DEFAULT_DRAWS, help="random draws per k (default: 3)")
    parser.add_argument("--picker", choices=["random", "diverse"], default="random",
                        help="k-shot selection: seeded random draw, or the diversity picker among a random pool")
    parser.add_argument("--skip-full", action="store_true", help="leave out the full-training regime")
    parser.add_argument("--timing-repeats", type=int, default=1, help="full runs per set; timings are their median")
    parser.add_argument("--option", action="append", default=[], help="TrainConfig override key=value")
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    parser.add_argument("--merge", nargs="+", type=Path, help="build the table from these --json files instead of running")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or merge earlier runs) and write the table."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("anomaly", "labeling", "anomaly.threshold"):
        logging.getLogger(name).setLevel(logging.ERROR)
    config = parse_options(args.option)
    results = []
    if args.merge:
        for path in args.merge:
            payload = json.loads(path.read_text(encoding="utf-8"))
            results.extend(RunResult(**{**run, "input_size": tuple(run["input_size"])}) for run in payload["runs"])
        args.sets = []
    for name in args.sets:
        root = args.data / name
        if not root.is_dir():
            raise SystemExit(f"set {name} not found at {root}; pass --data with the folder that contains it")
        results.extend(run_set(name, root, args, config))
    rows = summarize(results)
    command = "python bench/accuracy.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = markdown_table(rows, config, command.strip(), args.draws)
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    if args.json:
        payload = {"config": dataclasses.asdict(config), "runs": [dataclasses.asdict(r) for r in results], "summary": rows}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
