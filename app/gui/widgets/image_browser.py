"""The image list of the Label page: filters with counts, thumbnails and the current-image selection."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QListView, QVBoxLayout, QWidget

from app.gui.pages.project_page import split_titles
from app.gui.widgets.thumbnails import THUMBNAIL_SIDE_PX, ThumbnailCache
from labeling.model import ImageEntry, ImageFilter, ProjectCounts, Split, Verdict
from labeling.project import Project

logger = logging.getLogger(__name__)

VERDICT_COLORS = {Verdict.GOOD: QColor(60, 170, 80), Verdict.NG: QColor(215, 50, 50)}
ALL = "all"


class ImageListModel(QAbstractListModel):
    """Rows of index entries; thumbnails are requested only for rows a view paints."""

    def __init__(self, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self._entries: list[ImageEntry] = []
        self._rows: dict[str, int] = {}
        self._rows_by_path: dict[str, int] = {}
        self._root = Path()
        self._thumbnails = thumbnails
        self._placeholder = QPixmap(THUMBNAIL_SIDE_PX, THUMBNAIL_SIDE_PX)
        self._placeholder.fill(QColor(80, 80, 80))
        thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    def set_entries(self, root: Path, entries: list[ImageEntry]) -> None:
        """Replace all rows."""
        self.beginResetModel()
        self._root = root
        self._entries = entries
        self._rows = {entry.image_id: row for row, entry in enumerate(entries)}
        self._rows_by_path = {self._path_key(entry): row for row, entry in enumerate(entries)}
        self.endResetModel()

    def image_id(self, row: int) -> str:
        """Return the image id shown in ``row``."""
        return self._entries[row].image_id

    def row_of(self, image_id: str) -> int:
        """Return the row of ``image_id``, or -1 when the filter hides it."""
        return self._rows.get(image_id, -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:  # noqa: N802, D102
        return 0 if parent is not None and parent.isValid() else len(self._entries)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: D102
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.image_id
        if role == Qt.ItemDataRole.DecorationRole:
            image = self._thumbnails.get(self._path_key(entry), self._image_path(entry))
            return QPixmap.fromImage(image) if image is not None else QIcon(self._placeholder)
        if role == Qt.ItemDataRole.ForegroundRole:
            return VERDICT_COLORS.get(entry.verdict)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.image_path}\n{entry.verdict.value} {entry.defect_type or ''}".strip()
        return None

    def _image_path(self, entry: ImageEntry) -> Path:
        stored = Path(entry.image_path)
        return stored if stored.is_absolute() else Path(os.path.normpath(self._root / stored))

    def _path_key(self, entry: ImageEntry) -> str:
        return str(self._image_path(entry))

    def _on_thumbnail(self, key: str) -> None:
        row = self._rows_by_path.get(key)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ImageBrowser(QWidget):
    """Filter combos, a count line and the thumbnail list; emits ``image_selected`` on user choice."""

    image_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = ThumbnailCache(self)
        self.model = ImageListModel(self.thumbnails, self)
        self.verdict_filter = QComboBox()
        self.verdict_filter.setObjectName("verdict_filter")
        self.split_filter = QComboBox()
        self.split_filter.setObjectName("split_filter")
        self.count_label = QLabel()
        self.list_view = QListView()
        self.list_view.setObjectName("image_list")
        self.list_view.setModel(self.model)
        self.list_view.setIconSize(QSize(THUMBNAIL_SIDE_PX, THUMBNAIL_SIDE_PX))
        self.list_view.setUniformItemSizes(True)
        self.list_view.setSpacing(2)
        self.list_view.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict_filter)
        layout.addWidget(self.split_filter)
        layout.addWidget(self.count_label)
        layout.addWidget(self.list_view, 1)
        self._project: Project | None = None
        self._current_id = ""
        self.verdict_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.split_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.list_view.selectionModel().currentChanged.connect(self._on_current_changed)

    def set_project(self, project: Project | None) -> None:
        """Show the images of ``project`` with all filters reset."""
        self._project = project
        self.thumbnails.clear()
        self._current_id = ""
        self._fill_filters(reset=True)
        self.reload()

    def reload(self) -> None:
        """Re-query the image list and counts, keeping the filter and current image."""
        if self._project is None:
            self.model.set_entries(Path(), [])
            self.count_label.clear()
            return
        self._fill_filters(reset=False)
        entries = self._project.entries(self.selection())
        self.model.set_entries(self._project.root, entries)
        total = self._project.counts().total
        self.count_label.setText(self.tr("{0} of {1} images").format(len(entries), total))
        self._select_quietly(self._current_id)

    def selection(self) -> ImageFilter:
        """Return the filter the combos describe."""
        verdict_key = self.verdict_filter.currentData()
        split_key = self.split_filter.currentData()
        verdicts = defect_types = splits = None
        if verdict_key in (Verdict.UNLABELLED.value, Verdict.GOOD.value, Verdict.NG.value):
            verdicts = frozenset({Verdict(verdict_key)})
        elif isinstance(verdict_key, str) and verdict_key.startswith("type:"):
            defect_types = frozenset({verdict_key[len("type:") :]})
        if split_key not in (None, ALL):
            splits = frozenset({Split(split_key)})
        return ImageFilter(verdicts=verdicts, defect_types=defect_types, splits=splits)

    def current_id(self) -> str:
        """Return the image id selected in the list ("" for none)."""
        return self._current_id

    def neighbour_id(self, step: int) -> str:
        """Return the id ``step`` rows from the current one in the filtered list ("" past either end)."""
        row = self.model.row_of(self._current_id)
        if row >= 0:
            target = row + step
        elif step > 0:
            target = 0
        else:
            target = self.model.rowCount() - 1
        if 0 <= target < self.model.rowCount():
            return self.model.image_id(target)
        return ""

    def set_current(self, image_id: str) -> None:
        """Mark ``image_id`` as current in the list without emitting ``image_selected``."""
        self._current_id = image_id
        self._select_quietly(image_id)

    def select_id(self, image_id: str) -> None:
        """Make ``image_id`` current and emit ``image_selected``."""
        self._current_id = image_id
        self._select_quietly(image_id)
        self.image_selected.emit(image_id)

    def _select_quietly(self, image_id: str) -> None:
        row = self.model.row_of(image_id)
        selection = self.list_view.selectionModel()
        selection.blockSignals(True)
        if row >= 0:
            index = self.model.index(row)
            self.list_view.setCurrentIndex(index)
            self.list_view.scrollTo(index)
        else:
            self.list_view.clearSelection()
        selection.blockSignals(False)
        self.list_view.viewport().update()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            image_id = self.model.image_id(current.row())
            if image_id != self._current_id:
                self.select_id(image_id)

    def _on_filter_changed(self) -> None:
        if self._project is not None:
            self.reload()

    def _fill_filters(self, *, reset: bool) -> None:
        counts = self._project.counts() if self._project is not None else None
        names = list(self._project.info.class_names) if self._project is not None else []
        self._fill_verdicts(counts, names, reset)
        self._fill_splits(counts, reset)

    def _fill_verdicts(self, counts: ProjectCounts | None, names: list[str], reset: bool) -> None:
        chosen = None if reset else self.verdict_filter.currentData()
        by_verdict = counts.by_verdict if counts else {}
        by_type = counts.by_defect_type if counts else {}
        items = [
            (self.tr("All images ({0})").format(counts.total if counts else 0), ALL),
            (self.tr("Unlabelled ({0})").format(by_verdict.get(Verdict.UNLABELLED, 0)), Verdict.UNLABELLED.value),
            (self.tr("Good ({0})").format(by_verdict.get(Verdict.GOOD, 0)), Verdict.GOOD.value),
            (self.tr("NG ({0})").format(by_verdict.get(Verdict.NG, 0)), Verdict.NG.value),
        ]
        items += [(self.tr("Type: {0} ({1})").format(name, by_type.get(name, 0)), f"type:{name}") for name in names]
        _refill(self.verdict_filter, items, chosen)

    def _fill_splits(self, counts: ProjectCounts | None, reset: bool) -> None:
        chosen = None if reset else self.split_filter.currentData()
        by_split = counts.by_split if counts else {}
        items = [(self.tr("All splits"), ALL)]
        items += [(f"{title} ({by_split.get(split, 0)})", split.value) for split, title in split_titles().items()]
        _refill(self.split_filter, items, chosen)

    def shutdown(self) -> None:
        """Stop thumbnail workers."""
        self.thumbnails.shutdown()


def _refill(combo: QComboBox, items: list[tuple[str, str]], chosen: str | None) -> None:
    combo.blockSignals(True)
    combo.clear()
    for text, key in items:
        combo.addItem(text, key)
    index = combo.findData(chosen) if chosen is not None else 0
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)
