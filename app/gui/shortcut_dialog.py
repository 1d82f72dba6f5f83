"""A dialog to change keyboard shortcuts; changes are stored per user in QSettings."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QKeySequenceEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.actions import ActionSet, plain_text


class ShortcutDialog(QDialog):
    """A table of every action with an editable shortcut; OK applies and stores the changes."""

    def __init__(self, actions: ActionSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard Shortcuts"))
        self._actions = actions
        self._editors: dict[str, QKeySequenceEdit] = {}
        self._table = QTableWidget(len(actions.specs), 2)
        self._table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Shortcut")])
        self._table.horizontalHeader().setStretchLastSection(True)
        for row, spec in enumerate(actions.specs.values()):
            self._table.setItem(row, 0, QTableWidgetItem(plain_text(spec.text())))
            editor = QKeySequenceEdit(QKeySequence.fromString(actions.shortcut(spec.action_id)))
            editor.setClearButtonEnabled(True)
            self._table.setCellWidget(row, 1, editor)
            self._editors[spec.action_id] = editor
        self._table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._restore_defaults)
        layout = QVBoxLayout(self)
        layout.addWidget(self._table)
        layout.addWidget(buttons)
        self.resize(520, 600)

    def accept(self) -> None:  # noqa: D102
        for action_id, editor in self._editors.items():
            text = editor.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            if text != self._actions.shortcut(action_id):
                self._actions.set_shortcut(action_id, text)
        super().accept()

    def _restore_defaults(self) -> None:
        for action_id, editor in self._editors.items():
            editor.setKeySequence(QKeySequence.fromString(self._actions.specs[action_id].shortcut))
