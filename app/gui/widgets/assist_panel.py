"""Model-assisted labeling: turn an anomaly map into a proposed mask that the user accepts or rejects.

A proposal is shown in its own colour and is never written into the label until
the user presses Accept; Accept adds it to the mask through one undoable command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labeling.assist import propose_regions
from labeling.model_input import map_to_image

logger = logging.getLogger(__name__)

AnomalyMapProvider = Callable[[Path], "np.ndarray | None"]
THRESHOLD_STEPS = 1000
DEFAULT_MIN_AREA_PX = 20


def propose_mask(anomaly_map: np.ndarray, threshold: float, min_area_px: int) -> tuple[np.ndarray, int]:
    """Return the union of the proposed regions of ``anomaly_map`` (already at image size) and their count."""
    proposals = propose_regions(anomaly_map, threshold, min_area_px=min_area_px)
    height, width = anomaly_map.shape
    union = np.zeros((height, width), dtype=bool)
    for proposal in proposals:
        union |= proposal.mask.to_array(height, width)
    return union, len(proposals)


class AssistPanel(QGroupBox):
    """Proposes a mask from ``anomaly_map_provider(image_path)`` with a threshold slider.

    Signals:
        proposal_changed: the boolean proposal mask (H x W), or None when there is none.
        accepted: the proposal the user accepted.
        message: a short text for the status bar.
    """

    proposal_changed = Signal(object)
    accepted = Signal(object)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Model Assist"))
        self._provider: AnomalyMapProvider | None = None
        self._image_path: Path | None = None
        self._image_size = (0, 0)
        self._map: np.ndarray | None = None
        self._proposal: np.ndarray | None = None

        self.propose_button = QPushButton(self.tr("Propose Mask"))
        self.propose_button.setObjectName("propose_button")
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setObjectName("threshold_slider")
        self.threshold_slider.setRange(0, THRESHOLD_STEPS)
        self.threshold_slider.setValue(THRESHOLD_STEPS // 2)
        self.min_area = QSpinBox()
        self.min_area.setRange(1, 1_000_000)
        self.min_area.setValue(DEFAULT_MIN_AREA_PX)
        self.min_area.setSuffix(self.tr(" px"))
        self.summary = QLabel()
        self.accept_button = QPushButton(self.tr("Accept"))
        self.accept_button.setObjectName("accept_proposal")
        self.reject_button = QPushButton(self.tr("Reject"))
        self.reject_button.setObjectName("reject_proposal")

        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        form = QFormLayout()
        form.addRow(self.tr("Threshold:"), self.threshold_slider)
        form.addRow(self.tr("Minimum area:"), self.min_area)
        layout = QVBoxLayout(self)
        layout.addWidget(self.propose_button)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)

        self.propose_button.clicked.connect(self.propose)
        self.threshold_slider.valueChanged.connect(self._recompute)
        self.min_area.valueChanged.connect(self._recompute)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)
        self._update_enabled()

    def set_provider(self, provider: AnomalyMapProvider | None) -> None:
        """Set the function that returns an anomaly map (float H x W, any size) for an image path, or None."""
        self._provider = provider
        self._update_enabled()

    def set_image(self, image_path: Path | None, height: int, width: int) -> None:
        """Switch to another image; any open proposal is dropped without touching the label."""
        self._image_path = image_path
        self._image_size = (height, width)
        self._clear()

    def propose(self) -> None:
        """Ask the provider for the current image's anomaly map and show the proposal."""
        if self._provider is None or self._image_path is None:
            return
        anomaly_map = self._provider(self._image_path)
        if anomaly_map is None:
            self.message.emit(self.tr("The model returned no anomaly map for this image."))
            return
        height, width = self._image_size
        self._map = map_to_image(np.asarray(anomaly_map, dtype=np.float32), height, width)
        self._recompute()

    def threshold(self) -> float:
        """Return the map value the slider stands for (slider position scaled to the map's range)."""
        if self._map is None:
            return 0.0
        low, high = float(self._map.min()), float(self._map.max())
        return low + (high - low) * self.threshold_slider.value() / THRESHOLD_STEPS

    def accept(self) -> None:
        """Hand the proposal to the page (which adds it to the mask) and close it."""
        if self._proposal is not None and self._proposal.any():
            self.accepted.emit(self._proposal)
        self._clear()

    def reject(self) -> None:
        """Close the proposal; the label stays as it is."""
        self._clear()

    def _recompute(self) -> None:
        if self._map is None:
            return
        self._proposal, count = propose_mask(self._map, self.threshold(), self.min_area.value())
        self.summary.setText(self.tr("{0} regions, {1} pixels").format(count, int(self._proposal.sum())))
        self.proposal_changed.emit(self._proposal)
        self._update_enabled()

    def _clear(self) -> None:
        had_proposal = self._proposal is not None
        self._map = None
        self._proposal = None
        self.summary.clear()
        if had_proposal:
            self.proposal_changed.emit(None)
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.propose_button.setEnabled(self._provider is not None)
        has_proposal = self._proposal is not None
        for widget in (self.accept_button, self.reject_button, self.threshold_slider, self.min_area):
            widget.setEnabled(has_proposal)
