"""Rebuild docs/benchmarks.md: its hand-written summary, then every page a benchmark script writes.

The summary (everything above the marker line) is kept as it is. Below the marker,
each ``docs/benchmarks-<area>.md`` page follows in a fixed order, with its headings
moved one level down when the page starts at level 1, so the combined file has one
title. Run it from the repository root after rerunning any benchmark script::

    python bench/collect.py

This is a script, not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeling.fileio import atomic_write_text  # noqa: E402

logger = logging.getLogger(__name__)

MARKER = "<!-- Generated below by python bench/collect.py from the docs/benchmarks-<area>.md pages. -->"
AREAS = ("accuracy", "engine", "fewshot", "station", "batching", "installer")
HEADING = re.compile(r"^(#+) ", re.MULTILINE)


def demoted(page: str) -> str:
    """Return ``page`` with every heading one level deeper when its first heading is level 1."""
    first = HEADING.search(page)
    if first is None or len(first.group(1)) != 1:
        return page
    return HEADING.sub(lambda match: "#" + match.group(1) + " ", page)


def collect(docs: Path) -> str:
    """Return the new text of ``docs/benchmarks.md``.

    Raises:
        ValueError: the summary file lacks the marker line, so the generated part cannot be found.
    """
    summary_path = docs / "benchmarks.md"
    summary = summary_path.read_text(encoding="utf-8")
    if MARKER not in summary:
        raise ValueError(f"{summary_path}: the marker line is missing; add this line after the summary:\n{MARKER}")
    parts = [summary.split(MARKER, 1)[0].rstrip() + "\n\n" + MARKER + "\n"]
    for area in AREAS:
        page = docs / f"benchmarks-{area}.md"
        if not page.exists():
            logger.warning("%s not found: its section is left out", page)
            continue
        parts.append(demoted(page.read_text(encoding="utf-8")).strip() + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/benchmarks.md and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="folder of the benchmark pages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        text = collect(args.docs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic_write_text(args.docs / "benchmarks.md", text)
    print(f"wrote {args.docs / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
