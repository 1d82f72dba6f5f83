"""Graphics items of the label canvas: the mask overlay and the shape outlines."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from app.gui.canvas.document import RECTANGLE, CanvasShape

SHAPE_ITEM_Z = 10.0
MASK_ITEM_Z = 5.0
PROPOSAL_ITEM_Z = 6.0
ACTIVE_MASK_OUTLINE_Z = 7.0
OUTLINE_WIDTH_PX = 2
LABEL_PALETTE = (
    QColor(230, 25, 75),
    QColor(60, 180, 75),
    QColor(0, 130, 200),
    QColor(245, 130, 48),
    QColor(145, 30, 180),
    QColor(70, 240, 240),
    QColor(240, 50, 230),
    QColor(210, 245, 60),
)


def color_for_label(label: str, labels: list[str]) -> QColor:
    """Return the palette colour of ``label`` by its position in the project's class list."""
    index = labels.index(label) + 1 if label in labels else 0
    return QColor(LABEL_PALETTE[index % len(LABEL_PALETTE)])


def argb_of(color: QColor) -> np.uint32:
    """Return ``color`` as one opaque pixel in QImage's ARGB32 layout."""
    return np.uint32(0xFF000000 | (color.red() << 16) | (color.green() << 8) | color.blue())


class MaskOverlayItem(QGraphicsItem):
    """A coloured, semi-transparent view of one or more binary masks that repaints only changed rectangles.

    The colour image is kept beside the mask and refreshed per changed rectangle, so
    a brush stroke on a 5-megapixel image touches only the pixels under the brush.
    """

    def __init__(self, width: int, height: int, color: QColor) -> None:
        super().__init__()
        self._width = width
        self._height = height
        # One uint32 per pixel in QImage's ARGB32 layout: opaque colour on the mask, transparent elsewhere.
        self._argb = np.zeros((height, width), dtype=np.uint32)
        self._image = QImage(self._argb.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
        self.set_color(color)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_color(self, color: QColor) -> None:
        """Use ``color`` for the next :meth:`refresh`."""
        self._color_argb = argb_of(color)

    def boundingRect(self) -> QRectF:  # noqa: N802, D102
        return QRectF(0, 0, self._width, self._height)

    def refresh(self, mask: np.ndarray, rect: QRect | None = None) -> None:
        """Recolour the overlay from ``mask`` inside ``rect`` (the whole image when None)."""
        area = self._area(rect)
        if area.isEmpty():
            return
        rows = slice(area.y(), area.y() + area.height())
        cols = slice(area.x(), area.x() + area.width())
        self._argb[rows, cols] = np.where(mask[rows, cols] > 0, self._color_argb, np.uint32(0))
        self.update(QRectF(area))

    def refresh_layers(self, layers: list[tuple[np.ndarray, QColor]], rect: QRect | None = None) -> None:
        """Recolour the overlay inside ``rect`` from several masks; a later mask's colour covers an earlier one's."""
        area = self._area(rect)
        if area.isEmpty():
            return
        rows = slice(area.y(), area.y() + area.height())
        cols = slice(area.x(), area.x() + area.width())
        patch = np.zeros((area.height(), area.width()), dtype=np.uint32)
        for pixels, color in layers:
            patch[pixels[rows, cols] > 0] = argb_of(color)
        self._argb[rows, cols] = patch
        self.update(QRectF(area))

    def color_at(self, x: int, y: int) -> QColor | None:
        """Return the colour shown at pixel (x, y), or None where the overlay is transparent."""
        value = int(self._argb[y, x])
        return QColor.fromRgb(value & 0xFFFFFF) if value else None

    def _area(self, rect: QRect | None) -> QRect:
        whole = QRect(0, 0, self._width, self._height)
        return whole if rect is None else rect.intersected(whole)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:  # noqa: D102
        exposed = option.exposedRect.toAlignedRect().intersected(QRect(0, 0, self._width, self._height))
        if not exposed.isEmpty():
            painter.drawImage(exposed.topLeft(), self._image, exposed)


class ShapeItem(QGraphicsPathItem):
    """The outline and light fill of one rectangle or polygon; selectable in the select tool."""

    def __init__(self, shape: CanvasShape, color: QColor) -> None:
        super().__init__()
        self.shape_id = shape.shape_id
        self.setZValue(SHAPE_ITEM_Z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.update_shape(shape, color)

    def update_shape(self, shape: CanvasShape, color: QColor) -> None:
        """Redraw from ``shape`` in ``color`` and reset any drag offset."""
        path = QPainterPath()
        if shape.kind == RECTANGLE:
            (x0, y0), (x1, y1) = shape.points[0], shape.points[1]
            path.addRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))
        else:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in shape.points]))
            path.closeSubpath()
        self.setPath(path)
        self.setPos(0, 0)
        pen = QPen(color, OUTLINE_WIDTH_PX)
        pen.setCosmetic(True)
        self.setPen(pen)
        fill = QColor(color)
        fill.setAlpha(40)
        self.setBrush(QBrush(fill))
        self.setToolTip(shape.label)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:  # noqa: D102
        if self.isSelected():
            highlight = QPen(self.pen())
            highlight.setWidth(OUTLINE_WIDTH_PX * 2)
            highlight.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(highlight)
            fill = QColor(self.pen().color())
            fill.setAlpha(90)
            painter.setBrush(fill)
            painter.drawPath(self.path())
            return
        painter.setPen(self.pen())
        painter.setBrush(self.brush())
        painter.drawPath(self.path())
