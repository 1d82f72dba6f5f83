"""The open project of a studio window, shared by its pages, with change signals."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from labeling.model import ImageLabel, TransferReport
from labeling.project import Project

logger = logging.getLogger(__name__)


class ProjectSession(QObject):
    """The open :class:`~labeling.project.Project` (or none), with signals that pages connect to.

    Signals:
        project_changed: a project was opened, created or closed.
        labels_changed: labels or the image list changed (pages refresh lists and counts).
        models_changed: a model was trained into the project's models folder (pages refresh their model lists).
    """

    project_changed = Signal()
    labels_changed = Signal()
    models_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self._close_guards: list[Callable[[], bool]] = []

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """Register ``guard`` for :meth:`confirm_close`, which runs before another project is opened or created.

        Pages save pending edits in their guard, and return False when saving failed to stop the switch.
        """
        self._close_guards.append(guard)

    def confirm_close(self) -> bool:
        """Run every close guard; return False when one of them keeps the project open."""
        return all(guard() for guard in self._close_guards)

    @property
    def is_open(self) -> bool:
        """True while a project is open."""
        return self.project is not None

    def class_names(self) -> list[str]:
        """Return the project's defect types in list order (empty without a project)."""
        return list(self.project.info.class_names) if self.project is not None else []

    def create(self, folder: str | os.PathLike[str], name: str, classes: Sequence[str] = ()) -> Project:
        """Create a project in ``folder`` and make it the open one."""
        project = Project.create(folder, name, classes)
        self._replace(project)
        return project

    def open(self, folder: str | os.PathLike[str]) -> Project:
        """Open the project in ``folder`` and make it the open one."""
        project = Project.open(folder)
        self._replace(project)
        return project

    def close(self) -> None:
        """Close the open project, if any."""
        self._replace(None)

    def import_images(self, paths: Sequence[str | os.PathLike[str]], *, copy: bool) -> TransferReport:
        """Add image files or folders to the open project and announce the new images."""
        report = self._require().add_images([Path(path) for path in paths], copy=copy)
        logger.info("Imported %d images, skipped %d", len(report.items), len(report.skipped))
        self.labels_changed.emit()
        return report

    def save_label(self, image_id: str, label: ImageLabel) -> ImageLabel:
        """Save one label (conflicts raise ConflictError) and announce the change."""
        saved = self._require().save_label(image_id, label)
        self.labels_changed.emit()
        return saved

    def announce_models_changed(self) -> None:
        """Tell the pages that the project's models folder changed (a training run finished)."""
        self.models_changed.emit()

    def _require(self) -> Project:
        if self.project is None:
            raise RuntimeError("no project is open; create or open a project first")
        return self.project

    def _replace(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.close()
        self.project = project
        self.project_changed.emit()
