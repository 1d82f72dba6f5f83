"""Gray, RGB, RGBA and LA images share one layout after loading; gray equals its 3-channel copy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.cli.main import main
from engine.runtime import Inspector
from labeling.imageio import LoadedImage, read_image, read_mask, to_model_rgb
from tests.cases.images import jpeg_bytes, save_png, textured


def test_mixed_folder_trains_and_runs(tmp_path: Path, rng: np.random.Generator) -> None:
    train = tmp_path / "train"
    for index in range(3):
        save_png(train / f"gray_{index}.png", textured(rng))
    model = tmp_path / "model"
    assert main(["train", str(train), "--out", str(model), "--size", "96"]) == 0
    test = tmp_path / "test"
    gray = textured(rng)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    test.mkdir()
    (test / "colour.jpg").write_bytes(jpeg_bytes(rgb))
    save_png(test / "l.png", gray)
    save_png(test / "rgba.png", np.dstack([rgb, np.full(gray.shape, 128, np.uint8)]), "RGBA")
    save_png(test / "la.png", np.dstack([gray, np.full(gray.shape, 128, np.uint8)]), "LA")
    save_png(test / "cmyk-free-rgb.png", rgb)
    report = tmp_path / "r.json"
    assert main(["run", str(model), str(test), "--report", str(report), "--batch-size", "5"]) == 0
    rows = {Path(row["path"]).name: row for row in json.loads(report.read_text(encoding="utf-8"))}
    assert len(rows) == 5
    for name in ("l.png", "rgba.png", "la.png", "cmyk-free-rgb.png"):
        assert abs(rows[name]["score"] - rows["l.png"]["score"]) <= 1e-5 * abs(rows["l.png"]["score"]), name


def test_loaded_layouts(tmp_path: Path, rng: np.random.Generator) -> None:
    gray = textured(rng, 40, 50)
    save_png(tmp_path / "la.png", np.dstack([gray, np.full(gray.shape, 7, np.uint8)]), "LA")
    save_png(tmp_path / "rgba.png", np.dstack([np.repeat(gray[:, :, None], 3, 2), np.zeros(gray.shape, np.uint8)]), "RGBA")
    Image.fromarray(gray > 128).save(tmp_path / "bilevel.png")
    assert read_image(tmp_path / "la.png").pixels.shape == (40, 50)
    rgba = read_image(tmp_path / "rgba.png").pixels
    assert rgba.shape == (40, 50, 3)
    np.testing.assert_array_equal(rgba[:, :, 0], gray)
    assert set(np.unique(read_image(tmp_path / "bilevel.png").pixels)) <= {0, 255}


def test_gray_and_its_rgb_copy_score_alike(sample_model: Path, rng: np.random.Generator) -> None:
    gray = read_image(next((Path(__file__).resolve().parents[2] / "assets" / "sample" / "test" / "good").iterdir()))
    rgb = LoadedImage(np.repeat(gray.pixels[:, :, None], 3, axis=2), "rgb-copy", "RGB")
    np.testing.assert_array_equal(to_model_rgb(gray), to_model_rgb(rgb))
    inspector = Inspector.open(sample_model, engine="onnxruntime", device="cpu")
    first, second = inspector.inspect_images([gray, rgb])
    assert abs(first.score - second.score) <= 1e-5 * abs(first.score)


def test_masks_of_one_and_three_channels_are_binary(tmp_path: Path) -> None:
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[5:10, 5:20] = 255
    save_png(tmp_path / "one.png", mask)
    save_png(tmp_path / "three.png", np.dstack([mask // 2, mask // 3, np.zeros_like(mask)]))
    for name in ("one.png", "three.png"):
        loaded = read_mask(tmp_path / name, (30, 40))
        assert loaded.dtype == bool
        np.testing.assert_array_equal(loaded, mask > 0)
