"""Helpers shared by the format readers and writers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from labeling.fileio import atomic_write_bytes
from labeling.imageio import read_image, read_image_info, write_image
from labeling.model import SkippedFile, TransferReport

logger = logging.getLogger(__name__)


class ReportBuilder:
    """Collects the items, warnings and skipped files of one import or export."""

    def __init__(self) -> None:
        """Start with an empty report."""
        self.items: list[str] = []
        self.warnings: list[str] = []
        self.skipped: list[SkippedFile] = []

    def warn(self, message: str) -> None:
        """Record and log a warning; the data it concerns was still used."""
        logger.warning("%s", message)
        self.warnings.append(message)

    def skip(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record and log a file that was left out."""
        logger.warning("Skipped %s: %s", path, reason)
        self.skipped.append(SkippedFile(str(path), reason))

    def build(self) -> TransferReport:
        """Return the frozen report."""
        return TransferReport(items=tuple(self.items), warnings=tuple(self.warnings), skipped=tuple(self.skipped))


class UniqueNames:
    """Hands out file names that are unique within each folder, adding ``_2``, ``_3``... to repeats."""

    def __init__(self) -> None:
        """Start with no names taken."""
        self._taken: set[str] = set()

    def claim(self, folder: str, stem: str) -> str:
        """Return ``stem`` or the first free ``stem_N`` within ``folder``."""
        candidate = stem
        number = 2
        while f"{folder}/{candidate}".lower() in self._taken:
            candidate = f"{stem}_{number}"
            number += 1
        self._taken.add(f"{folder}/{candidate}".lower())
        return candidate


def copy_upright_image(source: Path, target_without_suffix: Path, *, fsync: bool = True) -> Path:
    """Copy an image's bytes unchanged, or write it as upright PNG when the file is stored rotated (EXIF).

    Returns:
        The written file, whose suffix is the source's (lower case) or ``.png``.
    """
    info = read_image_info(source)
    if info.orientation == 1:
        target = target_without_suffix.with_name(target_without_suffix.name + source.suffix.lower())
        return atomic_write_bytes(target, source.read_bytes(), fsync=fsync)
    target = target_without_suffix.with_name(target_without_suffix.name + ".png")
    return write_image(target, read_image(source).pixels, fsync=fsync)


def relative_posix(target: Path, start: Path) -> str:
    """Return ``target`` relative to the folder ``start`` with ``/`` separators, or absolute on another drive."""
    try:
        return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()
    except ValueError:
        return Path(os.path.abspath(target)).as_posix()
