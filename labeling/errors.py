"""Exceptions raised by the labeling package."""

from __future__ import annotations

import os


class LabelingError(Exception):
    """Base class of labeling errors; the message names the file or value and the fix."""


class ConflictError(LabelingError):
    """A file changed on disk since it was read, so saving would overwrite someone else's edit.

    Attributes:
        path: the file that changed.
    """

    def __init__(self, path: str | os.PathLike[str], detail: str = "") -> None:
        self.path = str(path)
        message = (
            f"{self.path} was changed by another window or program since it was opened; "
            "reload it, reapply your edit and save again"
        )
        super().__init__(f"{message} ({detail})" if detail else message)


class LabelFileError(LabelingError):
    """A label or project file is missing, not valid JSON or does not follow the schema."""


class ProjectError(LabelingError):
    """A project operation cannot be done (unknown image id, class still in use, folder not a project)."""
