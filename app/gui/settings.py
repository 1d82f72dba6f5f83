"""Per-user studio settings (QSettings) and the paths of the studio's own files."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

logger = logging.getLogger(__name__)

ORGANIZATION_NAME = "DefectSeek"
APPLICATION_NAME = "DefectSeek Studio"
LOG_FILE_NAME = "studio.log"

KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
KEY_PAGE = "window/page"
KEY_LAST_PROJECT = "project/last_folder"
SHORTCUTS_GROUP = "shortcuts"


def studio_settings() -> QSettings:
    """Return the user's settings store (an INI file under the user's config folder on Linux)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION_NAME, APPLICATION_NAME)


def log_directory() -> Path:
    """Return the folder for the studio log file, under the user's data folder (created when missing)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    if not base:
        base = str(Path.home() / ".defectseek")
    folder = Path(base) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_file_path() -> Path:
    """Return the path of the studio log file."""
    return log_directory() / LOG_FILE_NAME
