"""Train page threshold choice: accepted false-reject rate, the margin rule, and the outlier warning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.gui.settings import studio_settings
from app.gui.workflow.dataset_import import import_dataset
from labeling.imageio import write_image
from labeling.project import Project
from tests.gui_workflow.conftest import OUTLIER_NAME

pytestmark = pytest.mark.gui

WAIT_TRAIN_MS = 240_000


def _project_from(dataset: Path, root: Path) -> Path:
    with Project.create(root, "parts", []) as project:
        import_dataset(project, dataset, copy=False)
    return root


@pytest.fixture
def small_project(tmp_path) -> Path:
    """A project with four small good images in the train split."""
    rng = np.random.default_rng(3)
    for index in range(4):
        write_image(tmp_path / "data" / "train" / "good" / f"{index}.png", rng.integers(90, 110, (64, 64), np.uint8))
    return _project_from(tmp_path / "data", tmp_path / "project")


def test_frr_control_default_one_percent(make_window, small_project):
    window = make_window()
    window.pages["project"].open_project(small_project)
    page = window.pages["train"]
    assert page.frr_spin.value() == pytest.approx(1.0)
    assert page.frr_spin.suffix() == " %"
    assert page.frr_spin.minimum() == pytest.approx(0.1)
    assert page.frr_spin.maximum() == pytest.approx(20.0)
    assert "defects pass" in page.frr_spin.toolTip()
    assert page.build_request().target_frr == pytest.approx(0.01)


def test_frr_control_reaches_request(make_window, small_project):
    window = make_window()
    window.pages["project"].open_project(small_project)
    page = window.pages["train"]
    page.frr_spin.setValue(5.0)
    request = page.build_request()
    assert request.target_frr == pytest.approx(0.05)


def test_margin_rule_replaces_frr(make_window, small_project):
    window = make_window()
    window.pages["project"].open_project(small_project)
    page = window.pages["train"]
    page.advanced_box.setChecked(True)
    assert not page.margin_spin.isEnabled()
    page.margin_rule_check.setChecked(True)
    page.margin_spin.setValue(0.75)
    assert page.margin_spin.isEnabled()
    assert not page.frr_spin.isEnabled()
    request = page.build_request()
    assert request.target_frr is None
    assert request.threshold_margin == pytest.approx(0.75)


def test_frr_setting_persists(make_window, small_project):
    window = make_window()
    window.pages["project"].open_project(small_project)
    page = window.pages["train"]
    page.frr_spin.setValue(2.5)
    page._save_settings()
    window.close()
    reopened = make_window().pages["train"]
    assert reopened.frr_spin.value() == pytest.approx(2.5)
    assert not reopened.margin_rule_check.isChecked()


def test_margin_rule_setting_persists(make_window, small_project):
    window = make_window()
    page = window.pages["train"]
    page.margin_rule_check.setChecked(True)
    page.margin_spin.setValue(1.5)
    page._save_settings()
    window.close()
    reopened = make_window().pages["train"]
    assert reopened.margin_rule_check.isChecked()
    assert reopened.advanced_box.isChecked()
    assert reopened.margin_spin.value() == pytest.approx(1.5)
    assert not reopened.frr_spin.isEnabled()


def test_old_margin_key_ignored(make_window):
    settings = studio_settings()
    settings.setValue("train/threshold_margin", 3.0)
    settings.sync()
    page = make_window().pages["train"]
    assert not page.margin_rule_check.isChecked()
    assert page.margin_spin.value() == pytest.approx(0.25)
    assert page.frr_spin.value() == pytest.approx(1.0)
    assert studio_settings().value("train/threshold_margin") is None


def test_no_warning_without_outliers(make_window):
    page = make_window().pages["train"]
    page.show_result(
        {
            "model_dir": "/models/model-1", "image_count": 20, "input_size": [128, 128], "threshold": 1.5,
            "train_seconds": 3.0, "threshold_method": "good-prediction-bound", "threshold_target_frr": 0.01,
            "threshold_good_count": 20, "good_above": 0, "good_above_images": [],
        }
    )
    assert page.threshold_label.text() == (
        "Threshold from 20 good images only, set for an accepted false-reject rate of 1.0%."
    )
    assert not page.threshold_warning.isVisibleTo(page)


def test_margin_rule_text(make_window):
    page = make_window().pages["train"]
    text = page.threshold_text(
        {"threshold_method": "good-max-plus-margin", "threshold_good_count": 8, "threshold_margin": 0.5}
    )
    assert text == "Threshold from 8 good images only, by the margin rule (margin 0.50)."


def test_unknown_rule_shows_note(make_window):
    page = make_window().pages["train"]
    text = page.threshold_text({"threshold_method": "future-rule", "threshold_note": "Chosen some other way."})
    assert text == "Chosen some other way."


def test_warning_lists_at_most_ten(make_window):
    page = make_window().pages["train"]
    names = [f"/data/good/{index}.png" for index in range(12)]
    page.show_result(
        {
            "model_dir": "/models/model-1", "image_count": 40, "input_size": [128, 128], "threshold": 1.5,
            "train_seconds": 3.0, "threshold_method": "defect-miss-rate", "threshold_good_count": 40,
            "threshold_defect_count": 5, "good_above": 12, "good_above_images": names,
        }
    )
    assert "5 labelled NG images" in page.threshold_label.text()
    text = page.threshold_warning.text()
    assert text.startswith("12 good training image(s) score above the threshold.")
    assert "9.png" in text
    assert "10.png" not in text
    assert "and 2 more" in text


def test_train_warns_about_outlier(make_window, outlier_dataset, qtbot, tmp_path):
    project_root = _project_from(outlier_dataset, tmp_path / "project")
    window = make_window()
    window.pages["project"].open_project(project_root)
    window.show_page("train")
    page = window.pages["train"]
    page.size_combo.setCurrentIndex(page.size_combo.findData("128"))
    page.frr_spin.setValue(2.0)
    assert page.start_training()
    assert not page.threshold_warning.isVisibleTo(page)
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_TRAIN_MS)
    assert page.last_failure == ""

    result = page.last_result
    assert result["image_count"] == 17
    assert result["threshold_method"] == "good-prediction-bound"
    assert result["threshold_target_frr"] == pytest.approx(0.02)
    assert result["good_above"] >= 1
    assert Path(result["good_above_images"][0]).name == OUTLIER_NAME
    manifest = json.loads((Path(result["model_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["training"]["threshold_target_frr"] == pytest.approx(0.02)
    assert manifest["training"]["good_images_above_threshold"] == result["good_above"]

    assert "2.0%" in page.threshold_label.text()
    assert page.threshold_label.toolTip() == manifest["postprocessing"]["threshold_note"]
    assert page.threshold_warning.isVisibleTo(page)
    assert "Check them for defects" in page.threshold_warning.text()
    assert OUTLIER_NAME in page.threshold_warning.text()


def test_threshold_texts_chinese(make_window, qapp):
    from app.gui.i18n import SIMPLIFIED_CHINESE, install_translators

    translators = install_translators(qapp, SIMPLIFIED_CHINESE)
    try:
        page = make_window().pages["train"]
        page.show_result(
            {
                "model_dir": "/models/model-1", "image_count": 17, "input_size": [128, 128], "threshold": 1.5,
                "train_seconds": 3.0, "threshold_method": "good-prediction-bound", "threshold_target_frr": 0.02,
                "threshold_good_count": 17, "good_above": 1, "good_above_images": [f"/data/{OUTLIER_NAME}"],
            }
        )
        assert page.threshold_label.text() == "阈值仅由 17 张良品图像确定，按可接受的误判率 2.0% 设定。"
        assert page.threshold_warning.text().startswith("有 1 张良品训练图像的分数高于阈值。")
        assert OUTLIER_NAME in page.threshold_warning.text()
        assert "误判" in page.frr_spin.toolTip()
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)
