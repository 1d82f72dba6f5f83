"""The model behind the Label page's "Propose Mask": the project's trained models or a folder the user picked.

The trained models are the folders that training writes under ``<project>/models``. The
user's choice, including a folder outside the project, is stored in the studio settings
per project folder, so reopening the project proposes with the same model.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from app.gui.pages.base import PageContext
from app.gui.widgets.assist_panel import AnomalyMapProvider, AssistPanel
from app.gui.workflow import project_data
from app.gui.workflow.assist_model import (
    ENGINE_FAILED,
    IMAGE_FAILED,
    MODEL_FAILED,
    AssistModel,
    AssistModelError,
    is_model_folder,
)

logger = logging.getLogger(__name__)

KEY_ASSIST_MODEL_PREFIX = "label/assist_model/"


def assist_model_key(project_root: Path) -> str:
    """Return the settings key that stores the assist model chosen for the project in ``project_root``."""
    digest = hashlib.sha256(str(Path(project_root).resolve()).encode("utf-8")).hexdigest()[:16]
    return KEY_ASSIST_MODEL_PREFIX + digest


class AssistModelSource(QObject):
    """Keeps the assist panel's model list and provider in step with the project, training and the user's choice."""

    def __init__(self, context: PageContext, panel: AssistPanel) -> None:
        super().__init__(panel)
        self.context = context
        self.panel = panel
        self.model_dir: Path | None = None
        self._models: dict[Path, AssistModel] = {}
        self._override: AnomalyMapProvider | None = None
        context.session.project_changed.connect(self.refresh)
        context.session.models_changed.connect(self._on_models_changed)
        panel.model_selected.connect(self._on_model_selected)
        panel.choose_model_requested.connect(self.choose_folder)
        panel.failed.connect(self.report_failure)
        self.refresh()

    def refresh(self) -> None:
        """List the project's models and the stored choice, and use the stored choice or else the newest model."""
        project = self.context.session.project
        if project is None:
            self.panel.set_models([], "")
            self._use(None, self.tr("No project is open."))
            return
        models = project_data.list_bundles(project.root)
        stored = str(self.context.settings.value(assist_model_key(project.root), "") or "")
        if stored and Path(stored) not in models and is_model_folder(stored):
            models.append(Path(stored))
        self._models = {path: model for path, model in self._models.items() if path in models}
        entries = [(self._display_name(path, project.root), str(path)) for path in models]
        current = models[0] if models else None
        if stored and Path(stored) in models:
            current = Path(stored)
        self.panel.set_models(entries, str(current) if current else "")
        self._use(current, self.tr("No trained model. Train one on the Train page, or choose a model folder."))

    def set_override(self, provider: AnomalyMapProvider | None) -> None:
        """Propose with ``provider`` in place of any model until it is set back to None."""
        self._override = provider
        self.refresh()

    def choose_folder(self, folder: Path | str | None = None) -> bool:
        """Use the model in ``folder`` (asked for with a folder dialog when None) and remember it for the project.

        Returns:
            False when the user cancelled, no project is open, or the folder contains no model.
        """
        project = self.context.session.project
        if project is None:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return False
        if folder is None:
            start = str(self.model_dir or project.root)
            folder = QFileDialog.getExistingDirectory(self.context.window, self.tr("Choose Model Folder"), start)
            if not folder:
                return False
        path = Path(folder)
        if not is_model_folder(path):
            self.context.errors.report(
                self.tr("{0} is not a model folder: it has no manifest.json.").format(path),
                None,
                self.tr(
                    "Choose a folder written by training (on the Train page it is <project>/models/model-...), "
                    "or train a model on the Train page."
                ),
            )
            return False
        self.context.settings.setValue(assist_model_key(project.root), str(path))
        self.refresh()
        return True

    def report_failure(self, error: BaseException, image_path: Path | None) -> None:
        """Show why proposing failed, naming the model folder or image file and what to do."""
        report = self.context.errors.report
        if isinstance(error, AssistModelError) and error.kind == MODEL_FAILED:
            report(
                self.tr("The model folder {0} cannot be used.").format(error.path),
                error,
                self.tr("Train a new model on the Train page, or choose another model folder."),
            )
        elif isinstance(error, AssistModelError) and error.kind == IMAGE_FAILED:
            report(
                self.tr("The model could not read the image {0}.").format(error.path),
                error,
                self.tr("Check that the file is a readable image; if it was replaced, restore it or re-import it."),
            )
        elif isinstance(error, AssistModelError) and error.kind == ENGINE_FAILED:
            report(
                self.tr("No inference engine can run the model {0}.").format(error.path),
                error,
                self.tr("Install onnxruntime or openvino in the studio's Python environment."),
            )
        else:
            report(self.tr("Proposing a mask failed for {0}.").format(image_path or ""), error)

    def _on_models_changed(self) -> None:
        # A newly trained model is the one the user most likely wants, so it replaces the stored choice.
        project = self.context.session.project
        if project is not None:
            self.context.settings.remove(assist_model_key(project.root))
        self.refresh()

    def _on_model_selected(self, folder: str) -> None:
        project = self.context.session.project
        if project is None:
            return
        self.context.settings.setValue(assist_model_key(project.root), folder)
        self.refresh()

    def _use(self, model_dir: Path | None, reason: str) -> None:
        self.model_dir = model_dir
        if self._override is not None:
            self.panel.set_provider(self._override)
            return
        if model_dir is None:
            self.panel.set_provider(None, reason)
            return
        # One AssistModel per folder keeps its loaded inspector for the next images.
        model = self._models.setdefault(model_dir, AssistModel(model_dir))
        self.panel.set_provider(model.anomaly_map)
        logger.info("Model assist uses %s", model_dir)

    @staticmethod
    def _display_name(path: Path, project_root: Path) -> str:
        try:
            return str(path.relative_to(project_root / project_data.MODELS_FOLDER))
        except ValueError:
            return str(path)
