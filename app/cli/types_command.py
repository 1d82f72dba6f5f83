"""``inspect types``: teach defect types to a trained model, or add examples, without retraining it."""

from __future__ import annotations

import argparse
import logging
import sys

from app.cli import defect_options, exit_codes

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect types``."""
    parser = subparsers.add_parser(
        "types", help="add defect types or examples to a trained model (no retraining)", description=__doc__
    )
    parser.add_argument("model", help="model directory written by 'inspect train' (it is updated in place)")
    defect_options.add_arguments(parser)
    parser.add_argument(
        "--replace", action="store_true", help="drop the model's current types and examples instead of adding to them"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect types`` and return the exit status."""
    if not (args.defects or args.project):
        print("error: give --defects DIR or --project DIR", file=sys.stderr)
        return exit_codes.USAGE
    return defect_options.train_types(args, None, args.model, replace_existing=args.replace)
