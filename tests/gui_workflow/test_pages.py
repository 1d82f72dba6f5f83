"""Workflow pages on their own: errors as dialogs, settings kept per user, station deploy, training cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.gui.settings import studio_settings
from labeling.imageio import write_image
from labeling.project import Project

pytestmark = pytest.mark.gui

TOKEN = "gui-test-token"
WAIT_MS = 60_000


@pytest.fixture
def good_project(tmp_path) -> Path:
    """A project with six small good images in the train split."""
    rng = np.random.default_rng(7)
    for index in range(6):
        write_image(tmp_path / "data" / "train" / "good" / f"{index}.png", rng.integers(90, 110, (96, 96), np.uint8))
    root = tmp_path / "project"
    from app.gui.workflow.dataset_import import import_dataset

    with Project.create(root, "parts", []) as project:
        import_dataset(project, tmp_path / "data", copy=False)
    return root


def test_pages_registered_in_order(make_window):
    window = make_window()
    assert list(window.pages)[:6] == ["project", "label", "train", "evaluate", "deploy", "inspect"]


def test_train_without_project_reports_error(make_window):
    window = make_window()
    window.show_page("train")
    page = window.pages["train"]
    assert not page.train_button.isEnabled()
    assert not page.start_training()
    assert "No project is open." in window.errors.last_message


def test_train_settings_persist(make_window, good_project):
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    page.size_combo.setCurrentIndex(page.size_combo.findData("192"))
    page.coreset_spin.setValue(0.25)
    page.pick_radio.setChecked(True)
    page.pick_spin.setValue(3)
    page._save_settings()
    window.close()
    reopened = make_window().pages["train"]
    assert reopened.size_combo.currentData() == "192"
    assert reopened.coreset_spin.value() == pytest.approx(0.25)
    assert reopened.pick_radio.isChecked()
    assert reopened.pick_spin.value() == 3


def test_train_request_from_project(make_window, good_project):
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    assert "6" in page.good_count_label.text()
    page.pick_radio.setChecked(True)
    page.pick_spin.setValue(4)
    request = page.build_request()
    assert len(request.good_images) == 6
    assert request.pick_count == 4
    assert Path(request.model_dir).parent == good_project / "models"


def test_train_cancel_writes_no_model(make_window, good_project, qtbot):
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    assert page.start_training()
    page.cancel_training()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_MS)
    assert page.last_result is None
    assert page.train_button.isEnabled()
    assert not any((good_project / "models").glob("*/manifest.json"))


def test_evaluate_without_model_reports_error(make_window, good_project):
    window = make_window()
    window.pages["project"].open_project(good_project)
    window.show_page("evaluate")
    page = window.pages["evaluate"]
    assert page.model_combo.count() == 0
    assert not page.start_evaluation()
    assert "No model to evaluate." in window.errors.last_message


def test_inspect_missing_folder_reports_error(make_window, tmp_path):
    window = make_window()
    page = window.pages["inspect"]
    page.select_bundle(tmp_path / "bundle")
    page.folder_edit.setText(str(tmp_path / "missing"))
    assert not page.start_inspection()
    assert "does not exist" in window.errors.last_message


def test_deploy_needs_a_target(make_window, good_project):
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["deploy"]
    (good_project / "models" / "model-1").mkdir(parents=True)
    (good_project / "models" / "model-1" / "manifest.json").write_text("{}", encoding="utf-8")
    page.refresh_lists()
    for check in page.target_checks.values():
        check.setChecked(False)
    assert not page.start_build()
    assert "No target chosen." in window.errors.last_message


@pytest.fixture
def deploy_station(tmp_path):
    """A real deploy service on 127.0.0.1 that installs stand-in bundles."""
    from app.station.bundles import BundleManager
    from app.station.deploy_service import DeployService
    from app.station.judge import JudgeSlot
    from app.station.store import ResultStore
    from tests.station.fakes import open_fake_bundle

    slot = JudgeSlot()
    store = ResultStore.open(tmp_path / "store")
    bundles = BundleManager(tmp_path / "deploy", slot, open_fake_bundle)
    service = DeployService(bundles, store, lambda: {"bundles": bundles.status()}, TOKEN, host="127.0.0.1", port=0)
    port = service.start()
    yield slot, port
    service.stop()
    store.close()


def test_deploy_sends_bundle_to_station(make_window, good_project, deploy_station, qtbot):
    from tests.station.fakes import write_fake_bundle

    slot, port = deploy_station
    write_fake_bundle(good_project / "bundles" / "model-1-cpu-fp32", "bundle-from-studio")
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["deploy"]
    page.refresh_lists()
    page.add_station("127.0.0.1", port)
    page.token_edit.setText(TOKEN)
    assert page.send_to_stations()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_MS)
    assert "installed bundle-from-studio" in page.last_message
    assert slot.current().bundle_id == "bundle-from-studio"
    assert page.check_stations()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_MS)
    assert f"127.0.0.1:{port}: running" in page.last_message
    saved = studio_settings().value("deploy/stations")
    assert str(port) in str(saved)


def test_deploy_wrong_token_reported(make_window, good_project, deploy_station, qtbot):
    from tests.station.fakes import write_fake_bundle

    slot, port = deploy_station
    write_fake_bundle(good_project / "bundles" / "model-1-cpu-fp32", "bundle-1")
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["deploy"]
    page.refresh_lists()
    page.add_station("127.0.0.1", port)
    page.token_edit.setText("wrong")
    assert page.send_to_stations()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_MS)
    assert "failed: UNAUTHENTICATED" in page.last_message
    assert slot.current() is None


def test_train_picks_and_teaches_types(make_window, good_project, qtbot, tmp_path):
    import dataclasses

    from labeling.model import PixelMask, Region, Split, Verdict

    rng = np.random.default_rng(11)
    with Project.open(good_project) as project:
        project.ensure_classes(["scratch", "dent"])
        for index, name in enumerate(("scratch", "scratch", "dent")):
            pixels = rng.integers(90, 110, (96, 96), np.uint8)
            mask = np.zeros((96, 96), bool)
            mask[20 + 10 * index : 40 + 10 * index, 30:50] = True
            pixels[mask] = 250 if name == "scratch" else 10
            path = write_image(tmp_path / "ng" / f"{name}{index}.png", pixels)
            (image_id,) = project.add_images([path]).items
            label = dataclasses.replace(
                project.get_label(image_id), verdict=Verdict.NG, defect_type=name, split=Split.TRAIN,
                regions=(Region(shape=PixelMask.from_array(mask), defect_type=name),),
            )
            project.save_label(image_id, label)
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    page.size_combo.setCurrentIndex(page.size_combo.findData("128"))
    assert page.types_check.isEnabled()
    assert "scratch: 2" in page.classifier_label.text()
    page.types_check.setChecked(True)
    page.pick_radio.setChecked(True)
    page.pick_spin.setValue(4)
    assert page.start_training()
    qtbot.waitUntil(lambda: page.poller is None, timeout=240_000)
    assert page.last_failure == ""
    assert page.last_result["image_count"] == 4
    assert len(set(page.last_result["picked"])) == 4
    assert page.last_result["defect_types"] == {"dent": 1, "scratch": 2}
    assert (Path(page.last_result["model_dir"]) / "training" / "defect_types.npz").is_file()
    assert "scratch 2" in page.result_label.text()


def test_project_drop_imports_dataset(make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    rng = np.random.default_rng(5)
    for folder in ("train/good", "test/good", "test/dent"):
        write_image(tmp_path / "dataset" / folder / "a.png", rng.integers(0, 255, (40, 50), np.uint8))
    window = make_window()
    page = window.pages["project"]
    assert page.create_project(tmp_path / "project", "dropped", [])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dataset"))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    page.dropEvent(event)
    counts = window.session.project.counts()
    assert counts.total == 3
    assert window.session.project.info.class_names == ("dent",)
    assert page.counts_tree.topLevelItem(0).text(1) == "3"


def test_train_failure_shown_as_dialog(make_window, good_project, qtbot):
    for image in (good_project.parent / "data" / "train" / "good").glob("*.png"):
        image.write_bytes(b"not a png")
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    assert page.start_training()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_MS)
    assert page.last_result is None
    assert "no readable good images" in page.last_failure
    assert "Training failed." in window.errors.last_message
    assert "Traceback" not in window.errors.last_message


def test_window_close_ends_training_worker(make_window, good_project, qtbot):
    window = make_window()
    window.pages["project"].open_project(good_project)
    page = window.pages["train"]
    assert page.start_training()
    job = page.poller.job
    qtbot.waitUntil(lambda: job.pid is not None, timeout=WAIT_MS)
    window.close()
    assert page.poller is None
    assert not job._process.is_alive()


def test_inspect_and_evaluate_choices_persist(make_window, good_project, tmp_path):
    window = make_window()
    window.pages["project"].open_project(good_project)
    evaluate = window.pages["evaluate"]
    evaluate.split_combo.setCurrentIndex(evaluate.split_combo.findData("all"))
    inspect = window.pages["inspect"]
    inspect.camera_radio.setChecked(True)
    inspect.camera_edit.setText(str(tmp_path / "clip.avi"))
    inspect.select_bundle(tmp_path / "bundle")
    inspect.start_inspection()
    inspect.stop_inspection()
    window.close()
    reopened = make_window()
    assert reopened.pages["evaluate"].split_combo.currentData() == "all"
    assert reopened.pages["inspect"].camera_radio.isChecked()
    assert reopened.pages["inspect"].camera_edit.text() == str(tmp_path / "clip.avi")
