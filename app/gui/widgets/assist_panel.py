"""Model-assisted labeling: turn an anomaly map into proposed mask regions that the user accepts or rejects.

The anomaly map comes from a provider that runs in a worker thread, so a slow model
does not block the window. A proposal is shown in its own colour, and the panel only
emits it when the user presses Accept. The page then adds one mask region per
connected component in one undoable step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
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

from app.gui.workflow.assist_model import AssistMap
from labeling.assist import RegionProposal, propose_regions
from labeling.model_input import map_to_image

logger = logging.getLogger(__name__)

AnomalyMapProvider = Callable[[Path], "np.ndarray | AssistMap | None"]
THRESHOLD_STEPS = 1000
DEFAULT_MIN_AREA_PX = 20


def propose_mask(anomaly_map: np.ndarray, threshold: float, min_area_px: int) -> tuple[np.ndarray, int]:
    """Return the union of the proposed regions of ``anomaly_map`` (already at image size) and their count."""
    proposals = propose_regions(anomaly_map, threshold, min_area_px=min_area_px)
    return union_of(proposals, *anomaly_map.shape), len(proposals)


def union_of(proposals: tuple[RegionProposal, ...], height: int, width: int) -> np.ndarray:
    """Return the boolean ``height`` x ``width`` union of ``proposals``."""
    union = np.zeros((height, width), dtype=bool)
    for proposal in proposals:
        union |= proposal.mask.to_array(height, width)
    return union


class _ResultBridge(QObject):
    """Carries a finished worker future to the GUI thread (the signal is queued across threads)."""

    done = Signal(int, object)


class AssistPanel(QGroupBox):
    """Proposes mask regions from ``provider(image_path)`` with threshold and minimum-area controls.

    Signals:
        proposal_changed: the boolean proposal mask (H x W), or None when there is none.
        accepted: the tuple of :class:`~labeling.assist.RegionProposal` the user accepted.
        message: a short text for the status bar.
        failed: the exception the provider raised, with the image path it was running on.
        model_selected: the model folder picked in the combo ("" for none).
        choose_model_requested: the user pressed the button to pick a model folder.
    """

    proposal_changed = Signal(object)
    accepted = Signal(object)
    message = Signal(str)
    failed = Signal(object, object)
    model_selected = Signal(str)
    choose_model_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Model Assist"))
        self._provider: AnomalyMapProvider | None = None
        self._no_provider_reason = ""
        self._image_path: Path | None = None
        self._image_size = (0, 0)
        self._map: np.ndarray | None = None
        self._map_range = (0.0, 0.0)
        self._model_threshold: float | None = None
        self._proposals: tuple[RegionProposal, ...] = ()
        self._proposal: np.ndarray | None = None
        self._request = 0
        self._running: int | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-assist")
        self._bridge = _ResultBridge(self)
        self._bridge.done.connect(self._on_done)
        self._build()
        self._update_enabled()

    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("assist_model_combo")
        self.choose_model_button = QPushButton(self.tr("Choose Model Folder..."))
        self.choose_model_button.setObjectName("choose_assist_model")
        self.propose_button = QPushButton(self.tr("Propose Mask"))
        self.propose_button.setObjectName("propose_button")
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setObjectName("threshold_slider")
        self.threshold_slider.setRange(0, THRESHOLD_STEPS)
        self.threshold_slider.setValue(THRESHOLD_STEPS // 2)
        self.threshold_value = QLabel()
        self.threshold_value.setObjectName("threshold_value")
        self.min_area = QSpinBox()
        self.min_area.setObjectName("min_area")
        self.min_area.setRange(1, 1_000_000)
        self.min_area.setValue(DEFAULT_MIN_AREA_PX)
        self.min_area.setSuffix(self.tr(" px"))
        self.summary = QLabel()
        self.summary.setObjectName("assist_summary")
        self.summary.setWordWrap(True)
        self.accept_button = QPushButton(self.tr("Accept"))
        self.accept_button.setObjectName("accept_proposal")
        self.reject_button = QPushButton(self.tr("Reject"))
        self.reject_button.setObjectName("reject_proposal")

        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        form = QFormLayout()
        form.addRow(self.tr("Model:"), self.model_combo)
        form.addRow(self.choose_model_button)
        form.addRow(self.propose_button)
        form.addRow(self.tr("Threshold:"), self.threshold_slider)
        form.addRow("", self.threshold_value)
        form.addRow(self.tr("Minimum area:"), self.min_area)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)

        self.model_combo.activated.connect(lambda _index: self.model_selected.emit(self.model_combo.currentData() or ""))
        self.choose_model_button.clicked.connect(self.choose_model_requested)
        self.propose_button.clicked.connect(self.propose)
        self.threshold_slider.valueChanged.connect(self._recompute)
        self.min_area.valueChanged.connect(self._recompute)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)

    # ----- configuration -----

    def set_provider(self, provider: AnomalyMapProvider | None, no_provider_reason: str = "") -> None:
        """Set the function that returns the anomaly map of an image path, or None to disable proposing.

        The provider runs in a worker thread. It returns a float H x W map of any size,
        an :class:`~app.gui.workflow.assist_model.AssistMap` (its threshold places the
        slider), or None. ``no_provider_reason`` is the tooltip of the disabled button.
        """
        self._provider = provider
        self._no_provider_reason = no_provider_reason
        self._update_enabled()

    def set_models(self, models: list[tuple[str, str]], current: str) -> None:
        """Fill the model combo with (shown name, folder) pairs and select the folder ``current``."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        if not models:
            self.model_combo.addItem(self.tr("(no trained model)"), "")
        for name, folder in models:
            self.model_combo.addItem(name, folder)
            self.model_combo.setItemData(self.model_combo.count() - 1, folder, Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)

    def set_image(self, image_path: Path | None, height: int, width: int) -> None:
        """Switch to another image; any open or running proposal is dropped without touching the label."""
        self._image_path = image_path
        self._image_size = (height, width)
        self._request += 1
        self._running = None
        self._clear()

    @property
    def busy(self) -> bool:
        """True while the provider runs for the current image."""
        return self._running is not None

    def shutdown(self) -> None:
        """Wait for a running provider call and stop the worker thread."""
        self._request += 1
        self._running = None
        self._executor.shutdown(wait=True, cancel_futures=True)

    # ----- proposing -----

    def propose(self) -> bool:
        """Start the provider on the current image in the worker thread; return False when it cannot start."""
        if self._provider is None or self._image_path is None or self._running is not None:
            return False
        self._clear()
        self._request += 1
        request = self._request
        self._running = request
        self.summary.setText(self.tr("Running the model on {0}...").format(self._image_path.name))
        self._update_enabled()
        future = self._executor.submit(self._provider, self._image_path)
        # The callback runs in the worker thread (or here, when the call already finished); the signal reaches
        # _on_done on the GUI thread either way.
        future.add_done_callback(lambda finished, number=request: self._bridge.done.emit(number, finished))
        return True

    def _on_done(self, request: int, future: Future) -> None:
        if request != self._running:
            return
        self._running = None
        self._update_enabled()
        path = self._image_path
        error = future.exception()
        if error is not None:
            self.summary.clear()
            self.failed.emit(error, path)
            return
        result = future.result()
        if result is None:
            self.summary.clear()
            self.message.emit(self.tr("The model returned no anomaly map for this image."))
            return
        self._show_map(result)

    def _show_map(self, result: np.ndarray | AssistMap) -> None:
        height, width = self._image_size
        raw = result.anomaly_map if isinstance(result, AssistMap) else result
        self._model_threshold = result.threshold if isinstance(result, AssistMap) else None
        self._map = map_to_image(np.asarray(raw, dtype=np.float32), height, width)
        self._map_range = (float(np.nanmin(self._map)), float(np.nanmax(self._map)))
        position = self._slider_position(self._model_threshold)
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(position)
        self.threshold_slider.blockSignals(False)
        self._recompute()

    def _slider_position(self, threshold: float | None) -> int:
        if threshold is None or self._map is None:
            return self.threshold_slider.value()
        low, high = self._map_range
        if high <= low:
            return THRESHOLD_STEPS // 2
        return int(round(np.clip((threshold - low) / (high - low), 0.0, 1.0) * THRESHOLD_STEPS))

    def threshold(self) -> float:
        """Return the map value the slider is at (slider position scaled to the map's range)."""
        if self._map is None:
            return 0.0
        low, high = self._map_range
        return low + (high - low) * self.threshold_slider.value() / THRESHOLD_STEPS

    def proposals(self) -> tuple[RegionProposal, ...]:
        """Return the connected regions of the open proposal, highest score first."""
        return self._proposals

    def accept(self) -> None:
        """Hand the proposed regions to the page (which adds them as mask regions) and close the proposal."""
        if self._proposals:
            self.accepted.emit(self._proposals)
        self._clear()

    def reject(self) -> None:
        """Close the proposal; the label stays as it is."""
        self._clear()

    def _recompute(self) -> None:
        if self._map is None:
            return
        threshold = self.threshold()
        self._proposals = propose_regions(self._map, threshold, min_area_px=self.min_area.value())
        self._proposal = union_of(self._proposals, *self._map.shape)
        if self._model_threshold is None:
            self.threshold_value.setText(f"{threshold:.4g}")
        else:
            self.threshold_value.setText(
                self.tr("{0:.4g} (model threshold {1:.4g})").format(threshold, self._model_threshold)
            )
        self.summary.setText(
            self.tr("{0} regions, {1} pixels").format(len(self._proposals), int(self._proposal.sum()))
        )
        self.proposal_changed.emit(self._proposal)
        self._update_enabled()

    def _clear(self) -> None:
        had_proposal = self._proposal is not None
        self._map = None
        self._model_threshold = None
        self._proposals = ()
        self._proposal = None
        self.summary.clear()
        self.threshold_value.clear()
        if had_proposal:
            self.proposal_changed.emit(None)
        self._update_enabled()

    def _update_enabled(self) -> None:
        ready = self._provider is not None and self._image_path is not None and self._running is None
        self.propose_button.setEnabled(ready)
        if self._provider is None:
            self.propose_button.setToolTip(
                self._no_provider_reason
                or self.tr("No trained model. Train one on the Train page, or choose a model folder.")
            )
        else:
            self.propose_button.setToolTip(self.tr("Run the model on this image and show the proposed defect regions."))
        has_proposal = self._proposal is not None
        for widget in (self.accept_button, self.reject_button, self.threshold_slider, self.min_area):
            widget.setEnabled(has_proposal)
