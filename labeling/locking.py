"""A small cross-platform lock file, so two windows cannot check and replace one file at the same moment."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 10.0
# A lock older than this was left by a crashed process and is taken over.
STALE_LOCK_AGE_S = 60.0
_POLL_INTERVAL_S = 0.02


class LockTimeoutError(OSError):
    """The lock of a file stayed taken for longer than the timeout."""


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside ``path`` for the duration of the block.

    Raises:
        LockTimeoutError: another holder kept the lock for ``timeout_s`` seconds.
    """
    target = Path(path)
    lock = target.with_name(f".{target.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if _remove_if_stale(lock):
                continue
            if time.monotonic() > deadline:
                raise LockTimeoutError(
                    f"{target} is locked by another window ({lock} exists); close the other window or, "
                    "if no program is using the project, delete the lock file"
                ) from None
            time.sleep(_POLL_INTERVAL_S)
    try:
        os.write(handle, str(os.getpid()).encode("ascii"))
        os.close(handle)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(lock)


def _remove_if_stale(lock: Path) -> bool:
    try:
        age_s = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return True
    if age_s < STALE_LOCK_AGE_S:
        return False
    logger.warning("Removing stale lock file %s (%.0f s old)", lock, age_s)
    with contextlib.suppress(FileNotFoundError):
        os.remove(lock)
    return True
