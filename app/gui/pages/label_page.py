"""The Label page: image list, canvas, tools and the side panel, with autosave when the image changes."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QScrollArea, QSplitter, QToolBar, QVBoxLayout, QWidget

from app.gui.actions import DEFECT_TYPE_SHORTCUT_COUNT
from app.gui.canvas.commands import (
    AddMaskCommand,
    RemoveMasksCommand,
    RemoveShapesCommand,
    SetMaskLabelCommand,
    SetShapeLabelCommand,
    SetVerdictCommand,
)
from app.gui.canvas.convert import LoadedLabel, document_from_label, label_from_document, mark_saved
from app.gui.canvas.document import MASK_ON
from app.gui.canvas.tools import TOOL_NAMES
from app.gui.canvas.view import CanvasView
from app.gui.pages.base import PageContext, StudioPage
from app.gui.pages.image_prefetch import ImagePrefetcher
from app.gui.pages.label_assist import AssistModelSource
from app.gui.widgets.assist_panel import AnomalyMapProvider, AssistPanel
from app.gui.widgets.image_browser import ImageBrowser
from app.gui.widgets.label_panel import LabelPanel
from app.gui.widgets.mask_list import MaskRegionList
from labeling.assist import RegionProposal
from labeling.errors import ConflictError, LabelingError
from labeling.imageio import ImageReadError, LoadedImage
from labeling.model import Verdict

logger = logging.getLogger(__name__)

KEY_SPLITTER = "label_page/splitter"
BRUSH_STEP_PX = 5
BROWSER_WIDTH_PX = 220
PANEL_WIDTH_PX = 290


class LabelPage(StudioPage):
    """Label one image at a time; D/A move through the filtered list and save the label on the way."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self.undo_stack = QUndoStack(self)
        self.image_id = ""
        self.image: LoadedImage | None = None
        self.loaded: LoadedLabel | None = None
        self.prefetcher = ImagePrefetcher()
        self.browser = ImageBrowser()
        self.canvas = CanvasView(self.undo_stack)
        self.canvas.setObjectName("canvas")
        self.panel = LabelPanel()
        self.mask_list = MaskRegionList()
        self.assist = AssistPanel()
        self.panel.extra_layout.addWidget(self.mask_list)
        self.panel.extra_layout.addWidget(self.assist)
        self.assist_models = AssistModelSource(context, self.assist)
        self.status_line = QLabel()
        self.status_line.setObjectName("canvas_status")
        self._tool_group = QActionGroup(self)
        self._build_layout()
        self._connect_actions()
        self._connect_widgets()
        context.session.project_changed.connect(self._on_project_changed)
        context.session.labels_changed.connect(self.browser.reload)
        context.session.add_close_guard(self.save_if_modified)
        context.actions.shortcuts_changed.connect(self._show_shortcut_hints)
        self._on_project_changed()

    # ----- public API -----

    def open_image(self, image_id: str) -> bool:
        """Save the current label when changed, then show ``image_id``; return False when either step failed."""
        if image_id == self.image_id and self.loaded is not None:
            return True
        if not self.save_if_modified():
            self.browser.set_current(self.image_id)
            return False
        project = self.context.session.project
        if project is None:
            return False
        try:
            image = self.prefetcher.load(project.image_path(image_id))
            label = project.get_label(image_id)
        except (ImageReadError, LabelingError, OSError) as error:
            self.context.errors.report(self.tr("Could not open image {0}.").format(image_id), error)
            return False
        if (label.image_width, label.image_height) != (image.width, image.height):
            self.context.errors.report(
                self.tr("The label of {0} is for a {1}x{2} image, but the image file is {3}x{4}.").format(
                    image_id, label.image_width, label.image_height, image.width, image.height
                ),
                None,
                self.tr("The image file was replaced; restore the original file or remove and re-import the image."),
            )
            return False
        self._show(image_id, image, document_from_label(label, image.width, image.height))
        neighbours = [self.browser.neighbour_id(step) for step in (1, -1)]
        self.prefetcher.prefetch([project.image_path(neighbour) for neighbour in neighbours if neighbour])
        return True

    def save(self) -> bool:
        """Save the current label (even when unchanged); report failures and return False."""
        if self.loaded is None or self.context.session.project is None:
            return True
        self.canvas.cancel_tool()
        label = label_from_document(self.loaded)
        try:
            saved = self.context.session.save_label(self.image_id, label)
        except ConflictError as error:
            self.context.errors.report(
                self.tr("The label of {0} was not saved because it changed on disk.").format(self.image_id),
                error,
                self.tr("Copy your changes, reopen the image to load the other version, and apply them again."),
            )
            return False
        except (LabelingError, OSError) as error:
            self.context.errors.report(self.tr("Could not save the label of {0}.").format(self.image_id), error)
            return False
        mark_saved(self.loaded, saved)
        self.undo_stack.setClean()
        self.context.window.statusBar().showMessage(self.tr("Saved {0}").format(self.image_id), 3000)
        return True

    def save_if_modified(self) -> bool:
        """Save when the label changed since it was loaded or saved; return False when saving failed."""
        if self.loaded is None or not self.loaded.document.modified:
            return True
        return self.save()

    def next_image(self) -> bool:
        """Go to the next image of the filtered list (D)."""
        return self._step(1)

    def previous_image(self) -> bool:
        """Go to the previous image of the filtered list (A)."""
        return self._step(-1)

    def set_anomaly_map_provider(self, provider: AnomalyMapProvider | None) -> None:
        """Propose masks with ``provider(image_path)`` in place of the chosen model (None disables proposing).

        The provider runs in a worker thread and returns an anomaly map, an
        :class:`~app.gui.workflow.assist_model.AssistMap` or None. It stays in use
        until it is set back to None, whatever model the panel lists.
        """
        self.assist_models.set_override(provider)

    # ----- StudioPage hooks -----

    def page_hidden(self) -> None:  # noqa: D102
        self.save_if_modified()

    def page_shown(self) -> None:  # noqa: D102
        self.assist_models.refresh()
        self.canvas.setFocus()

    def can_close(self) -> bool:
        """Save pending edits; when saving fails, let the user discard them or keep the window open."""
        if self.save_if_modified():
            return True
        return self.confirm_discard()

    def confirm_discard(self) -> bool:
        """Ask whether to close without the unsaved edits of the current image."""
        answer = QMessageBox.question(
            self,
            self.tr("Unsaved Changes"),
            self.tr("The label of {0} could not be saved. Close anyway and lose the changes?").format(self.image_id),
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def shutdown(self) -> None:  # noqa: D102
        self.context.settings.setValue(KEY_SPLITTER, self._splitter.saveState())
        self.browser.shutdown()
        self.prefetcher.shutdown()
        self.assist.shutdown()

    # ----- building -----

    def _build_layout(self) -> None:
        toolbar = QToolBar()
        toolbar.setObjectName("label_toolbar")
        actions = self.context.actions
        for name in TOOL_NAMES:
            action = actions[f"tool_{name}"]
            self._tool_group.addAction(action)
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action_id in ("undo", "redo", "fit_window", "actual_size", "previous_image", "next_image", "save"):
            toolbar.addAction(actions[action_id])
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(toolbar)
        center_layout.addWidget(self.canvas, 1)
        center_layout.addWidget(self.status_line)
        panel_scroll = QScrollArea()
        panel_scroll.setWidget(self.panel)
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_scroll.setMinimumWidth(
            self.panel.minimumSizeHint().width() + panel_scroll.verticalScrollBar().sizeHint().width()
        )
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("label_splitter")
        splitter.addWidget(self.browser)
        splitter.addWidget(center)
        splitter.addWidget(panel_scroll)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([BROWSER_WIDTH_PX, 900, PANEL_WIDTH_PX])
        state = self.context.settings.value(KEY_SPLITTER)
        if state is not None:
            splitter.restoreState(state)
        self._splitter = splitter
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _connect_actions(self) -> None:
        actions = self.context.actions
        actions["save"].triggered.connect(self.save)
        actions["undo"].triggered.connect(self._undo)
        actions["redo"].triggered.connect(self._redo)
        actions["delete"].triggered.connect(self._delete_selected)
        actions["fit_window"].triggered.connect(self.canvas.fit_to_window)
        actions["actual_size"].triggered.connect(self.canvas.actual_size)
        actions["zoom_in"].triggered.connect(lambda: self.canvas.zoom_by(1))
        actions["zoom_out"].triggered.connect(lambda: self.canvas.zoom_by(-1))
        actions["next_image"].triggered.connect(self.next_image)
        actions["previous_image"].triggered.connect(self.previous_image)
        actions["brush_larger"].triggered.connect(lambda: self.panel.brush_size.stepBy(BRUSH_STEP_PX))
        actions["brush_smaller"].triggered.connect(lambda: self.panel.brush_size.stepBy(-BRUSH_STEP_PX))
        actions["verdict_good"].triggered.connect(lambda: self._set_verdict(Verdict.GOOD.value))
        actions["verdict_ng"].triggered.connect(lambda: self._set_verdict(Verdict.NG.value))
        actions["verdict_clear"].triggered.connect(lambda: self._set_verdict(Verdict.UNLABELLED.value))
        for number in range(1, DEFECT_TYPE_SHORTCUT_COUNT + 1):
            actions[f"defect_type_{number}"].triggered.connect(
                lambda _checked=False, n=number: self._choose_type_number(n)
            )
        for name in TOOL_NAMES:
            actions[f"tool_{name}"].triggered.connect(lambda _checked=False, tool=name: self.canvas.set_tool(tool))
        actions["tool_select"].setChecked(True)

    def _connect_widgets(self) -> None:
        self.browser.image_selected.connect(self.open_image)
        self.panel.verdict_clicked.connect(self._set_verdict)
        self.panel.defect_type_chosen.connect(self._choose_type)
        self.panel.split_chosen.connect(self._set_split)
        self.panel.brush_size.valueChanged.connect(lambda value: setattr(self.canvas, "brush_size", value))
        self.panel.opacity_slider.valueChanged.connect(
            lambda value: self.canvas.label_scene.set_mask_opacity(value / 100)
        )
        self.panel.window_level.window_changed.connect(self.canvas.label_scene.set_window)
        self.assist.proposal_changed.connect(self.canvas.label_scene.set_proposal)
        self.assist.accepted.connect(self._accept_proposal)
        self.assist.message.connect(lambda text: self.context.window.statusBar().showMessage(text, 5000))
        self.mask_list.delete_requested.connect(self._delete_mask)
        self.canvas.status_message.connect(lambda text: self.context.window.statusBar().showMessage(text, 5000))
        self.canvas.cursor_moved.connect(self._show_cursor)
        self.canvas.zoom_changed.connect(lambda _zoom: self._show_cursor(-1, -1))
        self.canvas.tool_changed.connect(lambda tool: self.context.actions[f"tool_{tool}"].setChecked(True))

    # ----- state changes -----

    def _on_project_changed(self) -> None:
        self._clear_image()
        self.prefetcher.clear()
        self.browser.set_project(self.context.session.project)
        self._update_type_action_texts()
        self._show_shortcut_hints()

    def _show(self, image_id: str, image: LoadedImage, loaded: LoadedLabel) -> None:
        self.canvas.cancel_tool()
        self.undo_stack.clear()
        self.image_id = image_id
        self.image = image
        self.loaded = loaded
        document = loaded.document
        self.canvas.label_scene.set_image(image.pixels, document, self.context.session.class_names())
        self.canvas.label_scene.set_mask_opacity(self.panel.opacity_slider.value() / 100)
        self.panel.window_level.set_pixels(image.pixels)
        self.panel.show_state(document.verdict, document.defect_type, document.split)
        document.verdict_changed.connect(self._on_verdict_changed)
        document.modified_changed.connect(lambda _modified: self._show_cursor(-1, -1))
        self.mask_list.set_document(document)
        self.assist.set_image(self.context.session.project.image_path(image_id), image.height, image.width)
        self.canvas.fit_to_window()
        self.browser.set_current(image_id)
        self._show_cursor(-1, -1)

    def _clear_image(self) -> None:
        self.canvas.cancel_tool()
        self.undo_stack.clear()
        self.canvas.label_scene.clear_image()
        self.panel.window_level.set_pixels(None)
        self.mask_list.set_document(None)
        self.assist.set_image(None, 0, 0)
        self.image_id = ""
        self.image = None
        self.loaded = None
        self.status_line.clear()

    def _step(self, step: int) -> bool:
        if self.context.session.project is None:
            return False
        # The neighbour is chosen before saving, because saving can drop the current image from the filtered list.
        target = self.browser.neighbour_id(step)
        if not self.save_if_modified():
            return False
        if not target:
            message = (
                self.tr("This is the last image of the list.")
                if step > 0
                else self.tr("This is the first image of the list.")
            )
            self.context.window.statusBar().showMessage(message, 3000)
            return False
        return self.open_image(target)

    def _on_verdict_changed(self) -> None:
        document = self.loaded.document if self.loaded is not None else None
        if document is not None:
            self.panel.show_state(document.verdict, document.defect_type, document.split)

    def _set_verdict(self, verdict: str) -> None:
        if self.loaded is None:
            return
        defect_type = self.panel.defect_type() if verdict == Verdict.NG.value else ""
        self.undo_stack.push(SetVerdictCommand(self.loaded.document, verdict, defect_type))

    def _choose_type_number(self, number: int) -> None:
        names = self.context.session.class_names()
        if number > len(names):
            self.context.window.statusBar().showMessage(
                self.tr("The project has no defect type {0}.").format(number), 3000
            )
            return
        self.panel.set_defect_type(names[number - 1])
        self._choose_type(names[number - 1])

    def _choose_type(self, name: str) -> None:
        """Use ``name`` for new shapes and mask regions, the selected shapes, the active mask region and the verdict."""
        self.canvas.current_label = name
        if self.loaded is None:
            return
        document = self.loaded.document
        selected = self.canvas.label_scene.selected_shape_ids()
        self.undo_stack.beginMacro(self.tr("Set defect type"))
        if selected:
            self.undo_stack.push(SetShapeLabelCommand(document, selected, name))
        if document.active_mask_id and document.mask_layer(document.active_mask_id).label != name:
            self.undo_stack.push(SetMaskLabelCommand(document, document.active_mask_id, name))
        if name:
            self.undo_stack.push(SetVerdictCommand(document, Verdict.NG.value, name))
        elif document.verdict == Verdict.NG.value:
            self.undo_stack.push(SetVerdictCommand(document, Verdict.NG.value, ""))
        self.undo_stack.endMacro()

    def _set_split(self, split: str) -> None:
        if self.loaded is not None:
            self.loaded.document.set_split(split)

    def _accept_proposal(self, proposals: tuple[RegionProposal, ...]) -> None:
        """Add each accepted region as a mask region of the chosen defect type, and mark the image NG, in one undo step."""
        if self.loaded is None or not proposals:
            return
        document = self.loaded.document
        defect_type = self.panel.defect_type()
        text = self.tr("Accept proposal")
        layers = []
        for proposal in proposals:
            layer = document.new_mask_layer(defect_type, origin="assist")
            layer.pixels[proposal.mask.to_array(document.height, document.width)] = MASK_ON
            layers.append(layer)
        self.undo_stack.beginMacro(text)
        for layer in layers:
            self.undo_stack.push(AddMaskCommand(document, layer, text))
        if document.verdict != Verdict.NG.value:
            self.undo_stack.push(SetVerdictCommand(document, Verdict.NG.value, defect_type))
        self.undo_stack.endMacro()
        document.set_active_mask(layers[0].mask_id)
        self.context.window.statusBar().showMessage(
            self.tr("Added {0} mask regions from the proposal; select one to edit it with the brush.").format(
                len(layers)
            ),
            5000,
        )

    def _delete_selected(self) -> None:
        """Delete the selected shapes, or the active mask region when no shape is selected."""
        if self.loaded is None:
            return
        selected = self.canvas.label_scene.selected_shape_ids()
        if selected:
            self.undo_stack.push(RemoveShapesCommand(self.loaded.document, selected))
        elif self.loaded.document.active_mask_id:
            self._delete_mask(self.loaded.document.active_mask_id)

    def _delete_mask(self, mask_id: int) -> None:
        if self.loaded is not None and self.loaded.document.has_mask(mask_id):
            self.canvas.cancel_tool()
            self.undo_stack.push(RemoveMasksCommand(self.loaded.document, [mask_id]))

    def _undo(self) -> None:
        self.canvas.cancel_tool()
        self.undo_stack.undo()

    def _redo(self) -> None:
        self.canvas.cancel_tool()
        self.undo_stack.redo()

    def _show_cursor(self, x: int, y: int) -> None:
        if self.image is None:
            return
        parts = [
            self.tr("{0} ({1}x{2}, {3}-bit)").format(
                self.image_id, self.image.width, self.image.height, self.image.bit_depth
            )
        ]
        parts.append(self.tr("zoom {0:.0f}%").format(self.canvas.zoom() * 100))
        if 0 <= x < self.image.width and 0 <= y < self.image.height:
            value = self.image.pixels[y, x]
            value_text = value.tolist() if isinstance(value, np.ndarray) else int(value)
            parts.append(self.tr("x {0}, y {1}: {2}").format(x, y, value_text))
        if self.loaded is not None and self.loaded.document.modified:
            parts.append(self.tr("unsaved changes"))
        self.status_line.setText("   ".join(parts))

    def _show_shortcut_hints(self) -> None:
        """Show the configured verdict and defect type keys beside the panel's buttons and combo entries."""
        native = QKeySequence.SequenceFormat.NativeText
        actions = self.context.actions
        verdict_actions = {
            Verdict.UNLABELLED.value: "verdict_clear",
            Verdict.GOOD.value: "verdict_good",
            Verdict.NG.value: "verdict_ng",
        }
        self.panel.show_verdict_shortcuts(
            {verdict: actions[action_id].shortcut().toString(native) for verdict, action_id in verdict_actions.items()}
        )
        type_keys = [
            actions[f"defect_type_{number}"].shortcut().toString(native)
            for number in range(1, DEFECT_TYPE_SHORTCUT_COUNT + 1)
        ]
        self.panel.set_classes(self.context.session.class_names(), type_keys)

    def _update_type_action_texts(self) -> None:
        names = self.context.session.class_names()
        for number in range(1, DEFECT_TYPE_SHORTCUT_COUNT + 1):
            action = self.context.actions[f"defect_type_{number}"]
            if number <= len(names):
                action.setText(self.tr("Defect Type {0}: {1}").format(number, names[number - 1]))
            else:
                action.setText(self.tr("Defect Type {0}").format(number))
