"""Qt-free workflow state: sensitivity scale, histograms, worst cases, report, counters, project data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from app.gui.workflow import project_data
from app.gui.workflow.dataset_import import IMAGES, LABELME, MVTEC, detect_dataset_kind, import_dataset
from app.gui.workflow.evaluation import (
    SLIDER_STEPS,
    EvaluationResult,
    ScoredImage,
    SensitivityScale,
    roc_points,
    score_histograms,
    type_confusion,
    worst_cases,
)
from app.gui.workflow.inspection import Counters, InspectionResult
from app.gui.workflow.report import build_html
from labeling.imageio import write_image
from labeling.model import PixelMask, Region, Split, Verdict
from labeling.project import Project


def _result(good_scores, ng_scores, threshold=0.5) -> EvaluationResult:
    overlay = np.zeros((4, 4, 3), np.uint8)
    images = [ScoredImage(f"good/{i}", Path(f"g{i}.png"), 0, "good", s, overlay) for i, s in enumerate(good_scores)]
    images += [ScoredImage(f"ng/{i}", Path(f"n{i}.png"), 1, "crack", s, overlay) for i, s in enumerate(ng_scores)]
    return EvaluationResult(
        Path("model"), "abc", "onnxruntime", "CPUExecutionProvider", threshold, 0.1, tuple(images), (),
        None, None, None, 1.0,
    )


def test_scale_ends_judge_everything_one_way():
    result = _result([0.1, 0.2, 0.6], [0.4, 0.9])
    scale = SensitivityScale(result)
    least = scale.rates(scale.threshold_at(0))
    most = scale.rates(scale.threshold_at(SLIDER_STEPS))
    assert least.false_positive == 0
    assert least.true_positive == 0
    assert most.false_negative == 0
    assert most.true_negative == 0


def test_scale_position_round_trip():
    scale = SensitivityScale(_result([0.1, 0.3], [0.7, 0.9]))
    position = scale.position_of(0.5)
    assert scale.threshold_at(position) == pytest.approx(0.5, abs=(scale.high - scale.low) / SLIDER_STEPS)
    assert scale.threshold_at(-5) == scale.high
    assert scale.threshold_at(SLIDER_STEPS + 5) == pytest.approx(scale.low)


def test_scale_rates_at_model_threshold():
    rates = SensitivityScale(_result([0.1, 0.2, 0.6], [0.4, 0.9])).rates(0.5)
    assert (rates.false_positive, rates.false_negative) == (1, 1)
    assert rates.overkill_rate == pytest.approx(1 / 3)
    assert rates.escape_rate == pytest.approx(1 / 2)


def test_histograms_cover_all_scores():
    result = _result([0.1, 0.2, 0.6], [0.4, 0.9], threshold=1.2)
    edges, good, ng = score_histograms(result, bins=5)
    assert good.sum() == 3
    assert ng.sum() == 2
    assert edges[0] == pytest.approx(0.1)
    assert edges[-1] == pytest.approx(1.2)


def test_roc_needs_both_classes():
    assert roc_points(_result([0.1, 0.2], [])) is None
    fpr, tpr = roc_points(_result([0.1, 0.2], [0.9]))
    assert fpr[-1] == 1.0
    assert tpr[-1] == 1.0


def test_worst_cases_order():
    good, ng = worst_cases(_result([0.1, 0.7, 0.3], [0.4, 0.95, 0.2]), count=2)
    assert [item.score for item in good] == [0.7, 0.3]
    assert [item.score for item in ng] == [0.2, 0.4]


def test_report_html_lists_metrics_and_images():
    result = _result([0.1, 0.6], [0.9])
    rates = SensitivityScale(result).rates(0.5)
    html = build_html(result, rates, {"roc": b"\x89PNG"}, [("good", "g1 <0.6>", b"\x89PNG"), ("ng", "n0", b"\x89PNG")])
    assert "data:image/png;base64," in html
    assert "g1 &lt;0.6&gt;" in html
    assert "0.5000 (1/2)" in html
    names = []
    build_html(result, rates, {"roc": b"x"}, [], image_source=lambda name, png: names.append(name) or name)
    assert names == ["roc"]


def test_counters_throughput_and_recent_ng():
    now = [10.0]
    counters = Counters(clock=lambda: now[0])
    overlay = np.zeros((2, 2, 3), np.uint8)
    for index, verdict in enumerate(["OK", "NG", "ERROR", "NG"]):
        now[0] = 10.0 + index
        counters.add(InspectionResult(f"i{index}", verdict, 1.0, 0.5, 20.0 + index, overlay))
    assert (counters.ok, counters.ng, counters.errors, counters.total) == (1, 2, 1, 4)
    assert [item.name for item in counters.recent_ng] == ["i3", "i1"]
    assert counters.mean_latency_ms() == pytest.approx((20 + 21 + 23) / 3)
    assert counters.max_latency_ms() == pytest.approx(23.0)
    assert counters.throughput_per_s() == pytest.approx(4 / 3.02)


def _png(path: Path, value: int = 128) -> Path:
    pixels = np.full((32, 40), value, np.uint8)
    return write_image(path, pixels)


def test_dataset_kind_detection(tmp_path):
    (tmp_path / "mvtec" / "train" / "good").mkdir(parents=True)
    (tmp_path / "labelme").mkdir()
    (tmp_path / "labelme" / "a.json").write_text("{}", encoding="utf-8")
    (tmp_path / "plain").mkdir()
    _png(tmp_path / "plain" / "a.png")
    assert detect_dataset_kind(tmp_path / "mvtec") == MVTEC
    assert detect_dataset_kind(tmp_path / "labelme") == LABELME
    assert detect_dataset_kind(tmp_path / "plain") == IMAGES


def test_project_data_splits_and_masks(tmp_path):
    dataset = tmp_path / "parts"
    for folder, count in (("train/good", 3), ("test/good", 2), ("test/dent", 2)):
        for index in range(count):
            _png(dataset / folder / f"{index}.png", 100 + index)
    mask = np.zeros((32, 40), np.uint8)
    mask[4:10, 5:12] = 255
    for index in range(2):
        write_image(dataset / "ground_truth" / "dent" / f"{index}_mask.png", mask)
    with Project.create(tmp_path / "project", "parts", []) as project:
        report = import_dataset(project, dataset, copy=False)
        assert len(report.items) == 7
        assert len(project_data.good_training_images(project)) == 3
        samples = project_data.labelled_samples(project, "test")
        assert sorted(sample.label for sample in samples) == [0, 0, 1, 1]
        defect = next(sample for sample in samples if sample.label == 1)
        assert defect.defect_type == "dent"
        region_mask = project_data.sample_mask(project, defect, (32, 40))
        assert region_mask.sum() == 6 * 7
        good = next(sample for sample in samples if sample.label == 0)
        assert not project_data.sample_mask(project, good, (32, 40)).any()
        assert project_data.defect_examples(project) == {}
        with pytest.raises(ValueError, match="invalid evaluation split"):
            project_data.labelled_samples(project, "holdout")


def test_defect_examples_outside_test_split(tmp_path):
    image = _png(tmp_path / "x.png")
    with Project.create(tmp_path / "project", "parts", ["scratch"]) as project:
        (image_id,) = project.add_images([image]).items
        region = Region(shape=PixelMask.from_array(np.ones((32, 40), bool)), defect_type="scratch")
        label = dataclasses.replace(
            project.get_label(image_id), verdict=Verdict.NG, defect_type="scratch", split=Split.TRAIN, regions=(region,)
        )
        project.save_label(image_id, label)
        examples = project_data.defect_examples(project)
        assert list(examples) == ["scratch"]
        assert examples["scratch"][0].name == "x.png"


def test_model_dirs_and_bundle_listing(tmp_path):
    first = project_data.new_model_dir(tmp_path)
    first.mkdir(parents=True)
    (first / "manifest.json").write_text("{}", encoding="utf-8")
    second = project_data.new_model_dir(tmp_path)
    assert second != first
    (tmp_path / "models" / "not-a-bundle").mkdir()
    assert project_data.list_bundles(tmp_path) == [first]
    assert project_data.list_bundles(tmp_path, "bundles") == []


def test_type_confusion_counts_ng_only():
    overlay = np.zeros((2, 2, 3), np.uint8)
    images = (
        ScoredImage("g", Path("g.png"), 0, "good", 0.1, overlay, None),
        ScoredImage("a", Path("a.png"), 1, "crack", 0.9, overlay, "crack"),
        ScoredImage("b", Path("b.png"), 1, "crack", 0.8, overlay, "unknown"),
        ScoredImage("c", Path("c.png"), 1, "dent", 0.2, overlay, None),
        ScoredImage("d", Path("d.png"), 1, "dent", 0.7, overlay, "crack"),
    )
    result = EvaluationResult(Path("m"), "id", "onnxruntime", "cpu", 0.5, 0.1, images, (), None, None, None, 1.0)
    rows, columns, counts = type_confusion(result)
    assert rows == ["crack", "dent"]
    assert columns == ["crack", "dent", "unknown", "none"]
    assert counts.tolist() == [[1, 0, 1, 0], [1, 0, 0, 1]]


def test_type_confusion_absent_without_types():
    assert type_confusion(_result([0.1], [0.9])) is None
