"""Evaluate page cancel: the run stops after the current image and no partial result or report remains."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from app.gui.workflow import evaluation
from app.gui.workflow.dataset_import import import_dataset
from app.gui.workflow.train_job import TrainRequest, run_training
from labeling.project import Project

pytestmark = pytest.mark.gui

WAIT_JOB_MS = 120_000
GATE_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def trained_model(outlier_dataset, tmp_path_factory) -> Path:
    """A model trained once on the outlier set's good images at 128 x 128."""
    good = sorted(str(path) for path in (outlier_dataset / "train" / "good").glob("*.png"))
    out = tmp_path_factory.mktemp("evaluate-model") / "model"
    run_training(TrainRequest(tuple(good), str(out), size=(128, 128)), lambda *_: None, threading.Event())
    return out


@pytest.fixture
def project_with_model(outlier_dataset, trained_model, tmp_path) -> Path:
    """A project with the outlier set's good images and a copy of the trained model under models/."""
    root = tmp_path / "project"
    with Project.create(root, "parts", []) as project:
        import_dataset(project, outlier_dataset, copy=False)
    shutil.copytree(trained_model, root / "models" / "model-20260101-000000")
    return root


class ReadGate:
    """Wraps the evaluation's image reader: while closed, the second read waits until the test opens it."""

    def __init__(self, read) -> None:
        self._read = read
        self.closed = False
        self.calls = 0
        self.waiting = threading.Event()
        self.opened = threading.Event()

    def __call__(self, path, **kwargs):
        self.calls += 1
        if self.closed and self.calls == 2:
            self.waiting.set()
            self.opened.wait(GATE_TIMEOUT_S)
        return self._read(path, **kwargs)


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def test_evaluate_cancel_discards_partial_run(make_window, project_with_model, qtbot, monkeypatch):
    gate = ReadGate(evaluation.read_image)
    monkeypatch.setattr(evaluation, "read_image", gate)
    window = make_window()
    window.pages["project"].open_project(project_with_model)
    window.show_page("evaluate")
    page = window.pages["evaluate"]
    page.split_combo.setCurrentIndex(page.split_combo.findData("all"))
    assert not page.cancel_button.isEnabled()

    assert page.start_evaluation()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_JOB_MS)
    assert page.result is not None
    assert len(page.result.images) == 17
    assert page.html_button.isEnabled()
    files_before = _files(project_with_model)

    gate.calls = 0
    gate.closed = True
    assert page.start_evaluation()
    assert page.result is None
    assert not page.html_button.isEnabled()
    assert not page.pdf_button.isEnabled()
    assert page.cancel_button.isEnabled()
    assert gate.waiting.wait(GATE_TIMEOUT_S)
    page.cancel_evaluation()
    assert page.status_label.text() == "Cancelling..."
    assert not page.cancel_button.isEnabled()
    gate.opened.set()
    qtbot.waitUntil(lambda: page.poller is None, timeout=WAIT_JOB_MS)

    assert gate.calls == 2
    assert page.result is None
    assert page.current_threshold is None
    assert "cancelled" in page.status_label.text()
    assert page.metric_labels["images"].text() == "-"
    assert page.good_gallery.count() == 0
    assert not page.html_button.isEnabled()
    assert not page.pdf_button.isEnabled()
    assert not page.slider.isEnabled()
    assert page.run_button.isEnabled()
    assert _files(project_with_model) == files_before


def test_evaluate_cancel_without_run_does_nothing(make_window, project_with_model):
    window = make_window()
    window.pages["project"].open_project(project_with_model)
    page = window.pages["evaluate"]
    page.cancel_evaluation()
    assert page.poller is None
    assert page.status_label.text() == ""
