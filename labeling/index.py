"""The project index: an SQLite cache of per-image verdict, type and split for fast filtering and counts.

The label files are the truth. The index only records, for each label file, its size and
modification time when it was read, so a project can tell which files changed since and
re-read only those. Deleting the index file loses nothing, because opening the project
rebuilds it from the label files.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labeling.model import ImageEntry, ImageFilter, ProjectCounts, Split, Verdict

logger = logging.getLogger(__name__)

# Bump when the tables change, so an older index file is dropped and rebuilt.
INDEX_SCHEMA_VERSION = 1

_CREATE_TABLES = """
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY,
    image_path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    defect_type TEXT,
    split TEXT NOT NULL,
    region_count INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS region_types (
    image_id TEXT NOT NULL,
    defect_type TEXT NOT NULL,
    PRIMARY KEY (image_id, defect_type)
);
CREATE INDEX IF NOT EXISTS images_verdict ON images (verdict);
CREATE INDEX IF NOT EXISTS images_path ON images (image_path);
CREATE INDEX IF NOT EXISTS region_types_type ON region_types (defect_type);
"""

_ENTRY_COLUMNS = "image_id, image_path, width, height, verdict, defect_type, split, region_count"
# Region types come back joined by newlines, which class names cannot contain.
_SELECT_ENTRY = (
    f"SELECT {_ENTRY_COLUMNS}, (SELECT group_concat(defect_type, char(10)) FROM "
    "(SELECT defect_type FROM region_types AS r WHERE r.image_id = images.image_id ORDER BY defect_type)) "
    "FROM images"
)


@dataclass(frozen=True)
class FileStamp:
    """Size and modification time of a label file when it was indexed."""

    mtime_ns: int
    size_bytes: int


class LabelIndex:
    """SQLite index of a project's label files. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path) -> None:
        """Open or create the index file at ``path``, dropping it when its schema is outdated."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = self._connect(path)

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def stamps(self) -> dict[str, FileStamp]:
        """Return the stamp of every indexed image id."""
        rows = self._connection.execute("SELECT image_id, mtime_ns, size_bytes FROM images")
        return {image_id: FileStamp(mtime_ns, size) for image_id, mtime_ns, size in rows}

    def upsert(self, rows: Iterable[tuple[ImageEntry, FileStamp]]) -> None:
        """Insert or replace index rows in one transaction."""
        with self._connection:
            for entry, stamp in rows:
                self._connection.execute(
                    f"INSERT OR REPLACE INTO images ({_ENTRY_COLUMNS}, mtime_ns, size_bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.image_id,
                        entry.image_path,
                        entry.width,
                        entry.height,
                        entry.verdict.value,
                        entry.defect_type,
                        entry.split.value,
                        entry.region_count,
                        stamp.mtime_ns,
                        stamp.size_bytes,
                    ),
                )
                self._connection.execute("DELETE FROM region_types WHERE image_id = ?", (entry.image_id,))
                self._connection.executemany(
                    "INSERT INTO region_types (image_id, defect_type) VALUES (?, ?)",
                    [(entry.image_id, name) for name in entry.region_types],
                )

    def delete(self, image_ids: Iterable[str]) -> None:
        """Remove rows of image ids whose label files are gone."""
        ids = [(image_id,) for image_id in image_ids]
        with self._connection:
            self._connection.executemany("DELETE FROM images WHERE image_id = ?", ids)
            self._connection.executemany("DELETE FROM region_types WHERE image_id = ?", ids)

    def entry(self, image_id: str) -> ImageEntry | None:
        """Return the row of one image id, or None when it is not indexed."""
        row = self._connection.execute(f"{_SELECT_ENTRY} WHERE image_id = ?", (image_id,)).fetchone()
        return _entry_from_row(row) if row else None

    def id_for_path(self, image_path: str) -> str | None:
        """Return the id of the image stored at ``image_path`` (as indexed), or None."""
        row = self._connection.execute("SELECT image_id FROM images WHERE image_path = ?", (image_path,)).fetchone()
        return row[0] if row else None

    def query(self, selection: ImageFilter | None = None) -> list[ImageEntry]:
        """Return the rows matching ``selection``, sorted by image id."""
        where, parameters = _where_clause(selection or ImageFilter())
        rows = self._connection.execute(f"{_SELECT_ENTRY} {where} ORDER BY image_id", parameters).fetchall()
        return [_entry_from_row(row) for row in rows]

    def query_ids(self, selection: ImageFilter | None = None) -> list[str]:
        """Return the image ids matching ``selection``, sorted."""
        where, parameters = _where_clause(selection or ImageFilter())
        rows = self._connection.execute(f"SELECT image_id FROM images {where} ORDER BY image_id", parameters)
        return [row[0] for row in rows]

    def counts(self) -> ProjectCounts:
        """Count images by verdict, image-level defect type and split."""
        by_verdict = {verdict: 0 for verdict in Verdict}
        by_split = {split: 0 for split in Split}
        by_type: dict[str, int] = {}
        for value, count in self._connection.execute("SELECT verdict, COUNT(*) FROM images GROUP BY verdict"):
            by_verdict[Verdict(value)] = count
        for value, count in self._connection.execute("SELECT split, COUNT(*) FROM images GROUP BY split"):
            by_split[Split(value)] = count
        rows = self._connection.execute(
            "SELECT defect_type, COUNT(*) FROM images WHERE defect_type IS NOT NULL GROUP BY defect_type"
        )
        for value, count in rows:
            by_type[value] = count
        return ProjectCounts(
            total=sum(by_verdict.values()), by_verdict=by_verdict, by_defect_type=by_type, by_split=by_split
        )

    def ids_using_type(self, defect_type: str) -> list[str]:
        """Return ids of images whose image-level type or any region type is ``defect_type``."""
        return self.query_ids(ImageFilter(defect_types=frozenset({defect_type})))

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            return LabelIndex._open_database(path)
        except sqlite3.DatabaseError as error:
            logger.warning("Index %s is damaged (%s); deleting and rebuilding it", path, error)
            path.unlink(missing_ok=True)
            return LabelIndex._open_database(path)

    @staticmethod
    def _open_database(path: Path) -> sqlite3.Connection:
        connection = sqlite3.connect(str(path), timeout=10.0)
        # The index is a cache that file stamps verify on every open, so commits skip the
        # disk flush. A lost or damaged index is rebuilt from the label files.
        connection.execute("PRAGMA synchronous = OFF")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != INDEX_SCHEMA_VERSION:
            if version:
                logger.info("Index %s has schema %s, expected %s; rebuilding it", path, version, INDEX_SCHEMA_VERSION)
            with connection:
                connection.execute("DROP TABLE IF EXISTS images")
                connection.execute("DROP TABLE IF EXISTS region_types")
        connection.executescript(_CREATE_TABLES)
        connection.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")
        connection.commit()
        return connection


def _entry_from_row(row: tuple) -> ImageEntry:
    image_id, image_path, width, height, verdict, defect_type, split, region_count, joined_types = row
    return ImageEntry(
        image_id=image_id,
        image_path=image_path,
        width=width,
        height=height,
        verdict=Verdict(verdict),
        defect_type=defect_type,
        split=Split(split),
        region_count=region_count,
        region_types=tuple(joined_types.split("\n")) if joined_types else (),
    )


def _where_clause(selection: ImageFilter) -> tuple[str, list[str]]:
    conditions: list[str] = []
    parameters: list[str] = []
    if selection.verdicts is not None:
        values = sorted(verdict.value for verdict in selection.verdicts)
        conditions.append(f"verdict IN ({', '.join('?' * len(values))})")
        parameters.extend(values)
    if selection.splits is not None:
        values = sorted(split.value for split in selection.splits)
        conditions.append(f"split IN ({', '.join('?' * len(values))})")
        parameters.extend(values)
    if selection.defect_types is not None:
        values = sorted(selection.defect_types)
        marks = ", ".join("?" * len(values))
        conditions.append(
            f"(defect_type IN ({marks}) OR image_id IN "
            f"(SELECT image_id FROM region_types WHERE defect_type IN ({marks})))"
        )
        parameters.extend(values + values)
    if not conditions:
        return "", parameters
    return "WHERE " + " AND ".join(conditions), parameters
