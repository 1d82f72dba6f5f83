"""Background decoding of the images next to the current one, so D and A show them without waiting."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from labeling.imageio import LoadedImage, read_image

logger = logging.getLogger(__name__)

MAX_PREFETCHED_IMAGES = 2


class ImagePrefetcher:
    """A one-thread decoder of upcoming images; :meth:`load` returns a prefetched image or decodes it now."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-prefetch")
        self._futures: dict[Path, Future[LoadedImage]] = {}

    def prefetch(self, paths: list[Path]) -> None:
        """Start decoding ``paths`` and forget older prefetched images beyond the limit."""
        for path in paths:
            if path not in self._futures:
                self._futures[path] = self._executor.submit(read_image, path)
        while len(self._futures) > MAX_PREFETCHED_IMAGES:
            oldest = next(iter(self._futures))
            self._futures.pop(oldest).cancel()

    def load(self, path: Path) -> LoadedImage:
        """Return the decoded image of ``path``; raises ImageReadError like ``read_image``."""
        future = self._futures.pop(path, None)
        if future is not None and not future.cancelled():
            return future.result()
        return read_image(path)

    def clear(self) -> None:
        """Drop every prefetched image (the project changed)."""
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()

    def shutdown(self) -> None:
        """Stop the worker thread."""
        self.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)
