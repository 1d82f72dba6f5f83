"""The Inspect page: run a bundle over a folder or a camera and show verdicts, heatmaps and counters."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.gui.pages.base import PageContext, StudioPage
from app.gui.pages.workflow_widgets import BundleCombo, JobPoller, pixmap_from_rgb, wrap_in_scroll_area
from app.gui.workflow import project_data
from app.gui.workflow.inspection import Counters, InspectionResult, InspectRequest, run_inspection
from app.gui.workflow.jobs import FAILED, FINAL_KINDS, ITEM, JobEvent, ThreadJob
from engine.runtime import ERROR, NG

logger = logging.getLogger(__name__)

KEY_FOLDER = "inspect/folder"
KEY_CAMERA = "inspect/camera"
KEY_USE_CAMERA = "inspect/use_camera"
NG_ICON_PX = 96
VERDICT_STYLES = {
    "OK": "background:#2e8b57;color:white;font-size:28px;font-weight:bold;padding:6px",
    NG: "background:#c82828;color:white;font-size:28px;font-weight:bold;padding:6px",
    ERROR: "background:#888888;color:white;font-size:28px;font-weight:bold;padding:6px",
}


def _inspection_job(request: dict, progress, cancel) -> dict:
    return run_inspection(request["request"], progress, cancel)


class InspectPage(StudioPage):
    """Page that judges images with a bundle, off the GUI thread."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self.poller: JobPoller | None = None
        self.counters = Counters()
        self.results: list[InspectionResult] = []
        self.finished = False
        content = QWidget()

        layout = QVBoxLayout(content)
        wrap_in_scroll_area(self, content)
        layout.addWidget(self._build_source_box())
        body = QHBoxLayout()
        self.image_label = QLabel()
        self.image_label.setObjectName("inspect_image")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(320, 240)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        body.addWidget(self.image_label, 3)
        body.addWidget(self._build_counters_box(), 1)
        layout.addLayout(body, 3)
        layout.addWidget(self._build_ng_gallery(), 1)
        self._load_settings()
        context.session.project_changed.connect(self.refresh_bundles)

    def _build_source_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Source"))
        self.bundle_combo = BundleCombo()
        self.bundle_combo.setObjectName("inspect_bundle")
        browse_bundle = QPushButton(self.tr("Other Bundle..."))
        browse_bundle.clicked.connect(self._ask_bundle)

        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.bundle_combo, 1)
        bundle_row.addWidget(browse_bundle)

        self.folder_radio = QRadioButton(self.tr("Folder:"))
        self.camera_radio = QRadioButton(self.tr("Camera (OpenCV index, video file or stream URL):"))
        group = QButtonGroup(self)
        group.addButton(self.folder_radio)
        group.addButton(self.camera_radio)
        self.folder_radio.setChecked(True)
        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("inspect_folder")
        browse_folder = QPushButton(self.tr("Browse..."))
        browse_folder.clicked.connect(self._ask_folder)
        self.camera_edit = QLineEdit("0")

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse_folder)

        self.start_button = QPushButton(self.tr("Start"))
        self.start_button.setObjectName("inspect_start")
        self.start_button.clicked.connect(self.start_inspection)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_inspection)

        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.stop_button)
        run_row.addStretch(1)

        form = QFormLayout(box)
        form.addRow(self.tr("Bundle:"), bundle_row)
        form.addRow(self.folder_radio, folder_row)
        form.addRow(self.camera_radio, self.camera_edit)
        form.addRow(run_row)
        return box

    def _build_counters_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Counters"))
        self.verdict_label = QLabel("-")
        self.verdict_label.setObjectName("inspect_verdict")
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counter_labels: dict[str, QLabel] = {}

        form = QFormLayout(box)
        form.addRow(self.verdict_label)
        for key, text in (
            ("name", self.tr("Image:")),
            ("score", self.tr("Score (0.5 = threshold):")),
            ("ok", self.tr("OK:")),
            ("ng", self.tr("NG:")),
            ("errors", self.tr("Unreadable:")),
            ("throughput", self.tr("Throughput:")),
            ("latency", self.tr("Latency (mean / max):")),
        ):
            label = QLabel("-")
            label.setObjectName(f"counter_{key}")
            self.counter_labels[key] = label
            form.addRow(text, label)
        return box

    def _build_ng_gallery(self) -> QGroupBox:
        box = QGroupBox(self.tr("Recent NG"))
        self.ng_gallery = QListWidget()
        self.ng_gallery.setObjectName("recent_ng")
        self.ng_gallery.setViewMode(QListView.ViewMode.IconMode)
        self.ng_gallery.setFlow(QListView.Flow.LeftToRight)
        self.ng_gallery.setWrapping(False)
        self.ng_gallery.setIconSize(QSize(NG_ICON_PX, NG_ICON_PX))
        self.ng_gallery.setMinimumHeight(NG_ICON_PX + 40)

        layout = QVBoxLayout(box)
        layout.addWidget(self.ng_gallery)
        return box

    def page_shown(self) -> None:
        """Refresh the bundle list when the page appears."""
        self.refresh_bundles()

    def refresh_bundles(self) -> None:
        """List the project's built bundles, then its trained models (both run here)."""
        project = self.context.session.project
        paths: list[Path] = []
        if project is not None:
            paths = project_data.list_bundles(project.root, project_data.BUNDLES_FOLDER)
            paths += project_data.list_bundles(project.root)
        extra = self.bundle_combo.current_path()
        if extra is not None and extra not in paths and (extra / project_data.MANIFEST_NAME).is_file():
            paths.append(extra)
        self.bundle_combo.set_bundles(paths)

    def select_bundle(self, path: str | Path) -> None:
        """Choose ``path`` as the bundle, adding it to the list when needed."""
        path = Path(path)
        index = self.bundle_combo.findData(str(path))
        if index < 0:
            self.bundle_combo.addItem(path.name, str(path))
            index = self.bundle_combo.count() - 1
        self.bundle_combo.setCurrentIndex(index)

    def start_inspection(self) -> bool:
        """Start judging the chosen source in a worker thread; return False when it could not start."""
        bundle = self.bundle_combo.current_path()
        if self.poller is not None:
            return False
        if bundle is None:
            self.context.errors.report(self.tr("No bundle chosen."), None, self.tr("Build a bundle on the Deploy page."))
            return False
        use_camera = self.camera_radio.isChecked()
        folder = self.folder_edit.text().strip()
        if not use_camera and not Path(folder).is_dir():
            self.context.errors.report(
                self.tr("The folder {0} does not exist.").format(folder), None, self.tr("Choose a folder of images.")
            )
            return False
        self._save_settings()
        self.counters = Counters()
        self.results = []
        self.finished = False
        self.ng_gallery.clear()
        # The request needs the job's emit function, so the job gets the dict first and the request after.
        job_request: dict = {}
        job = ThreadJob(_inspection_job, job_request, "inspect")
        job_request["request"] = InspectRequest(
            bundle=str(bundle),
            folder="" if use_camera else folder,
            camera=self.camera_edit.text().strip() if use_camera else "",
            emit=job.emit,
        )
        self.poller = JobPoller(job, self._on_event, self)
        self.poller.start()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        return True

    def stop_inspection(self) -> None:
        """Ask the worker to stop after the current image."""
        if self.poller is not None:
            self.poller.job.cancel()

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == ITEM:
            self.show_result(event.payload)
            return
        if event.kind not in FINAL_KINDS:
            return
        self.poller = None
        self.finished = True
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if event.kind == FAILED:
            logger.error("Inspection failed: %s\n%s", event.message, event.details)
            self.context.errors.report(
                self.tr("Inspection stopped with an error."),
                RuntimeError(event.message),
                self.tr("Check the bundle and the image source."),
            )
            return
        self.context.window.statusBar().showMessage(
            self.tr("Inspection finished: {0} images.").format(self.counters.total), 10_000
        )

    def show_result(self, result: InspectionResult) -> None:
        """Count ``result`` and show its verdict, heatmap and, for NG, a gallery entry."""
        self.results.append(result)
        self.counters.add(result)
        self.verdict_label.setText(result.verdict)
        self.verdict_label.setStyleSheet(VERDICT_STYLES.get(result.verdict, ""))
        self.counter_labels["name"].setText(result.name)
        self.counter_labels["score"].setText(
            result.error if result.verdict == ERROR else f"{result.normalized_score:.3f} ({result.score:.3f})"
        )
        self._show_counters()
        if result.verdict == ERROR:
            return
        pixmap = pixmap_from_rgb(result.overlay)
        self.image_label.setPixmap(
            pixmap.scaled(self.image_label.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        )
        if result.verdict == NG:
            item = QListWidgetItem(QIcon(pixmap), result.name)
            self.ng_gallery.insertItem(0, item)
            while self.ng_gallery.count() > self.counters.recent_ng.maxlen:
                self.ng_gallery.takeItem(self.ng_gallery.count() - 1)

    def _show_counters(self) -> None:
        counters = self.counters
        self.counter_labels["ok"].setText(str(counters.ok))
        self.counter_labels["ng"].setText(str(counters.ng))
        self.counter_labels["errors"].setText(str(counters.errors))
        self.counter_labels["throughput"].setText(self.tr("{0:.1f} images/s").format(counters.throughput_per_s()))
        self.counter_labels["latency"].setText(
            self.tr("{0:.1f} / {1:.1f} ms").format(counters.mean_latency_ms(), counters.max_latency_ms())
        )

    def _ask_bundle(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Bundle Folder"))
        if folder:
            self.select_bundle(folder)

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Folder of Images"), self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _load_settings(self) -> None:
        self.folder_edit.setText(str(self.context.settings.value(KEY_FOLDER, "")))
        self.camera_edit.setText(str(self.context.settings.value(KEY_CAMERA, "0")))
        if str(self.context.settings.value(KEY_USE_CAMERA, "false")) == "true":
            self.camera_radio.setChecked(True)

    def _save_settings(self) -> None:
        self.context.settings.setValue(KEY_FOLDER, self.folder_edit.text())
        self.context.settings.setValue(KEY_CAMERA, self.camera_edit.text())
        self.context.settings.setValue(KEY_USE_CAMERA, "true" if self.camera_radio.isChecked() else "false")

    def shutdown(self) -> None:
        """Stop a running inspection with the window."""
        if self.poller is not None:
            self.poller.stop_polling()
            self.poller.job.cancel()
            self.poller.job.wait(5.0)
            self.poller = None
