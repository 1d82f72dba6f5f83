"""The Project page: create or open a project folder, import images, and see counts per verdict, type and split."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.actions import plain_text
from app.gui.pages.base import PageContext, StudioPage
from app.gui.settings import KEY_LAST_PROJECT
from app.gui.workflow.dataset_import import import_dataset
from labeling.errors import LabelingError
from labeling.imageio import ImageReadError
from labeling.model import Split, Verdict

logger = logging.getLogger(__name__)


class NewProjectDialog(QDialog):
    """Dialog for the folder, name and defect types of a new project."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("New Project"))
        self.folder_edit = QLineEdit()
        browse = QPushButton(self.tr("Browse..."))
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.name_edit = QLineEdit()
        self.classes_edit = QLineEdit()
        self.classes_edit.setPlaceholderText(self.tr("scratch, dent, stain"))
        form = QFormLayout(self)
        form.addRow(self.tr("Folder:"), folder_row)
        form.addRow(self.tr("Name:"), self.name_edit)
        form.addRow(self.tr("Defect types (comma-separated):"), self.classes_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def classes(self) -> list[str]:
        """Return the entered defect types, split on ASCII or Chinese commas."""
        text = self.classes_edit.text().replace("，", ",")
        return [name.strip() for name in text.split(",") if name.strip()]

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose an empty folder for the project"))
        if folder:
            self.folder_edit.setText(folder)
            if not self.name_edit.text():
                self.name_edit.setText(Path(folder).name)


class ProjectPage(StudioPage):
    """Page with the project folder actions and the image counts of the open project."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self._title = QLabel()
        self._title.setObjectName("project_title")
        self._folder = QLabel()
        self._classes = QLabel()
        self._classes.setWordWrap(True)
        self.counts_tree = QTreeWidget()
        self.counts_tree.setObjectName("counts_tree")
        self.counts_tree.setHeaderLabels([self.tr("Group"), self.tr("Images")])
        buttons = QHBoxLayout()
        for action_id in ("project_new", "project_open", "import_images"):
            button = QPushButton(plain_text(context.actions[action_id].text()))
            button.clicked.connect(context.actions[action_id].trigger)
            buttons.addWidget(button)
        dataset_button = QPushButton(self.tr("Import Dataset..."))
        dataset_button.setToolTip(self.tr("An MVTec AD folder (train/, test/, ground_truth/) or a folder of labelme JSON files"))
        dataset_button.clicked.connect(self._ask_import_dataset)
        buttons.addWidget(dataset_button)
        buttons.addStretch(1)
        self.setAcceptDrops(True)
        self._drop_hint = QLabel(self.tr("Drop image folders, MVTec AD folders or labelme files here to import them."))
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self._title)
        layout.addWidget(self._folder)
        layout.addWidget(self._classes)
        layout.addWidget(self.counts_tree, 1)
        layout.addWidget(self._drop_hint)
        context.actions["project_new"].triggered.connect(self._ask_new_project)
        context.actions["project_open"].triggered.connect(self._ask_open_project)
        context.actions["import_images"].triggered.connect(self._ask_import)
        context.session.project_changed.connect(self.refresh)
        context.session.labels_changed.connect(self.refresh)
        self.refresh()

    def create_project(self, folder: str | Path, name: str, classes: list[str]) -> bool:
        """Create and open a project; report failures to the user and return False."""
        if not self.context.session.confirm_close():
            return False
        try:
            self.context.session.create(folder, name or Path(folder).name, classes)
        except (LabelingError, OSError, ValueError) as error:
            self.context.errors.report(self.tr("Could not create the project in {0}.").format(folder), error)
            return False
        self.context.settings.setValue(KEY_LAST_PROJECT, str(folder))
        return True

    def open_project(self, folder: str | Path) -> bool:
        """Open a project; report failures to the user and return False."""
        if not self.context.session.confirm_close():
            return False
        try:
            self.context.session.open(folder)
        except (LabelingError, OSError, ValueError) as error:
            self.context.errors.report(
                self.tr("Could not open the project in {0}.").format(folder),
                error,
                self.tr("Choose a folder that contains project.json, or create a new project."),
            )
            return False
        self.context.settings.setValue(KEY_LAST_PROJECT, str(folder))
        return True

    def import_images(self, paths: list[str | Path], *, copy: bool) -> bool:
        """Import image files or folders into the open project; report skipped files in the status bar."""
        if not self.context.session.is_open:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return False
        try:
            report = self.context.session.import_images(paths, copy=copy)
        except (LabelingError, ImageReadError, OSError) as error:
            self.context.errors.report(self.tr("Could not import the images."), error)
            return False
        message = self.tr("Imported {0} images; skipped {1}.").format(len(report.items), len(report.skipped))
        self.context.window.statusBar().showMessage(message, 10_000)
        for skipped in report.skipped:
            logger.warning("Import skipped %s: %s", skipped.path, skipped.reason)
        return True

    def import_dataset(self, path: str | Path, *, copy: bool = False, kind: str | None = None) -> bool:
        """Import an MVTec AD folder, labelme files or plain images (``kind`` detected when None)."""
        project = self.context.session.project
        if project is None:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return False
        try:
            report = import_dataset(project, Path(path), copy=copy, kind=kind)
        except (LabelingError, ImageReadError, OSError, ValueError) as error:
            self.context.errors.report(self.tr("Could not import {0}.").format(path), error)
            return False
        self.context.session.labels_changed.emit()
        message = self.tr("Imported {0} images; skipped {1}.").format(len(report.items), len(report.skipped))
        self.context.window.statusBar().showMessage(message, 10_000)
        for skipped in report.skipped:
            logger.warning("Import skipped %s: %s", skipped.path, skipped.reason)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802, D102
        if event.mimeData().hasUrls() and self.context.session.is_open:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802, D102
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        for path in paths:
            self.import_dataset(path)
        event.acceptProposedAction()

    def _ask_import_dataset(self) -> None:
        if not self.context.session.is_open:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose an MVTec AD or labelme Folder"))
        if folder:
            self.import_dataset(folder)

    def refresh(self) -> None:
        """Show the open project's name, folder, classes and counts."""
        project = self.context.session.project
        self.counts_tree.clear()
        if project is None:
            self._title.setText(self.tr("No project is open. Create a new project or open an existing one."))
            self._folder.clear()
            self._classes.clear()
            return
        self._title.setText(self.tr("Project: {0}").format(project.info.name))
        self._folder.setText(self.tr("Folder: {0}").format(project.root))
        names = ", ".join(project.info.class_names) or self.tr("(none)")
        self._classes.setText(self.tr("Defect types: {0}").format(names))
        self._fill_counts(project.counts())

    def _fill_counts(self, counts) -> None:
        total = QTreeWidgetItem([self.tr("All images"), str(counts.total)])
        self.counts_tree.addTopLevelItem(total)
        verdicts = QTreeWidgetItem([self.tr("By verdict"), ""])
        for verdict, text in (
            (Verdict.UNLABELLED, self.tr("Unlabelled")),
            (Verdict.GOOD, self.tr("Good")),
            (Verdict.NG, self.tr("NG")),
        ):
            verdicts.addChild(QTreeWidgetItem([text, str(counts.by_verdict.get(verdict, 0))]))
        types = QTreeWidgetItem([self.tr("By defect type"), ""])
        for name in self.context.session.class_names():
            types.addChild(QTreeWidgetItem([name, str(counts.by_defect_type.get(name, 0))]))
        splits = QTreeWidgetItem([self.tr("By split"), ""])
        for split, text in split_titles().items():
            splits.addChild(QTreeWidgetItem([text, str(counts.by_split.get(split, 0))]))
        for item in (verdicts, types, splits):
            self.counts_tree.addTopLevelItem(item)
            item.setExpanded(True)
        self.counts_tree.resizeColumnToContents(0)

    def _ask_new_project(self) -> None:
        dialog = NewProjectDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.folder_edit.text():
            self.create_project(dialog.folder_edit.text(), dialog.name_edit.text(), dialog.classes())

    def _ask_open_project(self) -> None:
        start = str(self.context.settings.value(KEY_LAST_PROJECT, ""))
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open Project Folder"), start)
        if folder:
            self.open_project(folder)

    def _ask_import(self) -> None:
        if not self.context.session.is_open:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Folder of Images"))
        if not folder:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Import Images"),
            self.tr("Copy the images into the project folder? Choose No to reference them where they are."),
        )
        self.import_images([folder], copy=answer == QMessageBox.StandardButton.Yes)


def split_titles() -> dict[Split, str]:
    """Return the translated name of each split."""
    return {
        Split.NONE: QCoreApplication.translate("Splits", "No split"),
        Split.TRAIN: QCoreApplication.translate("Splits", "Train"),
        Split.VALIDATION: QCoreApplication.translate("Splits", "Validation"),
        Split.TEST: QCoreApplication.translate("Splits", "Test"),
    }
