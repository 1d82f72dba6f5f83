"""Per-image report rows and their JSON/CSV files, written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from labeling.fileio import atomic_write_text

REPORT_FIELDS = (
    "path",
    "score",
    "normalized_score",
    "verdict",
    "threshold",
    "width",
    "height",
    "error",
    "defect_type",
    "defect_confidence",
    "regions",
    "heatmap",
    "engine",
    "provider",
    "bundle_id",
)


@dataclass(frozen=True)
class ReportRow:
    """One image's line in the report; ``error`` is set (and scores are None) for unreadable files.

    ``regions`` lists the NG regions with their defect type when the bundle has a
    classifier: bounding box and area in image pixels, type, confidence.
    """

    path: str
    score: float | None
    normalized_score: float | None
    verdict: str
    threshold: float
    width: int | None
    height: int | None
    error: str | None = None
    defect_type: str | None = None
    defect_confidence: float | None = None
    regions: tuple[dict, ...] = ()
    heatmap: str | None = None
    engine: str = ""
    provider: str = ""
    bundle_id: str = ""


def write_report(path: str | os.PathLike[str], rows: list[ReportRow]) -> Path:
    """Write rows as JSON (a list of objects) or CSV, chosen by the file suffix.

    Raises:
        ValueError: the suffix is neither ``.json`` nor ``.csv``.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    records = [asdict(row) for row in rows]
    if suffix == ".json":
        return atomic_write_text(target, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows([{**record, "regions": _regions_cell(record["regions"])} for record in records])
        return atomic_write_text(target, buffer.getvalue())
    raise ValueError(f"report file {target} must end in .json or .csv")


def _regions_cell(regions: tuple[dict, ...]) -> str:
    """Format regions for one CSV cell: ``type confidence at x,y wxh`` joined by semicolons."""
    return "; ".join(
        f"{item['defect_type']} {item['confidence']:.3f} at {item['x']},{item['y']} {item['width']}x{item['height']}"
        for item in regions
    )
