"""Measure what the station's dynamic batching gains: parts per second at batch 1, 2 and 4 on one engine.

Several cameras on one station share one judge. When their parts arrive within the
batch window, the pipeline hands them to the judge together. This script times the
station's own judge (``app.station.judge.InspectorJudge``) on the same camera-sized
images: one part per call (one camera, or batching off) against batches of 2 and 4
(that many cameras). Every figure is the median over ``--repeats`` passes, and the
speed-up is measured in the same run. Run from the repository root::

    python bench/batching.py --bundle BUNDLE --images ../shared/data/magnetic_tile/test/good \\
        --out docs/benchmarks-batching.md

This is a script, not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.station.judge import InspectorJudge  # noqa: E402
from labeling.fileio import atomic_write_text  # noqa: E402
from labeling.imageio import LoadedImage, find_images, image_from_array, read_image, to_model_rgb  # noqa: E402

BATCH_SIZES = (1, 2, 4)


def camera_frames(folder: Path, count: int, width: int, height: int) -> list[LoadedImage]:
    """Load ``count`` images from ``folder`` and resize them to camera frames of width x height."""
    files, _ = find_images([folder])
    if not files:
        raise SystemExit(f"error: no images found in {folder}; pass a folder of test images")
    frames = []
    for path in files[:count]:
        rgb = to_model_rgb(read_image(path)).astype("uint8")
        frames.append(image_from_array(cv2.resize(rgb, (width, height)), source=str(path), channel_order="RGB"))
    return frames


def parts_per_second(judge: InspectorJudge, frames: list[LoadedImage], batch: int, repeats: int) -> float:
    """Return the median parts per second when ``frames`` are judged ``batch`` at a time."""
    rates = []
    usable = len(frames) - len(frames) % batch
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, usable, batch):
            judge.judge(frames[start : start + batch])
        rates.append(usable / (time.perf_counter() - started))
    return statistics.median(rates)


def render(args: argparse.Namespace, judge: InspectorJudge, rates: dict[int, float]) -> str:
    """Return the Markdown section for the measured rates."""
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        "# Line station: dynamic batching throughput",
        "",
        f"Command: `python bench/batching.py --bundle {args.bundle} --images {args.images} "
        f"--frames {args.frames} --repeats {args.repeats}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}; load average at the "
        f"end (1 / 5 / 15 min): {load}. Judge: the station's `InspectorJudge` on {judge.description}, "
        f"frames {args.width} x {args.height} resized to the bundle input inside the judge; median of "
        f"{args.repeats} passes over {args.frames} frames.",
        "",
        "| parts per judge call (cameras batched) | parts/s | vs one at a time |",
        "| ---: | ---: | ---: |",
    ]
    for batch, rate in rates.items():
        lines.append(f"| {batch} | {rate:.1f} | {rate / rates[1]:.2f}x |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print (and optionally write) the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="bundle directory (fp32 model dir or compiled bundle)")
    parser.add_argument("--images", required=True, type=Path, help="folder of images to use as camera frames")
    parser.add_argument("--frames", type=int, default=32, help="frames per pass (default: 32)")
    parser.add_argument("--repeats", type=int, default=5, help="passes per batch size (default: 5)")
    parser.add_argument("--width", type=int, default=640, help="camera frame width (default: 640)")
    parser.add_argument("--height", type=int, default=480, help="camera frame height (default: 480)")
    parser.add_argument("--engine", default="auto", help="runtime engine: auto, openvino, onnxruntime")
    parser.add_argument("--out", type=Path, help="write the Markdown section to this file")
    args = parser.parse_args(argv)
    frames = camera_frames(args.images, args.frames, args.width, args.height)
    judge = InspectorJudge(Path(args.bundle), engine=args.engine, device="cpu")
    judge.warm_up()
    for batch in BATCH_SIZES:
        judge.judge(frames[:batch])
    rates = {batch: parts_per_second(judge, frames, batch, args.repeats) for batch in BATCH_SIZES}
    text = render(args, judge, rates)
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
