"""Watched-folder driver: every new image file in a folder is a part (lab stations, offline lines).

A file counts once its size has not changed for ``settle_s`` seconds, so files still
being copied are not read half-written. Files are judged in name order. After reading,
a file is moved to ``done_dir`` when one is set; otherwise it is remembered and left.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from app.station.frames import RawFrame
from app.station.sources.base import CameraError
from labeling.imageio import IMAGE_SUFFIXES, ImageReadError, read_image

logger = logging.getLogger(__name__)


class FolderDriver:
    """Read new image files from ``folder``.

    Args:
        folder: the folder to watch (not recursive).
        poll_s: how often to list the folder while idle.
        settle_s: how long a file's size must stay unchanged before it is read.
        done_dir: where read files are moved; empty leaves them in place.
    """

    supports_software_trigger = False

    def __init__(self, folder: str | os.PathLike[str], poll_s: float = 0.2, settle_s: float = 0.5,
                 done_dir: str | os.PathLike[str] = "") -> None:
        self.folder = Path(folder)
        self.poll_s = poll_s
        self.settle_s = settle_s
        self.done_dir = Path(done_dir) if done_dir else None
        self.name = f"folder {self.folder}"
        self._seen: set[str] = set()
        self._sizes: dict[str, tuple[int, float]] = {}
        self.skipped: list[ImageReadError] = []

    def open(self) -> None:
        """Check that the folder exists."""
        if not self.folder.is_dir():
            raise CameraError(f"Watched folder {self.folder} does not exist; create it or fix the path")
        if self.done_dir is not None:
            self.done_dir.mkdir(parents=True, exist_ok=True)

    def read(self) -> RawFrame | None:
        """Return the next settled image, or None when none arrived within ``poll_s``."""
        deadline = time.monotonic() + self.poll_s
        while True:
            path = self._next_settled()
            if path is not None:
                frame = self._load(path)
                if frame is not None:
                    return frame
                continue
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(self.poll_s / 4, 0.05))

    def _next_settled(self) -> Path | None:
        try:
            candidates = sorted(entry for entry in self.folder.iterdir()
                                if entry.suffix.lower() in IMAGE_SUFFIXES and entry.name not in self._seen)
        except OSError as error:
            raise CameraError(f"Watched folder {self.folder} cannot be listed: {error}") from error
        now = time.monotonic()
        for path in candidates:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            previous = self._sizes.get(path.name)
            if previous is None or previous[0] != size:
                self._sizes[path.name] = (size, now)
                if self.settle_s > 0:
                    continue
            elif now - previous[1] < self.settle_s:
                continue
            return path
        return None

    def _load(self, path: Path) -> RawFrame | None:
        self._seen.add(path.name)
        self._sizes.pop(path.name, None)
        try:
            image = read_image(path)
        except ImageReadError as error:
            logger.warning("Watched folder: skipped %s (%s)", path, error.reason)
            self.skipped.append(error)
            return None
        reference = str(path)
        if self.done_dir is not None:
            target = self.done_dir / path.name
            shutil.move(str(path), target)
            reference = str(target)
        order = "GRAY" if image.is_gray else "RGB"
        return RawFrame(pixels=image.pixels, channel_order=order, frame_ref=reference)

    def trigger(self) -> None:
        """Raise :class:`CameraError`: a folder has no trigger."""
        raise CameraError(f"{self.name}: a watched folder has no software trigger")

    def close(self) -> None:
        """Nothing to release."""
        return None
