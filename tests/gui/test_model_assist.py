"""Model-assisted labeling with a really trained model: find it, run it off the GUI thread, accept, reject, errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.gui.pages.label_assist import assist_model_key
from app.gui.settings import studio_settings
from engine.runtime import Inspector
from labeling.assist import propose_regions
from labeling.imageio import read_image
from labeling.model import PixelMask, Verdict
from labeling.project import Project
from tests.gui.gui_input import drag

pytestmark = pytest.mark.gui

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "assets" / "sample"
CLASSES = ("crack", "break", "fray")
CRACK_ID = "test/crack/exp1_num_249594"
WAIT_MS = 120_000


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """A model trained once on the sample's good images at 128 x 128, by the same command users run."""
    from app.cli.main import main as cli_main

    out = tmp_path_factory.mktemp("assist") / "model"
    status = cli_main(["train", str(SAMPLE / "train" / "good"), "--size", "128", "--out", str(out)])
    assert status == 0
    return out


@pytest.fixture
def sample_project(tmp_path) -> Path:
    """A project with copies of the sample's test images and no model."""
    root = tmp_path / "project"
    with Project.create(root, "Sample", CLASSES) as project:
        report = project.add_images([SAMPLE / "test"], copy=True)
        assert CRACK_ID in report.items
    return root


def add_model(project_root: Path, trained_model: Path, name: str = "model-20260101-000000") -> Path:
    """Copy the trained model where the Train page writes models."""
    target = project_root / "models" / name
    shutil.copytree(trained_model, target)
    return target


def open_label_page(make_window, project_root: Path):
    window = make_window()
    assert window.pages["project"].open_project(project_root)
    window.show_page("label")
    page = window.pages["label"]
    page.canvas.resize(800, 600)
    return page


def run_proposal(page, qtbot) -> None:
    """Press Propose Mask, check that the model runs while the GUI stays live, and wait for the result."""
    page.assist.propose_button.click()
    assert page.assist.busy
    assert not page.assist.propose_button.isEnabled()
    qtbot.waitUntil(lambda: not page.assist.busy, timeout=WAIT_MS)


def test_propose_uses_project_model(make_window, qtbot, sample_project, trained_model):
    model_dir = add_model(sample_project, trained_model)
    page = open_label_page(make_window, sample_project)
    assert page.assist.model_combo.currentData() == str(model_dir)
    assert page.open_image(CRACK_ID)
    assert page.assist.propose_button.isEnabled()
    run_proposal(page, qtbot)
    assert page.canvas.label_scene.has_proposal()
    assert "model threshold" in page.assist.threshold_value.text()

    page.assist.min_area.setValue(1)
    page.assist.threshold_slider.setValue(int(page.assist.threshold_slider.maximum() * 0.7))
    image = read_image(page.context.session.project.image_path(CRACK_ID))
    reference_map = Inspector.open(model_dir, device="cpu").inspect_images([image])[0].anomaly_map
    expected = propose_regions(reference_map, page.assist.threshold(), min_area_px=1)
    proposals = page.assist.proposals()
    assert len(proposals) == len(expected)
    assert len(proposals) >= 1
    assert [proposal.mask for proposal in proposals] == [proposal.mask for proposal in expected]
    assert not page.loaded.document.masks


def test_accept_adds_editable_regions(make_window, qtbot, sample_project, trained_model):
    add_model(sample_project, trained_model)
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    page._choose_type_number(1)
    run_proposal(page, qtbot)
    page.assist.min_area.setValue(1)
    page.assist.threshold_slider.setValue(int(page.assist.threshold_slider.maximum() * 0.7))
    count = len(page.assist.proposals())
    assert count >= 1
    page.assist.accept_button.click()
    document = page.loaded.document
    assert len(document.masks) == count
    assert all(layer.origin == "assist" for layer in document.masks)
    assert all(layer.label == "crack" for layer in document.masks)
    assert document.active_mask_id == document.masks[0].mask_id
    assert not page.canvas.label_scene.has_proposal()

    first = document.masks[0]
    before = first.area
    page.canvas.set_tool("eraser")
    page.panel.brush_size.setValue(500)
    drag(page.canvas, [(100, 100), (101, 100)])
    assert first.area < before
    page.undo_stack.undo()
    assert first.area == before

    assert page.save()
    saved = page.context.session.project.get_label(CRACK_ID)
    masks = [region for region in saved.regions if isinstance(region.shape, PixelMask)]
    assert len(masks) == count
    assert all(region.origin == "assist" for region in masks)
    assert saved.verdict == Verdict.NG

    page.undo_stack.undo()
    assert document.masks == []


