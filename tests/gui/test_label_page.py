"""Label page details: filters and counts, thumbnails, model-assist proposals and save conflicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from labeling.model import Verdict
from labeling.project import Project
from tests.gui.gui_input import drag

pytestmark = pytest.mark.gui

IDS = ["camera/part_0", "camera/part_1", "camera/part_2", "camera/part_3_deep"]


@pytest.fixture
def label_page(make_window, project_dir):
    window = make_window()
    assert window.pages["project"].open_project(project_dir)
    window.show_page("label")
    page = window.pages["label"]
    page.canvas.resize(800, 600)
    return page


def choose(combo, key):
    combo.setCurrentIndex(combo.findData(key))


def propose(page, qtbot):
    """Press Propose Mask and wait until the worker thread's result is shown."""
    page.assist.propose_button.click()
    qtbot.waitUntil(lambda: not page.assist.busy, timeout=10_000)


def test_filters_follow_labels(label_page):
    page = label_page
    assert page.open_image(IDS[0])
    page.panel.verdict_buttons.buttons()[1].click()
    assert page.open_image(IDS[1])
    page._choose_type_number(2)
    assert page.save()
    browser = page.browser
    choose(browser.verdict_filter, "good")
    assert [browser.model.image_id(row) for row in range(browser.model.rowCount())] == [IDS[0]]
    assert browser.verdict_filter.currentText() == "Good (1)"
    assert browser.verdict_filter.count() == 6
    choose(browser.verdict_filter, "type:dent")
    assert [browser.model.image_id(row) for row in range(browser.model.rowCount())] == [IDS[1]]
    choose(browser.verdict_filter, "unlabelled")
    assert browser.model.rowCount() == 2
    assert browser.count_label.text() == "2 of 4 images"
    choose(browser.split_filter, "train")
    assert browser.model.rowCount() == 0


def test_next_image_walks_unlabelled_filter(label_page):
    page = label_page
    choose(page.browser.verdict_filter, "unlabelled")
    assert page.next_image()
    assert page.image_id == IDS[0]
    page._set_verdict(Verdict.GOOD.value)
    assert page.next_image()
    assert page.image_id == IDS[1]
    assert page.browser.model.row_of(IDS[0]) == -1
    assert not page.previous_image()
    assert page.image_id == IDS[1]


def test_split_choice_saved(label_page, project_dir):
    page = label_page
    assert page.open_image(IDS[2])
    choose(page.panel.split_combo, "validation")
    page.panel.split_chosen.emit("validation")
    assert page.next_image()
    with Project.open(project_dir) as project:
        assert project.get_label(IDS[2]).split.value == "validation"


def test_thumbnails_load_in_background(label_page, qtbot):
    browser = label_page.browser
    browser.list_view.resize(200, 800)
    browser.list_view.show()
    for row in range(browser.model.rowCount()):
        browser.model.data(browser.model.index(row), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: len(browser.thumbnails._images) == 4, timeout=10_000)
    thumbnail = next(iter(browser.thumbnails._images.values()))
    assert max(thumbnail.width(), thumbnail.height()) == 96


def test_proposal_needs_accept(label_page, qtbot):
    page = label_page
    calls = []

    def provider(path):
        calls.append(path)
        anomaly = np.zeros((60, 80), dtype=np.float32)
        anomaly[10:20, 10:30] = 1.0
        return anomaly

    page.set_anomaly_map_provider(provider)
    assert page.open_image(IDS[0])
    document = page.loaded.document
    propose(page, qtbot)
    assert calls == [page.context.session.project.image_path(IDS[0])]
    assert page.canvas.label_scene.has_proposal()
    assert not document.mask.any()
    assert "1 regions" in page.assist.summary.text()
    page.assist.reject_button.click()
    assert not page.canvas.label_scene.has_proposal()
    assert not document.mask.any()
    assert not document.modified

    propose(page, qtbot)
    page.assist.accept_button.click()
    assert document.mask.any()
    assert document.verdict == Verdict.NG.value
    rows, cols = np.nonzero(document.mask)
    assert (rows.min(), cols.min()) == (40, 40)
    page.undo_stack.undo()
    assert not document.mask.any()
    assert document.verdict == Verdict.UNLABELLED.value


