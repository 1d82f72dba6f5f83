"""The graphics scene of one image: display pixmap, an overlay of all mask regions, proposal overlay and shape items."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene

from app.gui.canvas.display import WindowLevel, default_window, qimage_from_display, render_display
from app.gui.canvas.document import LabelDocument
from app.gui.canvas.items import (
    ACTIVE_MASK_OUTLINE_Z,
    MASK_ITEM_Z,
    PROPOSAL_ITEM_Z,
    MaskOverlayItem,
    ShapeItem,
    color_for_label,
)

logger = logging.getLogger(__name__)

PROPOSAL_COLOR = QColor(255, 200, 0)
DEFAULT_MASK_OPACITY = 0.45


class LabelScene(QGraphicsScene):
    """Shows one image and mirrors a :class:`LabelDocument` into graphics items."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.document: LabelDocument | None = None
        self.pixels: np.ndarray | None = None
        self.window = WindowLevel(0.0, 255.0)
        self.labels: list[str] = []
        self._image_item: QGraphicsPixmapItem | None = None
        self._mask_item: MaskOverlayItem | None = None
        self._active_outline: QGraphicsRectItem | None = None
        self._proposal_item: MaskOverlayItem | None = None
        self._shape_items: dict[int, ShapeItem] = {}
        self._mask_opacity = DEFAULT_MASK_OPACITY

    def set_image(self, pixels: np.ndarray, document: LabelDocument, labels: list[str]) -> None:
        """Show ``pixels`` (never modified) with the shapes and mask of ``document``."""
        self._disconnect_document()
        self.clear()
        self._shape_items.clear()
        self._active_outline = None
        self.pixels = pixels
        self.document = document
        self.labels = list(labels)
        self.window = default_window(pixels)
        self._image_item = QGraphicsPixmapItem()
        self.addItem(self._image_item)
        self._render_pixmap()
        # One overlay shows every mask region in its defect type's colour, so memory does not grow per region.
        self._mask_item = MaskOverlayItem(document.width, document.height, QColor())
        self._mask_item.setZValue(MASK_ITEM_Z)
        self._mask_item.setOpacity(self._mask_opacity)
        self.addItem(self._mask_item)
        self._proposal_item = None
        self.setSceneRect(QRectF(0, 0, document.width, document.height))
        for shape in document.shapes:
            self._on_shape_added(shape.shape_id)
        self._repaint_masks(None)
        for signal, slot in self._document_slots(document):
            signal.connect(slot)
        self._on_active_mask_changed(document.active_mask_id)

    def clear_image(self) -> None:
        """Remove the image and every item."""
        self._disconnect_document()
        self.clear()
        self._shape_items.clear()
        self._mask_item = None
        self._active_outline = None
        self._image_item = None
        self._proposal_item = None
        self.document = None
        self.pixels = None

    def set_window(self, window: WindowLevel) -> None:
        """Change the display window; the stored pixels stay as they are."""
        self.window = window
        self._render_pixmap()

    def set_mask_opacity(self, opacity: float) -> None:
        """Set the mask overlay opacity (0 transparent, 1 opaque)."""
        self._mask_opacity = opacity
        if self._mask_item is not None:
            self._mask_item.setOpacity(opacity)

    def set_proposal(self, mask: np.ndarray | None) -> None:
        """Show a proposed mask in its own colour, or hide it when ``mask`` is None."""
        if self._proposal_item is not None:
            self.removeItem(self._proposal_item)
            self._proposal_item = None
        if mask is None or self.document is None:
            return
        self._proposal_item = MaskOverlayItem(self.document.width, self.document.height, PROPOSAL_COLOR)
        self._proposal_item.setZValue(PROPOSAL_ITEM_Z)
        self._proposal_item.setOpacity(self._mask_opacity)
        self._proposal_item.refresh(mask)
        self.addItem(self._proposal_item)

    def mask_color(self, x: int, y: int) -> QColor | None:
        """Return the overlay colour shown at pixel (x, y), or None where no mask region is set."""
        if self._mask_item is None:
            return None
        return self._mask_item.color_at(x, y)

    def has_proposal(self) -> bool:
        """True while a proposed mask is shown."""
        return self._proposal_item is not None

    def shape_item(self, shape_id: int) -> ShapeItem:
        """Return the graphics item of a shape."""
        return self._shape_items[shape_id]

    def selected_shape_ids(self) -> list[int]:
        """Return the ids of the selected shapes in drawing order."""
        return [shape_id for shape_id, item in self._shape_items.items() if item.isSelected()]

    def _render_pixmap(self) -> None:
        if self.pixels is None or self._image_item is None:
            return
        display = render_display(self.pixels, self.window)
        self._image_item.setPixmap(QPixmap.fromImage(qimage_from_display(display)))

    def _disconnect_document(self) -> None:
        if self.document is None:
            return
        for signal, slot in self._document_slots(self.document):
            signal.disconnect(slot)

    def _document_slots(self, document: LabelDocument) -> list[tuple]:
        return [
            (document.shape_added, self._on_shape_added),
            (document.shape_removed, self._on_shape_removed),
            (document.shape_changed, self._on_shape_changed),
            (document.mask_added, self._on_mask_added),
            (document.mask_removed, self._on_mask_removed),
            (document.mask_label_changed, self._on_mask_label_changed),
            (document.mask_changed, self._on_mask_changed),
            (document.active_mask_changed, self._on_active_mask_changed),
        ]

    def _on_shape_added(self, shape_id: int) -> None:
        shape = self.document.shape(shape_id)
        item = ShapeItem(shape, color_for_label(shape.label, self.labels))
        self._shape_items[shape_id] = item
        self.addItem(item)

    def _on_shape_removed(self, shape_id: int) -> None:
        item = self._shape_items.pop(shape_id, None)
        if item is not None:
            self.removeItem(item)

    def _on_shape_changed(self, shape_id: int) -> None:
        shape = self.document.shape(shape_id)
        self._shape_items[shape_id].update_shape(shape, color_for_label(shape.label, self.labels))

    def _on_mask_added(self, mask_id: int) -> None:
        # A brush stroke adds an empty region first; it is drawn as it is painted.
        if self.document.mask_layer(mask_id).pixels.any():
            self._repaint_masks(None)

    def _on_mask_removed(self, mask_id: int) -> None:
        self._repaint_masks(None)

    def _on_mask_label_changed(self, mask_id: int) -> None:
        self._repaint_masks(None)

    def _on_mask_changed(self, mask_id: int, rect: QRect) -> None:
        self._repaint_masks(rect)
        if mask_id == self.document.active_mask_id:
            self._update_active_outline()

    def _repaint_masks(self, rect: QRect | None) -> None:
        if self._mask_item is None or self.document is None:
            return
        layers = [(layer.pixels, color_for_label(layer.label, self.labels)) for layer in self.document.masks]
        self._mask_item.refresh_layers(layers, rect)

    def _on_active_mask_changed(self, _mask_id: int) -> None:
        self._update_active_outline()

    def _update_active_outline(self) -> None:
        """Frame the active mask region's bounding box with a dashed rectangle (hidden when there is none)."""
        document = self.document
        box = QRectF()
        if document is not None and document.active_mask_id:
            pixels = document.mask_layer(document.active_mask_id).pixels
            rows = np.flatnonzero(pixels.any(axis=1))
            cols = np.flatnonzero(pixels.any(axis=0))
            if rows.size:
                box = QRectF(cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
        if box.isEmpty():
            if self._active_outline is not None:
                self._active_outline.hide()
            return
        if self._active_outline is None:
            pen = QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._active_outline = QGraphicsRectItem()
            self._active_outline.setPen(pen)
            self._active_outline.setZValue(ACTIVE_MASK_OUTLINE_Z)
            self.addItem(self._active_outline)
        self._active_outline.setRect(box)
        self._active_outline.show()
