"""Paths in any script: every image reads, every report and heatmap is written, failures are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from labeling.imageio import read_image, write_image
from tests.cases.images import jpeg_bytes, save_png, textured

NAMES = ["缺陷_01.png", "défaut_é.jpg", "검사 01.png", "проверка_№2.png", "ตรวจสอบ.bmp"]


def _write_inputs(folder: Path, rng: np.random.Generator) -> None:
    for name in NAMES:
        pixels = textured(rng)
        target = folder / name
        if name.endswith(".jpg"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(jpeg_bytes(pixels))
        elif name.endswith(".bmp"):
            write_image(target, pixels)
        else:
            save_png(target, pixels)


def test_train_and_run_in_cjk_folders(tmp_path: Path, rng: np.random.Generator) -> None:
    folder = tmp_path / "数据" / "缺陷样本"
    _write_inputs(folder, rng)
    model = tmp_path / "模型"
    assert main(["train", str(folder), "--out", str(model), "--size", "96"]) == 0
    report = tmp_path / "结果" / "报告.json"
    heatmaps = tmp_path / "结果" / "热图"
    assert main(["run", str(model), str(folder), "--report", str(report), "--heatmaps", str(heatmaps)]) == 0
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert sorted(Path(row["path"]).name for row in rows) == sorted(NAMES)
    for row in rows:
        assert row["verdict"] in ("OK", "NG")
        overlay = read_image(row["heatmap"])
        assert (overlay.width, overlay.height) == (row["width"], row["height"])


def test_unwritable_heatmap_folder_fails_the_run(tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "données"
    _write_inputs(folder, rng)
    model = tmp_path / "model"
    assert main(["train", str(folder), "--out", str(model), "--size", "96"]) == 0
    blocker = tmp_path / "熱図"
    blocker.write_text("a file where the heatmap folder should be", encoding="utf-8")
    status = main(["run", str(model), str(folder), "--heatmaps", str(blocker)])
    assert status == 3
    assert "heatmap for" in capsys.readouterr().err


def test_loader_round_trips_non_ascii_names(tmp_path: Path, rng: np.random.Generator) -> None:
    for name in ("أ_فحص.png", "日本語テスト.tif", "ελληνικά.jpg"):
        pixels = textured(rng, 40, 50)
        path = write_image(tmp_path / "路径" / name, pixels)
        loaded = read_image(path)
        assert (loaded.height, loaded.width) == (40, 50)
