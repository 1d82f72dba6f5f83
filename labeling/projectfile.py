"""Reading and writing ``project.json``: project name, class list, settings and schema version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from labeling.errors import LabelFileError, ProjectError
from labeling.fileio import atomic_write_bytes
from labeling.labelfile import content_revision
from labeling.model import PROJECT_SCHEMA_VERSION, DefectClass, ProjectInfo


def normalize_classes(classes: Sequence[DefectClass | str]) -> tuple[DefectClass, ...]:
    """Turn names and classes into a tuple of classes with stripped, unique, valid names.

    Raises:
        ProjectError: a name is empty, contains a line break or is repeated.
    """
    result: list[DefectClass] = []
    seen: set[str] = set()
    for item in classes:
        entry = DefectClass(item) if isinstance(item, str) else item
        name = entry.name.strip()
        if not name or "\n" in name or name in seen:
            raise ProjectError(f"class name {entry.name!r} is empty, contains a line break or is repeated; rename it")
        seen.add(name)
        result.append(replace(entry, name=name))
    return tuple(result)


def read_project_file(path: Path) -> tuple[ProjectInfo, str]:
    """Read ``project.json`` and return its contents and revision.

    Raises:
        LabelFileError: the file is invalid or from a newer DefectSeek.
    """
    data = path.read_bytes()
    try:
        document = json.loads(data.decode("utf-8"))
        version = int(document["schema_version"])
        if version > PROJECT_SCHEMA_VERSION:
            raise LabelFileError(
                f"{path}: schema_version {version} is newer than this version of DefectSeek "
                f"reads ({PROJECT_SCHEMA_VERSION}); update DefectSeek"
            )
        classes = tuple(DefectClass(str(item["name"]), item.get("color")) for item in document.get("classes", []))
        info = ProjectInfo(
            name=str(document["name"]),
            classes=classes,
            settings=dict(document.get("settings") or {}),
            schema_version=version,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise LabelFileError(f"{path}: invalid project file ({error}); restore it from a backup") from None
    return info, content_revision(data)


def write_project_file(path: Path, info: ProjectInfo) -> str:
    """Write ``project.json`` atomically and return its new revision."""
    document = {
        "schema_version": PROJECT_SCHEMA_VERSION,
        "name": info.name,
        "classes": [{"name": item.name, "color": item.color} for item in info.classes],
        "settings": dict(info.settings),
    }
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write_bytes(path, data)
    return content_revision(data)
