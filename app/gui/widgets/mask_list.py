"""The list of an image's mask regions: pick the region the brush and eraser edit, start a new one, or delete one."""

from __future__ import annotations

import logging

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from app.gui.canvas.document import LabelDocument

logger = logging.getLogger(__name__)

AREA_REFRESH_DELAY_MS = 100
LIST_HEIGHT_PX = 110


class MaskRegionList(QGroupBox):
    """Shows the mask regions of the open document and keeps the list selection equal to the active region.

    Signals:
        delete_requested: the id of the mask region the user wants to delete (the page pushes the undo command).
    """

    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Mask Regions"))
        self._document: LabelDocument | None = None
        self.list_widget = QListWidget()
        self.list_widget.setObjectName("mask_region_list")
        self.list_widget.setMaximumHeight(LIST_HEIGHT_PX)
        self.new_button = QPushButton(self.tr("New Region"))
        self.new_button.setObjectName("new_mask_region")
        self.new_button.setToolTip(self.tr("The next brush stroke starts a new mask region of the chosen defect type."))
        self.delete_button = QPushButton(self.tr("Delete Region"))
        self.delete_button.setObjectName("delete_mask_region")
        self._area_timer = QTimer(self)
        self._area_timer.setSingleShot(True)
        self._area_timer.setInterval(AREA_REFRESH_DELAY_MS)
        self._area_timer.timeout.connect(self._refresh_texts)

        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list_widget)
        layout.addLayout(buttons)

        self.list_widget.currentItemChanged.connect(self._on_current_item_changed)
        self.new_button.clicked.connect(self._start_new_region)
        self.delete_button.clicked.connect(self._request_delete)
        self._update_buttons()

    def set_document(self, document: LabelDocument | None) -> None:
        """Follow ``document`` (None: show nothing)."""
        if self._document is not None:
            for signal, slot in self._document_slots(self._document):
                signal.disconnect(slot)
        self._document = document
        if document is not None:
            for signal, slot in self._document_slots(document):
                signal.connect(slot)
        self._rebuild()

    def mask_ids(self) -> list[int]:
        """Return the ids of the listed mask regions, top row first."""
        return [self.list_widget.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list_widget.count())]

    def _document_slots(self, document: LabelDocument) -> list[tuple]:
        return [
            (document.mask_added, self._on_masks_changed),
            (document.mask_removed, self._on_masks_changed),
            (document.mask_label_changed, self._on_masks_changed),
            (document.mask_changed, self._on_pixels_changed),
            (document.active_mask_changed, self._show_active),
        ]

    def _on_masks_changed(self, _mask_id: int) -> None:
        self._rebuild()

    def _on_pixels_changed(self, _mask_id: int, _rect: QRect) -> None:
        # Live brush strokes change pixels on every mouse move, so the areas are recounted once they pause.
        self._area_timer.start()

    def _rebuild(self) -> None:
        self.list_widget.blockSignals(True)
        self.list_widget.clear()
        if self._document is not None:
            for layer in self._document.masks:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, layer.mask_id)
                self.list_widget.addItem(item)
        self.list_widget.blockSignals(False)
        self._refresh_texts()
        self._show_active(self._document.active_mask_id if self._document is not None else 0)

    def _refresh_texts(self) -> None:
        if self._document is None:
            return
        for row in range(self.list_widget.count()):
            item = self.list_widget.item(row)
            mask_id = item.data(Qt.ItemDataRole.UserRole)
            if not self._document.has_mask(mask_id):
                continue
            layer = self._document.mask_layer(mask_id)
            name = layer.label or self.tr("(no type)")
            text = self.tr("{0}: {1}, {2} px").format(row + 1, name, layer.area)
            if layer.origin == "assist":
                text += " " + self.tr("(model proposal)")
            item.setText(text)

    def _show_active(self, mask_id: int) -> None:
        self.list_widget.blockSignals(True)
        self.list_widget.setCurrentRow(self.mask_ids().index(mask_id) if mask_id in self.mask_ids() else -1)
        self.list_widget.blockSignals(False)
        self._update_buttons()

    def _on_current_item_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if self._document is None:
            return
        self._document.set_active_mask(current.data(Qt.ItemDataRole.UserRole) if current is not None else 0)

    def _start_new_region(self) -> None:
        if self._document is not None:
            self._document.set_active_mask(0)

    def _request_delete(self) -> None:
        if self._document is not None and self._document.active_mask_id:
            self.delete_requested.emit(self._document.active_mask_id)

    def _update_buttons(self) -> None:
        has_document = self._document is not None
        active = has_document and bool(self._document.active_mask_id)
        self.new_button.setEnabled(has_document)
        self.delete_button.setEnabled(active)
