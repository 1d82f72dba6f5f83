"""Logging for the studio: a rotating log file under the user's data folder, warnings also to stderr."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.gui.settings import log_file_path

LOG_FILE_MAX_BYTES = 2_000_000
LOG_FILE_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> Path | None:
    """Send log records to the studio log file and warnings to stderr; return the log file path.

    Returns None when the log folder cannot be created; the studio then logs to stderr only.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(handler, "_defectseek", False) for handler in root.handlers):
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        console._defectseek = True  # type: ignore[attr-defined]
        root.addHandler(console)
    try:
        path = log_file_path()
        if not any(getattr(handler, "baseFilename", None) == str(path) for handler in root.handlers):
            file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=LOG_FILE_MAX_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
            )
            file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
            root.addHandler(file_handler)
    except OSError as error:
        logging.getLogger(__name__).warning("Cannot write the studio log file (%s); logging to stderr only.", error)
        return None
    return path
