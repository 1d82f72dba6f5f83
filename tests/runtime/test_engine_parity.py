"""Exported graphs score like the torch model at any input size, on ONNX Runtime and OpenVINO.

A model trained at 256x256 must give the same normalized score (within 1e-3), the
same verdict and a heatmap correlated above 0.99 for images of other sizes, because
resizing and normalization live in the bundle and the runtime, not in the caller.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli.main import main
from engine.compile import TorchPredictor
from engine.runtime import Inspector
from labeling.imageio import LoadedImage, read_image
from tests.conftest import SAMPLE, shared_set

TEST_SIZES = [(256, 256), (1440, 1440), (768, 1024), (600, 200)]


@pytest.fixture(scope="module")
def model_256(tmp_path_factory: pytest.TempPathFactory) -> Path:
    good = sorted((SAMPLE / "train" / "good").iterdir())[:5]
    out = tmp_path_factory.mktemp("parity") / "model"
    assert main(["train", *map(str, good), "--out", str(out), "--size", "256"]) == 0
    return out


def _test_images() -> list[LoadedImage]:
    sources = [read_image(SAMPLE / "test" / "good" / name) for name in sorted(p.name for p in (SAMPLE / "test" / "good").iterdir())]
    sources.append(read_image(next((SAMPLE / "test" / "crack").iterdir())))
    images = []
    for index, (height, width) in enumerate(TEST_SIZES):
        source = sources[index % len(sources)]
        resized = cv2.resize(source.pixels, (width, height), interpolation=cv2.INTER_LINEAR)
        images.append(LoadedImage(pixels=resized, source=f"{source.source}@{width}x{height}", source_mode="L"))
    return sources + images


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_engine_matches_torch(model_256: Path, engine: str) -> None:
    images = _test_images()
    reference = TorchPredictor.from_model_dir(model_256).predict(images)
    inspector = Inspector.open(model_256, engine=engine, device="cpu")
    assert inspector.engine == engine
    results = inspector.inspect_images(images, batch_size=3)
    for image, expected, actual in zip(images, reference, results):
        assert abs(actual.normalized_score - expected.normalized_score) <= 1e-3, image.source
        assert abs(actual.score - expected.score) <= 1e-3 * abs(expected.score), image.source
        assert actual.verdict == expected.verdict, image.source
        assert actual.anomaly_map.shape == (image.height, image.width)
        correlation = np.corrcoef(actual.anomaly_map.ravel(), expected.anomaly_map.ravel())[0, 1]
        assert correlation > 0.99, image.source


def test_engines_agree_on_real_sets(tmp_path: Path) -> None:
    for name in ("magnetic_tile", "kolektorsdd", "elpv"):
        dataset = shared_set(name)
        good = sorted((dataset / "train" / "good").iterdir())[:6]
        model = tmp_path / name
        assert main(["train", *map(str, good), "--out", str(model)]) == 0
        tests = sorted(p for p in (dataset / "test").rglob("*.png"))[::12][:6]
        images = [read_image(path) for path in tests]
        onnx = Inspector.open(model, engine="onnxruntime", device="cpu").inspect_images(images)
        openvino = Inspector.open(model, engine="openvino", device="cpu").inspect_images(images)
        for path, first, second in zip(tests, onnx, openvino):
            assert abs(first.normalized_score - second.normalized_score) <= 1e-3, path
            assert first.verdict == second.verdict, path


def test_scores_do_not_depend_on_batching(model_256: Path) -> None:
    images = _test_images()
    inspector = Inspector.open(model_256, engine="onnxruntime", device="cpu")
    one_by_one = [verdict.score for verdict in inspector.inspect_images(images, batch_size=1)]
    batched = [verdict.score for verdict in inspector.inspect_images(images, batch_size=4)]
    reversed_order = [verdict.score for verdict in inspector.inspect_images(images[::-1], batch_size=3)][::-1]
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5)
    np.testing.assert_allclose(reversed_order, one_by_one, rtol=1e-5)
