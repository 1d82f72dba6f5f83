"""Build the evaluation report as HTML (self-contained, or with named images for a PDF renderer)."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.gui.workflow.evaluation import EvaluationResult
from engine.metrics import RatesAtThreshold


@dataclass(frozen=True)
class ReportText:
    """The report's translated headings and labels (the GUI passes them in its language)."""

    title: str = "Evaluation report"
    model: str = "Model"
    engine: str = "Engine"
    images: str = "Images"
    image_auroc: str = "Image AUROC"
    pixel_auroc: str = "Pixel AUROC"
    aupro: str = "AUPRO (FPR < 0.3)"
    threshold: str = "Threshold"
    overkill: str = "False reject (overkill) rate"
    escape: str = "Miss (escape) rate"
    charts: str = "Charts"
    worst_good: str = "Highest-scoring good images"
    worst_ng: str = "Lowest-scoring NG images"
    not_available: str = "n/a"


def data_uri(png: bytes) -> str:
    """Return ``png`` as a ``data:`` URI for a self-contained HTML file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def build_html(
    result: EvaluationResult,
    rates: RatesAtThreshold,
    figures: Mapping[str, bytes],
    gallery: Sequence[tuple[str, str, bytes]],
    *,
    text: ReportText = ReportText(),
    image_source: Callable[[str, bytes], str] = lambda name, png: data_uri(png),
) -> str:
    """Return the report as an HTML document.

    Args:
        result: the evaluation.
        rates: outcome counts at the threshold chosen with the sensitivity slider.
        figures: PNG charts by name, shown in order.
        gallery: ``(section, caption, png)`` per worst-case image; section is ``good`` or ``ng``.
        text: translated labels.
        image_source: turns an image name and its PNG into the ``src`` attribute.
    """

    def number(value: float | None) -> str:
        return text.not_available if value is None else f"{value:.4f}"

    rows = [
        (text.model, f"{result.bundle.name} ({result.bundle_id})"),
        (text.engine, f"{result.engine} / {result.provider}"),
        (text.images, str(len(result.images))),
        (text.image_auroc, number(result.image_auroc)),
        (text.pixel_auroc, number(result.pixel_auroc)),
        (text.aupro, number(result.aupro)),
        (text.threshold, f"{rates.threshold:.4f}"),
        (text.overkill, f"{rates.overkill_rate:.4f} ({rates.false_positive}/{rates.false_positive + rates.true_negative})"),
        (text.escape, f"{rates.escape_rate:.4f} ({rates.false_negative}/{rates.false_negative + rates.true_positive})"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(text.title)}</title>",
        "<style>body{font-family:sans-serif} td{padding:2px 12px} figure{display:inline-block;margin:4px}</style>",
        "</head><body>",
        f"<h1>{html.escape(text.title)}</h1>",
        "<table>",
        *(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>" for name, value in rows),
        "</table>",
        f"<h2>{html.escape(text.charts)}</h2>",
        *(f'<p><img src="{image_source(name, png)}" alt="{html.escape(name)}"></p>' for name, png in figures.items()),
    ]
    for section, heading in (("good", text.worst_good), ("ng", text.worst_ng)):
        parts.append(f"<h2>{html.escape(heading)}</h2><p>")
        for index, (item_section, caption, png) in enumerate(gallery):
            if item_section == section:
                source = image_source(f"{section}-{index}", png)
                parts.append(
                    f'<figure><img src="{source}" alt=""><figcaption>{html.escape(caption)}</figcaption></figure>'
                )
        parts.append("</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
