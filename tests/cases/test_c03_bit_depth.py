"""12- and 16-bit images keep their depth on load and map to the model range by one rule."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from app.cli.main import main
from labeling.imageio import LoadedImage, read_image, to_model_rgb
from tests.cases.images import save_png
from tests.conftest import SAMPLE


def _ramp(maximum: int, height: int = 1200, width: int = 300) -> np.ndarray:
    """A vertical 0..maximum ramp with a dark 20x20 square."""
    ramp = np.linspace(0, maximum, height).astype(np.uint16)[:, None].repeat(width, axis=1)
    ramp[600:620, 140:160] = maximum // 40
    return ramp


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_twelve_bit_ramp_stays_a_ramp(tmp_path: Path, suffix: str) -> None:
    ramp = _ramp(4095)
    path = tmp_path / f"ramp{suffix}"
    if suffix == ".png":
        save_png(path, ramp)
    else:
        tifffile.imwrite(path, ramp)
    loaded = read_image(path)
    assert loaded.pixels.dtype == np.uint16
    assert loaded.bit_depth == 12
    np.testing.assert_array_equal(loaded.pixels, ramp)
    model = to_model_rgb(loaded, loaded.bit_depth)[:, :, 0]
    column = model[:, 10]
    assert column.max() == pytest.approx(255.0, abs=0.1)
    assert np.all(np.diff(column) >= 0)
    assert model[610, 150] < 10.0
    assert np.mean(model >= 254.5) < 0.01


@pytest.mark.parametrize(("maximum", "bits"), [(1023, 10), (16383, 14), (65535, 16)])
def test_other_depths_are_detected(tmp_path: Path, maximum: int, bits: int) -> None:
    path = save_png(tmp_path / "ramp.png", _ramp(maximum, 200, 64))
    loaded = read_image(path)
    assert loaded.bit_depth == bits
    assert to_model_rgb(loaded, bits).max() == pytest.approx(255.0, abs=0.1)


def test_sixteen_bit_colour_png_keeps_depth(tmp_path: Path) -> None:
    rgb = np.zeros((50, 60, 3), dtype=np.uint16)
    rgb[:, :, 0] = 4000
    rgb[:, :, 2] = 100
    path = tmp_path / "colour16.png"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])
    loaded = read_image(path)
    assert loaded.pixels.dtype == np.uint16
    assert tuple(loaded.pixels[0, 0]) == (4000, 0, 100)


def test_train_and_run_on_twelve_bit_images(tmp_path: Path, rng: np.random.Generator) -> None:
    good = tmp_path / "good"
    for index in range(4):
        surface = (rng.normal(2000, 60, (128, 160)) + np.linspace(0, 800, 160)[None, :]).clip(0, 4095)
        save_png(good / f"g{index}.png", surface.astype(np.uint16))
    model = tmp_path / "model"
    assert main(["train", str(good), "--out", str(model), "--size", "96"]) == 0
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["preprocessing"]["bit_depth"] == 12
    bright = (rng.normal(2000, 60, (128, 160)) + np.linspace(0, 800, 160)[None, :]).clip(0, 4095).astype(np.uint16)
    bright[40:70, 60:90] = 4095
    test = save_png(tmp_path / "test" / "spot.png", bright)
    report = tmp_path / "r.json"
    assert main(["run", str(model), str(good), str(test), "--report", str(report)]) == 0
    rows = {Path(row["path"]).name: row for row in json.loads(report.read_text(encoding="utf-8"))}
    assert rows["spot.png"]["score"] > max(rows[f"g{index}.png"]["score"] for index in range(4))


@pytest.mark.parametrize("options", [[], ["--batch-size", "4"]])
def test_deeper_image_than_model_is_an_error_row(
    sample_model: Path, tmp_path: Path, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The 8-bit sample model would clip a 16-bit image to white and call it NG for the
    # wrong reason, so the image gets an error row naming both depths and the good
    # images around it are still judged.
    source = next((SAMPLE / "test" / "good").iterdir())
    gray = read_image(source).pixels
    if gray.ndim == 3:
        gray = gray[:, :, 0]
    deep = tmp_path / "deep16.tif"
    tifffile.imwrite(deep, gray.astype(np.uint16) * 257)
    report = tmp_path / "r.json"
    status = main(["run", str(sample_model), str(source), str(deep), "--report", str(report), *options])
    assert status == 3
    rows = {Path(row["path"]).name: row for row in json.loads(report.read_text(encoding="utf-8"))}
    assert rows["deep16.tif"]["verdict"] == "ERROR"
    assert "16-bit values" in rows["deep16.tif"]["error"]
    assert "trained on 8-bit images" in rows["deep16.tif"]["error"]
    assert rows[source.name]["verdict"] in ("OK", "NG")
    printed = capsys.readouterr()
    assert "deep16.tif" in printed.out + printed.err


def test_eight_bit_values_in_sixteen_bit_container_pass(sample_model: Path, tmp_path: Path) -> None:
    source = next((SAMPLE / "test" / "good").iterdir())
    gray = read_image(source).pixels
    if gray.ndim == 3:
        gray = gray[:, :, 0]
    wide = tmp_path / "wide.tif"
    tifffile.imwrite(wide, gray.astype(np.uint16))
    report = tmp_path / "r.json"
    assert main(["run", str(sample_model), str(source), str(wide), "--report", str(report)]) == 0
    rows = {Path(row["path"]).name: row for row in json.loads(report.read_text(encoding="utf-8"))}
    assert rows["wide.tif"]["score"] == pytest.approx(rows[source.name]["score"], rel=1e-4)


def test_deeper_defect_example_is_left_out_with_warning() -> None:
    from fewshot.examples import DefectExample
    from fewshot.train import _within_model_depth

    shallow = LoadedImage(pixels=np.full((32, 32), 200, np.uint16), source="a.png", source_mode="I;16")
    deep = LoadedImage(pixels=np.full((32, 32), 4000, np.uint16), source="b.png", source_mode="I;16")
    examples = [DefectExample(shallow, "crack", None, "a.png"), DefectExample(deep, "crack", None, "b.png")]
    readable, warnings = _within_model_depth(examples, 8)
    assert readable == examples[:1]
    assert len(warnings) == 1
    assert "b.png" in warnings[0]
    assert "crack" in warnings[0]
