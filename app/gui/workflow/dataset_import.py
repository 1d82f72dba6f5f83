"""Recognise and import dataset folders (MVTec AD layout, labelme JSON, plain images) into a project."""

from __future__ import annotations

import logging
from pathlib import Path

from labeling.formats.labelme import import_labelme
from labeling.formats.mvtec import import_mvtec
from labeling.model import TransferReport
from labeling.project import Project

logger = logging.getLogger(__name__)

MVTEC = "mvtec"
LABELME = "labelme"
IMAGES = "images"


def detect_dataset_kind(path: Path) -> str:
    """Return ``mvtec`` for a folder with ``train/`` or ``test/``, ``labelme`` when it contains JSON files, else ``images``."""
    if path.is_dir() and ((path / "train").is_dir() or (path / "test").is_dir()):
        return MVTEC
    if path.is_file():
        return LABELME if path.suffix.lower() == ".json" else IMAGES
    if path.is_dir() and next(path.rglob("*.json"), None) is not None:
        return LABELME
    return IMAGES


def import_dataset(project: Project, path: Path, *, copy: bool, kind: str | None = None) -> TransferReport:
    """Import ``path`` into ``project`` as ``kind`` (detected when None).

    Raises:
        ValueError: unknown ``kind``.
    """
    kind = kind or detect_dataset_kind(path)
    logger.info("Importing %s as %s (copy=%s)", path, kind, copy)
    if kind == MVTEC:
        return import_mvtec(project, path, copy=copy)
    if kind == LABELME:
        return import_labelme(project, [path], copy=copy)
    if kind == IMAGES:
        return project.add_images([path], copy=copy)
    raise ValueError(f"invalid dataset kind {kind!r}; use {MVTEC}, {LABELME} or {IMAGES}")
