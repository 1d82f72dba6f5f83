"""End to end through the studio: project, import, train, evaluate, sensitivity, deploy, inspect.

The numbers the pages show are checked against ``inspect eval`` on the same bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main as cli_main
from engine.metrics import rates_at

pytestmark = pytest.mark.gui

WAIT_TRAIN_MS = 240_000
WAIT_JOB_MS = 120_000


def _wait_idle(qtbot, page, timeout_ms: int) -> None:
    qtbot.waitUntil(lambda: page.poller is None, timeout=timeout_ms)


def test_studio_flow_matches_inspect_eval(make_window, qtbot, tile_slice, tmp_path):
    window = make_window()

    project_page = window.pages["project"]
    assert project_page.create_project(tmp_path / "project", "tiles", [])
    assert project_page.import_dataset(tile_slice)
    counts = window.session.project.counts()
    assert counts.total == 26

    train = window.pages["train"]
    window.show_page("train")
    train.size_combo.setCurrentIndex(train.size_combo.findData("128"))
    assert "10" in train.good_count_label.text()
    assert train.start_training()
    _wait_idle(qtbot, train, WAIT_TRAIN_MS)
    assert train.last_failure == ""
    assert train.last_result is not None
    assert train.last_result["image_count"] == 10
    assert train.last_result["input_size"] == [128, 128]

    evaluate = window.pages["evaluate"]
    window.show_page("evaluate")
    assert evaluate.model_combo.count() == 1
    assert evaluate.start_evaluation()
    _wait_idle(qtbot, evaluate, WAIT_JOB_MS)
    result = evaluate.result
    assert result is not None
    assert len(result.images) == 16

    model_dir = Path(train.last_result["model_dir"])
    report_path = tmp_path / "eval.json"
    assert cli_main(["eval", str(model_dir), str(tile_slice), "--report", str(report_path)]) == 0
    reference = json.loads(report_path.read_text(encoding="utf-8"))
    assert reference["images"] == len(result.images)
    for key in ("image_auroc", "pixel_auroc", "aupro"):
        assert getattr(result, key) == pytest.approx(reference[key], abs=1e-6), key
        assert evaluate.metric_labels[key].text() == f"{reference[key]:.4f}", key
    assert result.threshold == pytest.approx(reference["threshold"])
    reference_scores = {Path(row["path"]).name: row["score"] for row in reference["per_image"]}
    for item in result.images:
        assert item.score == pytest.approx(reference_scores[item.path.name], rel=1e-4, abs=1e-4)

    at_model = reference["at_threshold"]
    overkill_text = evaluate.metric_labels["overkill"].text()
    assert f"{at_model['false_positive']} " in overkill_text
    evaluate.slider.setValue(evaluate.slider.maximum())
    most_sensitive = rates_at(result.labels, result.scores, evaluate.current_threshold)
    assert most_sensitive.false_negative == 0
    assert evaluate.metric_labels["escape"].text().startswith("0.0%")
    evaluate.slider.setValue(0)
    assert rates_at(result.labels, result.scores, evaluate.current_threshold).false_positive == 0
    assert evaluate.metric_labels["overkill"].text().startswith("0.0%")
    evaluate.reset_threshold()
    assert evaluate.current_threshold == pytest.approx(reference["threshold"])
    assert evaluate.good_gallery.count() > 0
    assert evaluate.ng_gallery.count() > 0
    evaluate.export_html(tmp_path / "report.html")
    evaluate.export_pdf(tmp_path / "report.pdf")
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")

    deploy = window.pages["deploy"]
    window.show_page("deploy")
    for target, check in deploy.target_checks.items():
        check.setChecked(target == "cpu")
    deploy.precision_combo.setCurrentIndex(deploy.precision_combo.findData("fp32"))
    assert deploy.start_build()
    _wait_idle(qtbot, deploy, WAIT_JOB_MS)
    bundles = deploy.last_result["bundles"]
    assert len(bundles) == 1
    assert bundles[0]["error"] == ""
    assert bundles[0]["guard"]["passed"] is True
    assert bundles[0]["ms_per_image"] > 0
    bundle = Path(bundles[0]["path"])
    assert (bundle / "manifest.json").is_file()
    assert deploy.results_tree.topLevelItemCount() == 1
    assert deploy.export_to(tmp_path / "usb", as_zip=True)
    _wait_idle(qtbot, deploy, WAIT_JOB_MS)
    assert (tmp_path / "usb" / f"{bundle.name}.zip").is_file()

    inspect = window.pages["inspect"]
    window.show_page("inspect")
    inspect.select_bundle(bundle)
    inspect.folder_edit.setText(str(tile_slice / "test"))
    assert inspect.start_inspection()
    qtbot.waitUntil(lambda: inspect.finished, timeout=WAIT_JOB_MS)
    counters = inspect.counters
    assert counters.total == 16
    assert counters.errors == 0
    reference_ng = sum(1 for row in reference["per_image"] if row["verdict"] == "NG")
    assert counters.ng == reference_ng
    assert counters.ok == 16 - reference_ng
    assert inspect.counter_labels["ng"].text() == str(reference_ng)
    assert inspect.ng_gallery.count() == min(reference_ng, counters.recent_ng.maxlen)
    assert inspect.image_label.pixmap() is not None

    video = _write_video(tmp_path / "camera.avi", sorted((tile_slice / "test" / "good").glob("*.png"))[:3])
    inspect.camera_radio.setChecked(True)
    inspect.camera_edit.setText(str(video))
    assert inspect.start_inspection()
    qtbot.waitUntil(lambda: inspect.finished, timeout=WAIT_JOB_MS)
    assert inspect.counters.total == 3
    assert inspect.counters.errors == 0


def _write_video(path: Path, frames: list[Path]) -> Path:
    """Write the images as an MJPG video of one fixed size (the camera source reads it like a stream)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (256, 256))
    assert writer.isOpened()
    for frame in frames:
        pixels = cv2.imread(str(frame), cv2.IMREAD_COLOR)
        writer.write(cv2.resize(pixels, (256, 256)))
    writer.release()
    return path
