"""Line-scan strips keep their aspect ratio: tiles cover every pixel and locate thin scratches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from engine.runtime import Inspector
from labeling.imageio import read_image
from labeling.model_input import plan_tiles
from tests.cases.images import save_png

SCRATCH_X = 12345


def _strip(rng: np.random.Generator, width: int = 16000, height: int = 256) -> np.ndarray:
    columns = np.arange(width)
    stripes = 128 + 40 * np.sin(2 * np.pi * columns / 16.0)
    pixels = stripes[None, :] + rng.normal(0, 4, (height, width))
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("height", "width"), [(256, 16000), (256, 16001), (16001, 256), (300, 5000)])
def test_tiles_cover_every_pixel(height: int, width: int) -> None:
    plan = plan_tiles(height, width, (256, 256))
    covered = np.zeros((plan.scaled_height, plan.scaled_width), dtype=bool)
    for row, col in plan.offsets:
        covered[row : row + 256, col : col + 256] = True
    assert covered.all()
    assert abs(plan.scaled_width / plan.scaled_height - width / height) < 0.01


def test_scratch_is_located_on_a_strip(tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    for index in range(3):
        save_png(good / f"strip_{index}.png", _strip(rng))
    model = tmp_path / "model"
    assert main(["train", str(good), "--out", str(model), "--no-augment", "-v"]) == 0
    err = capsys.readouterr().err
    assert "Estimated feature memory" in err
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["preprocessing"]["resize"] == "tile"

    scratched = _strip(rng)
    scratched[120:123, SCRATCH_X - 20 : SCRATCH_X + 20] = 20
    test = tmp_path / "test"
    save_png(test / "scratched.png", scratched)
    save_png(test / "clean_16001.png", _strip(rng, width=16001))
    inspector = Inspector.open(model, engine="onnxruntime", device="cpu")
    scratch, clean = inspector.inspect_images([read_image(test / "scratched.png"), read_image(test / "clean_16001.png")], 8)
    assert scratch.anomaly_map.shape == (256, 16000)
    assert clean.anomaly_map.shape == (256, 16001)
    peak_row, peak_col = np.unravel_index(np.argmax(scratch.anomaly_map), scratch.anomaly_map.shape)
    assert abs(peak_col - SCRATCH_X) <= 16
    assert abs(peak_row - 121) <= 16
    assert scratch.score > clean.score
    assert scratch.verdict == "NG"
