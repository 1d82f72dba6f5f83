"""The Train page: choose good images (all or k diverse ones), settings, then train in a worker process."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.pages.base import PageContext, StudioPage
from app.gui.pages.workflow_widgets import JobPoller, wrap_in_scroll_area
from app.gui.workflow import project_data
from app.gui.workflow.jobs import CANCELLED, DONE, FAILED, PROGRESS, EtaEstimator, JobEvent, JobProcess
from app.gui.workflow.train_job import DEFAULT_BACKBONE, DEFAULT_CORESET_RATIO, TRAIN_TARGET, TrainRequest

logger = logging.getLogger(__name__)

SIZE_CHOICES = ("auto", "128", "192", "256", "320", "384")
BACKBONES = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
RESIZE_CHOICES = ("auto", "stretch", "tile")
KEY_PREFIX = "train/"
KEY_TARGET_FRR_PERCENT = KEY_PREFIX + "target_frr_percent"
KEY_THRESHOLD_RULE = KEY_PREFIX + "threshold_rule"
KEY_RULE_MARGIN = KEY_PREFIX + "rule_margin"
# Written by versions that had only the margin rule. It is removed unread, because its
# value belongs to the margin rule and must not switch a user back to that rule.
OLD_KEY_THRESHOLD_MARGIN = KEY_PREFIX + "threshold_margin"
RULE_FALSE_REJECTS = "false_rejects"
RULE_MARGIN = "margin"
DEFAULT_TARGET_FRR_PERCENT = 1.0
TARGET_FRR_RANGE_PERCENT = (0.1, 20.0)
DEFAULT_THRESHOLD_MARGIN = 0.25
MAX_NAMED_OUTLIERS = 10
WARNING_STYLE = "color: #b35900; font-weight: bold;"


def stage_titles() -> dict[str, str]:
    """Return the translated name of each training stage."""
    translate = QCoreApplication.translate
    return {
        "load": translate("TrainStages", "Loading images"),
        "pick": translate("TrainStages", "Picking images that cover every kind of good part"),
        "features": translate("TrainStages", "Extracting features"),
        "coreset": translate("TrainStages", "Building the memory bank"),
        "calibrate": translate("TrainStages", "Scoring defect examples for the threshold"),
        "export": translate("TrainStages", "Writing the model"),
        "types": translate("TrainStages", "Teaching the defect types"),
    }


def fewshot_available() -> bool:
    """Return True when the few-shot defect-type classifier is installed (checked without importing it)."""
    return importlib.util.find_spec("fewshot") is not None and importlib.util.find_spec("fewshot.classifier") is not None


class TrainPage(StudioPage):
    """Page that trains an anomaly model from the project's good images."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self.poller: JobPoller | None = None
        self.last_result: dict | None = None
        self.last_failure = ""
        self._eta = EtaEstimator()
        content = QWidget()

        layout = QVBoxLayout(content)
        wrap_in_scroll_area(self, content)
        layout.addWidget(self._build_images_box())
        layout.addWidget(self._build_defects_box())
        layout.addWidget(self._build_settings_box())
        layout.addWidget(self._build_advanced_box())
        layout.addLayout(self._build_run_row())
        layout.addStretch(1)
        self._load_settings()
        context.session.project_changed.connect(self.refresh)
        context.session.labels_changed.connect(self.refresh)
        self.refresh()

    def _build_images_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Good images"))
        self.good_count_label = QLabel()
        self.good_count_label.setObjectName("good_count")
        self.all_radio = QRadioButton(self.tr("Train on all good images"))
        self.pick_radio = QRadioButton(self.tr("Train on k images picked to cover every kind of good part (few-shot):"))
        self.pick_spin = QSpinBox()
        self.pick_spin.setRange(1, 10_000)
        self.pick_spin.setValue(10)
        group = QButtonGroup(self)
        group.addButton(self.all_radio)
        group.addButton(self.pick_radio)
        self.all_radio.setChecked(True)

        pick_row = QHBoxLayout()
        pick_row.addWidget(self.pick_radio)
        pick_row.addWidget(self.pick_spin)
        pick_row.addStretch(1)

        layout = QVBoxLayout(box)
        layout.addWidget(self.good_count_label)
        layout.addWidget(self.all_radio)
        layout.addLayout(pick_row)
        return box

    def _build_defects_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Defect examples"))
        self.defect_label = QLabel()
        self.defect_label.setWordWrap(True)
        self.use_defects_check = QCheckBox(self.tr("Use the labelled NG images (outside the test split) to set the threshold"))
        self.types_check = QCheckBox(self.tr("Teach the defect types from these examples (few-shot classifier)"))
        self.types_check.setObjectName("teach_types")
        self.classifier_label = QLabel()
        self.classifier_label.setWordWrap(True)

        layout = QVBoxLayout(box)
        layout.addWidget(self.defect_label)
        layout.addWidget(self.use_defects_check)
        layout.addWidget(self.types_check)
        layout.addWidget(self.classifier_label)
        return box

    def _build_settings_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Settings"))
        self.size_combo = QComboBox()
        for value in SIZE_CHOICES:
            self.size_combo.addItem(self.tr("Automatic (from the images)") if value == "auto" else f"{value} x {value}", value)
        self.backbone_combo = QComboBox()
        for name in BACKBONES:
            self.backbone_combo.addItem(name, name)

        self.frr_spin = _double_spin(*TARGET_FRR_RANGE_PERCENT, DEFAULT_TARGET_FRR_PERCENT, 1)
        self.frr_spin.setObjectName("target_frr")
        self.frr_spin.setSingleStep(0.5)
        self.frr_spin.setSuffix(" %")
        self.frr_spin.setToolTip(
            self.tr(
                "Share of good parts that the threshold may send to re-inspection (1 %: one good part in a hundred). "
                "A lower rate rejects fewer good parts but raises the threshold, so more defects pass as OK. "
                "The threshold comes from the good training images; labelled NG images replace it when they "
                "are used to set the threshold."
            )
        )

        form = QFormLayout(box)
        form.addRow(self.tr("Model input size (pixels):"), self.size_combo)
        form.addRow(self.tr("Feature extractor:"), self.backbone_combo)
        form.addRow(self.tr("Accepted false-reject rate:"), self.frr_spin)
        return box

    def _build_advanced_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Advanced"))
        box.setCheckable(True)
        box.setChecked(False)
        inner = QWidget()
        box.toggled.connect(inner.setVisible)
        inner.setVisible(False)

        self.resize_combo = QComboBox()
        for value, text in zip(
            RESIZE_CHOICES,
            (self.tr("Automatic"), self.tr("Stretch whole image"), self.tr("Tiles (keep aspect ratio)")),
            strict=True,
        ):
            self.resize_combo.addItem(text, value)
        self.coreset_spin = _double_spin(0.001, 1.0, DEFAULT_CORESET_RATIO, 3)
        self.margin_rule_check = QCheckBox(self.tr("Use the margin rule instead of the false-reject rate"))
        self.margin_rule_check.setObjectName("margin_rule")
        self.margin_rule_check.setToolTip(
            self.tr(
                "Older rule: threshold = highest good training score plus the margin times the spread of the "
                "good scores, widened when there are fewer than 20 images. One unusual training image "
                "raises it as far as that image scores."
            )
        )
        self.margin_spin = _double_spin(0.0, 10.0, DEFAULT_THRESHOLD_MARGIN, 2)
        self.margin_spin.setEnabled(False)
        self.margin_rule_check.toggled.connect(self.margin_spin.setEnabled)
        self.margin_rule_check.toggled.connect(lambda checked: self.frr_spin.setEnabled(not checked))

        self.memory_spin = QSpinBox()
        self.memory_spin.setRange(256, 262_144)
        self.memory_spin.setSuffix(" MB")
        self.memory_spin.setValue(4096)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)

        form = QFormLayout(inner)
        form.addRow(self.tr("Resize rule:"), self.resize_combo)
        form.addRow(self.tr("Memory bank fraction (coreset ratio):"), self.coreset_spin)
        form.addRow(self.margin_rule_check)
        form.addRow(self.tr("Threshold margin (spreads of the good scores):"), self.margin_spin)
        form.addRow(self.tr("Memory budget for features:"), self.memory_spin)
        form.addRow(self.tr("Random seed:"), self.seed_spin)

        layout = QVBoxLayout(box)
        layout.addWidget(inner)
        self.advanced_box = box
        return box

    def _build_run_row(self) -> QVBoxLayout:
        self.train_button = QPushButton(self.tr("Train"))
        self.train_button.setObjectName("train_button")
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_training)

        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("train_progress")
        self.stage_label = QLabel()
        self.result_label = QLabel()
        self.result_label.setObjectName("train_result")
        self.result_label.setWordWrap(True)
        self.threshold_label = QLabel()
        self.threshold_label.setObjectName("threshold_note")
        self.threshold_label.setWordWrap(True)
        self.threshold_warning = QLabel()
        self.threshold_warning.setObjectName("threshold_warning")
        self.threshold_warning.setWordWrap(True)
        self.threshold_warning.setStyleSheet(WARNING_STYLE)
        self.threshold_warning.setVisible(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress_bar, 1)

        column = QVBoxLayout()
        column.addLayout(buttons)
        column.addWidget(self.stage_label)
        column.addWidget(self.result_label)
        column.addWidget(self.threshold_label)
        column.addWidget(self.threshold_warning)
        return column

    def refresh(self) -> None:
        """Show the project's good-image and defect-example counts."""
        project = self.context.session.project
        if project is None:
            self.good_count_label.setText(self.tr("No project is open."))
            self.defect_label.clear()
            self.train_button.setEnabled(False)
            return
        good = len(project_data.good_training_images(project))
        self.good_count_label.setText(
            self.tr("{0} good images in the train split or without a split.").format(good)
        )
        examples = project_data.defect_examples(project)
        if examples:
            no_type = self.tr("(no type)")
            parts = [f"{name or no_type}: {len(paths)}" for name, paths in sorted(examples.items())]
            self.defect_label.setText(self.tr("Labelled NG images outside the test split: {0}").format(", ".join(parts)))
        else:
            self.defect_label.setText(self.tr("No labelled NG images outside the test split."))
        self.use_defects_check.setEnabled(bool(examples))
        self._refresh_types(project)
        self.train_button.setEnabled(self.poller is None and good > 0)

    def _refresh_types(self, project) -> None:
        if not fewshot_available():
            self.types_check.setEnabled(False)
            self.classifier_label.setText(
                self.tr("Defect-type classification is not available in this installation; the model judges OK/NG only.")
            )
            return
        counts: dict[str, int] = {}
        for example in project_data.defect_type_examples(project):
            counts[example.defect_type] = counts.get(example.defect_type, 0) + 1
        self.types_check.setEnabled(bool(counts))
        if counts:
            text = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
            self.classifier_label.setText(self.tr("Examples per defect type: {0}").format(text))
        else:
            self.classifier_label.setText(
                self.tr("Give NG images outside the test split a defect type to teach the defect-type classifier.")
            )

    def build_request(self) -> TrainRequest | None:
        """Return the training request for the current choices, or None (after telling the user) when not possible."""
        project = self.context.session.project
        if project is None:
            self.context.errors.report(self.tr("No project is open."), None, self.tr("Create or open a project first."))
            return None
        good = project_data.good_training_images(project)
        if not good:
            self.context.errors.report(
                self.tr("The project has no good images to train on."),
                None,
                self.tr("Mark images as good in the Label page, or import a dataset with train/good images."),
            )
            return None
        defects: list[Path] = []
        if self.use_defects_check.isChecked():
            defects = [path for paths in project_data.defect_examples(project).values() for path in paths]
        type_examples = ()
        if self.types_check.isChecked() and self.types_check.isEnabled():
            type_examples = tuple(project_data.defect_type_examples(project))
        size_text = self.size_combo.currentData()
        return TrainRequest(
            good_images=tuple(str(path) for path in good),
            model_dir=str(project_data.new_model_dir(project.root)),
            pick_count=self.pick_spin.value() if self.pick_radio.isChecked() else 0,
            defect_images=tuple(str(path) for path in defects),
            backbone=self.backbone_combo.currentData(),
            size=None if size_text == "auto" else (int(size_text), int(size_text)),
            resize=self.resize_combo.currentData(),
            coreset_ratio=self.coreset_spin.value(),
            target_frr=None if self.margin_rule_check.isChecked() else self.frr_spin.value() / 100.0,
            threshold_margin=self.margin_spin.value(),
            memory_budget_mb=self.memory_spin.value(),
            seed=self.seed_spin.value(),
            type_examples=type_examples,
            type_names=tuple(project.info.class_names) if type_examples else (),
        )

    def start_training(self) -> bool:
        """Start training in a worker process; return False when it could not start."""
        if self.poller is not None:
            return False
        request = self.build_request()
        if request is None:
            return False
        self._save_settings()
        self.last_result = None
        self.last_failure = ""
        self._eta = EtaEstimator()
        self.poller = JobPoller(JobProcess(TRAIN_TARGET, request), self._on_event, self)
        self.poller.start()
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setRange(0, 0)
        self.stage_label.setText(self.tr("Starting the training process..."))
        self.result_label.clear()
        self.threshold_label.clear()
        self.threshold_warning.clear()
        self.threshold_warning.setVisible(False)
        logger.info("Training %d good images into %s", len(request.good_images), request.model_dir)
        return True

    def cancel_training(self) -> None:
        """Ask the worker to stop; it is ended if it does not stop within a few seconds."""
        if self.poller is not None:
            self.poller.job.cancel()
            self.cancel_button.setEnabled(False)
            self.stage_label.setText(self.tr("Cancelling..."))

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == PROGRESS:
            self._show_progress(event)
            return
        self.poller = None
        self.cancel_button.setEnabled(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if event.kind == DONE else 0)
        if event.kind == DONE:
            self.show_result(event.result)
            self.context.session.announce_models_changed()
        elif event.kind == CANCELLED:
            self.stage_label.setText(self.tr("Training was cancelled; no model was written."))
        elif event.kind == FAILED:
            self.last_failure = event.message
            self.stage_label.setText(self.tr("Training failed."))
            if event.details:
                logger.error("Training failed in the worker process:\n%s", event.details)
            self.context.errors.report(
                self.tr("Training failed."),
                RuntimeError(event.message),
                self.tr("Check the settings (a smaller input size or memory budget needs less memory) and train again."),
            )
        self.refresh()

    def _show_progress(self, event: JobEvent) -> None:
        title = stage_titles().get(event.stage, event.stage)
        seconds_left = self._eta.update(event.stage, event.done, event.total)
        self.progress_bar.setRange(0, max(event.total, 1))
        self.progress_bar.setValue(min(event.done, max(event.total, 1)))
        text = self.tr("{0}: {1} of {2}").format(title, event.done, event.total)
        if seconds_left is not None:
            text += " " + self.tr("(about {0} s left in this stage)").format(int(round(seconds_left)))
        self.stage_label.setText(text)

    def show_result(self, result: dict) -> None:
        """Show the summary that the training job returned."""
        self.last_result = result
        self.stage_label.setText(self.tr("Training finished."))
        self.result_label.setText(
            self.tr("Model {0}: {1} images, input {2} x {3}, threshold {4:.4f}, {5:.1f} s.").format(
                Path(result["model_dir"]).name, result["image_count"], *result["input_size"],
                result["threshold"], result["train_seconds"],
            )
        )
        if result.get("defect_types"):
            counts = ", ".join(f"{name} {count}" for name, count in result["defect_types"].items())
            self.result_label.setText(
                self.result_label.text() + "\n" + self.tr("Defect types (examples): {0}").format(counts)
            )
        for warning in result.get("warnings", []):
            logger.warning("Defect types: %s", warning)
        self.threshold_label.setText(self.threshold_text(result))
        self.threshold_label.setToolTip(result.get("threshold_note", ""))
        self._show_threshold_warning(result)
        self.context.window.statusBar().showMessage(self.tr("Training finished: {0}").format(result["model_dir"]), 10_000)

    def threshold_text(self, result: dict) -> str:
        """Return how the threshold of ``result`` was chosen, in the interface language.

        Falls back to the training's own (English) note for a rule this page does not know.
        """
        method = result.get("threshold_method", "")
        good = result.get("threshold_good_count", result.get("image_count", 0))
        if method == "good-prediction-bound" and result.get("threshold_target_frr") is not None:
            return self.tr(
                "Threshold from {0} good images only, set for an accepted false-reject rate of {1:.1%}."
            ).format(good, result["threshold_target_frr"])
        if method == "good-max-plus-margin":
            return self.tr(
                "Threshold from {0} good images only, by the margin rule (margin {1:.2f})."
            ).format(good, result.get("threshold_margin", 0.0))
        if method == "defect-miss-rate":
            return self.tr("Threshold set between the scores of {0} good images and {1} labelled NG images.").format(
                good, result.get("threshold_defect_count", 0)
            )
        return str(result.get("threshold_note", ""))

    def _show_threshold_warning(self, result: dict) -> None:
        count = int(result.get("good_above", 0))
        self.threshold_warning.setVisible(count > 0)
        if count <= 0:
            self.threshold_warning.clear()
            return
        text = self.tr(
            "{0} good training image(s) score above the threshold. Check them for defects or unusual parts, "
            "then relabel or remove them and train again."
        ).format(count)
        names = [Path(source).name for source in result.get("good_above_images", [])]
        if names:
            listed_names = ", ".join(names[:MAX_NAMED_OUTLIERS])
            if len(names) > MAX_NAMED_OUTLIERS:
                listed_names += " " + self.tr("and {0} more").format(len(names) - MAX_NAMED_OUTLIERS)
            text += "\n" + self.tr("Highest first: {0}").format(listed_names)
        self.threshold_warning.setText(text)
        logger.warning(
            "%d good training image(s) score above the threshold: %s", count, ", ".join(result.get("good_above_images", []))
        )

    def _load_settings(self) -> None:
        settings = self.context.settings
        _select_data(self.size_combo, settings.value(KEY_PREFIX + "size", "auto"))
        _select_data(self.backbone_combo, settings.value(KEY_PREFIX + "backbone", DEFAULT_BACKBONE))
        _select_data(self.resize_combo, settings.value(KEY_PREFIX + "resize", "auto"))
        self.coreset_spin.setValue(float(settings.value(KEY_PREFIX + "coreset_ratio", DEFAULT_CORESET_RATIO)))
        settings.remove(OLD_KEY_THRESHOLD_MARGIN)
        self.frr_spin.setValue(float(settings.value(KEY_TARGET_FRR_PERCENT, DEFAULT_TARGET_FRR_PERCENT)))
        self.margin_rule_check.setChecked(str(settings.value(KEY_THRESHOLD_RULE, RULE_FALSE_REJECTS)) == RULE_MARGIN)
        self.margin_spin.setValue(float(settings.value(KEY_RULE_MARGIN, DEFAULT_THRESHOLD_MARGIN)))
        if self.margin_rule_check.isChecked():
            self.advanced_box.setChecked(True)
        self.memory_spin.setValue(int(settings.value(KEY_PREFIX + "memory_budget_mb", 4096)))
        self.seed_spin.setValue(int(settings.value(KEY_PREFIX + "seed", 0)))
        self.pick_spin.setValue(int(settings.value(KEY_PREFIX + "pick_count", 10)))
        self.pick_radio.setChecked(str(settings.value(KEY_PREFIX + "pick", "false")) == "true")
        self.types_check.setChecked(str(settings.value(KEY_PREFIX + "teach_types", "true")) == "true")

    def _save_settings(self) -> None:
        settings = self.context.settings
        settings.setValue(KEY_PREFIX + "size", self.size_combo.currentData())
        settings.setValue(KEY_PREFIX + "backbone", self.backbone_combo.currentData())
        settings.setValue(KEY_PREFIX + "resize", self.resize_combo.currentData())
        settings.setValue(KEY_PREFIX + "coreset_ratio", self.coreset_spin.value())
        settings.setValue(KEY_TARGET_FRR_PERCENT, self.frr_spin.value())
        settings.setValue(KEY_THRESHOLD_RULE, RULE_MARGIN if self.margin_rule_check.isChecked() else RULE_FALSE_REJECTS)
        settings.setValue(KEY_RULE_MARGIN, self.margin_spin.value())
        settings.setValue(KEY_PREFIX + "memory_budget_mb", self.memory_spin.value())
        settings.setValue(KEY_PREFIX + "seed", self.seed_spin.value())
        settings.setValue(KEY_PREFIX + "pick_count", self.pick_spin.value())
        settings.setValue(KEY_PREFIX + "pick", "true" if self.pick_radio.isChecked() else "false")
        settings.setValue(KEY_PREFIX + "teach_types", "true" if self.types_check.isChecked() else "false")

    def shutdown(self) -> None:
        """End a running training process with the window."""
        if self.poller is not None:
            self.poller.stop_polling()
            self.poller.job.terminate()
            self.poller = None


def _double_spin(low: float, high: float, value: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(10 ** -decimals * 10 if decimals > 1 else 0.1)
    spin.setValue(value)
    return spin


def _select_data(combo: QComboBox, value: object) -> None:
    index = combo.findData(str(value))
    if index >= 0:
        combo.setCurrentIndex(index)
