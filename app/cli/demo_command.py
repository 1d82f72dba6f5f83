"""``inspect demo``: train on the sample shipped in ``assets/`` and inspect its test images, offline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.cli import exit_codes

SAMPLE_NAME = "sample"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect demo``."""
    parser = subparsers.add_parser("demo", help="train on the bundled sample and inspect it", description=__doc__)
    parser.add_argument("--out", help="folder for the model, report and heatmaps (default: the user data folder)")
    parser.set_defaults(handler=run)


def sample_dir() -> Path:
    """Return the shipped sample folder (``assets/sample`` in a checkout or installed package)."""
    candidates = [Path(__file__).resolve().parents[2] / "assets" / SAMPLE_NAME]
    bundled = os.environ.get("DEFECTSEEK_ASSETS")
    if bundled:
        candidates.insert(0, Path(bundled) / SAMPLE_NAME)
    for candidate in candidates:
        if (candidate / "train" / "good").is_dir():
            return candidate
    raise FileNotFoundError(f"the demo sample is missing (looked in {', '.join(map(str, candidates))})")


def default_output_dir() -> Path:
    """Return the per-user data folder for demo output (never the current directory)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "DefectSeek"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "defectseek"
    return base / "demo"


def run(args: argparse.Namespace) -> int:
    """Train on the sample, inspect its test images and print where the results went."""
    from app.cli import eval_command, run_command, train_command

    try:
        sample = sample_dir()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    out = Path(args.out) if args.out else default_output_dir()
    model = out / "model"
    report = out / "report.json"
    heatmaps = out / "heatmaps"
    print(f"Training on {sample / 'train' / 'good'} ...")
    status = train_command.run(_namespace(train_command, ["train", str(sample / "train" / "good"), "--out", str(model)]))
    if status != exit_codes.OK:
        return status
    print(f"\nInspecting {sample / 'test'} ...")
    run_args = ["run", str(model), str(sample / "test"), "--report", str(report), "--heatmaps", str(heatmaps)]
    status = run_command.run(_namespace(run_command, run_args))
    print("\nEvaluation on the sample's labelled test images:")
    eval_command.run(_namespace(eval_command, ["eval", str(model), str(sample)]))
    print(f"\nmodel:    {model}\nreport:   {report}\nheatmaps: {heatmaps}")
    return status


def _namespace(module: object, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="inspect")
    module.add_parser(parser.add_subparsers())  # type: ignore[attr-defined]
    return parser.parse_args(argv)