def test_reject_keeps_human_regions(make_window, qtbot, sample_project, trained_model):
    add_model(sample_project, trained_model)
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    document = page.loaded.document
    human = document.new_mask_layer("break")
    human.pixels[10:30, 10:40] = 255
    document.add_mask(human)
    assert page.save()
    human_pixels = human.pixels.copy()

    run_proposal(page, qtbot)
    page.assist.reject_button.click()
    assert not page.canvas.label_scene.has_proposal()
    assert not document.modified
    assert [layer.mask_id for layer in document.masks] == [human.mask_id]

    run_proposal(page, qtbot)
    page.assist.min_area.setValue(1)
    page.assist.threshold_slider.setValue(0)
    page.assist.accept_button.click()
    assert document.masks[0] is human
    assert np.array_equal(human.pixels, human_pixels)
    assert human.label == "break"
    assert len(document.masks) >= 2


def test_no_model_disables_propose(make_window, sample_project):
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    assert not page.assist.propose_button.isEnabled()
    assert "Train page" in page.assist.propose_button.toolTip()
    assert page.assist.model_combo.currentData() == ""


def test_trained_model_enables_propose(make_window, sample_project, trained_model):
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    assert not page.assist.propose_button.isEnabled()
    model_dir = add_model(sample_project, trained_model)
    page.context.session.announce_models_changed()
    assert page.assist.propose_button.isEnabled()
    assert page.assist.model_combo.currentData() == str(model_dir)


def test_finished_training_selects_new_model(make_window, sample_project, trained_model):
    from app.gui.workflow.jobs import DONE, JobEvent

    older = add_model(sample_project, trained_model, "model-20260101-000000")
    page = open_label_page(make_window, sample_project)
    combo = page.assist.model_combo
    assert page.assist_models.choose_folder(older)
    newer = add_model(sample_project, trained_model, "model-20260202-000000")
    result = {
        "model_dir": str(newer),
        "image_count": 8,
        "input_size": [128, 128],
        "threshold": 1.0,
        "train_seconds": 1.0,
    }
    page.context.window.pages["train"]._on_event(JobEvent(DONE, result=result))
    assert combo.currentData() == str(newer)
    assert combo.count() == 2
    assert not page.assist.propose_button.isEnabled()
    assert page.open_image(CRACK_ID)
    assert page.assist.propose_button.isEnabled()


def test_broken_model_names_folder(make_window, qtbot, sample_project, trained_model):
    model_dir = add_model(sample_project, trained_model)
    with (model_dir / "model.onnx").open("ab") as graph:
        graph.write(b"damaged")
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    run_proposal(page, qtbot)
    message = page.context.errors.last_message
    assert f"The model folder {model_dir} cannot be used." in message
    assert "Train page" in message
    assert not page.canvas.label_scene.has_proposal()
    assert page.assist.propose_button.isEnabled()


def test_unreadable_image_names_file(make_window, qtbot, sample_project, trained_model):
    add_model(sample_project, trained_model)
    page = open_label_page(make_window, sample_project)
    assert page.open_image(CRACK_ID)
    image_path = page.context.session.project.image_path(CRACK_ID)
    image_path.write_bytes(b"not an image")
    run_proposal(page, qtbot)
    message = page.context.errors.last_message
    assert f"The model could not read the image {image_path}." in message
    assert "readable image" in message


def test_chosen_folder_remembered(make_window, sample_project, trained_model, tmp_path):
    page = open_label_page(make_window, sample_project)
    assert not page.assist_models.choose_folder(tmp_path)
    assert "is not a model folder" in page.context.errors.last_message
    assert page.assist_models.choose_folder(trained_model)
    assert studio_settings().value(assist_model_key(sample_project)) == str(trained_model)
    assert page.assist.model_combo.currentData() == str(trained_model)
    page.context.window.close()

    reopened = open_label_page(make_window, sample_project)
    assert reopened.open_image(CRACK_ID)
    assert reopened.assist.model_combo.currentData() == str(trained_model)
    assert reopened.assist.propose_button.isEnabled()


def test_model_choice_remembered(make_window, sample_project, trained_model):
    older = add_model(sample_project, trained_model, "model-20260101-000000")
    newer = add_model(sample_project, trained_model, "model-20260202-000000")
    page = open_label_page(make_window, sample_project)
    combo = page.assist.model_combo
    assert combo.currentData() == str(newer)
    combo.setCurrentIndex(combo.findData(str(older)))
    combo.activated.emit(combo.currentIndex())
    assert page.assist_models.model_dir == older
    page.context.window.close()

    reopened = open_label_page(make_window, sample_project)
    assert reopened.assist.model_combo.currentData() == str(older)


def test_label_page_imports_no_torch():
    code = (
        "import os, sys\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import app.gui.pages.label_page\nprint('torch' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert output == ["False"]

