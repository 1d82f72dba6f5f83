"""Several mask regions per image: brush and eraser edit the chosen region, and regions stay apart on save and export."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from labeling.formats.coco import export_coco
from labeling.formats.labelme import export_labelme
from labeling.formats.mvtec import export_mvtec
from labeling.imageio import read_mask
from labeling.model import PixelMask, Region, Verdict
from labeling.project import Project
from tests.gui.gui_input import click, drag

pytestmark = pytest.mark.gui

IMAGE_ID = "camera/part_0"
HEIGHT, WIDTH = 240, 320


@pytest.fixture
def page(make_window, project_dir):
    window = make_window()
    assert window.pages["project"].open_project(project_dir)
    window.show_page("label")
    label_page = window.pages["label"]
    label_page.canvas.resize(800, 600)
    assert label_page.open_image(IMAGE_ID)
    label_page.canvas.setFocus()
    return label_page


def paint_two_regions(page):
    """Paint a scratch region on the left and a dent region on the right that overlaps it by a few pixels."""
    canvas = page.canvas
    page.panel.brush_size.setValue(9)
    page._choose_type_number(1)
    canvas.set_tool("brush")
    drag(canvas, [(40, 100), (100, 100)])
    page.mask_list.new_button.click()
    page._choose_type_number(2)
    drag(canvas, [(96, 100), (160, 100)])
    return page.loaded.document


def test_new_region_keeps_types_apart(page):
    document = paint_two_regions(page)
    layers = document.masks
    assert [layer.label for layer in layers] == ["scratch", "dent"]
    assert layers[0].pixels[100, 50] == 255
    assert layers[0].pixels[100, 150] == 0
    assert layers[1].pixels[100, 150] == 255
    assert layers[0].pixels[100, 98] == 255
    assert layers[1].pixels[100, 98] == 255
    assert document.active_mask_id == layers[1].mask_id
    assert page.mask_list.list_widget.count() == 2
    assert page.mask_list.list_widget.currentRow() == 1
    assert "dent" in page.mask_list.list_widget.item(1).text()


def test_regions_survive_save_and_reload(page, make_window, project_dir):
    document = paint_two_regions(page)
    areas = [layer.area for layer in document.masks]
    assert page.save()
    with Project.open(project_dir) as project:
        label = project.get_label(IMAGE_ID)
    masks = [region for region in label.regions if isinstance(region.shape, PixelMask)]
    assert [region.defect_type for region in masks] == ["scratch", "dent"]
    assert [region.shape.area for region in masks] == areas
    assert all(region.origin == "manual" for region in masks)

    page.context.window.close()
    reopened = make_window()
    assert reopened.pages["project"].open_project(project_dir)
    other = reopened.pages["label"]
    assert other.open_image(IMAGE_ID)
    layers = other.loaded.document.masks
    assert [layer.label for layer in layers] == ["scratch", "dent"]
    assert [layer.area for layer in layers] == areas
    assert [layer.region_id for layer in layers] == [region.region_id for region in masks]
    assert not other.loaded.document.modified


def test_brush_extends_active_region(page):
    document = paint_two_regions(page)
    first = document.masks[0]
    page.canvas.set_tool("select")
    click(page.canvas, 50, 100)
    assert document.active_mask_id == first.mask_id
    assert page.mask_list.list_widget.currentRow() == 0
    page.canvas.set_tool("brush")
    drag(page.canvas, [(50, 160), (60, 160)])
    assert len(document.masks) == 2
    assert first.pixels[160, 55] == 255
    assert document.masks[1].pixels[160, 55] == 0


def test_eraser_edits_active_region_only(page):
    document = paint_two_regions(page)
    scratch, dent = document.masks
    page.canvas.set_tool("eraser")
    drag(page.canvas, [(98, 100), (98, 101)])
    assert dent.pixels[100, 98] == 0
    assert scratch.pixels[100, 98] == 255
    page.undo_stack.undo()
    assert dent.pixels[100, 98] == 255


def test_eraser_without_active_region_erases_all(page):
    document = paint_two_regions(page)
    scratch, dent = document.masks
    page.mask_list.new_button.click()
    assert document.active_mask_id == 0
    page.canvas.set_tool("eraser")
    drag(page.canvas, [(98, 100), (98, 101)])
    assert scratch.pixels[100, 98] == 0
    assert dent.pixels[100, 98] == 0
    page.undo_stack.undo()
    assert scratch.pixels[100, 98] == 255
    assert dent.pixels[100, 98] == 255


def test_undo_redo_region_strokes(page):
    document = paint_two_regions(page)
    first_id, second_id = (layer.mask_id for layer in document.masks)
    page.canvas.setFocus()
    QTest.keyClick(page.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [layer.mask_id for layer in document.masks] == [first_id]
    assert document.active_mask_id == 0
    QTest.keyClick(page.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    layers = document.masks
    assert [layer.mask_id for layer in layers] == [first_id, second_id]
    assert layers[1].label == "dent"
    assert layers[1].pixels[100, 150] == 255


def test_delete_region_and_undo(page):
    document = paint_two_regions(page)
    scratch_id = document.masks[0].mask_id
    page.canvas.set_tool("select")
    click(page.canvas, 50, 100)
    QTest.keyClick(page.canvas, Qt.Key.Key_Delete)
    assert [layer.label for layer in document.masks] == ["dent"]
    page.undo_stack.undo()
    assert [layer.mask_id for layer in document.masks][0] == scratch_id
    assert [layer.label for layer in document.masks] == ["scratch", "dent"]
    page.mask_list.list_widget.setCurrentRow(1)
    page.mask_list.delete_button.click()
    assert [layer.label for layer in document.masks] == ["scratch"]


def test_type_shortcut_relabels_active_region(page):
    document = paint_two_regions(page)
    page.mask_list.list_widget.setCurrentRow(0)
    page._choose_type_number(2)
    assert [layer.label for layer in document.masks] == ["dent", "dent"]
    page.undo_stack.undo()
    assert [layer.label for layer in document.masks] == ["scratch", "dent"]


def test_overlay_colours_follow_types(page):
    paint_two_regions(page)
    scene = page.canvas.label_scene
    scratch = scene.mask_color(50, 100)
    dent = scene.mask_color(150, 100)
    assert scratch is not None
    assert dent is not None
    assert scratch != dent
    assert scene.mask_color(300, 20) is None


def test_exports_keep_regions_apart(page, project_dir, tmp_path):
    document = paint_two_regions(page)
    union = document.mask > 0
    assert page.save()
    with Project.open(project_dir) as project:
        export_labelme(project, tmp_path / "labelme", [IMAGE_ID])
        export_coco(project, tmp_path / "coco.json", [IMAGE_ID])
        export_mvtec(project, tmp_path / "mvtec", [IMAGE_ID])
    labelme = json.loads((tmp_path / "labelme" / f"{IMAGE_ID}.json").read_text(encoding="utf-8"))
    mask_shapes = [shape for shape in labelme["shapes"] if shape["shape_type"] == "mask"]
    assert sorted(shape["label"] for shape in mask_shapes) == ["dent", "scratch"]
    coco = json.loads((tmp_path / "coco.json").read_text(encoding="utf-8"))
    names = {category["id"]: category["name"] for category in coco["categories"]}
    assert sorted(names[annotation["category_id"]] for annotation in coco["annotations"]) == ["dent", "scratch"]
    mask_files = sorted((tmp_path / "mvtec" / "ground_truth").rglob("*.png"))
    assert len(mask_files) == 1
    merged = read_mask(mask_files[0], shape=(HEIGHT, WIDTH))
    assert np.array_equal(merged, union)


def test_overlapping_imported_masks_round_trip(page, project_dir):
    first = np.zeros((HEIGHT, WIDTH), dtype=bool)
    first[10:40, 10:60] = True
    second = np.zeros((HEIGHT, WIDTH), dtype=bool)
    second[30:70, 50:90] = True
    regions = (
        Region(shape=PixelMask.from_array(first), defect_type="scratch", origin="import"),
        Region(shape=PixelMask.from_array(second), defect_type="dent", origin="import", description="overlaps"),
    )
    project = page.context.session.project
    base = project.get_label("camera/part_1")
    project.save_label("camera/part_1", replace(base, verdict=Verdict.NG, defect_type="dent", regions=regions))
    assert page.open_image("camera/part_1")
    document = page.loaded.document
    assert [layer.area for layer in document.masks] == [int(first.sum()), int(second.sum())]
    page._set_verdict(Verdict.NG.value)
    assert page.save()
    saved = project.get_label("camera/part_1")
    assert saved.regions == regions


def test_empty_region_not_saved(page, project_dir):
    document = paint_two_regions(page)
    dent = document.masks[1]
    page.canvas.set_tool("eraser")
    page.panel.brush_size.setValue(200)
    drag(page.canvas, [(130, 100), (131, 100)])
    assert dent.area == 0
    assert page.save()
    with Project.open(project_dir) as project:
        label = project.get_label(IMAGE_ID)
    assert [region.defect_type for region in label.regions] == ["scratch"]
