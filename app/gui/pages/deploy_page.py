"""The Deploy page: build bundles for chosen targets and precision, then save them or send them to stations."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.pages.base import PageContext, StudioPage
from app.gui.pages.workflow_widgets import BundleCombo, JobPoller, wrap_in_scroll_area
from app.gui.workflow import project_data
from app.gui.workflow.deploy_job import DEPLOY_TARGET, PRECISIONS, TARGETS, DeployRequest, export_bundle
from app.gui.workflow.jobs import CANCELLED, DONE, FAILED, PROGRESS, JobEvent, JobFailure, JobProcess, ThreadJob

logger = logging.getLogger(__name__)

KEY_STATIONS = "deploy/stations"
KEY_TARGETS = "deploy/targets"
KEY_PRECISION = "deploy/precision"
KEY_AS_ZIP = "deploy/as_zip"
DEFAULT_DEPLOY_PORT = 50051
SPEED_SAMPLE_IMAGES = 5
GUARD_COLUMN_MAX_PX = 480


def _station_client():
    """Import the station deploy client, which needs the ``station`` extra (grpcio)."""
    try:
        from app.station import deploy_client
    except ImportError as error:
        raise JobFailure(
            f"talking to line stations needs grpcio ({error}); install the station extra: pip install defectseek[station]"
        ) from error
    return deploy_client


def _send_job(request: dict, progress, cancel) -> dict:
    client = _station_client()

    replies = []
    for index, (host, port) in enumerate(request["stations"]):
        if cancel.is_set():
            break
        progress("send", index, len(request["stations"]))
        try:
            reply = client.push_bundle(host, port, request["token"], request["bundle"])
            replies.append({"station": f"{host}:{port}", "ok": True, "message": reply.get("bundle_id", "")})
        except (client.DeployClientError, OSError) as error:
            logger.warning("Sending the bundle to %s:%s failed: %s", host, port, error)
            replies.append({"station": f"{host}:{port}", "ok": False, "message": str(error)})
    return {"replies": replies}


def _status_job(request: dict, progress, cancel) -> dict:
    client = _station_client()

    replies = []
    for host, port in request["stations"]:
        try:
            status = client.station_status(host, port, request["token"])
            current = status.get("bundles", {}).get("current") or status.get("bundle_id") or ""
            replies.append({"station": f"{host}:{port}", "ok": True, "current": current})
        except (client.DeployClientError, OSError) as error:
            logger.warning("Status of station %s:%s failed: %s", host, port, error)
            replies.append({"station": f"{host}:{port}", "ok": False, "message": str(error)})
    return {"status": replies}


def _export_job(request: dict, progress, cancel) -> dict:
    path = export_bundle(Path(request["bundle"]), Path(request["folder"]), as_zip=request["as_zip"])
    return {"path": str(path)}


class DeployPage(StudioPage):
    """Page that turns a trained model into line bundles and ships them."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self.poller: JobPoller | None = None
        self.last_result: dict | None = None
        self.last_message = ""
        content = QWidget()

        layout = QVBoxLayout(content)
        wrap_in_scroll_area(self, content)
        layout.addWidget(self._build_compile_box())
        layout.addWidget(self._build_results())
        layout.addWidget(self._build_ship_box())
        self.status_label = QLabel()
        self.status_label.setObjectName("deploy_status")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self._load_settings()
        context.session.project_changed.connect(self.refresh_lists)

    def _build_compile_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Build a bundle"))
        self.model_combo = BundleCombo()
        self.model_combo.setObjectName("deploy_model")
        self.target_checks = {}

        targets_row = QHBoxLayout()
        for target, text in zip(TARGETS, (self.tr("CPU"), self.tr("NVIDIA GPU"), self.tr("AMD GPU")), strict=True):
            check = QCheckBox(text)
            check.setObjectName(f"target_{target}")
            self.target_checks[target] = check
            targets_row.addWidget(check)
        targets_row.addStretch(1)
        self.precision_combo = QComboBox()
        for precision, text in zip(
            PRECISIONS,
            (self.tr("FP32 (exact)"), self.tr("FP16"), self.tr("INT8 (fastest, checked by the accuracy guard)")),
            strict=True,
        ):
            self.precision_combo.addItem(text, precision)
        self.build_button = QPushButton(self.tr("Build Bundle"))
        self.build_button.setObjectName("build_button")
        self.build_button.clicked.connect(self.start_build)

        self.progress_bar = QProgressBar()

        run_row = QHBoxLayout()
        run_row.addWidget(self.build_button)
        run_row.addWidget(self.progress_bar, 1)

        form = QFormLayout(box)
        form.addRow(self.tr("Trained model:"), self.model_combo)
        form.addRow(self.tr("Targets:"), targets_row)
        form.addRow(self.tr("Precision:"), self.precision_combo)
        form.addRow(run_row)
        return box

    def _build_results(self) -> QTreeWidget:
        self.results_tree = QTreeWidget()
        self.results_tree.setObjectName("deploy_results")
        self.results_tree.setHeaderLabels(
            [self.tr("Target"), self.tr("Precision"), self.tr("Accuracy guard"), self.tr("Time per image"),
             self.tr("Runs on"), self.tr("Bundle")]
        )
        self.results_tree.setRootIsDecorated(False)
        return self.results_tree

    def _build_ship_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Ship a bundle"))
        self.bundle_combo = BundleCombo()
        self.bundle_combo.setObjectName("deploy_bundle")
        self.zip_check = QCheckBox(self.tr("As one .zip file"))
        save_button = QPushButton(self.tr("Save to Folder or USB Stick..."))
        save_button.clicked.connect(self._ask_save)

        save_row = QHBoxLayout()
        save_row.addWidget(self.zip_check)
        save_row.addWidget(save_button)
        save_row.addStretch(1)

        self.station_list = QListWidget()
        self.station_list.setObjectName("station_list")
        self.station_list.setMaximumHeight(90)

        self.host_edit = QLineEdit("127.0.0.1")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_DEPLOY_PORT)
        add_button = QPushButton(self.tr("Add Station"))
        add_button.clicked.connect(lambda: self.add_station(self.host_edit.text().strip(), self.port_spin.value()))
        remove_button = QPushButton(self.tr("Remove"))
        remove_button.clicked.connect(self._remove_selected_stations)

        station_row = QHBoxLayout()
        station_row.addWidget(QLabel(self.tr("Host:")))
        station_row.addWidget(self.host_edit)
        station_row.addWidget(QLabel(self.tr("Port:")))
        station_row.addWidget(self.port_spin)
        station_row.addWidget(add_button)
        station_row.addWidget(remove_button)

        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(self.tr("the station's deploy token (not stored)"))
        send_button = QPushButton(self.tr("Send to Checked Stations"))
        send_button.clicked.connect(self.send_to_stations)

        status_button = QPushButton(self.tr("Check Status"))
        status_button.clicked.connect(self.check_stations)

        send_row = QHBoxLayout()
        send_row.addWidget(self.token_edit, 1)
        send_row.addWidget(send_button)
        send_row.addWidget(status_button)

        form = QFormLayout(box)
        form.addRow(self.tr("Bundle:"), self.bundle_combo)
        form.addRow(save_row)
        form.addRow(self.tr("Line stations:"), self.station_list)
        form.addRow(station_row)
        form.addRow(self.tr("Token:"), send_row)
        return box

    def page_shown(self) -> None:
        """Refresh model and bundle lists when the page appears."""
        self.refresh_lists()

    def refresh_lists(self) -> None:
        """List the project's trained models and built bundles."""
        project = self.context.session.project
        root = project.root if project is not None else None
        self.model_combo.set_bundles(project_data.list_bundles(root) if root else [])
        self.bundle_combo.set_bundles(project_data.list_bundles(root, project_data.BUNDLES_FOLDER) if root else [])
        self.build_button.setEnabled(self.poller is None and self.model_combo.count() > 0)

    def start_build(self) -> bool:
        """Build the bundles in a worker process; return False when it could not start."""
        project = self.context.session.project
        model = self.model_combo.current_path()
        targets = tuple(target for target, check in self.target_checks.items() if check.isChecked())
        if project is None or model is None:
            self.context.errors.report(self.tr("No trained model."), None, self.tr("Train a model on the Train page first."))
            return False
        if not targets:
            self.context.errors.report(self.tr("No target chosen."), None, self.tr("Tick CPU, NVIDIA GPU or AMD GPU."))
            return False
        good = project_data.good_training_images(project)
        samples = good[:SPEED_SAMPLE_IMAGES]
        request = DeployRequest(
            model_dir=str(model),
            output_root=str(project.root / project_data.BUNDLES_FOLDER),
            targets=targets,
            precision=self.precision_combo.currentData(),
            sample_images=tuple(str(path) for path in samples),
            calibration_images=tuple(str(path) for path in good),
        )
        self._save_settings()
        Path(request.output_root).mkdir(parents=True, exist_ok=True)
        self.last_result = None
        self._start(JobProcess(DEPLOY_TARGET, request), self._on_build_event)
        self.progress_bar.setRange(0, 0)
        self.status_label.setText(self.tr("Building..."))
        return True

    def _start(self, job, handler) -> None:
        self.poller = JobPoller(job, handler, self)
        self.poller.start()
        self.build_button.setEnabled(False)

    def _on_build_event(self, event: JobEvent) -> None:
        if event.kind == PROGRESS:
            if event.stage == "build":
                self.progress_bar.setRange(0, max(event.total, 1))
                self.progress_bar.setValue(event.done)
            return
        self.poller = None
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if event.kind == DONE else 0)
        if event.kind == DONE:
            self.show_bundles(event.result["bundles"])
        elif event.kind in (FAILED, CANCELLED):
            logger.error("Building bundles failed: %s\n%s", event.message, event.details)
            self._fail(self.tr("Building the bundle failed."), event.message, self.tr("Check the chosen targets and precision."))
        self.refresh_lists()

    def show_bundles(self, bundles: list[dict]) -> None:
        """Show one row per built (or failed) bundle with its guard verdict and speed."""
        self.last_result = {"bundles": bundles}
        self.results_tree.clear()
        built = 0
        for entry in bundles:
            if entry["error"]:
                guard = self.tr("not built: {0}").format(entry["error"])
            elif entry["guard"]["passed"] is False:
                guard = self.tr("rejected: {0}").format(entry["guard"]["message"])
            else:
                guard = self.tr("passed ({0})").format(self._guard_text(entry["guard"]))
                built += 1
            speed = entry.get("ms_per_image")
            speed_text = self.tr("{0:.1f} ms").format(speed) if speed is not None else self.tr("not measured here")
            row = QTreeWidgetItem([
                entry["target"], entry["precision"], guard, speed_text, entry.get("provider", ""),
                Path(entry["path"]).name if not entry["error"] else "",
            ])
            row.setToolTip(2, guard)
            self.results_tree.addTopLevelItem(row)
        for column in range(self.results_tree.columnCount()):
            self.results_tree.resizeColumnToContents(column)
        self.results_tree.setColumnWidth(2, min(self.results_tree.columnWidth(2), GUARD_COLUMN_MAX_PX))
        self.status_label.setText(self.tr("{0} of {1} bundles built.").format(built, len(bundles)))

    def _guard_text(self, guard: dict) -> str:
        if guard.get("copied"):
            return self.tr("fp32 copy of the trained model, nothing to check")
        lines = []
        for report in guard.get("reports", []):
            line = self.tr("{0}: {1:.1%} same verdicts on {2} images").format(
                report["engine"], report["agreement"], report["images"]
            )
            if report.get("auroc_drop_points") is not None:
                line += self.tr(", AUROC {0:+.2f} points below fp32").format(report["auroc_drop_points"])
            lines.append(line)
        return "; ".join(lines) or self.tr("no validation images, so the guard did not run")

    def export_to(self, folder: str | Path, *, as_zip: bool) -> bool:
        """Copy the chosen bundle to ``folder`` in a worker thread; return False when it could not start."""
        bundle = self.bundle_combo.current_path()
        if bundle is None or self.poller is not None:
            self.context.errors.report(self.tr("No bundle to save."), None, self.tr("Build a bundle first."))
            return False
        job = ThreadJob(_export_job, {"bundle": str(bundle), "folder": str(folder), "as_zip": as_zip}, "export")
        self._start(job, self._on_ship_event)
        self.status_label.setText(self.tr("Saving the bundle..."))
        return True

    def send_to_stations(self) -> bool:
        """Push the chosen bundle to every checked station in a worker thread."""
        bundle = self.bundle_combo.current_path()
        stations = self._checked_stations()
        if bundle is None or not stations or self.poller is not None:
            self.context.errors.report(
                self.tr("Nothing to send."), None, self.tr("Build a bundle and add and tick at least one line station.")
            )
            return False
        request = {"bundle": str(bundle), "stations": stations, "token": self.token_edit.text()}
        self._start(ThreadJob(_send_job, request, "send"), self._on_ship_event)
        self.status_label.setText(self.tr("Sending the bundle..."))
        return True

    def check_stations(self) -> bool:
        """Ask every checked station which bundle it runs, in a worker thread."""
        stations = self._checked_stations()
        if not stations or self.poller is not None:
            self.context.errors.report(self.tr("No line station checked."), None, self.tr("Add and tick a line station."))
            return False
        request = {"stations": stations, "token": self.token_edit.text()}
        self._start(ThreadJob(_status_job, request, "status"), self._on_ship_event)
        self.status_label.setText(self.tr("Asking the stations..."))
        return True

    def _checked_stations(self) -> list[tuple[str, int]]:
        return [self._station_at(row) for row in range(self.station_list.count())
                if self.station_list.item(row).checkState() == Qt.CheckState.Checked]

    def _on_ship_event(self, event: JobEvent) -> None:
        if event.kind == PROGRESS:
            return
        self.poller = None
        self.refresh_lists()
        if event.kind == FAILED:
            logger.error("Shipping the bundle failed: %s\n%s", event.message, event.details)
            self._fail(self.tr("Saving or sending the bundle failed."), event.message,
                       self.tr("Check the destination folder or the station address and token."))
            return
        if "path" in event.result:
            self.last_message = self.tr("Bundle saved: {0}").format(event.result["path"])
        elif "status" in event.result:
            lines = [
                self.tr("{0}: running {1}").format(reply["station"], reply["current"] or self.tr("no bundle")) if reply["ok"]
                else self.tr("{0}: failed: {1}").format(reply["station"], reply["message"])
                for reply in event.result["status"]
            ]
            self.last_message = "\n".join(lines)
        else:
            lines = [
                self.tr("{0}: installed {1}").format(reply["station"], reply["message"]) if reply["ok"]
                else self.tr("{0}: failed: {1}").format(reply["station"], reply["message"])
                for reply in event.result.get("replies", [])
            ]
            self.last_message = "\n".join(lines)
        self.status_label.setText(self.last_message)

    def add_station(self, host: str, port: int) -> None:
        """Add a line station to the saved list (checked for the next send)."""
        if not host:
            return
        existing = [self._station_at(row) for row in range(self.station_list.count())]
        if (host, port) in existing:
            return
        item = QListWidgetItem(f"{host}:{port}")
        item.setData(Qt.ItemDataRole.UserRole, [host, port])
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.station_list.addItem(item)
        self._save_settings()

    def _station_at(self, row: int) -> tuple[str, int]:
        host, port = self.station_list.item(row).data(Qt.ItemDataRole.UserRole)
        return str(host), int(port)

    def _remove_selected_stations(self) -> None:
        for item in self.station_list.selectedItems():
            self.station_list.takeItem(self.station_list.row(item))
        self._save_settings()

    def _ask_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the Folder or USB Stick"))
        if folder:
            self.export_to(folder, as_zip=self.zip_check.isChecked())

    def _fail(self, what: str, message: str, hint: str) -> None:
        self.status_label.setText(what)
        self.context.errors.report(what, RuntimeError(message) if message else None, hint)

    def _load_settings(self) -> None:
        settings = self.context.settings
        targets = str(settings.value(KEY_TARGETS, "cpu")).split(",")
        for target, check in self.target_checks.items():
            check.setChecked(target in targets)
        index = self.precision_combo.findData(str(settings.value(KEY_PRECISION, "fp32")))
        self.precision_combo.setCurrentIndex(max(index, 0))
        self.zip_check.setChecked(str(settings.value(KEY_AS_ZIP, "false")) == "true")
        try:
            stations = json.loads(str(settings.value(KEY_STATIONS, "[]")))
        except json.JSONDecodeError:
            logger.warning("Ignoring the unreadable saved station list")
            stations = []
        for host, port in stations:
            self.add_station(str(host), int(port))

    def _save_settings(self) -> None:
        settings = self.context.settings
        targets = [target for target, check in self.target_checks.items() if check.isChecked()]
        settings.setValue(KEY_TARGETS, ",".join(targets))
        settings.setValue(KEY_PRECISION, self.precision_combo.currentData())
        settings.setValue(KEY_AS_ZIP, "true" if self.zip_check.isChecked() else "false")
        stations = [list(self._station_at(row)) for row in range(self.station_list.count())]
        settings.setValue(KEY_STATIONS, json.dumps(stations))

    def shutdown(self) -> None:
        """End a running build with the window."""
        if self.poller is not None:
            self.poller.stop_polling()
            job = self.poller.job
            if isinstance(job, JobProcess):
                job.terminate()
            else:
                job.cancel()
            self.poller = None