def test_proposal_dropped_on_image_change(label_page, qtbot):
    page = label_page
    page.set_anomaly_map_provider(lambda path: np.ones((10, 10), dtype=np.float32))
    assert page.open_image(IDS[0])
    propose(page, qtbot)
    assert page.open_image(IDS[1])
    assert not page.canvas.label_scene.has_proposal()
    assert not page.loaded.document.mask.any()


def test_provider_without_map_reports(label_page, qtbot):
    page = label_page
    page.set_anomaly_map_provider(lambda path: None)
    assert page.open_image(IDS[0])
    propose(page, qtbot)
    assert "no anomaly map" in page.context.window.statusBar().currentMessage()


def test_conflicting_save_reported(label_page, project_dir, monkeypatch):
    page = label_page
    assert page.open_image(IDS[0])
    with Project.open(project_dir) as other:
        label = other.get_label(IDS[0])
        other.save_label(IDS[0], replace(label, comment="edited in another window"))
    page._set_verdict(Verdict.GOOD.value)
    assert not page.save()
    assert "changed on disk" in page.context.errors.last_message
    assert page.loaded.document.modified
    assert not page.next_image()
    assert page.image_id == IDS[0]
    answers = []
    monkeypatch.setattr(page, "confirm_discard", lambda: answers.append("asked") or False)
    assert not page.context.window.close()
    assert answers == ["asked"]
    monkeypatch.setattr(page, "confirm_discard", lambda: True)
    assert page.context.window.close()


def test_delete_key_removes_selected(label_page):
    page = label_page
    assert page.open_image(IDS[0])
    canvas = page.canvas
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_R)
    drag(canvas, [(20, 20), (80, 60)])
    QTest.keyClick(canvas, Qt.Key.Key_V)
    drag(canvas, [(40, 40), (40, 40)])
    assert canvas.label_scene.selected_shape_ids()
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert page.loaded.document.shapes == []


def test_replaced_image_file_reported(label_page, project_dir):
    from labeling.imageio import write_image

    page = label_page
    path = page.context.session.project.image_path(IDS[2])
    write_image(path, np.zeros((50, 60, 3), dtype=np.uint8))
    assert not page.open_image(IDS[2])
    assert "is for a 320x240 image, but the image file is 60x50" in page.context.errors.last_message
    assert page.image_id == ""


def test_next_image_from_middle_of_filter(label_page):
    page = label_page
    choose(page.browser.verdict_filter, "unlabelled")
    assert page.open_image(IDS[1])
    page._set_verdict(Verdict.GOOD.value)
    assert page.next_image()
    assert page.image_id == IDS[2]


def test_opening_project_saves_pending_edit(label_page, project_dir):
    page = label_page
    assert page.open_image(IDS[0])
    page._set_verdict(Verdict.NG.value)
    assert page.context.window.pages["project"].open_project(project_dir)
    with Project.open(project_dir) as project:
        assert project.get_label(IDS[0]).verdict == Verdict.NG


def test_tool_shortcut_checks_toolbar_action(label_page):
    page = label_page
    page.canvas.set_tool("brush")
    assert page.context.actions["tool_brush"].isChecked()
    assert not page.context.actions["tool_select"].isChecked()


def test_exif_rotated_jpeg_shown_upright(label_page, tmp_path):
    from PIL import Image

    page = label_page
    pixels = np.zeros((60, 100, 3), dtype=np.uint8)
    pixels[:10, :] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif)
    report = page.context.session.import_images([path], copy=False)
    assert page.open_image(report.items[0])
    assert (page.image.width, page.image.height) == (60, 100)
    scene_rect = page.canvas.label_scene.sceneRect()
    assert (scene_rect.width(), scene_rect.height()) == (60, 100)
    assert page.loaded.document.mask.shape == (100, 60)
    assert page.image.pixels[50, 55].min() > 200


def test_panel_shows_configured_keys(label_page):
    page = label_page
    good = page.panel.findChild(QPushButton, "verdict_good")
    assert good.text() == "Good (1)"
    assert page.panel.defect_type_combo.itemText(1) == "scratch  [3]"
    page.context.actions.set_shortcut("verdict_good", "G")
    page.context.actions.set_shortcut("defect_type_1", "")
    assert good.text() == "Good (G)"
    assert page.panel.defect_type_combo.itemText(1) == "scratch"
    page.context.actions.reset_shortcuts()
    assert good.text() == "Good (1)"
