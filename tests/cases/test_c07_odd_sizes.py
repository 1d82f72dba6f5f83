"""Sizes that do not fit the stride work; configured sizes are rounded with a warning; tiny images are rejected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from labeling.imageio import ImageReadError, read_image
from labeling.model_input import round_size
from tests.cases.images import save_png, textured


def test_odd_sizes_train_and_map_back(tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    for index, (height, width) in enumerate([(383, 257), (513, 511), (383, 257), (300, 301)]):
        save_png(good / f"g{index}.png", textured(rng, height, width))
    model = tmp_path / "model"
    assert main(["train", str(good), "--out", str(model), "--size", "250x333"]) == 0
    err = capsys.readouterr().err
    assert "250x333" in err
    assert "multiple of 32" in err
    assert "256x320" in err
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["preprocessing"]["input_height"], manifest["preprocessing"]["input_width"]) == (256, 320)
    tests = tmp_path / "test"
    for height, width in [(257, 383), (511, 513), (97, 1001), (33, 17)]:
        save_png(tests / f"t_{height}x{width}.png", textured(rng, height, width))
    heatmaps = tmp_path / "heat"
    assert main(["run", str(model), str(tests), "--heatmaps", str(heatmaps)]) == 0
    for path in tests.iterdir():
        overlay = read_image(heatmaps / f"{path.stem}_heatmap.png")
        source = read_image(path)
        assert (overlay.height, overlay.width) == (source.height, source.width)


@pytest.mark.parametrize(("height", "width"), [(1, 1), (9, 7), (15, 400)])
def test_tiny_images_are_rejected_by_name(tmp_path: Path, sample_model: Path, height: int, width: int) -> None:
    path = save_png(tmp_path / f"tiny_{height}x{width}.png", np.full((height, width), 100, np.uint8))
    with pytest.raises(ImageReadError) as raised:
        read_image(path)
    assert raised.value.kind == "too_small"
    assert f"{width}x{height}" in raised.value.reason
    report = tmp_path / "r.json"
    assert main(["run", str(sample_model), str(path), "--report", str(report)]) == 3
    row = json.loads(report.read_text(encoding="utf-8"))[0]
    assert row["verdict"] == "ERROR"
    assert "too small" in row["error"]


def test_out_of_range_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        round_size((16, 4096))
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "m"), "--size", "8"]) == 2
