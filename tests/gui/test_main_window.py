"""The main window shell: page registry, saved geometry, shortcuts, error reports and the self-test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QRect
from PySide6.QtWidgets import QLabel, QMessageBox

from app.gui import pages
from app.gui.pages import PageSpec, StudioPage, register_page, registered_pages
from app.gui.settings import KEY_LAST_PROJECT, studio_settings

pytestmark = pytest.mark.gui

REPO_ROOT = Path(__file__).resolve().parents[2]


class _TrainPage(StudioPage):
    def __init__(self, context):
        super().__init__()
        self.context = context
        QLabel("train", self)


@pytest.fixture
def extra_page():
    register_page(PageSpec("train", lambda: "Train", _TrainPage, 30))
    yield
    pages._PAGES.pop("train", None)


def test_registry_orders_builtin_pages():
    keys = [spec.key for spec in registered_pages()]
    assert keys[:2] == ["project", "label"]


def test_registered_page_appears_in_window(extra_page, make_window):
    window = make_window()
    assert list(window.pages)[:3] == ["project", "label", "train"]
    window.show_page("train")
    assert window.current_page_key() == "train"
    assert not window.actions["next_image"].isEnabled()
    window.show_page("label")
    assert window.actions["next_image"].isEnabled()


def test_geometry_and_page_restored(make_window):
    window = make_window()
    # The offscreen screen is 800x600 pixels, and Qt shrinks a restored window to fit it.
    window.setGeometry(QRect(40, 50, 700, 500))
    window.show_page("label")
    window.close()
    reopened = make_window()
    assert (reopened.width(), reopened.height()) == (700, 500)
    assert reopened.current_page_key() == "label"


def test_shortcut_change_persists_and_shows(make_window):
    window = make_window()
    window.actions.set_shortcut("next_image", "N")
    window.close()
    reopened = make_window()
    assert reopened.actions["next_image"].shortcut().toString() == "N"
    assert studio_settings().value("shortcuts/next_image") == "N"
    reopened.actions.reset_shortcuts()
    assert reopened.actions["next_image"].shortcut().toString() == "D"


def test_open_invalid_folder_reports_error(make_window, tmp_path):
    window = make_window()
    assert not window.pages["project"].open_project(tmp_path)
    message = window.errors.last_message
    assert "Could not open the project" in message
    assert "project.json" in message
    assert "Traceback" not in message
    dialogs = [box for box in window.findChildren(QMessageBox) if box.objectName() == "error_dialog"]
    assert dialogs and dialogs[-1].isVisible()
    assert "Could not open the project" in window.statusBar().currentMessage()


def test_project_page_counts(make_window, project_dir):
    window = make_window()
    page = window.pages["project"]
    assert page.open_project(project_dir)
    assert studio_settings().value(KEY_LAST_PROJECT) == str(project_dir)
    tree = page.counts_tree
    assert tree.topLevelItem(0).text(1) == "4"
    verdicts = tree.topLevelItem(1)
    assert [verdicts.child(i).text(1) for i in range(3)] == ["4", "0", "0"]
    types = tree.topLevelItem(2)
    assert [types.child(i).text(0) for i in range(types.childCount())] == ["scratch", "dent"]


def test_project_create_and_import(make_window, tmp_path):
    from tests.gui.sample_images import make_images

    window = make_window()
    page = window.pages["project"]
    assert page.create_project(tmp_path / "new", "New parts", ["crack"])
    images = make_images(tmp_path / "incoming")
    assert page.import_images([images[0].parent], copy=False)
    assert window.session.project.counts().total == 4
    assert "Imported 4 images" in window.statusBar().currentMessage()
    assert page.counts_tree.topLevelItem(0).text(1) == "4"


def test_self_test_exits_zero(tmp_path):
    environment = dict(os.environ)
    environment.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONPATH=str(REPO_ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.gui.main", "--self-test", "--lang", "zh_CN"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    assert (tmp_path / "data" / "DefectSeek" / "DefectSeek Studio" / "logs" / "studio.log").is_file()


def test_application_names_for_settings():
    assert QCoreApplication.organizationName() == "DefectSeek"


def test_shortcut_dialog_applies_change(make_window):
    from PySide6.QtGui import QKeySequence

    from app.gui.shortcut_dialog import ShortcutDialog

    window = make_window()
    dialog = ShortcutDialog(window.actions, window)
    dialog._editors["save"].setKeySequence(QKeySequence("Ctrl+Shift+S"))
    dialog.accept()
    assert window.actions["save"].shortcut().toString() == "Ctrl+Shift+S"
    assert studio_settings().value("shortcuts/save") == "Ctrl+Shift+S"
    dialog = ShortcutDialog(window.actions, window)
    dialog._restore_defaults()
    dialog.accept()
    assert window.actions["save"].shortcut().toString() == "Ctrl+S"
    assert studio_settings().value("shortcuts/save") is None


@pytest.mark.parametrize(
    ("menu_text", "expected"),
    [("&Save", "Save"), ("Zoom &In", "Zoom In"), ("保存(&S)", "保存"), ("新建项目(&N)...", "新建项目...")],
)
def test_plain_text_drops_mnemonic(menu_text, expected):
    from app.gui.actions import plain_text

    assert plain_text(menu_text) == expected


def test_label_splitter_restored(make_window):
    from PySide6.QtWidgets import QSplitter

    window = make_window()
    window.resize(780, 560)
    splitter = window.pages["label"].findChild(QSplitter, "label_splitter")
    splitter.setSizes([150, 300, 300])
    sizes = splitter.sizes()
    window.close()
    reopened = make_window()
    reopened.resize(780, 560)
    assert reopened.pages["label"].findChild(QSplitter, "label_splitter").sizes()[0] == sizes[0]


def test_unhandled_error_shown_without_traceback(make_window, caplog, tmp_path):
    from app.gui.errors import ErrorPresenter

    window = make_window()
    presenter = ErrorPresenter(window, tmp_path / "studio.log")
    try:
        raise ValueError("threshold -1 is invalid")
    except ValueError as error:
        presenter._excepthook(ValueError, error, error.__traceback__)
    assert "unexpected error" in presenter.last_message
    assert "threshold -1 is invalid" in presenter.last_message
    assert str(tmp_path / "studio.log") in presenter.last_message
    assert "Traceback" not in presenter.last_message
    assert "Traceback" in caplog.text
