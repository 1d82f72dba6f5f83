"""End-to-end labeling through the real main window: draw, undo, navigate, save, reopen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from labeling.model import PixelMask, Polygon, Rectangle, Verdict
from labeling.project import Project
from tests.gui.gui_input import click, drag

pytestmark = pytest.mark.gui


def open_label_page(window, project_dir):
    assert window.pages["project"].open_project(project_dir)
    window.show_page("label")
    page = window.pages["label"]
    page.canvas.resize(800, 600)
    page.canvas.setFocus()
    return page


def press(widget, key, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(widget, key, modifier)


def test_label_draw_undo_navigate_reopen(make_window, project_dir):
    window = make_window()
    page = open_label_page(window, project_dir)
    ids = [page.browser.model.image_id(row) for row in range(page.browser.model.rowCount())]
    assert ids == ["camera/part_0", "camera/part_1", "camera/part_2", "camera/part_3_deep"]

    assert page.next_image()
    assert page.image_id == ids[0]
    canvas = page.canvas
    press(canvas, Qt.Key.Key_1)
    assert page.loaded.document.verdict == Verdict.GOOD.value

    press(canvas, Qt.Key.Key_D)
    assert page.image_id == ids[1]
    press(canvas, Qt.Key.Key_3)
    document = page.loaded.document
    assert document.verdict == Verdict.NG.value
    assert document.defect_type == "scratch"

    press(canvas, Qt.Key.Key_R)
    assert canvas.tool_name == "rectangle"
    drag(canvas, [(20, 30), (60, 60), (100, 90)])
    press(canvas, Qt.Key.Key_P)
    for x, y in ((150, 40), (220, 40), (200, 120)):
        click(canvas, x, y)
    press(canvas, Qt.Key.Key_Return)
    press(canvas, Qt.Key.Key_B)
    page.panel.brush_size.setValue(9)
    drag(canvas, [(40, 160), (80, 170), (120, 180)])
    kinds = sorted(shape.kind for shape in document.shapes)
    assert kinds == ["polygon", "rectangle"]
    painted = int((document.mask > 0).sum())
    assert painted > 0
    assert document.mask[170, 80] == 255

    press(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not document.mask.any()
    press(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [shape.kind for shape in document.shapes] == ["rectangle"]
    press(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    press(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert sorted(shape.kind for shape in document.shapes) == ["polygon", "rectangle"]
    assert int((document.mask > 0).sum()) == painted

    press(canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not document.modified
    press(canvas, Qt.Key.Key_A)
    assert page.image_id == ids[0]
    assert page.loaded.document.verdict == Verdict.GOOD.value
    window.close()

    with Project.open(project_dir) as project:
        first = project.get_label(ids[0])
        second = project.get_label(ids[1])
    assert first.verdict == Verdict.GOOD
    assert second.verdict == Verdict.NG
    assert second.defect_type == "scratch"
    shapes = {type(region.shape) for region in second.regions}
    assert shapes == {Rectangle, Polygon, PixelMask}
    rectangle = next(region.shape for region in second.regions if isinstance(region.shape, Rectangle))
    assert (rectangle.x0, rectangle.y0) == pytest.approx((20, 30), abs=1.0)
    assert (rectangle.x1, rectangle.y1) == pytest.approx((100, 90), abs=1.0)
    mask = next(region.shape for region in second.regions if isinstance(region.shape, PixelMask))
    assert mask.area == painted
    assert all(region.defect_type == "scratch" for region in second.regions)

    reopened = make_window()
    page = open_label_page(reopened, project_dir)
    assert page.open_image(ids[1])
    document = page.loaded.document
    assert document.verdict == Verdict.NG.value
    assert sorted(shape.kind for shape in document.shapes) == ["polygon", "rectangle"]
    assert int((document.mask > 0).sum()) == painted
    assert not document.modified
