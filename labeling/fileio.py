"""Atomic file writes shared by every package that saves user data.

A write goes to a temporary file in the destination folder, is flushed to disk,
and then replaces the destination with ``os.replace``, so a crash or a full disk
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    With ``fsync=False`` the data is not forced to disk before the rename, which is much
    faster for many small files. A power loss can then leave an empty file, so use it
    only for new files that the caller can recreate, and flush once at the end.

    Raises:
        OSError: the folder is not writable or the disk is full; the message
            names the destination and the original file is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            _apply_default_mode(stream.fileno(), target)
            stream.write(data)
            stream.flush()
            if fsync:
                os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except OSError as error:
        _remove_quietly(temp_name)
        raise OSError(f"Could not write {target}: {error}. Check free disk space and write permission.") from error
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path (``fsync`` as in :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_write_json(path: str | os.PathLike[str], value: Any, *, fsync: bool = True) -> Path:
    """Write ``value`` as indented UTF-8 JSON to ``path`` atomically and return the path."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return atomic_write_text(path, text, fsync=fsync)


def sync_file_system() -> None:
    """Flush files written with ``fsync=False`` to disk, where the OS offers one call for it.

    NOTE: Windows has no ``os.sync``, so there such files reach the disk when the OS
    decides, and a power loss soon after a bulk write can leave empty files.
    """
    if hasattr(os, "sync"):
        os.sync()


def _apply_default_mode(descriptor: int, target: Path) -> None:
    """Give the new file the mode a plain ``open()`` would (or the old file's), not mkstemp's 0600."""
    if not hasattr(os, "fchmod"):
        return
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    os.fchmod(descriptor, mode)


def _remove_quietly(name: str) -> None:
    try:
        os.remove(name)
    except OSError:
        logger.debug("Temporary file %s was already gone", name)
