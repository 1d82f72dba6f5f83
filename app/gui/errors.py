"""How the studio reports failures: a dialog and a status message that state what failed and what to do.

Details (the traceback) go only to the log file, whose path the dialog names.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow, QMessageBox

logger = logging.getLogger(__name__)

STATUS_MESSAGE_MS = 10_000


class ErrorPresenter(QObject):
    """Shows errors to the user in the window and writes their details to the log."""

    def __init__(self, window: QMainWindow, log_path: Path | None) -> None:
        super().__init__(window)
        self._window = window
        self._log_path = log_path
        self.last_message = ""

    def report(self, what_failed: str, error: BaseException | None = None, hint: str = "") -> None:
        """Tell the user that ``what_failed`` and what to do next.

        Args:
            what_failed: a translated sentence such as "Could not open the project."
            error: the exception; its message (not its traceback) is shown.
            hint: a translated sentence that tells the user what to do next; a default names the log file.
        """
        if error is not None:
            logger.error("%s", what_failed, exc_info=(type(error), error, error.__traceback__))
        else:
            logger.error("%s", what_failed)
        detail = str(error) if error is not None else ""
        if not hint and self._log_path is not None:
            hint = self.tr("Details were written to the log file: {0}").format(self._log_path)
        text = "\n\n".join(part for part in (what_failed, detail, hint) if part)
        self.last_message = text
        self._window.statusBar().showMessage(what_failed, STATUS_MESSAGE_MS)
        box = QMessageBox(
            QMessageBox.Icon.Warning, self.tr("DefectSeek Studio"), text, QMessageBox.StandardButton.Ok, self._window
        )
        box.setObjectName("error_dialog")
        box.open()

    def install_excepthook(self) -> None:
        """Route exceptions that escape Qt slots to :meth:`report` instead of printing a traceback."""
        sys.excepthook = self._excepthook

    def _excepthook(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        self.report(self.tr("An unexpected error occurred; the last action may not have finished."), error)
