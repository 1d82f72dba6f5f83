"""The results store: every verdict in SQLite (WAL) before it is signalled, NG and sampled OK images on disk.

Consistency rules, kept through a crash or ``kill -9``:

* A row is committed before the pipeline signals its verdict (``synchronous=FULL`` by
  default, see :class:`StoreSettings`).
* ``image_path`` is set only after the image file was written atomically, so a row
  that names an image always has a complete file. A crash between the write and the
  update leaves an unreferenced file, which :meth:`ResultStore.open` removes.
* The disk limit is enforced oldest-first and never deletes an NG row (or its image)
  that was not yet synced to the MES (``synced = 0``).
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.station.results import PartResult, ResultCode
from labeling.imageio import write_image

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DATABASE_NAME = "results.sqlite3"
LOCK_NAME = "store.lock"
IMAGES_DIR_NAME = "images"
CLEANUP_BATCH_ROWS = 200
CLEANUP_TARGET_FRACTION = 0.9
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    lane INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    trigger_id INTEGER NOT NULL,
    frame_ref TEXT,
    frame_sequence INTEGER,
    verdict TEXT NOT NULL CHECK (verdict IN ('OK', 'NG')),
    result_code INTEGER NOT NULL,
    reason TEXT NOT NULL,
    score REAL,
    normalized_score REAL,
    threshold REAL,
    defect_type TEXT,
    defect_confidence REAL,
    bundle_id TEXT,
    latency_ms REAL NOT NULL,
    late_verdict TEXT,
    late_score REAL,
    image_path TEXT,
    image_bytes INTEGER NOT NULL DEFAULT 0,
    synced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS results_unsynced ON results (synced, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COLUMNS = (
    "job_id", "created_at", "lane", "source_id", "trigger_id", "frame_ref", "frame_sequence", "verdict",
    "result_code", "reason", "score", "normalized_score", "threshold", "defect_type", "defect_confidence",
    "bundle_id", "latency_ms",
)


@dataclass(frozen=True)
class StoreSettings:
    """Retention and durability settings of the store.

    Attributes:
        max_disk_bytes: limit for the database plus images; 0 means no limit.
        ok_sample_every: keep the image of every N-th OK part; 0 keeps none.
        image_suffix: file format of saved images (``.png`` is lossless).
        image_queue_size: images waiting to be written; more are dropped and counted.
        synchronous: SQLite ``synchronous`` level. ``FULL`` syncs the disk on every
            commit, so a committed verdict survives a power cut. ``NORMAL`` survives a
            process crash or ``kill -9`` but may lose the last commits on power loss,
            in exchange for a shorter and steadier store stage.
    """

    max_disk_bytes: int = 0
    ok_sample_every: int = 0
    image_suffix: str = ".png"
    image_queue_size: int = 64
    synchronous: str = "FULL"

    def __post_init__(self) -> None:
        if self.synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"StoreSettings.synchronous must be FULL or NORMAL, got {self.synchronous!r}")


class StoreError(RuntimeError):
    """The results database could not be opened or written; the message names the file."""


class ResultStore:
    """SQLite results database and image folder under one directory.

    Use :meth:`open`; all methods are thread-safe.
    """

    def __init__(self, root: Path, connection: sqlite3.Connection, settings: StoreSettings) -> None:
        self.root = root
        self.images_dir = root / IMAGES_DIR_NAME
        self.settings = settings
        self._db = connection
        self._lock = threading.RLock()
        self._image_bytes = int(self._db.execute("SELECT COALESCE(SUM(image_bytes), 0) FROM results").fetchone()[0])
        self._ok_count = 0
        self._queue: queue.Queue[tuple[int, Path, np.ndarray] | None] = queue.Queue(settings.image_queue_size)
        self._writer: threading.Thread | None = None
        self.dropped_images = 0
        self.failed_images = 0
        self.deleted_rows = 0
        self.cleanup_blocked = False
        self._listeners: list[Any] = []
        self._lock_file: Any = None

    # -- opening and closing ------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], settings: StoreSettings | None = None) -> ResultStore:
        """Open or create the store in ``root`` and remove files that a crash left behind.

        Raises:
            StoreError: the database cannot be created or is not a results database.
        """
        folder = Path(root)
        settings = settings or StoreSettings()
        (folder / IMAGES_DIR_NAME).mkdir(parents=True, exist_ok=True)
        lock = _lock_exclusively(folder / LOCK_NAME)
        path = folder / DATABASE_NAME
        try:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={settings.synchronous}")
            connection.executescript(_SCHEMA)
            connection.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                               (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as error:
            if lock is not None:
                lock.close()
            raise StoreError(f"Could not open the results database {path}: {error}. "
                             "Move the file away to start a new store.") from error
        store = cls(folder, connection, settings)
        store._lock_file = lock
        store._remove_leftovers()
        return store

    def start(self) -> None:
        """Start the background image writer."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_images, name="store-images", daemon=True)
            self._writer.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Write the queued images (up to ``timeout_s``) and close the database."""
        if self._writer is not None:
            try:
                self._queue.put(None, timeout=timeout_s)
            except queue.Full:
                logger.warning("Image queue still full at close; %d images not written", self._queue.qsize())
            self._writer.join(timeout_s)
            self._writer = None
        with self._lock:
            self._db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # -- writing ------------------------------------------------------------

    def record(self, result: PartResult) -> int:
        """Commit ``result`` and return its row id; the commit is durable when this returns.

        Raises:
            StoreError: the database could not be written (disk full, permissions).
        """
        values = [getattr(result, name) for name in _COLUMNS]
        values[_COLUMNS.index("result_code")] = int(result.result_code)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        try:
            with self._lock:
                cursor = self._db.execute(
                    f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values)
        except sqlite3.Error as error:
            raise StoreError(f"Could not record {result.job_id} in {self.root / DATABASE_NAME}: {error}. "
                             "Check free disk space and write permission.") from error
        row_id = int(cursor.lastrowid)
        for listener in list(self._listeners):
            listener()
        return row_id

    def record_late(self, job_id: str, verdict: str, score: float | None) -> None:
        """Attach a verdict that arrived after its deadline (the part was already signalled NG)."""
        with self._lock:
            self._db.execute("UPDATE results SET late_verdict = ?, late_score = ? WHERE job_id = ?",
                             (verdict, score, job_id))

    def wants_image(self, result: PartResult) -> bool:
        """Return True for NG parts and for every ``ok_sample_every``-th OK part."""
        if not result.passed:
            return True
        every = self.settings.ok_sample_every
        if every <= 0:
            return False
        with self._lock:
            self._ok_count += 1
            return self._ok_count % every == 1 or every == 1

    def image_path_for(self, result: PartResult) -> Path:
        """Return where the image of ``result`` goes: ``images/YYYYMMDD/<source>_<job>.<suffix>``."""
        day = time.strftime("%Y%m%d", time.localtime(result.created_at))
        return self.images_dir / day / f"{result.source_id}_{result.job_id}{self.settings.image_suffix}"

    def save_image_async(self, row_id: int, path: Path, pixels: np.ndarray) -> bool:
        """Queue an image for writing; returns False (and counts a drop) when the queue is full."""
        try:
            self._queue.put_nowait((row_id, path, pixels))
        except queue.Full:
            self.dropped_images += 1
            if self.dropped_images == 1 or self.dropped_images % 100 == 0:
                logger.warning("Image queue full: %d images dropped so far; their rows have no image",
                               self.dropped_images)
            return False
        return True

    def save_image(self, row_id: int, path: Path, pixels: np.ndarray) -> None:
        """Write an image atomically, then point its row at it, then apply the disk limit."""
        write_image(path, pixels)
        size = path.stat().st_size
        relative = path.relative_to(self.root).as_posix()
        with self._lock:
            self._db.execute("UPDATE results SET image_path = ?, image_bytes = ? WHERE id = ?", (relative, size, row_id))
            self._image_bytes += size
        self.enforce_disk_limit()

    def mark_synced(self, row_ids: list[int]) -> None:
        """Mark rows as delivered to the MES."""
        if not row_ids:
            return
        with self._lock:
            self._db.executemany("UPDATE results SET synced = 1 WHERE id = ?", [(row_id,) for row_id in row_ids])

    def acknowledge_up_to(self, row_id: int) -> int:
        """Mark every row up to ``row_id`` as synced (an export tool has them) and return how many changed."""
        with self._lock:
            cursor = self._db.execute("UPDATE results SET synced = 1 WHERE id <= ? AND synced = 0", (row_id,))
            return int(cursor.rowcount)

    def add_listener(self, callback: Any) -> None:
        """Call ``callback()`` after every committed row (used to wake MES sinks)."""
        self._listeners.append(callback)

    # -- reading ------------------------------------------------------------

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest ``limit`` rows, newest first."""
        return self._select("SELECT * FROM results ORDER BY id DESC LIMIT ?", (limit,))

    def unsynced(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the oldest ``limit`` rows not yet synced, oldest first."""
        return self._select("SELECT * FROM results WHERE synced = 0 ORDER BY id LIMIT ?", (limit,))

    def row(self, job_id: str) -> dict[str, Any] | None:
        """Return the row of ``job_id``, or None."""
        rows = self._select("SELECT * FROM results WHERE job_id = ?", (job_id,))
        return rows[0] if rows else None

    def count(self) -> int:
        """Return the number of rows."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def disk_usage_bytes(self) -> int:
        """Return the bytes used by images and database files."""
        database = sum(_size(self.root / f"{DATABASE_NAME}{suffix}") for suffix in ("", "-wal", "-shm"))
        return database + self._image_bytes

    def _select(self, sql: str, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, parameters)
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        result = [dict(zip(names, row, strict=True)) for row in rows]
        for item in result:
            item["result_code"] = ResultCode(item["result_code"]).name
        return result

    # -- disk limit ---------------------------------------------------------

    def enforce_disk_limit(self) -> int:
        """Delete the oldest deletable rows and images until usage is below 90 % of the limit.

        Returns:
            The number of rows deleted. NG rows with ``synced = 0`` are never deleted;
            when only those remain, ``cleanup_blocked`` is set and a warning is logged.
        """
        limit = self.settings.max_disk_bytes
        if limit <= 0 or self.disk_usage_bytes() <= limit:
            return 0
        target = int(limit * CLEANUP_TARGET_FRACTION)
        deleted = 0
        while self.disk_usage_bytes() > target:
            batch = self._delete_oldest_batch(self.disk_usage_bytes() - target)
            if batch == 0:
                if not self.cleanup_blocked:
                    logger.warning("Disk limit of %d bytes reached but only unsynced NG records remain in %s; "
                                   "sync them to the MES or raise store.max_disk_mb", limit, self.root)
                self.cleanup_blocked = True
                break
            deleted += batch
        else:
            self.cleanup_blocked = False
        if deleted:
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.deleted_rows += deleted
        return deleted

    def _delete_oldest_batch(self, bytes_to_free: int) -> int:
        with self._lock:
            candidates = self._db.execute(
                "SELECT id, image_path, image_bytes FROM results WHERE NOT (verdict = 'NG' AND synced = 0) "
                "ORDER BY id LIMIT ?", (CLEANUP_BATCH_ROWS,)).fetchall()
            rows = []
            freed = 0
            for row in candidates:
                rows.append(row)
                freed += int(row[2])
                if freed >= bytes_to_free:
                    break
            if not rows:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM results WHERE id = ?", [(row[0],) for row in rows])
            self._db.execute("COMMIT")
            for _, image_path, image_bytes in rows:
                if image_path:
                    _remove(self.root / image_path)
                    self._image_bytes -= int(image_bytes)
        return len(rows)

    # -- internals ----------------------------------------------------------

    def _write_images(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            row_id, path, pixels = item
            try:
                self.save_image(row_id, path, pixels)
            except (OSError, sqlite3.Error) as error:
                self.failed_images += 1
                logger.error("Could not save image %s for row %d: %s", path, row_id, error)

    def _remove_leftovers(self) -> None:
        with self._lock:
            referenced = {row[0] for row in self._db.execute(
                "SELECT image_path FROM results WHERE image_path IS NOT NULL")}
        removed = 0
        for path in self.images_dir.rglob("*"):
            if not path.is_file():
                continue
            relative = path.relative_to(self.root).as_posix()
            is_temporary = path.name.startswith(".") and path.name.endswith(".tmp")
            if is_temporary or (path.suffix.lower() in IMAGE_SUFFIXES and relative not in referenced):
                _remove(path)
                removed += 1
        if removed:
            logger.info("Removed %d unreferenced or partial image files from %s", removed, self.images_dir)


def _lock_exclusively(path: Path) -> Any:
    """Hold an exclusive lock on ``path`` so that two processes never share one store.

    The operating system releases the lock when the process ends, even by ``kill -9``.
    """
    handle = open(path, "a+b")  # noqa: SIM115 - kept open for the store's lifetime
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StoreError(f"The results store {path.parent} is in use by another process; stop the other station "
                         "or give this one its own station.data_dir") from None
    return handle


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as error:
        logger.warning("Could not delete %s: %s", path, error)
