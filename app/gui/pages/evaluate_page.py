"""The Evaluate page: metrics, ROC curve, score histograms, sensitivity slider, worst cases and reports."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSize, Qt, QUrl
from PySide6.QtGui import QIcon, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.pages.base import PageContext, StudioPage
from app.gui.pages.workflow_widgets import (
    BundleCombo,
    HistogramChart,
    JobPoller,
    RocChart,
    pixmap_from_rgb,
    png_bytes,
    render_png,
    wrap_in_scroll_area,
)
from app.gui.workflow import project_data
from app.gui.workflow.evaluation import (
    SLIDER_STEPS,
    EvaluationResult,
    SensitivityScale,
    evaluate_bundle,
    roc_points,
    score_histograms,
    type_confusion,
    worst_cases,
)
from app.gui.workflow.jobs import CANCELLED, DONE, FAILED, PROGRESS, JobEvent, ThreadJob
from app.gui.workflow.report import ReportText, build_html
from labeling.fileio import atomic_write_text

logger = logging.getLogger(__name__)

KEY_SPLIT = "evaluate/split"
GALLERY_ICON_PX = 120
WORST_CASE_COUNT = 6


def _evaluate_job(request: dict, progress, cancel) -> dict:
    result = evaluate_bundle(
        request["bundle"], request["project"], request["samples"],
        progress=lambda done, total: progress("evaluate", done, total), cancel=cancel,
    )
    return {"result": result}


class EvaluatePage(StudioPage):
    """Page that measures a model on the project's labelled images."""

    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
        self.poller: JobPoller | None = None
        self.result: EvaluationResult | None = None
        self.scale: SensitivityScale | None = None
        self.current_threshold: float | None = None
        content = QWidget()

        layout = QVBoxLayout(content)
        wrap_in_scroll_area(self, content)
        layout.addLayout(self._build_run_row())
        layout.addWidget(self.status_label)
        body = QHBoxLayout()
        body.addWidget(self._build_metrics_box(), 1)
        body.addWidget(self._build_charts(), 3)
        layout.addLayout(body, 3)
        layout.addWidget(self._build_types_box())
        layout.addWidget(self._build_gallery(), 2)
        context.session.project_changed.connect(self.refresh_models)

    def _build_run_row(self) -> QHBoxLayout:
        self.model_combo = BundleCombo()
        self.model_combo.setObjectName("evaluate_model")
        self.split_combo = QComboBox()
        for key, text in (
            ("test", self.tr("Test split")),
            ("validation", self.tr("Validation split")),
            ("all", self.tr("All labelled images")),
        ):
            self.split_combo.addItem(text, key)
        saved_split = str(self.context.settings.value(KEY_SPLIT, "test"))
        self.split_combo.setCurrentIndex(max(0, self.split_combo.findData(saved_split)))
        self.split_combo.currentIndexChanged.connect(
            lambda: self.context.settings.setValue(KEY_SPLIT, self.split_combo.currentData())
        )
        self.run_button = QPushButton(self.tr("Evaluate"))
        self.run_button.setObjectName("evaluate_button")
        self.run_button.clicked.connect(self.start_evaluation)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("evaluate_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        self.status_label = QLabel()
        self.status_label.setObjectName("evaluate_status")

        self.progress_bar = QProgressBar()
        self.html_button = QPushButton(self.tr("Export HTML..."))
        self.html_button.clicked.connect(self._ask_export_html)
        self.pdf_button = QPushButton(self.tr("Export PDF..."))
        self.pdf_button.clicked.connect(self._ask_export_pdf)
        for button in (self.html_button, self.pdf_button):
            button.setEnabled(False)

        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Model:")))
        row.addWidget(self.model_combo, 1)
        row.addWidget(QLabel(self.tr("Images:")))
        row.addWidget(self.split_combo)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.html_button)
        row.addWidget(self.pdf_button)
        return row

    def _build_metrics_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Metrics"))
        self.metric_labels: dict[str, QLabel] = {}

        form = QFormLayout(box)
        for key, text in (
            ("images", self.tr("Images (good / NG):")),
            ("image_auroc", self.tr("Image AUROC:")),
            ("pixel_auroc", self.tr("Pixel AUROC:")),
            ("aupro", self.tr("AUPRO (FPR < 0.3):")),
            ("speed", self.tr("Time per image:")),
        ):
            label = QLabel("-")
            label.setObjectName(f"metric_{key}")
            self.metric_labels[key] = label
            form.addRow(text, label)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("sensitivity_slider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._on_slider)
        form.addRow(self.tr("Sensitivity:"), self.slider)
        for key, text in (
            ("threshold", self.tr("Threshold:")),
            ("overkill", self.tr("False reject (overkill):")),
            ("escape", self.tr("Miss (escape):")),
        ):
            label = QLabel("-")
            label.setObjectName(f"rate_{key}")
            self.metric_labels[key] = label
            form.addRow(text, label)
        self.reset_button = QPushButton(self.tr("Back to the model's threshold"))
        self.reset_button.setEnabled(False)
        self.reset_button.clicked.connect(self.reset_threshold)
        form.addRow(self.reset_button)
        return box

    def _build_charts(self) -> QWidget:
        self.roc_chart = RocChart()
        self.roc_chart.title = self.tr("ROC curve (image scores)")
        self.roc_chart.x_label = self.tr("False-positive rate (good judged NG)")
        self.roc_chart.y_label = self.tr("True-positive rate")
        self.histogram = HistogramChart()
        self.histogram.title = self.tr("Scores: good (green), NG (red), threshold (dashed)")
        self.histogram.x_label = self.tr("Anomaly score")
        self.histogram.y_label = self.tr("Images")
        widget = QWidget()

        layout = QHBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.roc_chart)
        layout.addWidget(self.histogram)
        return widget

    def _build_types_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Defect types: true type (rows) against the type given (columns)"))
        self.types_table = QTableWidget()
        self.types_table.setObjectName("type_confusion")
        layout = QVBoxLayout(box)
        layout.addWidget(self.types_table)
        box.setVisible(False)
        self.types_box = box
        return box

    def _build_gallery(self) -> QGroupBox:
        box = QGroupBox(self.tr("Worst cases"))
        self.good_gallery = _gallery("worst_good")
        self.ng_gallery = _gallery("worst_ng")

        grid = QGridLayout(box)
        grid.addWidget(QLabel(self.tr("Highest-scoring good images (overkill risk)")), 0, 0)
        grid.addWidget(QLabel(self.tr("Lowest-scoring NG images (escape risk)")), 0, 1)
        grid.addWidget(self.good_gallery, 1, 0)
        grid.addWidget(self.ng_gallery, 1, 1)
        return box

    def page_shown(self) -> None:
        """Refresh the model list when the page appears (training may have added one)."""
        self.refresh_models()

    def refresh_models(self) -> None:
        """List the project's trained models."""
        project = self.context.session.project
        self.model_combo.set_bundles(project_data.list_bundles(project.root) if project is not None else [])
        self.run_button.setEnabled(self.poller is None and self.model_combo.count() > 0)

    def start_evaluation(self) -> bool:
        """Score the chosen images with the chosen model in a worker thread; return False when it could not start."""
        project = self.context.session.project
        bundle = self.model_combo.current_path()
        if project is None or bundle is None:
            self.context.errors.report(
                self.tr("No model to evaluate."), None, self.tr("Open a project and train a model on the Train page.")
            )
            return False
        samples = project_data.labelled_samples(project, self.split_combo.currentData())
        if not samples:
            self.context.errors.report(
                self.tr("The chosen split has no images labelled good or NG."),
                None,
                self.tr("Label images in the Label page, or choose another split."),
            )
            return False
        self.clear_result()
        job = ThreadJob(_evaluate_job, {"bundle": bundle, "project": project, "samples": samples}, "evaluate")
        self.poller = JobPoller(job, self._on_event, self)
        self.poller.start()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setRange(0, len(samples))
        self.progress_bar.setValue(0)
        self.status_label.setText(self.tr("Evaluating {0} images...").format(len(samples)))
        return True

    def cancel_evaluation(self) -> None:
        """Ask the evaluation to stop after the current image. The page discards the partial scores."""
        if self.poller is not None:
            self.poller.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText(self.tr("Cancelling..."))

    def clear_result(self) -> None:
        """Remove the shown evaluation, so no chart, rate or report belongs to an earlier run."""
        self.result = None
        self.scale = None
        self.current_threshold = None
        for label in self.metric_labels.values():
            label.setText("-")
        self.roc_chart.clear()
        self.histogram.clear()
        self.good_gallery.clear()
        self.ng_gallery.clear()
        self.types_table.clear()
        self.types_box.setVisible(False)
        self.slider.setEnabled(False)
        for button in (self.reset_button, self.html_button, self.pdf_button):
            button.setEnabled(False)

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == PROGRESS:
            self.progress_bar.setValue(event.done)
            return
        self.poller = None
        self.cancel_button.setEnabled(False)
        self.refresh_models()
        if event.kind == DONE:
            self.status_label.clear()
            self.show_result(event.result["result"])
        elif event.kind == FAILED:
            self.status_label.setText(self.tr("Evaluation failed."))
            logger.error("Evaluation failed:\n%s", event.details)
            self.context.errors.report(
                self.tr("Evaluation failed."),
                RuntimeError(event.message),
                self.tr("Check that the model folder is complete (train it again if needed)."),
            )
        elif event.kind == CANCELLED:
            self.progress_bar.setValue(0)
            self.status_label.setText(self.tr("Evaluation was cancelled; no results are shown."))

    def show_result(self, result: EvaluationResult) -> None:
        """Show metrics, charts and worst cases of ``result``, with the slider at the model's threshold."""
        self.result = result
        self.scale = SensitivityScale(result)
        labels = result.labels
        good, ng = int((labels == 0).sum()), int((labels == 1).sum())
        self.metric_labels["images"].setText(f"{good} / {ng}")
        for key in ("image_auroc", "pixel_auroc", "aupro"):
            value = getattr(result, key)
            self.metric_labels[key].setText(self.tr("n/a") if value is None else f"{value:.4f}")
        self.metric_labels["speed"].setText(self.tr("{0:.1f} ms ({1})").format(result.ms_per_image, result.engine))
        points = roc_points(result)
        self.roc_chart.set_curve(*(points if points is not None else ([], [])))
        self.histogram.set_histograms(*score_histograms(result))
        self._fill_gallery(result)
        self._fill_types(result)
        self.slider.setEnabled(True)
        self.reset_button.setEnabled(True)
        for button in (self.html_button, self.pdf_button):
            button.setEnabled(True)
        self.reset_threshold()

    def reset_threshold(self) -> None:
        """Move the slider back to the model's own threshold."""
        if self.result is None or self.scale is None:
            return
        self.slider.blockSignals(True)
        self.slider.setValue(self.scale.position_of(self.result.threshold))
        self.slider.blockSignals(False)
        self._apply_threshold(self.result.threshold)

    def _on_slider(self, position: int) -> None:
        if self.scale is not None:
            self._apply_threshold(self.scale.threshold_at(position))

    def _apply_threshold(self, threshold: float) -> None:
        assert self.scale is not None
        self.current_threshold = threshold
        rates = self.scale.rates(threshold)
        good = rates.false_positive + rates.true_negative
        ng = rates.false_negative + rates.true_positive
        self.metric_labels["threshold"].setText(f"{threshold:.4f}")
        self.metric_labels["overkill"].setText(
            self.tr("{0:.1%} ({1} of {2} good)").format(rates.overkill_rate, rates.false_positive, good)
        )
        self.metric_labels["escape"].setText(
            self.tr("{0:.1%} ({1} of {2} NG)").format(rates.escape_rate, rates.false_negative, ng)
        )
        self.histogram.set_threshold(threshold)
        self.roc_chart.set_marker(rates.overkill_rate, 1.0 - rates.escape_rate)

    def _fill_gallery(self, result: EvaluationResult) -> None:
        good, ng = worst_cases(result, WORST_CASE_COUNT)
        for gallery, items in ((self.good_gallery, good), (self.ng_gallery, ng)):
            gallery.clear()
            for item in items:
                entry = QListWidgetItem(QIcon(pixmap_from_rgb(item.overlay)), f"{Path(item.image_id).name}\n{item.score:.3f}")
                entry.setToolTip(f"{item.image_id} ({item.defect_type}): {item.score:.4f}")
                gallery.addItem(entry)

    def _fill_types(self, result: EvaluationResult) -> None:
        confusion = type_confusion(result)
        self.types_box.setVisible(confusion is not None)
        if confusion is None:
            self.types_table.clear()
            return
        rows, columns, counts = confusion
        self.types_table.setRowCount(len(rows))
        self.types_table.setColumnCount(len(columns))
        self.types_table.setVerticalHeaderLabels(rows)
        self.types_table.setHorizontalHeaderLabels(
            [self.tr("(no type)") if name == "none" else name for name in columns]
        )
        for row in range(len(rows)):
            for column in range(len(columns)):
                self.types_table.setItem(row, column, QTableWidgetItem(str(int(counts[row, column]))))
        self.types_table.resizeColumnsToContents()

    def report_html(self, *, for_pdf: bool = False) -> tuple[str, dict[str, QImage]]:
        """Return the report HTML and, for PDF rendering, the images it names."""
        assert self.result is not None
        assert self.scale is not None
        assert self.current_threshold is not None
        rates = self.scale.rates(self.current_threshold)
        figures = {"roc": render_png(self.roc_chart), "histogram": render_png(self.histogram)}
        good, ng = worst_cases(self.result, WORST_CASE_COUNT)
        gallery = [
            (section, f"{Path(item.image_id).name}: {item.score:.3f}", png_bytes(pixmap_from_rgb(item.overlay)))
            for section, items in (("good", good), ("ng", ng))
            for item in items
        ]
        resources: dict[str, QImage] = {}

        def named(name: str, png: bytes) -> str:
            resources[name] = QImage.fromData(png, "PNG")
            return name

        html = build_html(
            self.result, rates, figures, gallery, text=self._report_text(), **({"image_source": named} if for_pdf else {})
        )
        return html, resources

    def export_html(self, path: str | Path) -> None:
        """Write the self-contained HTML report to ``path``."""
        html, _ = self.report_html()
        atomic_write_text(path, html)

    def export_pdf(self, path: str | Path) -> None:
        """Write the report as a PDF to ``path`` (rendered by QTextDocument)."""
        html, resources = self.report_html(for_pdf=True)
        document = QTextDocument()
        for name, image in resources.items():
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
        document.setHtml(html)
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
        writer.setTitle(self.tr("Evaluation report"))
        document.setPageSize(QSize(writer.width(), writer.height()).toSizeF())
        document.print_(writer)

    def _report_text(self) -> ReportText:
        return ReportText(
            title=self.tr("Evaluation report"),
            model=self.tr("Model"),
            engine=self.tr("Engine"),
            images=self.tr("Images"),
            image_auroc=self.tr("Image AUROC"),
            pixel_auroc=self.tr("Pixel AUROC"),
            aupro=self.tr("AUPRO (FPR < 0.3)"),
            threshold=self.tr("Threshold"),
            overkill=self.tr("False reject (overkill) rate"),
            escape=self.tr("Miss (escape) rate"),
            charts=self.tr("Charts"),
            worst_good=self.tr("Highest-scoring good images"),
            worst_ng=self.tr("Lowest-scoring NG images"),
            not_available=self.tr("n/a"),
        )

    def _ask_export_html(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export HTML Report"), "", self.tr("HTML files (*.html)"))
        if path:
            self._export(self.export_html, path)

    def _ask_export_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export PDF Report"), "", self.tr("PDF files (*.pdf)"))
        if path:
            self._export(self.export_pdf, path)

    def _export(self, writer, path: str) -> None:
        try:
            writer(path)
        except OSError as error:
            self.context.errors.report(
                self.tr("Could not write the report to {0}.").format(path), error,
                self.tr("Choose a folder you can write to."),
            )
            return
        self.context.window.statusBar().showMessage(self.tr("Report written: {0}").format(path), 10_000)

    def shutdown(self) -> None:
        """Stop a running evaluation with the window."""
        if self.poller is not None:
            self.poller.stop_polling()
            self.poller.job.cancel()
            self.poller.job.wait(5.0)
            self.poller = None


def _gallery(name: str) -> QListWidget:
    gallery = QListWidget()
    gallery.setObjectName(name)
    gallery.setViewMode(QListView.ViewMode.IconMode)
    gallery.setIconSize(QSize(GALLERY_ICON_PX, GALLERY_ICON_PX))
    gallery.setResizeMode(QListView.ResizeMode.Adjust)
    gallery.setMovement(QListView.Movement.Static)
    gallery.setMinimumHeight(GALLERY_ICON_PX + 50)
    return gallery
