"""Widgets shared by the Train, Evaluate, Deploy and Inspect pages: job polling, charts, images."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QObject, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QFrame, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from app.gui.canvas.display import qimage_from_display
from app.gui.workflow.jobs import FINAL_KINDS, JobEvent

logger = logging.getLogger(__name__)

POLL_INTERVAL_MS = 100
CHART_MARGIN_PX = 36
REPORT_FIGURE_SIZE_PX = (520, 320)
GOOD_COLOUR = QColor(46, 139, 87)
NG_COLOUR = QColor(200, 40, 40)
THRESHOLD_COLOUR = QColor(30, 30, 30)


class JobPoller(QObject):
    """Polls a :class:`~app.gui.workflow.jobs.JobProcess` or ``ThreadJob`` on the GUI thread with a timer.

    ``on_event`` gets every event in order; polling stops after the final one.
    """

    def __init__(self, job: Any, on_event: Callable[[JobEvent], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self._on_event = on_event
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self) -> None:
        """Start the job and the polling timer."""
        self.job.start()
        self._timer.start()

    @property
    def running(self) -> bool:
        """True until the final event was delivered."""
        return self._timer.isActive()

    def stop_polling(self) -> None:
        """Stop the timer without waiting for the job."""
        self._timer.stop()

    def _poll(self) -> None:
        for event in self.job.poll():
            if event.kind in FINAL_KINDS:
                self._timer.stop()
            self._on_event(event)


def wrap_in_scroll_area(page: QWidget, content: QWidget) -> None:
    """Lay ``content`` into ``page`` inside a scroll area, so the page never forces a large window."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(content)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(area)


def pixmap_from_rgb(rgb: np.ndarray) -> QPixmap:
    """Return a pixmap of an H x W x 3 (or H x W) uint8 array."""
    return QPixmap.fromImage(qimage_from_display(rgb))


def png_bytes(image: QImage | QPixmap) -> bytes:
    """Encode a Qt image as PNG bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def render_png(widget: QWidget, size: QSize | None = None) -> bytes:
    """Render ``widget`` at ``size`` (default 520 x 320) off screen and return PNG bytes (for reports)."""
    size = size or QSize(*REPORT_FIGURE_SIZE_PX)
    old_size = widget.size()
    widget.resize(size)
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    widget.render(image)
    widget.resize(old_size)
    return png_bytes(image)


class BundleCombo(QComboBox):
    """Lists bundle folders by name; the full path is the item data."""

    def set_bundles(self, paths: list[Path]) -> None:
        """Replace the list, keeping the current choice when it is still there."""
        current = self.current_path()
        self.blockSignals(True)
        self.clear()
        for path in paths:
            self.addItem(path.name, str(path))
        if current is not None:
            index = self.findData(str(current))
            if index >= 0:
                self.setCurrentIndex(index)
        self.blockSignals(False)

    def current_path(self) -> Path | None:
        """Return the chosen bundle folder, or None when the list is empty."""
        data = self.currentData()
        return Path(data) if data else None


class _Chart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.title = ""

    def plot_rect(self) -> QRectF:
        """Return the area inside the axes, in widget coordinates."""
        return QRectF(CHART_MARGIN_PX, 20, self.width() - CHART_MARGIN_PX - 10, self.height() - 20 - CHART_MARGIN_PX)

    def _frame(self, painter: QPainter, x_label: str, y_label: str) -> QRectF:
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        area = self.plot_rect()
        painter.setPen(QPen(Qt.GlobalColor.black, 1))
        painter.drawRect(area)
        painter.drawText(QRectF(0, 0, self.width(), 18), Qt.AlignmentFlag.AlignCenter, self.title)
        painter.drawText(
            QRectF(area.left(), area.bottom() + 14, area.width(), 18), Qt.AlignmentFlag.AlignCenter, x_label
        )
        painter.save()
        painter.translate(10, area.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-area.height() / 2, -8, area.height(), 16), Qt.AlignmentFlag.AlignCenter, y_label)
        painter.restore()
        return area


class RocChart(_Chart):
    """ROC curve of the image scores with a dot at the current threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roc_chart")
        self._fpr = np.zeros(0)
        self._tpr = np.zeros(0)
        self._marker: tuple[float, float] | None = None
        self.x_label = ""
        self.y_label = ""

    def set_curve(self, fpr: np.ndarray, tpr: np.ndarray) -> None:
        """Show the curve through (false-positive rate, true-positive rate) points."""
        self._fpr, self._tpr = np.asarray(fpr, float), np.asarray(tpr, float)
        self.update()

    def set_marker(self, fpr: float, tpr: float) -> None:
        """Mark the operating point of the current threshold."""
        self._marker = (fpr, tpr)
        self.update()

    def clear(self) -> None:
        """Remove the curve and the marker."""
        self._fpr = np.zeros(0)
        self._tpr = np.zeros(0)
        self._marker = None
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802, D102
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self._frame(painter, self.x_label, self.y_label)

        def point(x: float, y: float) -> QPointF:
            return QPointF(area.left() + x * area.width(), area.bottom() - y * area.height())

        painter.setPen(QPen(QColor(160, 160, 160), 1, Qt.PenStyle.DashLine))
        painter.drawLine(point(0, 0), point(1, 1))
        if self._fpr.size:
            path = QPainterPath(point(float(self._fpr[0]), float(self._tpr[0])))
            for x, y in zip(self._fpr[1:], self._tpr[1:], strict=True):
                path.lineTo(point(float(x), float(y)))
            painter.setPen(QPen(QColor(30, 90, 200), 2))
            painter.drawPath(path)
        if self._marker is not None:
            painter.setPen(QPen(THRESHOLD_COLOUR, 1))
            painter.setBrush(NG_COLOUR)
            painter.drawEllipse(point(*self._marker), 5, 5)
        painter.end()


