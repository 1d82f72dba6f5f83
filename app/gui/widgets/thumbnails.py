"""Thumbnails made in worker threads on first request and kept in a bounded in-memory cache."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import cv2
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from app.gui.canvas.display import qimage_from_display
from labeling.imageio import ImageReadError, read_image, to_display_rgb8

logger = logging.getLogger(__name__)

THUMBNAIL_SIDE_PX = 96
MAX_CACHED_THUMBNAILS = 2000
WORKER_THREADS = 2


def make_thumbnail(path: Path, side_px: int = THUMBNAIL_SIDE_PX) -> QImage:
    """Load ``path`` through the shared loader and shrink it so its longer side is ``side_px``."""
    rgb = to_display_rgb8(read_image(path))
    height, width = rgb.shape[:2]
    scale = side_px / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return qimage_from_display(rgb)


class _Signals(QObject):
    done = Signal(str, QImage)
    failed = Signal(str, str)


class _ThumbnailJob(QRunnable):
    def __init__(self, key: str, path: Path, signals: _Signals) -> None:
        super().__init__()
        self._key = key
        self._path = path
        self._signals = signals

    def run(self) -> None:
        try:
            image = make_thumbnail(self._path)
        except (ImageReadError, OSError, ValueError, cv2.error) as error:
            self._signals.failed.emit(self._key, str(error))
            return
        self._signals.done.emit(self._key, image)


class ThumbnailCache(QObject):
    """Returns cached thumbnails at once and queues the rest; ``thumbnail_ready`` fires when one is made."""

    thumbnail_ready = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(WORKER_THREADS)
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)

    def get(self, key: str, path: Path) -> QImage | None:
        """Return the thumbnail of ``key`` when cached; otherwise start making it and return None."""
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self._pool.start(_ThumbnailJob(key, path, self._signals))
        return None

    def clear(self) -> None:
        """Drop queued jobs and cached thumbnails (after another project is opened)."""
        self._pool.clear()
        self._images.clear()
        self._pending.clear()
        self._failed.clear()

    def shutdown(self) -> None:
        """Drop queued jobs and wait for running ones, so no thread outlives the widgets."""
        self._pool.clear()
        self._pool.waitForDone()

    def _on_done(self, key: str, image: QImage) -> None:
        self._pending.discard(key)
        self._images[key] = image
        while len(self._images) > MAX_CACHED_THUMBNAILS:
            self._images.popitem(last=False)
        self.thumbnail_ready.emit(key)

    def _on_failed(self, key: str, reason: str) -> None:
        self._pending.discard(key)
        self._failed.add(key)
        logger.warning("No thumbnail for %s: %s", key, reason)
