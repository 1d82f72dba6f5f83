"""Thresholds from good images only never fall to the lowest score, and the manifest says how they were chosen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anomaly import threshold_for_false_rejects, threshold_from_good, threshold_with_defects
from app.cli.main import main
from tests.conftest import SAMPLE


def test_good_only_threshold_is_above_every_good_score() -> None:
    labels = np.array([0, 0, 0, 0])
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    threshold = threshold_from_good(scores[labels == 0])
    assert threshold.value >= 4.0
    assert threshold.method == "good-max-plus-margin"
    assert "No defect samples" in threshold.note


@pytest.mark.parametrize("scores", [[5.0], [2.0, 2.0, 2.0], [0.0, 0.0], [1e-9, 2e-9, 3e-9]])
def test_degenerate_good_scores(scores: list[float]) -> None:
    threshold = threshold_from_good(np.array(scores))
    assert threshold.value >= max(scores)
    assert threshold.normal_level < threshold.value


def test_no_scores_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one good image"):
        threshold_from_good(np.array([]))


def test_accepted_false_reject_rate_sets_a_prediction_bound() -> None:
    scores = np.random.default_rng(7).normal(30.0, 2.0, size=60)
    strict = threshold_for_false_rejects(scores, 0.001)
    loose = threshold_for_false_rejects(scores, 0.05)
    assert strict.value > loose.value > scores.mean()
    assert strict.method == "good-prediction-bound"
    assert strict.target_frr == 0.001
    assert "0.1%" in strict.note


def test_outlier_good_image_stays_above() -> None:
    scores = np.append(np.random.default_rng(3).normal(25.0, 1.0, size=59), 40.0)
    threshold = threshold_for_false_rejects(scores)
    assert threshold.value < 40.0
    assert threshold.good_above == 1
    assert "check them" in threshold.note


def test_few_good_scores_widen_the_bound() -> None:
    rng = np.random.default_rng(11)
    many = rng.normal(30.0, 2.0, size=200)
    few = many[:4]
    spread_many = threshold_for_false_rejects(many).value - many.mean()
    spread_few = threshold_for_false_rejects(few).value - few.mean()
    assert spread_few / few.std(ddof=1) > spread_many / many.std(ddof=1)


@pytest.mark.parametrize("scores", [[5.0], [2.0, 2.0]])
def test_few_scores_use_margin_rule(scores: list[float]) -> None:
    threshold = threshold_for_false_rejects(np.array(scores))
    assert threshold.method == "good-max-plus-margin"
    assert threshold.value >= max(scores)


def test_identical_scores_threshold_above() -> None:
    threshold = threshold_for_false_rejects(np.array([2.0, 2.0, 2.0, 2.0]))
    assert threshold.value > 2.0
    assert threshold.normal_level < threshold.value


@pytest.mark.parametrize("rate", [0.0, 0.5, -0.1, 1.0])
def test_accepted_rate_outside_the_range_is_an_error(rate: float) -> None:
    with pytest.raises(ValueError, match="accepted false-reject rate"):
        threshold_for_false_rejects(np.array([1.0, 2.0, 3.0]), rate)


def test_defect_samples_meet_the_miss_rate() -> None:
    threshold = threshold_with_defects(np.array([1.0, 2.0, 3.0]), np.array([2.5, 5.0, 6.0, 7.0]), max_miss_rate=0.25)
    assert 3.0 < threshold.value < 5.0
    strict = threshold_with_defects(np.array([1.0, 2.0, 3.0]), np.array([2.5, 5.0, 6.0, 7.0]))
    assert strict.value < 2.5
    assert strict.method == "defect-miss-rate"


def test_five_good_images_pass_three_held_out_good(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = sorted((SAMPLE / "train" / "good").iterdir())
    model = tmp_path / "model"
    assert main(["train", *map(str, train[:5]), "--out", str(model)]) == 0
    assert "No defect samples were available" in capsys.readouterr().err
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    post = manifest["postprocessing"]
    assert post["threshold_method"] == "good-prediction-bound"
    assert manifest["training"]["threshold_target_frr"] == 0.01
    assert "good images only" in post["threshold_note"]
    report = tmp_path / "r.json"
    assert main(["run", str(model), *map(str, train[5:8]), "--report", str(report), "--fail-on-ng"]) == 0
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [row["verdict"] for row in rows] == ["OK", "OK", "OK"]


def test_threshold_margin_option_selects_the_older_rule(tmp_path: Path) -> None:
    train = sorted((SAMPLE / "train" / "good").iterdir())[:4]
    model = tmp_path / "model"
    assert main(["train", *map(str, train), "--size", "64", "--threshold-margin", "0.5", "--out", str(model)]) == 0
    post = json.loads((model / "manifest.json").read_text(encoding="utf-8"))["postprocessing"]
    assert post["threshold_method"] == "good-max-plus-margin"
    assert post["threshold_margin"] == 0.5


def test_target_frr_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = sorted((SAMPLE / "train" / "good").iterdir())[:2]
    assert main(["train", *map(str, train), "--target-frr", "0.7", "--out", str(tmp_path / "m")]) == 2
    assert "--target-frr" in capsys.readouterr().err


def test_images_above_threshold_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labeling.imageio import read_image, write_image

    train = sorted((SAMPLE / "train" / "good").iterdir())
    folder = tmp_path / "good"
    folder.mkdir()
    for path in train:
        pixels = read_image(path).pixels
        write_image(folder / path.name, pixels)
        write_image(folder / f"flipped_{path.name}", pixels[:, ::-1].copy())
    odd = read_image(train[0]).pixels.copy()
    odd[(np.indices(odd.shape[:2]).sum(axis=0) // 8) % 2 == 0] = 255
    write_image(folder / "odd_part.png", odd)
    options = ["--size", "96", "--target-frr", "0.05", "--no-augment", "--out", str(tmp_path / "model")]
    assert main(["train", str(folder), *options]) == 0
    err = capsys.readouterr().err
    assert "score above the threshold" in err
    assert "odd_part.png" in err
