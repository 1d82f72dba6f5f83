"""The Label page side panel: verdict, defect type, split, brush size, mask opacity and display window."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.canvas.scene import DEFAULT_MASK_OPACITY
from app.gui.canvas.view import DEFAULT_BRUSH_SIZE_PX
from app.gui.pages.project_page import split_titles
from app.gui.widgets.window_level import WindowLevelWidget
from labeling.model import Verdict

MAX_BRUSH_SIZE_PX = 500


class LabelPanel(QWidget):
    """Controls for the current image; the page connects the signals to undo commands.

    Signals:
        verdict_clicked: the verdict value the user chose (``unlabelled``, ``good``, ``ng``).
        defect_type_chosen: the defect type picked in the combo ("" for none).
        split_chosen: the split value picked in the combo.
    """

    verdict_clicked = Signal(str)
    defect_type_chosen = Signal(str)
    split_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_level = WindowLevelWidget()
        display_box = QGroupBox(self.tr("Display"))
        QVBoxLayout(display_box).addWidget(self.window_level)
        self.extra_layout = QVBoxLayout()

        layout = QVBoxLayout(self)
        layout.addWidget(self._build_image_box())
        layout.addWidget(self._build_drawing_box())
        layout.addWidget(display_box)
        layout.addLayout(self.extra_layout)
        layout.addStretch(1)

    def _build_image_box(self) -> QGroupBox:
        self.verdict_buttons = QButtonGroup(self)
        verdict_row = QHBoxLayout()
        self._verdict_texts = {
            Verdict.UNLABELLED.value: self.tr("Unlabelled"),
            Verdict.GOOD.value: self.tr("Good"),
            Verdict.NG.value: self.tr("NG"),
        }
        for verdict in (Verdict.UNLABELLED, Verdict.GOOD, Verdict.NG):
            button = QPushButton(self._verdict_texts[verdict.value])
            button.setCheckable(True)
            button.setObjectName(f"verdict_{verdict.value}")
            button.setProperty("verdict", verdict.value)
            self.verdict_buttons.addButton(button)
            verdict_row.addWidget(button)
        self.verdict_buttons.setExclusive(True)
        self.verdict_buttons.buttonClicked.connect(lambda button: self.verdict_clicked.emit(button.property("verdict")))

        self.defect_type_combo = QComboBox()
        self.defect_type_combo.setObjectName("defect_type_combo")
        self.defect_type_combo.activated.connect(lambda _index: self.defect_type_chosen.emit(self.defect_type()))
        self.split_combo = QComboBox()
        self.split_combo.setObjectName("split_combo")
        for split, title in split_titles().items():
            self.split_combo.addItem(title, split.value)
        self.split_combo.activated.connect(lambda _index: self.split_chosen.emit(self.split_combo.currentData()))

        box = QGroupBox(self.tr("Image"))
        form = QFormLayout(box)
        form.addRow(verdict_row)
        form.addRow(self.tr("Defect type:"), self.defect_type_combo)
        form.addRow(self.tr("Split:"), self.split_combo)
        return box

    def _build_drawing_box(self) -> QGroupBox:
        self.brush_size = QSpinBox()
        self.brush_size.setObjectName("brush_size")
        self.brush_size.setRange(1, MAX_BRUSH_SIZE_PX)
        self.brush_size.setValue(DEFAULT_BRUSH_SIZE_PX)
        self.brush_size.setSuffix(self.tr(" px"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setObjectName("mask_opacity")
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(int(DEFAULT_MASK_OPACITY * 100))

        box = QGroupBox(self.tr("Drawing"))
        form = QFormLayout(box)
        form.addRow(self.tr("Brush size:"), self.brush_size)
        form.addRow(self.tr("Mask opacity:"), self.opacity_slider)
        return box

    def show_verdict_shortcuts(self, shortcuts: dict[str, str]) -> None:
        """Append each verdict's shortcut (native text, "" for none) to its button text."""
        for button in self.verdict_buttons.buttons():
            verdict = button.property("verdict")
            shortcut = shortcuts.get(verdict, "")
            text = self._verdict_texts[verdict]
            button.setText(f"{text} ({shortcut})" if shortcut else text)

    def set_classes(self, names: list[str], shortcuts: list[str]) -> None:
        """Fill the defect type combo: "(none)" first, then the project's classes with their shortcut keys.

        Args:
            names: the project's defect types in class-list order.
            shortcuts: the shortcut text of defect types 1, 2, ... ("" for none); may be shorter than ``names``.
        """
        current = self.defect_type()
        self.defect_type_combo.clear()
        self.defect_type_combo.addItem(self.tr("(none)"), "")
        for index, name in enumerate(names):
            shortcut = shortcuts[index] if index < len(shortcuts) else ""
            self.defect_type_combo.addItem(f"{name}  [{shortcut}]" if shortcut else name, name)
        self.set_defect_type(current)

    def defect_type(self) -> str:
        """Return the defect type chosen in the combo ("" for none)."""
        return self.defect_type_combo.currentData() or ""

    def set_defect_type(self, name: str) -> None:
        """Show ``name`` in the combo without emitting ``defect_type_chosen``."""
        index = self.defect_type_combo.findData(name)
        self.defect_type_combo.setCurrentIndex(max(index, 0))

    def show_state(self, verdict: str, defect_type: str, split: str) -> None:
        """Show a document's verdict, defect type and split."""
        for button in self.verdict_buttons.buttons():
            button.setChecked(button.property("verdict") == verdict)
        if defect_type:
            self.set_defect_type(defect_type)
        self.split_combo.setCurrentIndex(max(self.split_combo.findData(split), 0))
