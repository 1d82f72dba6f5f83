"""The studio main window: a page list beside the pages, menus, status bar and saved geometry.

The window only delegates: pages come from :mod:`app.gui.pages`, actions and menus
from :mod:`app.gui.actions`, and error dialogs from :mod:`app.gui.errors`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from app.gui.actions import ActionSet
from app.gui.errors import ErrorPresenter
from app.gui.pages import PageContext, StudioPage, registered_pages
from app.gui.session import ProjectSession
from app.gui.settings import KEY_GEOMETRY, KEY_PAGE, KEY_STATE
from app.gui.shortcut_dialog import ShortcutDialog

logger = logging.getLogger(__name__)

PAGE_LIST_WIDTH_PX = 130
DEFAULT_WINDOW_SIZE = QSize(1400, 900)


class MainWindow(QMainWindow):
    """The DefectSeek Studio window."""

    def __init__(self, settings: QSettings, log_path: Path | None = None) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle(self.tr("DefectSeek Studio"))
        self.settings = settings
        self.session = ProjectSession(self)
        self.errors = ErrorPresenter(self, log_path)
        self.actions = ActionSet(settings, self)
        self.actions.build_menus(self.menuBar())
        self._project_label = QLabel()
        self.statusBar().addPermanentWidget(self._project_label)
        self._page_list = QListWidget()
        self._page_list.setObjectName("page_list")
        self._page_list.setFixedWidth(PAGE_LIST_WIDTH_PX)
        self._stack = QStackedWidget()
        self.pages: dict[str, StudioPage] = {}
        self._build_pages()
        self._layout_central()
        self._connect_global_actions()
        self.session.project_changed.connect(self._show_project_name)
        self._show_project_name()
        self._restore_window()

    def show_page(self, key: str) -> None:
        """Make the page ``key`` the visible one."""
        keys = list(self.pages)
        self._page_list.setCurrentRow(keys.index(key))

    def current_page_key(self) -> str:
        """Return the key of the visible page."""
        return list(self.pages)[self._stack.currentIndex()]

    def _build_pages(self) -> None:
        context = PageContext(self.session, self.actions, self.settings, self.errors, self)
        for spec in registered_pages():
            page = spec.factory(context)
            page.setObjectName(f"page_{spec.key}")
            self.pages[spec.key] = page
            self._stack.addWidget(page)
            item = QListWidgetItem(spec.title())
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setSizeHint(QSize(PAGE_LIST_WIDTH_PX - 8, 40))
            self._page_list.addItem(item)
        self._page_list.currentRowChanged.connect(self._on_page_row_changed)

    def _layout_central(self) -> None:
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._page_list)
        layout.addWidget(self._stack, 1)
        self.setCentralWidget(central)

    def _connect_global_actions(self) -> None:
        self.actions["quit"].triggered.connect(self.close)
        self.actions["shortcuts"].triggered.connect(self._edit_shortcuts)
        self.actions["about"].triggered.connect(self._show_about)
        for action in self.actions.for_page(None):
            self.addAction(action)
        for key in self.actions.page_keys():
            for action in self.actions.for_page(key):
                self.addAction(action)

    def _on_page_row_changed(self, row: int) -> None:
        if row < 0:
            return
        previous = self._stack.currentWidget()
        if isinstance(previous, StudioPage) and self._stack.currentIndex() != row:
            previous.page_hidden()
        self._stack.setCurrentIndex(row)
        key = self.current_page_key()
        for page_key in self.actions.page_keys():
            for action in self.actions.for_page(page_key):
                action.setEnabled(page_key == key)
        self.pages[key].page_shown()

    def _show_project_name(self) -> None:
        project = self.session.project
        if project is None:
            self._project_label.setText(self.tr("No project open"))
            self.setWindowTitle(self.tr("DefectSeek Studio"))
            return
        self._project_label.setText(self.tr("Project: {0}").format(project.info.name))
        self.setWindowTitle(self.tr("{0} - DefectSeek Studio").format(project.info.name))

    def _restore_window(self) -> None:
        geometry = self.settings.value(KEY_GEOMETRY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(DEFAULT_WINDOW_SIZE)
        state = self.settings.value(KEY_STATE)
        if state is not None:
            self.restoreState(state)
        key = str(self.settings.value(KEY_PAGE, "project"))
        self.show_page(key if key in self.pages else next(iter(self.pages)))

    def _edit_shortcuts(self) -> None:
        ShortcutDialog(self.actions, self).open()

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About DefectSeek Studio"),
            self.tr("DefectSeek Studio: label images, train from good images, and inspect parts on the line."),
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802, D102
        for page in self.pages.values():
            if not page.can_close():
                event.ignore()
                return
        self.settings.setValue(KEY_GEOMETRY, self.saveGeometry())
        self.settings.setValue(KEY_STATE, self.saveState())
        self.settings.setValue(KEY_PAGE, self.current_page_key())
        for page in self.pages.values():
            page.shutdown()
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)
