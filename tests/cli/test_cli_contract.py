"""The ``inspect`` command line contract: reports, heatmaps, exit statuses and messages."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli.main import main
from labeling.imageio import read_image
from tests.conftest import SAMPLE

REPORT_KEYS = {"path", "score", "normalized_score", "verdict", "threshold", "width", "height", "error"}


def test_run_writes_json_report_and_heatmaps(
    sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    heatmaps = tmp_path / "heat"
    status = main(["run", str(sample_model), str(SAMPLE / "test"), "--report", str(report), "--heatmaps", str(heatmaps)])
    assert status == 0
    assert f"heatmaps: 5 written under {heatmaps}" in capsys.readouterr().err
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert len(rows) == 5
    for row in rows:
        assert REPORT_KEYS <= set(row)
        assert row["verdict"] in ("OK", "NG")
        assert 0.0 <= row["normalized_score"] <= 1.0
        assert (row["normalized_score"] > 0.5) == (row["verdict"] == "NG") or row["normalized_score"] == 0.5
        overlay = read_image(row["heatmap"])
        assert (overlay.width, overlay.height) == (row["width"], row["height"])
        source = read_image(row["path"])
        assert (source.width, source.height) == (row["width"], row["height"])


def test_run_writes_csv_report(sample_model: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    assert main(["run", str(sample_model), str(SAMPLE / "test" / "good"), "--report", str(report)]) == 0
    with report.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    assert REPORT_KEYS <= set(rows[0])


def test_fail_on_ng_exits_one(sample_model: Path, tmp_path: Path) -> None:
    noisy = tmp_path / "noisy.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (200, 160), dtype=np.uint8)).save(noisy)
    assert main(["run", str(sample_model), str(noisy)]) == 0
    assert main(["run", str(sample_model), str(noisy), "--fail-on-ng"]) == 1


def test_invalid_model_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing_model"), str(SAMPLE / "test")]) == 2
    assert "missing_model" in capsys.readouterr().err


def test_usage_errors_exit_two(sample_model: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["run"])
    assert raised.value.code == 2
    assert main(["run", str(sample_model), str(SAMPLE), "--report", str(tmp_path / "r.txt")]) == 2
    assert main(["train", str(SAMPLE / "train" / "good"), "--out", str(tmp_path / "m"), "--size", "abc"]) == 2


def test_missing_input_is_partial(sample_model: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main(["run", str(sample_model), str(tmp_path / "nope"), str(SAMPLE / "test" / "good"), "--report", str(report)]) == 3
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [row["verdict"] for row in rows].count("ERROR") == 1


def test_eval_prints_and_writes_metrics(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "eval.json"
    assert main(["eval", str(sample_model), str(SAMPLE), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    for label in ("image AUROC", "pixel AUROC", "AUPRO", "F1 at threshold", "overkill rate", "escape rate"):
        assert label in printed
    result = json.loads(report.read_text(encoding="utf-8"))
    assert 0.0 <= result["image_auroc"] <= 1.0
    assert 0.0 <= result["pixel_auroc"] <= 1.0
    assert 0.0 <= result["aupro"] <= 1.0


def test_eval_rejects_folder_without_test_split(sample_model: Path, tmp_path: Path) -> None:
    assert main(["eval", str(sample_model), str(tmp_path)]) == 2


def test_train_replaces_model_atomically(tmp_path: Path) -> None:
    good = tmp_path / "good"
    shutil.copytree(SAMPLE / "train" / "good", good)
    out = tmp_path / "model"
    assert main(["train", str(good), "--out", str(out), "--size", "96"]) == 0
    first = (out / "manifest.json").read_text(encoding="utf-8")
    assert main(["train", str(good), "--out", str(out), "--size", "96"]) == 0
    assert (out / "manifest.json").read_text(encoding="utf-8") != first
    leftovers = [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]
    assert leftovers == []


def test_demo_runs_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    assert "report:" in printed
    assert (tmp_path / "demo" / "report.json").is_file()
    assert len(list((tmp_path / "demo" / "heatmaps").rglob("*.png"))) == 5
