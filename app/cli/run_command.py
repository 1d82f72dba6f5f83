"""``inspect run``: judge files and folders with a bundle on the torch-free runtime."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from app.cli import exit_codes
from app.cli.report import ReportRow, write_report
from engine.bundle import BundleError
from engine.runtime import DEVICES, ENGINES, ERROR, NG, EngineUnavailableError, Inspector, Verdict, normalize_score
from engine.runtime.defect_types import DefectRegion
from engine.runtime.overlay import heatmap_overlay
from labeling.imageio import IMAGE_SUFFIXES, ImageReadError, LoadedImage, find_images, read_image, write_image

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect run``."""
    parser = subparsers.add_parser("run", help="judge images with a model or bundle", description=__doc__)
    parser.add_argument("model", help="model directory from 'inspect train' or a compiled bundle (directory or .zip)")
    parser.add_argument("paths", nargs="+", help="image files or folders (searched recursively)")
    parser.add_argument("--report", help="write a per-image report; .json (list of objects) or .csv")
    parser.add_argument("--heatmaps", help="folder for heatmap overlay PNGs, one per image at the image's size")
    parser.add_argument("--engine", choices=ENGINES, default="auto", help="inference engine (default: auto)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="device; an explicit one must be usable")
    add_batching_arguments(parser)
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    parser.add_argument("--fail-on-ng", action="store_true", help="exit with status 1 when any image is NG")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(handler=run)


def add_batching_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--batch-size`` and ``--mode``, which ``inspect run`` and ``inspect eval`` share."""
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1,
        help="images per inference call (default: 1); above 1 the images are judged in batches, one batch at a time",
    )
    parser.add_argument(
        "--mode",
        choices=("throughput", "latency"),
        default="throughput",
        help="with --batch-size 1: 'throughput' keeps several images in flight on OpenVINO and reads the next "
        "images meanwhile (default); 'latency' judges one image at a time, as the line station does",
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect run`` and return the exit status."""
    if args.report and Path(args.report).suffix.lower() not in (".json", ".csv"):
        print(f"error: --report {args.report} must end in .json or .csv", file=sys.stderr)
        return exit_codes.USAGE
    if args.batch_size < 1:
        print("error: --batch-size must be at least 1", file=sys.stderr)
        return exit_codes.USAGE
    inspector = open_inspector(args.model, args.engine, args.device, args.threads)
    if inspector is None:
        return exit_codes.USAGE
    files, missing = find_images(args.paths)
    rows = [_error_row(error, inspector) for error in missing]
    started = time.perf_counter()
    if args.batch_size == 1:
        judged_rows, write_failures = _judge_stream(inspector, files, args)
    else:
        judged_rows, write_failures = _judge_batches(inspector, files, args)
    rows.extend(judged_rows)
    elapsed = time.perf_counter() - started
    if not args.quiet:
        _print_table(rows)
    if args.report:
        try:
            write_report(args.report, rows)
            print(f"report: {args.report}", file=sys.stderr)
        except OSError as error:
            print(f"error: report {args.report} was not written: {error}; choose a writable path", file=sys.stderr)
            write_failures += 1
    if args.heatmaps:
        written = sum(1 for row in rows if row.heatmap)
        print(f"heatmaps: {written} written under {args.heatmaps}", file=sys.stderr)
    return _summarize(rows, elapsed, write_failures, args.fail_on_ng, args.paths)


def image_files_hint() -> str:
    """Return the advice for an input with no image files: the suffixes that count as images."""
    return f"give folders or files with the suffixes {', '.join(sorted(IMAGE_SUFFIXES))}"


def open_inspector(model: str, engine: str, device: str, threads: int | None) -> Inspector | None:
    """Open a bundle for the CLI, printing the engine in use or the reason it failed."""
    try:
        inspector = Inspector.open(model, engine=engine, device=device, threads=threads)
    except BundleError as error:
        print(f"error: invalid model: {error}", file=sys.stderr)
        return None
    except EngineUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    # The engine module logs its fallback warnings, so they are not printed here a second time.
    print(f"engine: {inspector.engine} on {inspector.provider}", file=sys.stderr)
    return inspector


def _judge_stream(inspector: Inspector, paths: Sequence[Path], args: argparse.Namespace) -> tuple[list[ReportRow], int]:
    """Judge images one by one in input order, with several in flight in throughput mode."""
    rows: list[ReportRow] = []
    failures = 0
    # A single image gains nothing from a second, throughput-compiled graph.
    throughput = args.mode == "throughput" and len(paths) > 1
    for result in inspector.inspect_many(paths, read_image, throughput=throughput):
        if result.error is not None:
            rows.append(_error_row(result.error, inspector))
            continue
        heatmap = None
        if args.heatmaps:
            heatmap, failed = _write_heatmap(
                inspector, result.image, result.verdict, result.source, Path(args.heatmaps), args.paths
            )
            failures += failed
        rows.append(_verdict_row(result.source, result.verdict, inspector, heatmap))
    return rows, failures


def _judge_batches(inspector: Inspector, paths: Sequence[Path], args: argparse.Namespace) -> tuple[list[ReportRow], int]:
    """Judge images in batches of ``--batch-size``, one batch at a time."""
    rows: list[ReportRow] = []
    failures = 0
    for start in range(0, len(paths), args.batch_size):
        chunk_rows, chunk_failures = _judge_chunk(inspector, paths[start : start + args.batch_size], args)
        rows.extend(chunk_rows)
        failures += chunk_failures
    return rows, failures


def _judge_chunk(inspector: Inspector, paths: Sequence[Path], args: argparse.Namespace) -> tuple[list[ReportRow], int]:
    loaded: list[tuple[Path, LoadedImage]] = []
    rows_by_path: dict[Path, ReportRow] = {}
    for path in paths:
        try:
            image = read_image(path)
            inspector.check_image(image)
            loaded.append((path, image))
        except ImageReadError as error:
            rows_by_path[path] = _error_row(error, inspector)
    verdicts = inspector.inspect_images([image for _, image in loaded], batch_size=len(loaded) or 1)
    failures = 0
    for (path, image), verdict in zip(loaded, verdicts):
        heatmap = None
        if args.heatmaps:
            heatmap, failed = _write_heatmap(inspector, image, verdict, path, Path(args.heatmaps), args.paths)
            failures += failed
        rows_by_path[path] = _verdict_row(path, verdict, inspector, heatmap)
    return [rows_by_path[path] for path in paths], failures


def _write_heatmap(
    inspector: Inspector, image: LoadedImage, verdict: Verdict, path: Path, folder: Path, roots: Sequence[str]
) -> tuple[str | None, int]:
    post = inspector.manifest.postprocessing
    normalized = normalize_score(verdict.anomaly_map, post.threshold, post.normal_level)
    target = folder / heatmap_name(path, roots)
    try:
        write_image(target, heatmap_overlay(image, normalized))
    except OSError as error:
        print(f"error: heatmap for {path} was not written: {error}", file=sys.stderr)
        return None, 1
    return str(target), 0


def heatmap_name(path: Path, roots: Sequence[str]) -> Path:
    """Return the heatmap's path relative to the heatmap folder, mirroring the input folder layout."""
    for root in roots:
        base = Path(root)
        if base.is_dir():
            try:
                relative = path.relative_to(base)
            except ValueError:
                continue
            return relative.with_name(relative.stem + "_heatmap.png")
    return Path(path.stem + "_heatmap.png")


def _verdict_row(path: Path, verdict: Verdict, inspector: Inspector, heatmap: str | None) -> ReportRow:
    return ReportRow(
        path=str(path),
        score=round(verdict.score, 6),
        normalized_score=round(verdict.normalized_score, 6),
        verdict=verdict.verdict,
        threshold=round(verdict.threshold, 6),
        width=verdict.width,
        height=verdict.height,
        defect_type=verdict.defect_type,
        defect_confidence=verdict.defect_confidence,
        regions=tuple(_region_record(region) for region in verdict.regions),
        heatmap=heatmap,
        engine=inspector.engine,
        provider=inspector.provider,
        bundle_id=inspector.manifest.bundle_id,
    )


def _error_row(error: ImageReadError, inspector: Inspector) -> ReportRow:
    return ReportRow(
        path=error.path,
        score=None,
        normalized_score=None,
        verdict=ERROR,
        threshold=inspector.threshold,
        width=None,
        height=None,
        error=f"{error.kind}: {error.reason}",
        engine=inspector.engine,
        provider=inspector.provider,
        bundle_id=inspector.manifest.bundle_id,
    )


def _region_record(region: DefectRegion) -> dict:
    record = asdict(region)
    for key in ("peak_score", "confidence", "distance"):
        record[key] = round(record[key], 6)
    return record


def _print_table(rows: Sequence[ReportRow]) -> None:
    # The column is the normalized score (0.5 at the threshold, clipped to 0..1). Reports also hold the raw score.
    print(f"{'verdict':<8}{'normalized':>10}  path")
    for row in rows:
        score = f"{row.normalized_score:.3f}" if row.normalized_score is not None else "-"
        detail = f"  ({row.error})" if row.error else ""
        if row.defect_type is not None:
            detail += f"  [{row.defect_type} {row.defect_confidence:.2f}; {len(row.regions)} region(s)]"
        print(f"{row.verdict:<8}{score:>10}  {row.path}{detail}")


def _summarize(
    rows: Sequence[ReportRow], elapsed: float, write_failures: int, fail_on_ng: bool, paths: Sequence[str]
) -> int:
    judged = [row for row in rows if row.verdict != ERROR]
    ng = sum(row.verdict == NG for row in judged)
    errors = len(rows) - len(judged)
    rate = len(judged) / elapsed if elapsed > 0 else 0.0
    print(
        f"{len(judged)} judged: {len(judged) - ng} OK, {ng} NG; {errors} unreadable; {rate:.1f} images/s",
        file=sys.stderr,
    )
    if errors or write_failures:
        print("warning: some inputs could not be read or some outputs not written (exit status 3)", file=sys.stderr)
        return exit_codes.PARTIAL
    if not rows:
        print(f"error: no image files found in {', '.join(paths)}; {image_files_hint()}", file=sys.stderr)
        return exit_codes.PARTIAL
    if fail_on_ng and ng:
        return exit_codes.NG_FOUND
    return exit_codes.OK
