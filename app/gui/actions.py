"""The studio's actions, their default shortcuts (user-configurable through QSettings) and menus.

Pages look actions up by id and connect to them; the main window enables the
actions of a page only while that page is shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar

from app.gui.settings import SHORTCUTS_GROUP

logger = logging.getLogger(__name__)

DEFECT_TYPE_SHORTCUT_COUNT = 7


@dataclass(frozen=True)
class ActionSpec:
    """One action: id, menu, translated-text factory, default shortcut and owning page.

    Attributes:
        action_id: stable id used in settings and by pages.
        menu: id of the menu that shows it (file, edit, view, label, help).
        text: returns the translated menu text.
        shortcut: default key sequence in portable text form ("" for none).
        page: key of the page whose actions are enabled only while it is shown, or None for global.
        checkable: True for tool toggles.
    """

    action_id: str
    menu: str
    text: Callable[[], str]
    shortcut: str = ""
    page: str | None = None
    checkable: bool = False


def plain_text(text: str) -> str:
    """Return a menu text without its mnemonic: "&Save" gives "Save" and "保存(&S)" gives "保存"."""
    return re.sub(r"\(&\w\)", "", text).replace("&", "")


def _defect_type_specs() -> list[ActionSpec]:
    specs = []
    for number in range(1, DEFECT_TYPE_SHORTCUT_COUNT + 1):
        specs.append(
            ActionSpec(
                f"defect_type_{number}",
                "label",
                lambda number=number: QCoreApplication.translate("Actions", "Defect Type {0}").format(number),
                str(number + 2),
                "label",
            )
        )
    return specs


def action_specs() -> list[ActionSpec]:
    """Return every action of the studio in menu order."""
    specs = [
        ActionSpec("project_new", "file", lambda: QCoreApplication.translate("Actions", "&New Project..."), "Ctrl+N"),
        ActionSpec("project_open", "file", lambda: QCoreApplication.translate("Actions", "&Open Project..."), "Ctrl+O"),
        ActionSpec(
            "import_images", "file", lambda: QCoreApplication.translate("Actions", "&Import Images..."), "Ctrl+I"
        ),
        ActionSpec("save", "file", lambda: QCoreApplication.translate("Actions", "&Save"), "Ctrl+S", "label"),
        ActionSpec("quit", "file", lambda: QCoreApplication.translate("Actions", "&Quit"), "Ctrl+Q"),
        ActionSpec("undo", "edit", lambda: QCoreApplication.translate("Actions", "&Undo"), "Ctrl+Z", "label"),
        ActionSpec("redo", "edit", lambda: QCoreApplication.translate("Actions", "&Redo"), "Ctrl+Y", "label"),
        ActionSpec(
            "delete",
            "edit",
            lambda: QCoreApplication.translate("Actions", "&Delete Selected Shapes or Mask Region"),
            "Delete",
            "label",
        ),
        ActionSpec("shortcuts", "edit", lambda: QCoreApplication.translate("Actions", "&Keyboard Shortcuts...")),
        ActionSpec("fit_window", "view", lambda: QCoreApplication.translate("Actions", "&Fit to Window"), "F", "label"),
        ActionSpec(
            "actual_size",
            "view",
            lambda: QCoreApplication.translate("Actions", "&Actual Size (1:1)"),
            "Ctrl+0",
            "label",
        ),
        ActionSpec("zoom_in", "view", lambda: QCoreApplication.translate("Actions", "Zoom &In"), "Ctrl+=", "label"),
        ActionSpec("zoom_out", "view", lambda: QCoreApplication.translate("Actions", "Zoom &Out"), "Ctrl+-", "label"),
        ActionSpec("next_image", "label", lambda: QCoreApplication.translate("Actions", "&Next Image"), "D", "label"),
        ActionSpec(
            "previous_image", "label", lambda: QCoreApplication.translate("Actions", "&Previous Image"), "A", "label"
        ),
        ActionSpec(
            "tool_select",
            "label",
            lambda: QCoreApplication.translate("Actions", "&Select and Move"),
            "V",
            "label",
            True,
        ),
        ActionSpec(
            "tool_rectangle", "label", lambda: QCoreApplication.translate("Actions", "&Rectangle"), "R", "label", True
        ),
        ActionSpec(
            "tool_polygon", "label", lambda: QCoreApplication.translate("Actions", "P&olygon"), "P", "label", True
        ),
        ActionSpec("tool_brush", "label", lambda: QCoreApplication.translate("Actions", "&Brush"), "B", "label", True),
        ActionSpec(
            "tool_eraser", "label", lambda: QCoreApplication.translate("Actions", "&Eraser"), "E", "label", True
        ),
        ActionSpec(
            "brush_larger", "label", lambda: QCoreApplication.translate("Actions", "Larger Brush"), "]", "label"
        ),
        ActionSpec(
            "brush_smaller", "label", lambda: QCoreApplication.translate("Actions", "Smaller Brush"), "[", "label"
        ),
        ActionSpec("verdict_good", "label", lambda: QCoreApplication.translate("Actions", "Mark &Good"), "1", "label"),
        ActionSpec("verdict_ng", "label", lambda: QCoreApplication.translate("Actions", "Mark &NG"), "2", "label"),
        ActionSpec(
            "verdict_clear", "label", lambda: QCoreApplication.translate("Actions", "Mark &Unlabelled"), "0", "label"
        ),
        *_defect_type_specs(),
        ActionSpec("about", "help", lambda: QCoreApplication.translate("Actions", "&About DefectSeek Studio")),
    ]
    return specs


def menu_titles() -> dict[str, str]:
    """Return the translated title of each menu id."""
    return {
        "file": QCoreApplication.translate("Actions", "&File"),
        "edit": QCoreApplication.translate("Actions", "&Edit"),
        "view": QCoreApplication.translate("Actions", "&View"),
        "label": QCoreApplication.translate("Actions", "&Label"),
        "help": QCoreApplication.translate("Actions", "&Help"),
    }


class ActionSet(QObject):
    """The studio's QActions by id, with shortcuts read from and written to QSettings.

    Signals:
        shortcuts_changed: a shortcut was set or the defaults were restored.
    """

    shortcuts_changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.specs = {spec.action_id: spec for spec in action_specs()}
        self._actions: dict[str, QAction] = {}
        for spec in self.specs.values():
            action = QAction(spec.text(), parent)
            action.setObjectName(f"action_{spec.action_id}")
            action.setCheckable(spec.checkable)
            action.setIconText(plain_text(spec.text()))
            self._actions[spec.action_id] = action
        self.apply_shortcuts()

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def for_page(self, page: str | None) -> list[QAction]:
        """Return the actions owned by ``page`` (None: the global actions)."""
        return [self._actions[spec.action_id] for spec in self.specs.values() if spec.page == page]

    def page_keys(self) -> set[str]:
        """Return the keys of pages that own actions."""
        return {spec.page for spec in self.specs.values() if spec.page is not None}

    def shortcut(self, action_id: str) -> str:
        """Return the configured shortcut of an action in portable text ("" for none)."""
        default = self.specs[action_id].shortcut
        return str(self._settings.value(f"{SHORTCUTS_GROUP}/{action_id}", default))

    def set_shortcut(self, action_id: str, sequence: str) -> None:
        """Store a user shortcut (portable text, "" to remove) and apply it."""
        if sequence == self.specs[action_id].shortcut:
            self._settings.remove(f"{SHORTCUTS_GROUP}/{action_id}")
        else:
            self._settings.setValue(f"{SHORTCUTS_GROUP}/{action_id}", sequence)
        self.apply_shortcuts()

    def reset_shortcuts(self) -> None:
        """Forget every user shortcut and apply the defaults."""
        self._settings.remove(SHORTCUTS_GROUP)
        self.apply_shortcuts()

    def apply_shortcuts(self) -> None:
        """Apply the configured shortcuts to the actions (menus show them next to the text)."""
        for action_id, action in self._actions.items():
            text = self.shortcut(action_id)
            action.setShortcut(QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText))
        redo = self._actions["redo"]
        if self.shortcut("redo") == self.specs["redo"].shortcut:
            redo.setShortcuts([redo.shortcut(), QKeySequence("Ctrl+Shift+Z")])
        self.shortcuts_changed.emit()

    def build_menus(self, menu_bar: QMenuBar) -> None:
        """Fill ``menu_bar`` with one menu per menu id, in the order the specs list them."""
        titles = menu_titles()
        menus = {}
        for spec in self.specs.values():
            if spec.menu not in menus:
                menus[spec.menu] = menu_bar.addMenu(titles[spec.menu])
                menus[spec.menu].setObjectName(f"menu_{spec.menu}")
            menu = menus[spec.menu]
            if spec.action_id in ("quit", "shortcuts", "next_image", "tool_select", "verdict_good", "defect_type_1"):
                menu.addSeparator()
            menu.addAction(self._actions[spec.action_id])
