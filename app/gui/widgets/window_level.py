"""Brightness (level) and contrast (window width) controls for the display of 8- to 16-bit images."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QPushButton, QSlider, QWidget

from app.gui.canvas.display import WindowLevel, auto_window, default_window, max_display_value


class WindowLevelWidget(QWidget):
    """Two sliders in stored pixel units, plus Auto and Reset; emits ``window_changed``.

    Changing the window only changes what the screen shows, never the stored pixels.
    """

    window_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixels: np.ndarray | None = None
        self.level_slider = QSlider(Qt.Orientation.Horizontal)
        self.level_slider.setObjectName("level_slider")
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setObjectName("width_slider")
        self.auto_button = QPushButton(self.tr("Auto"))
        self.reset_button = QPushButton(self.tr("Reset"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.auto_button)
        buttons.addWidget(self.reset_button)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Brightness (level):"), self.level_slider)
        form.addRow(self.tr("Contrast (window):"), self.width_slider)
        form.addRow(buttons)
        self.level_slider.valueChanged.connect(self._emit)
        self.width_slider.valueChanged.connect(self._emit)
        self.auto_button.clicked.connect(self._auto)
        self.reset_button.clicked.connect(self._reset)
        self.setEnabled(False)

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        """Adapt the slider ranges to ``pixels`` (read only) and show the full range without emitting."""
        self._pixels = pixels
        self.setEnabled(pixels is not None)
        if pixels is None:
            return
        maximum = max_display_value(pixels)
        for slider in (self.level_slider, self.width_slider):
            slider.blockSignals(True)
            slider.setRange(1 if slider is self.width_slider else 0, maximum)
            slider.blockSignals(False)
        self._move_sliders(default_window(pixels))

    def set_window(self, window: WindowLevel) -> None:
        """Move the sliders to ``window`` and emit ``window_changed`` once."""
        self._move_sliders(window)
        self._emit()

    def _move_sliders(self, window: WindowLevel) -> None:
        for slider, value in ((self.level_slider, window.level), (self.width_slider, window.width)):
            slider.blockSignals(True)
            slider.setValue(int(round(value)))
            slider.blockSignals(False)

    def window(self) -> WindowLevel:
        """Return the window the sliders show."""
        return WindowLevel.from_level_width(self.level_slider.value(), self.width_slider.value())

    def _auto(self) -> None:
        if self._pixels is not None:
            self.set_window(auto_window(self._pixels))

    def _reset(self) -> None:
        if self._pixels is not None:
            self.set_window(default_window(self._pixels))

    def _emit(self) -> None:
        self.window_changed.emit(self.window())
