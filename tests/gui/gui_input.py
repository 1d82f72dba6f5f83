"""Simulated mouse input on the label canvas, in image pixel coordinates."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def viewport_point(canvas, x: float, y: float) -> QPoint:
    """Return the viewport position of image pixel (x, y) on ``canvas``."""
    return canvas.mapFromScene(QPointF(x, y))


def drag(canvas, points: list[tuple[float, float]]) -> None:
    """Press at the first image point, move through the others and release at the last."""
    viewport = canvas.viewport()
    QTest.mousePress(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, viewport_point(canvas, *points[0])
    )
    for point in points[1:]:
        QTest.mouseMove(viewport, viewport_point(canvas, *point))
    QTest.mouseRelease(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, viewport_point(canvas, *points[-1])
    )


def click(canvas, x: float, y: float) -> None:
    """Left-click image pixel (x, y)."""
    QTest.mouseClick(
        canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, viewport_point(canvas, x, y)
    )
