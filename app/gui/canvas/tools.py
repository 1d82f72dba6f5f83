"""Canvas tools: select/move, rectangle, polygon, brush and eraser.

The view forwards mouse and key events to the active tool with positions in image
pixels. A tool changes the label only by pushing undo commands, so every edit can
be undone.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QCoreApplication, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from app.gui.canvas.commands import AddMaskCommand, AddShapeCommand, MaskEditCommand, MoveShapesCommand
from app.gui.canvas.document import MASK_ON, POLYGON, RECTANGLE, CanvasShape, MaskLayer, clamp_point
from app.gui.canvas.items import ShapeItem

if TYPE_CHECKING:
    from app.gui.canvas.view import CanvasView

logger = logging.getLogger(__name__)

SELECT = "select"
BRUSH = "brush"
ERASER = "eraser"
TOOL_NAMES = (SELECT, RECTANGLE, POLYGON, BRUSH, ERASER)
CLOSE_DISTANCE_SCREEN_PX = 10.0
MIN_RECTANGLE_SIDE_PX = 1.0
PREVIEW_Z = 20.0


def _preview_pen() -> QPen:
    pen = QPen(QColor(0, 200, 255), 1, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    return pen


class CanvasTool:
    """Base class: every handler does nothing until a subclass overrides it."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        """Handle a left-button press at ``pos`` (image pixels)."""

    def move(self, pos: QPointF) -> None:
        """Handle a mouse move to ``pos`` (image pixels), with or without a button held."""

    def release(self, pos: QPointF) -> None:
        """Handle the left-button release at ``pos``."""

    def key(self, event: QKeyEvent) -> bool:
        """Handle a key press; return True when the tool used it."""
        return False

    def cancel(self) -> None:
        """Drop any unfinished drawing (tool switch, image change, Escape)."""


class SelectTool(CanvasTool):
    """Click selects a shape (Ctrl adds to the selection) or a mask region; dragging moves selected shapes."""

    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._drag_start: QPointF | None = None
        self._offset = QPointF(0, 0)

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:  # noqa: D102
        scene = self.canvas.label_scene
        item = next((item for item in scene.items(pos) if isinstance(item, ShapeItem)), None)
        additive = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if item is None:
            if not additive:
                scene.clearSelection()
            # A click outside every shape picks the topmost mask region under it (or none) for the brush.
            scene.document.set_active_mask(scene.document.mask_at(math.floor(pos.x()), math.floor(pos.y())))
            self._drag_start = None
            return
        scene.document.set_active_mask(0)
        if additive:
            item.setSelected(not item.isSelected())
        elif not item.isSelected():
            scene.clearSelection()
            item.setSelected(True)
        self._drag_start = pos if item.isSelected() else None
        self._offset = QPointF(0, 0)

    def move(self, pos: QPointF) -> None:  # noqa: D102
        if self._drag_start is None:
            return
        self._offset = pos - self._drag_start
        for shape_id in self.canvas.label_scene.selected_shape_ids():
            self.canvas.label_scene.shape_item(shape_id).setPos(self._offset)

    def release(self, pos: QPointF) -> None:  # noqa: D102
        if self._drag_start is None:
            return
        self.move(pos)
        self._drag_start = None
        ids = self.canvas.label_scene.selected_shape_ids()
        if ids and (abs(self._offset.x()) > 0 or abs(self._offset.y()) > 0):
            document = self.canvas.label_scene.document
            self.canvas.undo_stack.push(MoveShapesCommand(document, ids, self._offset.x(), self._offset.y()))
        self._offset = QPointF(0, 0)

    def cancel(self) -> None:  # noqa: D102
        for shape_id in self.canvas.label_scene.selected_shape_ids():
            self.canvas.label_scene.shape_item(shape_id).setPos(0, 0)
        self._drag_start = None


class RectangleTool(CanvasTool):
    """Press at one corner, drag, release at the opposite corner."""

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._start: QPointF | None = None
        self._preview: QGraphicsPathItem | None = None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:  # noqa: D102
        self._start = self._clamped(pos)
        self._preview = QGraphicsPathItem()
        self._preview.setPen(_preview_pen())
        self._preview.setZValue(PREVIEW_Z)
        self.canvas.label_scene.addItem(self._preview)

    def move(self, pos: QPointF) -> None:  # noqa: D102
        if self._start is None or self._preview is None:
            return
        path = QPainterPath()
        path.addRect(QRectF(self._start, self._clamped(pos)).normalized())
        self._preview.setPath(path)

    def release(self, pos: QPointF) -> None:  # noqa: D102
        if self._start is None:
            return
        end = self._clamped(pos)
        start = self._start
        self.cancel()
        if abs(end.x() - start.x()) < MIN_RECTANGLE_SIDE_PX or abs(end.y() - start.y()) < MIN_RECTANGLE_SIDE_PX:
            return
        document = self.canvas.label_scene.document
        corners = (
            (min(start.x(), end.x()), min(start.y(), end.y())),
            (max(start.x(), end.x()), max(start.y(), end.y())),
        )
        shape = CanvasShape(document.new_shape_id(), RECTANGLE, corners, self.canvas.current_label)
        self.canvas.undo_stack.push(AddShapeCommand(document, shape))

    def cancel(self) -> None:  # noqa: D102
        if self._preview is not None:
            self.canvas.label_scene.removeItem(self._preview)
        self._preview = None
        self._start = None

    def _clamped(self, pos: QPointF) -> QPointF:
        document = self.canvas.label_scene.document
        x, y = clamp_point((pos.x(), pos.y()), document.width, document.height)
        return QPointF(x, y)


class PolygonTool(CanvasTool):
    """Click vertices; click the first vertex again, double-click or press Enter to close."""

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._points: list[QPointF] = []
        self._cursor = QPointF()
        self._preview: QGraphicsPathItem | None = None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:  # noqa: D102
        document = self.canvas.label_scene.document
        point = QPointF(*clamp_point((pos.x(), pos.y()), document.width, document.height))
        if len(self._points) >= 3 and self._near_first(point):
            self.finish()
            return
        self._points.append(point)
        self._cursor = point
        self._redraw()

    def move(self, pos: QPointF) -> None:  # noqa: D102
        if self._points:
            self._cursor = pos
            self._redraw()

    def key(self, event: QKeyEvent) -> bool:  # noqa: D102
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._points:
            self.finish()
            return True
        if event.key() == Qt.Key.Key_Escape and self._points:
            self.cancel()
            return True
        if event.key() == Qt.Key.Key_Backspace and self._points:
            self._points.pop()
            self._redraw()
            return True
        return False

    def finish(self) -> None:
        """Close the polygon and add it when it has at least three vertices."""
        points = [(point.x(), point.y()) for point in self._points]
        self.cancel()
        if len(points) < 3:
            self.canvas.status_message.emit(
                QCoreApplication.translate("CanvasTools", "A polygon needs at least 3 points; it was discarded.")
            )
            return
        document = self.canvas.label_scene.document
        shape = CanvasShape(document.new_shape_id(), POLYGON, tuple(points), self.canvas.current_label)
        self.canvas.undo_stack.push(AddShapeCommand(document, shape))

    def cancel(self) -> None:  # noqa: D102
        if self._preview is not None:
            self.canvas.label_scene.removeItem(self._preview)
        self._preview = None
        self._points = []

    def _near_first(self, point: QPointF) -> bool:
        scale = max(self.canvas.transform().m11(), 1e-6)
        delta = point - self._points[0]
        return (delta.x() ** 2 + delta.y() ** 2) ** 0.5 * scale <= CLOSE_DISTANCE_SCREEN_PX

    def _redraw(self) -> None:
        if self._preview is None:
            self._preview = QGraphicsPathItem()
            self._preview.setPen(_preview_pen())
            self._preview.setZValue(PREVIEW_Z)
            self.canvas.label_scene.addItem(self._preview)
        path = QPainterPath(self._points[0])
        for point in self._points[1:]:
            path.lineTo(point)
        path.lineTo(self._cursor)
        self._preview.setPath(path)


class BrushTool(CanvasTool):
    """Paint (or erase) a mask region with a round brush of ``canvas.brush_size`` pixels.

    The brush paints into the document's active mask region. When none is active, a
    stroke starts a new region of ``canvas.current_label`` and makes it the active one.
    The eraser clears pixels of the active region, or of every region when none is active.
    """

    def __init__(self, canvas: CanvasView, *, erase: bool) -> None:
        super().__init__(canvas)
        self.erase = erase
        self._before: dict[int, np.ndarray] = {}
        self._new_layer: MaskLayer | None = None
        self._was_modified = False
        self._last: tuple[int, int] | None = None
        self._dirty = QRect()
        self._outline: QGraphicsEllipseItem | None = None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:  # noqa: D102
        document = self.canvas.label_scene.document
        self._was_modified = document.modified
        self._new_layer = None
        if document.active_mask_id:
            targets = [document.mask_layer(document.active_mask_id)]
        elif self.erase:
            targets = document.masks
        else:
            self._new_layer = document.new_mask_layer(self.canvas.current_label)
            document.add_mask(self._new_layer)
            document.set_active_mask(self._new_layer.mask_id)
            targets = [self._new_layer]
        self._before = {layer.mask_id: layer.pixels.copy() for layer in targets}
        self._dirty = QRect()
        self._last = None
        self._paint_to(pos)

    def move(self, pos: QPointF) -> None:  # noqa: D102
        self._show_outline(pos)
        if self._before:
            self._paint_to(pos)

    def release(self, pos: QPointF) -> None:  # noqa: D102
        if not self._before:
            return
        self._paint_to(pos)
        document = self.canvas.label_scene.document
        rect = self._dirty.intersected(QRect(0, 0, document.width, document.height))
        before, new_layer = self._before, self._new_layer
        self._before = {}
        self._new_layer = None
        self._last = None
        if new_layer is not None:
            self._finish_new_layer(new_layer)
            return
        if rect.isEmpty():
            return
        rows = slice(rect.y(), rect.y() + rect.height())
        cols = slice(rect.x(), rect.x() + rect.width())
        text = (
            QCoreApplication.translate("CanvasTools", "Erase mask")
            if self.erase
            else QCoreApplication.translate("CanvasTools", "Paint mask")
        )
        commands = [
            MaskEditCommand(
                document, mask_id, rect, pixels[rows, cols], document.mask_layer(mask_id).pixels[rows, cols], text,
                applied=True,
            )
            for mask_id, pixels in before.items()
            if not np.array_equal(pixels[rows, cols], document.mask_layer(mask_id).pixels[rows, cols])
        ]
        self._push(commands, text)

    def cancel(self) -> None:  # noqa: D102
        document = self.canvas.label_scene.document
        if document is not None:
            for mask_id, pixels in self._before.items():
                if document.has_mask(mask_id):
                    document.mask_layer(mask_id).pixels[:] = pixels
                    document.announce_mask_pixels(mask_id, self._dirty)
            if self._new_layer is not None and document.has_mask(self._new_layer.mask_id):
                document.remove_mask(self._new_layer.mask_id)
                document.set_modified(self._was_modified)
        self._before = {}
        self._new_layer = None
        self._last = None
        if self._outline is not None:
            self.canvas.label_scene.removeItem(self._outline)
            self._outline = None

    def _finish_new_layer(self, layer: MaskLayer) -> None:
        document = self.canvas.label_scene.document
        if not layer.pixels.any():
            document.remove_mask(layer.mask_id)
            document.set_modified(self._was_modified)
            return
        text = QCoreApplication.translate("CanvasTools", "Paint new mask region")
        self.canvas.undo_stack.push(AddMaskCommand(document, layer, text, applied=True))

    def _push(self, commands: list[MaskEditCommand], text: str) -> None:
        if len(commands) == 1:
            self.canvas.undo_stack.push(commands[0])
            return
        if not commands:
            return
        self.canvas.undo_stack.beginMacro(text)
        for command in commands:
            self.canvas.undo_stack.push(command)
        self.canvas.undo_stack.endMacro()

    def _paint_to(self, pos: QPointF) -> None:
        document = self.canvas.label_scene.document
        # The pixel under the cursor: pixel (i, j) covers [i, i + 1) x [j, j + 1) in scene coordinates.
        point = (math.floor(pos.x()), math.floor(pos.y()))
        start = self._last or point
        size = max(1, int(self.canvas.brush_size))
        value = 0 if self.erase else MASK_ON
        radius = size // 2 + 2
        left, top = min(start[0], point[0]) - radius, min(start[1], point[1]) - radius
        right, bottom = max(start[0], point[0]) + radius, max(start[1], point[1]) + radius
        segment = QRect(left, top, right - left + 1, bottom - top + 1).intersected(
            QRect(0, 0, document.width, document.height)
        )
        self._dirty = self._dirty.united(segment) if not self._dirty.isEmpty() else segment
        self._last = point
        for mask_id in self._before:
            pixels = document.mask_layer(mask_id).pixels
            cv2.line(pixels, start, point, value, thickness=size, lineType=cv2.LINE_8)
            cv2.circle(pixels, point, max(size // 2, 0), value, thickness=-1)
            if not segment.isEmpty():
                document.announce_mask_pixels(mask_id, segment)

    def _show_outline(self, pos: QPointF) -> None:
        size = float(max(1, int(self.canvas.brush_size)))
        if self._outline is None:
            self._outline = QGraphicsEllipseItem()
            self._outline.setPen(_preview_pen())
            self._outline.setZValue(PREVIEW_Z)
            self.canvas.label_scene.addItem(self._outline)
        self._outline.setRect(QRectF(pos.x() - size / 2, pos.y() - size / 2, size, size))
