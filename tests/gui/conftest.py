"""Fixtures for the studio GUI tests: offscreen Qt, isolated user settings, and a generated project."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Qt reads the platform when the application starts, so it is set before pytest-qt creates it.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

from app.gui.settings import APPLICATION_NAME, ORGANIZATION_NAME, studio_settings  # noqa: E402
from labeling.project import Project  # noqa: E402
from tests.gui.sample_images import make_images  # noqa: E402

# User settings of the tests go to a temporary folder, never to the real user's config.
USER_SETTINGS_DIR = Path(tempfile.mkdtemp(prefix="defectseek-gui-settings-"))
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(USER_SETTINGS_DIR))

CLASSES = ("scratch", "dent")


@pytest.fixture(autouse=True)
def clean_settings(qapp):
    """Start every test with empty user settings and the studio's application names."""
    QCoreApplication.setOrganizationName(ORGANIZATION_NAME)
    QCoreApplication.setApplicationName(APPLICATION_NAME)
    settings = studio_settings()
    settings.clear()
    settings.sync()
    yield
    studio_settings().clear()


@pytest.fixture(autouse=True)
def no_blocking_discard_question(monkeypatch):
    """Answer the modal "discard unsaved changes?" question with Discard, so closing never waits for a click."""
    from app.gui.pages.label_page import LabelPage

    monkeypatch.setattr(LabelPage, "confirm_discard", lambda self: True)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A project with the classes scratch and dent and four unlabelled images."""
    root = tmp_path / "project"
    with Project.create(root, "Test parts", CLASSES) as project:
        report = project.add_images([make_images(tmp_path / "camera")[0].parent], copy=True)
        assert len(report.items) == 4, report
    return root


@pytest.fixture
def make_window(qtbot):
    """Build main windows that close themselves at the end of the test."""
    from app.gui.main_window import MainWindow

    windows = []

    def build() -> MainWindow:
        window = MainWindow(studio_settings(), None)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        # Window shortcuts (D, A, Ctrl+S...) fire only in the active window.
        qtbot.waitUntil(window.isActiveWindow)
        windows.append(window)
        return window

    yield build
    for window in windows:
        if window.isVisible():
            window.close()
