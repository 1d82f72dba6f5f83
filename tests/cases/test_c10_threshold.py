"""Thresholds from good images only never fall to the lowest score, and the manifest says how they were chosen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anomaly import threshold_from_good, threshold_with_defects
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
    assert post["threshold_method"] == "good-max-plus-margin"
    assert post["threshold_margin"] == 0.25
    assert "good images only" in post["threshold_note"]
    report = tmp_path / "r.json"
    assert main(["run", str(model), *map(str, train[5:8]), "--report", str(report), "--fail-on-ng"]) == 0
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [row["verdict"] for row in rows] == ["OK", "OK", "OK"]
