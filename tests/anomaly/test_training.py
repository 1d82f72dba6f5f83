"""Training with few images: augmented bank, bank floor, held-out threshold and ONNX parity."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from anomaly import TrainConfig, train_patchcore
from anomaly.augmentation import FLIP_TRANSFORMS, augmented_copies, transform_pixels
from anomaly import TrainingError
from anomaly.backbone import BACKBONES, MIN_STRIDE_32_SIDE_PX, FeatureExtractor, default_feature_blocks
from anomaly.trainer import bank_size, choose_feature_blocks, choose_intensity
from labeling.imageio import LoadedImage, image_from_array

SIZE = (64, 64)


def _texture(rng: np.random.Generator, index: int) -> LoadedImage:
    rows = np.sin(np.arange(64) / 3.0 + index)[:, None] * 30
    pixels = np.clip(120 + rows + rng.normal(0, 6, size=(64, 64)), 0, 255).astype(np.uint8)
    return image_from_array(pixels, source=f"good{index}")


def _with_spot(image: LoadedImage) -> LoadedImage:
    pixels = image.pixels.copy()
    pixels[26:36, 26:36] = 255
    return image_from_array(pixels, source="defect")


def test_transform_pixels_flips() -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(transform_pixels(pixels, "flip_horizontal"), pixels[:, ::-1])
    assert np.array_equal(transform_pixels(pixels, "flip_vertical"), pixels[::-1])
    assert np.array_equal(transform_pixels(pixels, "rotate_180"), pixels[::-1, ::-1])


def test_lighting_keeps_bit_depth() -> None:
    pixels = np.full((4, 4), 4000, dtype=np.uint16)
    brighter = transform_pixels(pixels, "brighter", bit_depth=12)
    assert brighter.max() == 4095
    assert brighter.dtype == np.uint16


def test_transform_pixels_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown augmentation"):
        transform_pixels(np.zeros((4, 4), dtype=np.uint8), "shear")


def test_augmented_copies_order(rng: np.random.Generator) -> None:
    images = [_texture(rng, 0), _texture(rng, 1)]
    copies = augmented_copies(images)
    assert len(copies) == 2 * len(FLIP_TRANSFORMS)
    assert copies[0].source == f"good0#{FLIP_TRANSFORMS[0]}"
    assert copies[len(FLIP_TRANSFORMS)].source == f"good1#{FLIP_TRANSFORMS[0]}"


def test_bank_size_floor_and_ratio() -> None:
    config = TrainConfig(coreset_ratio=0.05, min_bank_size=100)
    assert bank_size(50, config) == 50
    assert bank_size(1000, config) == 100
    assert bank_size(10_000, config) == 500


def test_few_shot_training_detects_spot(rng: np.random.Generator) -> None:
    images = [_texture(rng, index) for index in range(3)]
    trained = train_patchcore(images, TrainConfig(size=SIZE, min_bank_size=256))
    model = trained.torch_model()
    good = torch.from_numpy(np.stack([np.repeat(_texture(rng, 7).pixels[None], 3, 0)]).astype(np.float32))
    spot = torch.from_numpy(np.stack([np.repeat(_with_spot(_texture(rng, 8)).pixels[None], 3, 0)]).astype(np.float32))
    with torch.no_grad():
        good_score = float(model(good)[1][0])
        spot_score = float(model(spot)[1][0])
    assert trained.bank.shape[0] == 256
    assert trained.good_scores.shape == (3,)
    assert spot_score > good_score


def test_augmentation_adds_bank_candidates(rng: np.random.Generator) -> None:
    images = [_texture(rng, index) for index in range(2)]
    plain = train_patchcore(images, TrainConfig(size=SIZE, augment_below=0, coreset_ratio=1.0, min_bank_size=1))
    augmented = train_patchcore(images, TrainConfig(size=SIZE, coreset_ratio=1.0, min_bank_size=1))
    grid = (SIZE[0] // 8) * (SIZE[1] // 8)
    assert plain.bank.shape[0] == 2 * grid
    assert augmented.bank.shape[0] == 2 * grid * (1 + len(FLIP_TRANSFORMS))
    assert set(np.unique(augmented.bank_owners)) == {0, 1}


@pytest.mark.parametrize("intensity", ["fixed", "per-image"])
def test_export_parity_onnxruntime_openvino(rng: np.random.Generator, tmp_path: Path, intensity: str) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    openvino = pytest.importorskip("openvino")
    from engine.compile.export import export_onnx

    images = [_texture(rng, index) for index in range(2)]
    config = TrainConfig(size=SIZE, min_bank_size=128, score_top_fraction=0.02, intensity=intensity)
    trained = train_patchcore(images, config)
    path = export_onnx(trained, tmp_path / "model.onnx")
    batch = np.stack([np.repeat(_with_spot(_texture(rng, 5)).pixels[None], 3, 0)]).astype(np.float32)
    with torch.no_grad():
        reference = trained.torch_model()(torch.from_numpy(batch))[1].numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort_score = session.run(["score"], {"image": batch})[0]
    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    ov_score = compiled(batch)[compiled.output("score")]
    np.testing.assert_allclose(ort_score, reference, rtol=1e-3)
    np.testing.assert_allclose(ov_score, reference, rtol=1e-3)


def test_one_shot_threshold_leaves_out_original(rng: np.random.Generator) -> None:
    image = [_texture(rng, 0)]
    plain = train_patchcore(image, TrainConfig(size=SIZE, augment_below=0, min_bank_size=64))
    augmented = train_patchcore(image, TrainConfig(size=SIZE, min_bank_size=256))
    assert plain.good_scores.shape == (4,)
    assert augmented.good_scores.shape == (4,)
    # The last two held-out inputs are re-lit copies: nearly the original, so only its own entries lie close.
    relit = slice(2, 4)
    assert augmented.good_scores[relit].min() > 2 * plain.good_scores[relit].max()
    assert augmented.good_scores.mean() > plain.good_scores.mean()


def _exposed(image: LoadedImage, gain: float) -> LoadedImage:
    pixels = np.clip(image.pixels.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return image_from_array(pixels, source=f"{image.source}x{gain}")


def test_auto_intensity_follows_exposure_spread(rng: np.random.Generator) -> None:
    steady = [_texture(rng, index) for index in range(4)]
    varied = [_exposed(image, gain) for image, gain in zip(steady, (0.4, 0.8, 1.2, 1.6), strict=True)]
    assert choose_intensity("auto", steady) == "fixed"
    assert choose_intensity("auto", varied) == "per-image"
    assert choose_intensity("auto", steady[:1]) == "fixed"
    assert choose_intensity("fixed", varied) == "fixed"


def test_unknown_intensity_rule_is_rejected(rng: np.random.Generator) -> None:
    with pytest.raises(TrainingError, match="unknown intensity rule"):
        choose_intensity("gamma", [_texture(rng, 0)])


def test_per_image_rule_ignores_exposure(rng: np.random.Generator) -> None:
    image = _texture(rng, 0)
    batch = np.stack([np.repeat(item.pixels[None], 3, 0) for item in (image, _exposed(image, 0.7))]).astype(np.float32)
    changes = {}
    for rule in ("fixed", "per-image"):
        with torch.no_grad():
            features = FeatureExtractor("efficientnet-lite0", SIZE, rule)(torch.from_numpy(batch))
        changes[rule] = float((features[0] - features[1]).norm() / features[0].norm())
    assert changes["per-image"] < 0.2 * changes["fixed"]


def test_trained_model_records_the_resolved_rule(rng: np.random.Generator) -> None:
    images = [_texture(rng, index) for index in range(2)]
    trained = train_patchcore(images, TrainConfig(size=SIZE, min_bank_size=64, intensity="auto"))
    assert trained.config.intensity == "fixed"


def test_trained_model_records_feature_blocks(rng: np.random.Generator) -> None:
    images = [_texture(rng, index) for index in range(2)]
    trained = train_patchcore(images, TrainConfig(size=SIZE, min_bank_size=64))
    assert trained.config.feature_blocks == default_feature_blocks(BACKBONES[trained.config.backbone], SIZE)
    assert trained.torch_model().extractor.feature_blocks == trained.config.feature_blocks


def test_model_without_blocks_uses_legacy_blocks(rng: np.random.Generator) -> None:
    images = [_texture(rng, index) for index in range(2)]
    legacy_blocks = BACKBONES["efficientnet-lite1"].legacy_blocks
    config = TrainConfig(backbone="efficientnet-lite1", size=SIZE, min_bank_size=64, feature_blocks=legacy_blocks)
    trained = train_patchcore(images, config)
    saved_before_blocks = replace(trained, config=replace(trained.config, feature_blocks=None))
    batch = torch.from_numpy(np.stack([np.repeat(_with_spot(_texture(rng, 5)).pixels[None], 3, 0)]).astype(np.float32))
    with torch.no_grad():
        expected = trained.torch_model()(batch)[1]
        rebuilt = saved_before_blocks.torch_model()(batch)[1]
    assert saved_before_blocks.torch_model().extractor.feature_blocks == legacy_blocks
    torch.testing.assert_close(rebuilt, expected)


def test_saved_model_without_blocks_loads(rng: np.random.Generator, tmp_path: Path) -> None:
    from engine.bundle import MANIFEST_NAME, sha256_file
    from engine.compile.export import CONFIG_NAME, load_trained_model, write_model_bundle

    images = [_texture(rng, index) for index in range(2)]
    legacy_blocks = BACKBONES["efficientnet-lite1"].legacy_blocks
    config = TrainConfig(backbone="efficientnet-lite1", size=SIZE, min_bank_size=64, feature_blocks=legacy_blocks)
    write_model_bundle(train_patchcore(images, config), tmp_path / "model")
    stored = json.loads((tmp_path / "model" / CONFIG_NAME).read_text(encoding="utf-8"))
    assert stored["feature_blocks"] == list(legacy_blocks)
    del stored["feature_blocks"]
    (tmp_path / "model" / CONFIG_NAME).write_text(json.dumps(stored), encoding="utf-8")
    manifest = json.loads((tmp_path / "model" / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["files"][CONFIG_NAME] = sha256_file(tmp_path / "model" / CONFIG_NAME)
    (tmp_path / "model" / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_trained_model(tmp_path / "model")
    assert loaded.config.feature_blocks is None
    assert loaded.torch_model().extractor.channels == loaded.bank.shape[1]


def test_feature_blocks_are_checked() -> None:
    with pytest.raises(ValueError, match="stride 4"):
        FeatureExtractor("efficientnet-lite1", SIZE, feature_blocks=(3, 12))
    with pytest.raises(ValueError, match="block indices"):
        FeatureExtractor("efficientnet-lite1", SIZE, feature_blocks=(5, 40))


def test_feature_blocks_are_sorted() -> None:
    large = (288, 224)
    assert choose_feature_blocks("efficientnet-lite1", [14, 5, 12, 5], large) == (5, 12, 14)
    assert choose_feature_blocks("efficientnet-lite1", None, large) == BACKBONES["efficientnet-lite1"].feature_blocks
    assert choose_feature_blocks("no-such-backbone", None, large) is None


def test_default_blocks_depend_on_input_size() -> None:
    spec = BACKBONES["efficientnet-lite1"]
    assert spec.feature_blocks == (5, 14, 19)
    assert choose_feature_blocks("efficientnet-lite1", None, (MIN_STRIDE_32_SIDE_PX, 416)) == (5, 14, 19)
    assert choose_feature_blocks("efficientnet-lite1", None, (416, MIN_STRIDE_32_SIDE_PX - 8)) == (5, 14)
    assert choose_feature_blocks("efficientnet-lite1", None, (96, 96)) == (5, 14)
    assert choose_feature_blocks("efficientnet-lite2", None, (96, 96)) == BACKBONES["efficientnet-lite2"].feature_blocks


def test_small_input_keeps_requested_block_19(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="anomaly.trainer"):
        blocks = choose_feature_blocks("efficientnet-lite1", [5, 14, 19], (96, 96))
    assert blocks == (5, 14, 19)
    assert "stride 32" in caplog.text


def test_copies_dropped_over_memory_budget(rng: np.random.Generator, caplog: pytest.LogCaptureFixture) -> None:
    images = [_texture(rng, index) for index in range(20)]
    config = TrainConfig(size=(128, 128), memory_budget_mb=16, coreset_ratio=1.0)
    with caplog.at_level("WARNING"):
        trained = train_patchcore(images, config)
    assert "Augmented copies would exceed the memory budget" in caplog.text
    assert trained.bank.shape[0] == 20 * 16 * 16


def test_over_budget_training_matches_stored(rng: np.random.Generator) -> None:
    # Six 128 px inputs need about 1.9 MB of features. A 1 MB budget keeps 143 patches per
    # input while extracting, and a 858-candidate cap keeps as many from stored features.
    images = [_texture(rng, index) for index in range(6)]
    common = {"size": (128, 128), "augment_transforms": (), "min_bank_size": 64, "coreset_ratio": 0.1}
    streamed = train_patchcore(images, TrainConfig(memory_budget_mb=1, **common))
    stored = train_patchcore(images, TrainConfig(max_candidates=6 * 143, **common))
    assert streamed.bank.shape == stored.bank.shape
    np.testing.assert_array_equal(streamed.bank, stored.bank)
    np.testing.assert_allclose(streamed.good_scores, stored.good_scores, rtol=1e-5)
    assert streamed.threshold.value == pytest.approx(stored.threshold.value, rel=1e-5)
