"""Defect-type options of ``inspect train`` and ``inspect types``: read labelled examples, put the classifier into the model."""

from __future__ import annotations

import argparse
import logging
import sys

from app.cli import exit_codes

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``--defects``, ``--project`` and ``--augmentations`` on a parser."""
    group = parser.add_argument_group("defect types (optional)")
    sources = group.add_mutually_exclusive_group()
    sources.add_argument(
        "--defects",
        metavar="DIR",
        help="labelled defect examples: one subfolder of images per defect type (or an MVTec-layout "
        "dataset); a mask '<name>_mask.png' beside an image or in ground_truth/<type>/ marks the region",
    )
    sources.add_argument(
        "--project", metavar="DIR", help="labeling project whose NG images (typed regions or image types) are the examples"
    )
    group.add_argument(
        "--augmentations",
        type=int,
        default=0,
        help="augmented copies (flips, brightness) per example with a mask (default: 0)",
    )


def train_types(args: argparse.Namespace, trained, model_dir: str, *, replace_existing: bool = False) -> int:
    """Teach the defect types named by ``--defects`` or ``--project`` to the model in ``model_dir``.

    ``trained`` is the model just trained, or None to load it from ``model_dir``. New
    examples are added to the model's current classifier unless ``replace_existing``.

    Returns:
        An exit status: OK when there was nothing to do or it worked, USAGE on invalid
        examples, PARTIAL when example files could not be read.
    """
    if not (getattr(args, "defects", None) or getattr(args, "project", None)):
        return exit_codes.OK
    from engine.bundle import BundleError
    from engine.compile.defect_types import add_defect_types
    from fewshot.classifier import FewShotError
    from fewshot.examples import load_defect_folders, load_project_examples
    from labeling.errors import LabelingError

    source = args.defects or args.project
    try:
        found = load_defect_folders(args.defects) if args.defects else load_project_examples(args.project)
    except (FileNotFoundError, LabelingError, FewShotError) as error:
        print(f"error: defect types: {error}", file=sys.stderr)
        return exit_codes.USAGE
    for error in found.skipped:
        print(f"skipped: {error}", file=sys.stderr)
    if not found.examples:
        layout = (
            "give one subfolder of images per defect type"
            if args.defects
            else "label NG images or regions with a defect type in the project"
        )
        print(f"error: defect types: no readable defect examples in {source}; {layout}", file=sys.stderr)
        return exit_codes.USAGE
    try:
        result = add_defect_types(
            model_dir,
            found.examples,
            type_names=found.type_names,
            trained=trained,
            augmentations=args.augmentations,
            replace_existing=replace_existing,
        )
    except (FileNotFoundError, LabelingError, FewShotError, BundleError) as error:
        print(f"error: defect types: {error}", file=sys.stderr)
        return exit_codes.USAGE
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    counts = ", ".join(f"{item.name} {item.examples}" for item in result.classifier.summary())
    print(f"defect types: {counts} (examples); fitted in {result.seconds:.1f} s")
    return exit_codes.PARTIAL if found.skipped else exit_codes.OK
