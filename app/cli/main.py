"""Entry point of the ``inspect`` command.

Subcommands import their heavy dependencies only when they run, so ``inspect run``
works on a line PC that has the runtime extra alone (no torch).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app.cli import demo_command, eval_command, exit_codes, run_command, train_command
from app.cli.quiet import OwnRecordsFilter
from labeling.imageio import DEFAULT_MAX_PIXELS, MAX_PIXELS_VARIABLE

COMMANDS = [train_command, run_command, eval_command, demo_command]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="inspect",
        description="DefectSeek: train from good images, then judge parts OK or NG.",
        epilog="Exit status: 0 all judged, 1 NG found with --fail-on-ng or self-test failed, "
        "2 usage error, invalid model or unusable device, "
        "3 partial (some inputs unreadable or some outputs not written), "
        "4 the INT8 accuracy guard of 'compile' rejected the bundle (nothing written).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=None,
        help=f"reject images above this size before decoding (default: {DEFAULT_MAX_PIXELS // 1_000_000} megapixels)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    _add_optional_commands(subparsers)
    for subparser in subparsers.choices.values():
        # The descriptions are module docstrings, whose reST literals would show as ``name`` in --help.
        if subparser.description:
            subparser.description = subparser.description.replace("``", "'")
        subparser.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log details to stderr"
        )
    return parser


def _add_optional_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register commands whose modules may be absent in a runtime-only installation."""
    from app.cli import selftest_command

    selftest_command.add_parser(subparsers)
    try:
        from app.cli import compile_command
    except ImportError:
        return
    compile_command.add_parser(subparsers)
    from app.cli import types_command

    types_command.add_parser(subparsers)


class _CliFormatter(logging.Formatter):
    """Format log records like the CLI's own messages (``warning: ...``), with module names and tracebacks only with -v."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        prefix = record.levelname.lower()
        origin = f" [{record.name}]" if self.verbose else ""
        text = f"{prefix}{origin}: {record.getMessage()}"
        if self.verbose and record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def _configure_logging(verbose: bool) -> None:
    """Send warnings (and with -v, progress details) to stderr in the CLI's message style.

    Without -v, third-party libraries' records below ERROR are hidden: they address the
    libraries' own users (for example ONNX Runtime's advice to pre-process a graph before
    quantization), not someone running ``inspect``.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter(verbose))
    if not verbose:
        handler.addFilter(OwnRecordsFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the subcommand and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if args.max_megapixels is not None:
        if args.max_megapixels <= 0:
            print("error: --max-megapixels must be positive", file=sys.stderr)
            return exit_codes.USAGE
        os.environ[MAX_PIXELS_VARIABLE] = str(int(args.max_megapixels * 1_000_000))
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return exit_codes.USAGE
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
