"""Canvas tools with simulated mouse input: select, move, delete, polygon closing, eraser, zoom and pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.gui.canvas.convert import document_from_label, label_from_document
from app.gui.canvas.document import CanvasShape
from app.gui.canvas.view import CanvasView
from labeling.model import ImageLabel, PixelMask, Rectangle, Region, Verdict
from tests.gui.gui_input import click, drag, viewport_point

pytestmark = pytest.mark.gui

WIDTH, HEIGHT = 400, 300


@pytest.fixture
def canvas(qtbot):
    view = CanvasView(QUndoStack())
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    pixels = np.random.default_rng(3).integers(0, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)
    loaded = document_from_label(ImageLabel(WIDTH, HEIGHT), WIDTH, HEIGHT)
    view.label_scene.set_image(pixels, loaded.document, ["scratch"])
    view.actual_size()
    view.centerOn(WIDTH / 2, HEIGHT / 2)
    view.loaded = loaded
    return view


def test_rectangle_clamped_to_image(canvas):
    canvas.set_tool("rectangle")
    drag(canvas, [(350, 250), (398, 298)])
    document = canvas.label_scene.document
    canvas.set_tool("rectangle")
    viewport = canvas.viewport()
    QTest.mousePress(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, viewport_point(canvas, 10, 10)
    )
    QTest.mouseRelease(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, viewport_point(canvas, -40, -30)
    )
    shapes = document.shapes
    assert len(shapes) == 2
    assert shapes[1].points == ((0.0, 0.0), (10.0, 10.0))


def test_tiny_rectangle_discarded(canvas):
    canvas.set_tool("rectangle")
    click(canvas, 50, 50)
    assert canvas.label_scene.document.shapes == []
    assert canvas.undo_stack.count() == 0


def test_polygon_closes_on_first_point(canvas):
    canvas.set_tool("polygon")
    for x, y in ((50, 50), (150, 50), (100, 120), (51, 51)):
        click(canvas, x, y)
    shapes = canvas.label_scene.document.shapes
    assert len(shapes) == 1
    assert len(shapes[0].points) == 3
    assert shapes[0].label == ""


def test_polygon_with_two_points_discarded(canvas, qtbot):
    canvas.set_tool("polygon")
    messages = []
    canvas.status_message.connect(messages.append)
    click(canvas, 50, 50)
    click(canvas, 150, 50)
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas.label_scene.document.shapes == []
    assert messages and "at least 3 points" in messages[0]


def test_polygon_escape_cancels(canvas):
    canvas.set_tool("polygon")
    click(canvas, 50, 50)
    click(canvas, 150, 50)
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    click(canvas, 100, 100)
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas.label_scene.document.shapes == []


def test_select_move_and_undo(canvas):
    document = canvas.label_scene.document
    canvas.current_label = "scratch"
    canvas.set_tool("rectangle")
    drag(canvas, [(100, 100), (160, 140)])
    canvas.set_tool("select")
    drag(canvas, [(130, 120), (150, 130), (170, 150)])
    moved = document.shapes[0]
    assert moved.points == ((140.0, 130.0), (200.0, 170.0))
    assert moved.label == "scratch"
    assert canvas.label_scene.selected_shape_ids() == [moved.shape_id]
    canvas.undo_stack.undo()
    assert document.shapes[0].points == ((100.0, 100.0), (160.0, 140.0))
    assert canvas.label_scene.shape_item(moved.shape_id).pos() == QPointF(0, 0)


def test_click_outside_clears_selection(canvas):
    canvas.set_tool("rectangle")
    drag(canvas, [(100, 100), (160, 140)])
    canvas.set_tool("select")
    click(canvas, 120, 120)
    assert canvas.label_scene.selected_shape_ids()
    click(canvas, 300, 250)
    assert canvas.label_scene.selected_shape_ids() == []


def test_brush_then_eraser(canvas):
    document = canvas.label_scene.document
    canvas.brush_size = 11
    canvas.set_tool("brush")
    drag(canvas, [(100, 100), (200, 100)])
    painted = int((document.mask > 0).sum())
    assert document.mask[100, 150] == 255
    assert document.mask[100 + 8, 150] == 0
    canvas.set_tool("eraser")
    drag(canvas, [(150, 100), (150, 101)])
    assert document.mask[100, 150] == 0
    assert 0 < int((document.mask > 0).sum()) < painted
    canvas.undo_stack.undo()
    assert int((document.mask > 0).sum()) == painted
    canvas.undo_stack.undo()
    assert not document.mask.any()


def test_wheel_zoom_and_fit(canvas):
    canvas.actual_size()
    assert canvas.zoom() == pytest.approx(1.0)
    center = QPointF(400, 300)
    event = QWheelEvent(
        center,
        canvas.viewport().mapToGlobal(center),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom() == pytest.approx(1.25)
    canvas.fit_to_window()
    assert canvas.zoom() == pytest.approx(min(800 / WIDTH, 600 / HEIGHT), rel=0.05)


def test_middle_button_pans(canvas):
    canvas.set_zoom(8.0)
    bar = canvas.horizontalScrollBar()
    start = bar.value()
    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(viewport, QPoint(300, 300))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    assert bar.value() == start + 100
    assert canvas.label_scene.document.shapes == []


def test_unknown_tool_rejected(canvas):
    with pytest.raises(ValueError, match="unknown tool 'lasso'"):
        canvas.set_tool("lasso")


def test_convert_keeps_untouched_fields():
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[10:20, 30:50] = True
    rectangle = Region(shape=Rectangle(1, 2, 30, 40), defect_type="scratch", description="from line 3", group_id=4)
    masked = Region(shape=PixelMask.from_array(mask), defect_type="scratch", origin="assist")
    label = ImageLabel(
        WIDTH, HEIGHT, verdict=Verdict.NG, defect_type="scratch", regions=(rectangle, masked), comment="keep"
    )
    loaded = document_from_label(label, WIDTH, HEIGHT)
    saved = label_from_document(loaded)
    assert saved == label
    loaded.document.replace_shape(CanvasShape(1, "rectangle", ((5.0, 6.0), (30.0, 40.0)), "scratch"))
    layer = loaded.document.masks[0]
    loaded.document.set_mask_pixels(layer.mask_id, QRect(0, 0, 2, 2), np.full((2, 2), 255, np.uint8))
    edited = label_from_document(loaded)
    assert edited.regions[0].description == "from line 3"
    assert edited.regions[0].group_id == 4
    assert edited.regions[0].shape == Rectangle(5.0, 6.0, 30.0, 40.0)
    assert edited.regions[1].region_id == masked.region_id
    assert edited.regions[1].shape.area == 200 + 4
    assert edited.comment == "keep"


def test_five_megapixel_stroke_stores_patch(qtbot):
    from app.gui.canvas.commands import AddMaskCommand

    view = CanvasView(QUndoStack())
    qtbot.addWidget(view)
    view.resize(1000, 750)
    view.show()
    width, height = 2592, 1944
    pixels = np.random.default_rng(5).integers(0, 4096, size=(height, width), dtype=np.uint16)
    loaded = document_from_label(ImageLabel(width, height), width, height)
    view.label_scene.set_image(pixels, loaded.document, [])
    view.fit_to_window()
    view.brush_size = 40
    view.set_tool("brush")
    drag(view, [(1000, 1000), (1100, 1050), (1200, 1100)])
    command = view.undo_stack.command(0)
    assert isinstance(command, AddMaskCommand)
    assert command.stored_pixel_count < 400 * 200
    assert loaded.document.mask[1050, 1100] == 255
    view.undo_stack.undo()
    assert not loaded.document.mask.any()
