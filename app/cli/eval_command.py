"""``inspect eval``: measure a bundle on a labelled dataset in the MVTec AD folder layout."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from app.cli import exit_codes
from app.cli.run_command import add_batching_arguments, open_inspector
from engine.metrics import aupro, rates_at, roc_auc
from engine.runtime import Inspector
from labeling.fileio import atomic_write_text
from labeling.imageio import IMAGE_SUFFIXES, ImageReadError, read_image, read_mask

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestSample:
    """One test image of an MVTec-layout dataset: 0 for good, 1 for defective."""

    path: Path
    label: int
    defect_type: str
    mask_path: Path | None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect eval``."""
    parser = subparsers.add_parser("eval", help="measure a model on an MVTec-layout dataset", description=__doc__)
    parser.add_argument("model", help="model directory or bundle")
    parser.add_argument("dataset", help="dataset folder with test/good, test/<defect> and ground_truth/<defect>")
    parser.add_argument("--report", help="write metrics and per-image scores to this .json file")
    parser.add_argument("--engine", default="auto", choices=["auto", "openvino", "onnxruntime"], help="inference engine")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "nvidia", "amd"], help="device")
    add_batching_arguments(parser)
    parser.set_defaults(handler=run)


def discover_test_set(dataset: Path) -> list[TestSample]:
    """List the test images of an MVTec-layout dataset with their labels and mask files.

    Raises:
        FileNotFoundError: ``dataset`` is not a folder. Also raised when it has no ``test`` folder,
            with the expected layout in the message.
    """
    if not dataset.is_dir():
        raise FileNotFoundError(f"{dataset}: no such dataset folder; check the path")
    test_root = dataset / "test"
    if not test_root.is_dir():
        raise FileNotFoundError(
            f"{dataset}: no test folder; expected test/good, test/<defect> and optional ground_truth/<defect>/<name>_mask.png"
        )
    samples = []
    for folder in sorted(path for path in test_root.iterdir() if path.is_dir()):
        label = 0 if folder.name == "good" else 1
        for image in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            mask = dataset / "ground_truth" / folder.name / f"{image.stem}_mask.png"
            samples.append(TestSample(image, label, folder.name, mask if mask.is_file() else None))
    return samples


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect eval`` and return the exit status."""
    try:
        samples = discover_test_set(Path(args.dataset))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    if not samples:
        print(
            f"error: {args.dataset}: no images under test/; put good images in test/good and defect images "
            "in test/<defect>",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    if args.batch_size < 1:
        print("error: --batch-size must be at least 1", file=sys.stderr)
        return exit_codes.USAGE
    inspector = open_inspector(args.model, args.engine, args.device, None)
    if inspector is None:
        return exit_codes.USAGE
    result = evaluate(inspector, samples, args.batch_size, throughput=args.mode == "throughput")
    _print_result(result)
    if args.report:
        atomic_write_text(args.report, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"report: {args.report}", file=sys.stderr)
    return exit_codes.PARTIAL if result["unreadable"] else exit_codes.OK


def evaluate(inspector: Inspector, samples: list[TestSample], batch_size: int = 1, *, throughput: bool = True) -> dict:
    """Score every sample and return metrics plus per-image rows as a JSON-ready dict.

    At ``batch_size`` 1 the images stream through :meth:`Inspector.inspect_many`, with
    several in flight when ``throughput`` is set; larger sizes judge one batch at a time.
    Scores and verdicts are the same either way.
    """
    collected = _Collected()
    started = time.perf_counter()
    if batch_size == 1:
        by_path = {sample.path: sample for sample in samples}
        for result in inspector.inspect_many([sample.path for sample in samples], read_image, throughput=throughput):
            if result.error is not None:
                collected.unreadable.append({"path": str(result.source), "error": str(result.error)})
            else:
                collected.add(by_path[result.source], result.image, result.verdict)
    else:
        for start in range(0, len(samples), batch_size):
            chunk, images = [], []
            for sample in samples[start : start + batch_size]:
                try:
                    image = read_image(sample.path)
                    inspector.check_image(image)
                    images.append(image)
                    chunk.append(sample)
                except ImageReadError as error:
                    collected.unreadable.append({"path": str(sample.path), "error": str(error)})
            for sample, image, verdict in zip(chunk, images, inspector.inspect_images(images, batch_size)):
                collected.add(sample, image, verdict)
    elapsed = time.perf_counter() - started
    return _metrics(inspector, collected.rows, collected.unreadable, collected.masks, collected.maps, elapsed)


@dataclass
class _Collected:
    """Per-image rows, unreadable files, and the masks and maps for pixel metrics, in input order."""

    rows: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    maps: list = field(default_factory=list)

    def add(self, sample: TestSample, image, verdict) -> None:
        """Record one judged sample."""
        self.rows.append({"path": str(sample.path), "label": sample.label, "defect_type": sample.defect_type,
                          "score": verdict.score, "verdict": verdict.verdict,
                          "predicted_type": verdict.defect_type, "type_confidence": verdict.defect_confidence})
        mask = _mask_for(sample, (image.height, image.width))
        if mask is not None:
            self.masks.append(mask)
            self.maps.append(verdict.anomaly_map)


def _mask_for(sample: TestSample, shape: tuple[int, int]) -> np.ndarray | None:
    if sample.label == 0:
        return np.zeros(shape, dtype=bool)
    if sample.mask_path is None:
        return None
    return read_mask(sample.mask_path, shape)


def _metrics(inspector: Inspector, rows: list, unreadable: list, masks: list, maps: list, elapsed: float) -> dict:
    labels = np.array([row["label"] for row in rows])
    scores = np.array([row["score"] for row in rows])
    has_both = labels.size and 0 < labels.sum() < labels.size
    rates = rates_at(labels, scores, inspector.threshold)
    has_masks = any(mask.any() for mask in masks)
    pixel_labels = np.concatenate([mask.ravel() for mask in masks]) if has_masks else None
    pixel_scores = np.concatenate([values.ravel() for values in maps]) if has_masks else None
    return {
        "model": str(inspector.root),
        "bundle_id": inspector.manifest.bundle_id,
        "engine": inspector.engine,
        "provider": inspector.provider,
        "images": len(rows),
        "image_auroc": roc_auc(labels, scores) if has_both else None,
        "pixel_auroc": roc_auc(pixel_labels, pixel_scores) if has_masks else None,
        "aupro": aupro(masks, maps) if has_masks else None,
        "threshold": inspector.threshold,
        "at_threshold": {**asdict(rates), "f1": rates.f1, "overkill_rate": rates.overkill_rate,
                         "escape_rate": rates.escape_rate},
        "ms_per_image": 1000.0 * elapsed / max(1, len(rows)),
        "unreadable": unreadable,
        "defect_types": _type_metrics(inspector, rows),
        "per_image": rows,
    }


ESCAPE_HINT_RATE = 0.10
"""Escape rate above which ``inspect eval`` prints how to lower the threshold."""


def _print_result(result: dict) -> None:
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    at = result["at_threshold"]
    print(f"images           {result['images']}")
    print(f"image AUROC      {show(result['image_auroc'])}")
    no_masks = "n/a     (no ground_truth masks)"
    print(f"pixel AUROC      {show(result['pixel_auroc']) if result['pixel_auroc'] is not None else no_masks}")
    print(f"AUPRO (FPR<0.3)  {show(result['aupro']) if result['aupro'] is not None else no_masks}")
    print(f"threshold        {result['threshold']:.4f}")
    # The rates are 0 on a class without images, which would read as a perfect result.
    good_count = at["false_positive"] + at["true_negative"]
    defect_count = at["true_positive"] + at["false_negative"]
    f1 = show(at["f1"]) if defect_count else "n/a     (no defect images)"
    overkill = f"{show(at['overkill_rate'])}  (good judged NG)" if good_count else "n/a     (no good images)"
    escape = f"{show(at['escape_rate'])}  (defects judged OK)" if defect_count else "n/a     (no defect images)"
    print(f"F1 at threshold  {f1}")
    print(f"overkill rate    {overkill}")
    print(f"escape rate      {escape}")
    if defect_count and at["escape_rate"] > ESCAPE_HINT_RATE:
        print(
            f"hint: {at['escape_rate']:.0%} of the defect images were judged OK. A lower threshold catches more "
            "and sends more good parts to re-inspection: train again with a higher --target-frr (for example 0.05), "
            "then compile and evaluate again",
            file=sys.stderr,
        )
    if result.get("defect_types"):
        _print_types(result["defect_types"])
    for item in result["unreadable"]:
        print(f"unreadable: {item['error']}", file=sys.stderr)


def _type_metrics(inspector: Inspector, rows: list) -> dict | None:
    """Return per-type precision/recall and the confusion matrix over defect images, or None without a classifier."""
    if inspector.classifier is None:
        return None
    from fewshot.metrics import type_metrics

    defects = [row for row in rows if row["label"] == 1]
    if not defects:
        return None
    return type_metrics([row["defect_type"] for row in defects], [row["predicted_type"] for row in defects]).to_dict()


def _print_types(types: dict) -> None:
    print("defect types     precision  recall  images")
    for score in types["per_type"]:
        precision = "n/a" if score["precision"] is None else f"{score['precision']:.3f}"
        recall = "n/a" if score["recall"] is None else f"{score['recall']:.3f}"
        print(f"  {score['name']:<14} {precision:>9} {recall:>7} {score['support']:>7}")
    columns = types["columns"]
    width = max(len(name) for name in [*columns, *types["rows"]]) + 2
    print("confusion (true down, predicted across)")
    print(" " * width + "".join(name.rjust(width) for name in columns))
    for name, counts in zip(types["rows"], types["confusion_matrix"], strict=True):
        print(name.ljust(width) + "".join(str(value).rjust(width) for value in counts))
