"""The page context and the base class of studio pages."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QWidget

from app.gui.actions import ActionSet
from app.gui.errors import ErrorPresenter
from app.gui.session import ProjectSession


@dataclass(frozen=True)
class PageContext:
    """The shared services a page factory gets from the main window.

    Attributes:
        session: the open project and its change signals.
        actions: the studio's actions by id; a page connects to those it owns.
        settings: the user's QSettings.
        errors: shows failures to the user and logs their details.
        window: the main window (for dialogs and the status bar).
    """

    session: ProjectSession
    actions: ActionSet
    settings: QSettings
    errors: ErrorPresenter
    window: QMainWindow


class StudioPage(QWidget):
    """Base class of pages; the main window calls these hooks."""

    def page_shown(self) -> None:
        """Called after the page became the visible one."""

    def page_hidden(self) -> None:
        """Called before another page becomes visible (save pending work here)."""

    def can_close(self) -> bool:
        """Return False to keep the window open (for example when saving failed)."""
        return True

    def shutdown(self) -> None:
        """Called once when the window closes: stop worker threads and timers here."""
