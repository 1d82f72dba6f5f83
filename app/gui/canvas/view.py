"""The label canvas view: zoom with the wheel, pan with the middle button or Space+drag, and tool dispatch."""

from __future__ import annotations

import logging

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QUndoStack, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from app.gui.canvas.document import POLYGON, RECTANGLE
from app.gui.canvas.scene import LabelScene
from app.gui.canvas.tools import BRUSH, ERASER, SELECT, BrushTool, CanvasTool, PolygonTool, RectangleTool, SelectTool

logger = logging.getLogger(__name__)

ZOOM_STEP = 1.25
MIN_ZOOM = 0.01
MAX_ZOOM = 64.0
DEFAULT_BRUSH_SIZE_PX = 15


class CanvasView(QGraphicsView):
    """Shows a :class:`LabelScene` and routes left-button input to the active tool.

    Signals:
        zoom_changed: the new scale factor (1.0 is one image pixel per screen pixel).
        cursor_moved: image x, y under the mouse.
        tool_changed: the name of the active tool.
        status_message: a short text for the status bar.
    """

    zoom_changed = Signal(float)
    cursor_moved = Signal(int, int)
    tool_changed = Signal(str)
    status_message = Signal(str)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_scene = LabelScene(self)
        self.setScene(self.label_scene)
        self.undo_stack = undo_stack
        self.current_label = ""
        self.brush_size = DEFAULT_BRUSH_SIZE_PX
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self._tools: dict[str, CanvasTool] = {
            SELECT: SelectTool(self),
            RECTANGLE: RectangleTool(self),
            POLYGON: PolygonTool(self),
            BRUSH: BrushTool(self, erase=False),
            ERASER: BrushTool(self, erase=True),
        }
        self.tool_name = SELECT
        self._pan_origin: QPoint | None = None
        self._space_held = False
        self._tool_pressed = False

    @property
    def tool(self) -> CanvasTool:
        """The active tool."""
        return self._tools[self.tool_name]

    def set_tool(self, name: str) -> None:
        """Activate the tool called ``name`` (select, rectangle, polygon, brush, eraser)."""
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; use one of {sorted(self._tools)}")
        self.tool.cancel()
        self.tool_name = name
        self.viewport().setCursor(self.tool.cursor)
        self.tool_changed.emit(name)

    def cancel_tool(self) -> None:
        """Drop unfinished drawing of the active tool."""
        self.tool.cancel()
        self._tool_pressed = False

    def zoom(self) -> float:
        """Return the current scale factor."""
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        """Scale to ``factor`` (clamped to the supported range) about the view centre."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.setTransformationAnchor(anchor)
        self._after_zoom()

    def fit_to_window(self) -> None:
        """Scale so the whole image is visible."""
        if self.label_scene.document is None:
            return
        self.fitInView(self.label_scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._after_zoom()

    def actual_size(self) -> None:
        """Show one image pixel per screen pixel."""
        self.set_zoom(1.0)

    def zoom_by(self, steps: float) -> None:
        """Zoom in (positive) or out (negative) by ``ZOOM_STEP`` per step, about the mouse."""
        factor = ZOOM_STEP**steps
        target = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM)
        self.scale(target / self.zoom(), target / self.zoom())
        self._after_zoom()

    def _after_zoom(self) -> None:
        smooth = self.zoom() < 1.0
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802, D102
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802, D102
        if self._starts_pan(event):
            self._pan_origin = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.label_scene.document is not None:
            self._tool_pressed = True
            self.tool.press(self._scene_pos(event), event.modifiers())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802, D102
        if self._pan_origin is not None:
            delta = event.position().toPoint() - self._pan_origin
            self._pan_origin = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self.label_scene.document is not None:
            pos = self._scene_pos(event)
            self.cursor_moved.emit(int(pos.x()), int(pos.y()))
            self.tool.move(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802, D102
        if self._pan_origin is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_origin = None
            self.viewport().setCursor(self.tool.cursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self._tool_pressed:
            self._tool_pressed = False
            self.tool.release(self._scene_pos(event))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802, D102
        if self.tool_name == POLYGON and isinstance(self.tool, PolygonTool):
            self.tool.finish()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802, D102
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if self.label_scene.document is not None and self.tool.key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802, D102
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().setCursor(self.tool.cursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _starts_pan(self, event: QMouseEvent) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton:
            return True
        return event.button() == Qt.MouseButton.LeftButton and self._space_held

    def _scene_pos(self, event: QMouseEvent) -> QPointF:
        inverse, _invertible = self.viewportTransform().inverted()
        return inverse.map(event.position())