class HistogramChart(_Chart):
    """Score histograms of good and NG images with the threshold as a vertical line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("histogram_chart")
        self._edges = np.linspace(0, 1, 2)
        self._good = np.zeros(1)
        self._ng = np.zeros(1)
        self.threshold: float | None = None
        self.x_label = ""
        self.y_label = ""

    def set_histograms(self, edges: np.ndarray, good: np.ndarray, ng: np.ndarray) -> None:
        """Show the counts per bin of good and NG scores."""
        self._edges, self._good, self._ng = np.asarray(edges, float), np.asarray(good), np.asarray(ng)
        self.update()

    def set_threshold(self, threshold: float) -> None:
        """Move the threshold line."""
        self.threshold = threshold
        self.update()

    def clear(self) -> None:
        """Remove the histograms and the threshold line."""
        self._edges = np.linspace(0, 1, 2)
        self._good = np.zeros(1)
        self._ng = np.zeros(1)
        self.threshold = None
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802, D102
        painter = QPainter(self)
        area = self._frame(painter, self.x_label, self.y_label)
        low, high = float(self._edges[0]), float(self._edges[-1])
        span = max(high - low, 1e-12)
        tallest = max(int(self._good.max(initial=0)), int(self._ng.max(initial=0)), 1)
        bins = len(self._good)
        width = area.width() / max(bins, 1)
        for index in range(bins):
            for counts, colour, offset in ((self._good, GOOD_COLOUR, 0.0), (self._ng, NG_COLOUR, 0.5)):
                height = area.height() * float(counts[index]) / tallest
                colour = QColor(colour)
                colour.setAlpha(170)
                rect = QRectF(area.left() + (index + offset) * width, area.bottom() - height, width / 2, height)
                painter.fillRect(rect, colour)
        painter.setPen(QPen(Qt.GlobalColor.black, 1))
        painter.drawText(QRectF(area.left(), area.bottom() + 1, 80, 14), Qt.AlignmentFlag.AlignLeft, f"{low:.3g}")
        painter.drawText(QRectF(area.right() - 80, area.bottom() + 1, 80, 14), Qt.AlignmentFlag.AlignRight, f"{high:.3g}")
        if self.threshold is not None:
            x = area.left() + (self.threshold - low) / span * area.width()
            x = min(max(x, area.left()), area.right())
            painter.setPen(QPen(THRESHOLD_COLOUR, 2, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        painter.end()
