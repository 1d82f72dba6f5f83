"""Judging many images with several requests in flight gives the one-by-one results, in input order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from engine.runtime import Inspector
from engine.runtime.throughput import RequestsInFlight
from labeling.imageio import ImageReadError, LoadedImage, read_image
from tests.conftest import SAMPLE

THREADS = 2


@pytest.fixture(scope="module")
def tile_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model that cuts images into overlapping tiles, so one image needs several graph inputs."""
    out = tmp_path_factory.mktemp("throughput") / "tile_model"
    good = sorted((SAMPLE / "train" / "good").iterdir())[:4]
    assert main(["train", *map(str, good), "--out", str(out), "--size", "128", "--resize", "tile"]) == 0
    return out


def _sample_files() -> list[Path]:
    return sorted(path for path in (SAMPLE / "test").rglob("*.png"))


def _assert_same(first, second, label: str) -> None:
    assert first.score == second.score, label
    assert first.verdict == second.verdict, label
    np.testing.assert_array_equal(first.anomaly_map, second.anomaly_map, err_msg=label)


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("throughput", [True, False])
def test_inspect_many_matches_one_by_one(sample_model: Path, engine: str, throughput: bool) -> None:
    files = _sample_files()
    inspector = Inspector.open(sample_model, engine=engine, device="cpu", threads=THREADS)
    expected = [inspector.inspect_images([read_image(path)], batch_size=1)[0] for path in files]
    results = list(inspector.inspect_many(files, throughput=throughput))
    assert [result.source for result in results] == files
    for path, result, verdict in zip(files, results, expected):
        assert result.error is None, path
        _assert_same(result.verdict, verdict, str(path))


def test_inspect_many_tiles(tile_model: Path) -> None:
    source = read_image(_sample_files()[0])
    strip = np.tile(source.pixels, (1, 6))
    images = [LoadedImage(pixels=np.roll(strip, shift * 40, axis=1), source=f"strip {shift}", source_mode="L") for shift in range(5)]
    inspector = Inspector.open(tile_model, engine="openvino", device="cpu", threads=THREADS)
    assert inspector.manifest.preprocessing.resize == "tile"
    expected = inspector.inspect_images(images, batch_size=1)
    results = list(inspector.inspect_many(images, load=lambda image: image))
    assert [result.image for result in results] == images
    for image, result, verdict in zip(images, results, expected):
        _assert_same(result.verdict, verdict, image.source)


def test_inspect_many_keeps_read_errors_in_place(sample_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    files = _sample_files()
    sources = [files[0], broken, *files[1:3]]
    inspector = Inspector.open(sample_model, engine="openvino", device="cpu", threads=THREADS)
    results = list(inspector.inspect_many(sources))
    assert [result.source for result in results] == sources
    assert isinstance(results[1].error, ImageReadError)
    assert results[1].verdict is None
    assert all(result.verdict is not None for index, result in enumerate(results) if index != 1)


def test_throughput_model_keeps_thread_budget(sample_model: Path) -> None:
    inspector = Inspector.open(sample_model, engine="openvino", device="cpu", threads=THREADS)
    compiled = inspector._engine.throughput_model()
    assert int(compiled.get_property("NUM_STREAMS")) == THREADS
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == THREADS
    latency = inspector._engine.compiled
    assert int(latency.get_property("NUM_STREAMS")) == 1
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == str(latency.get_property("INFERENCE_PRECISION_HINT"))


def test_inspect_many_after_early_stop(sample_model: Path) -> None:
    files = _sample_files()
    inspector = Inspector.open(sample_model, engine="openvino", device="cpu", threads=THREADS)
    stopped = inspector.inspect_many(files)
    next(stopped)
    stopped.close()
    reordered = files[::-1]
    expected = [inspector.inspect_images([read_image(path)], batch_size=1)[0] for path in reordered]
    results = list(inspector.inspect_many(reordered))
    assert [result.source for result in results] == reordered
    for path, result, verdict in zip(reordered, results, expected):
        _assert_same(result.verdict, verdict, str(path))


def test_reset_drops_untaken_outputs(sample_model: Path) -> None:
    inspector = Inspector.open(sample_model, engine="openvino", device="cpu", threads=THREADS)
    engine = inspector._engine
    requests = RequestsInFlight(engine.throughput_model(), engine.output_names, THREADS)
    size = inspector.manifest.input_size
    row = np.full((1, 3, *size), 127.0, dtype=np.float32)
    requests.submit("left behind", row)
    requests.wait()
    requests.reset()
    assert requests.take_all(["left behind"]) is None
    requests.submit("taken", row)
    requests.wait()
    outputs = requests.take_all(["taken"])
    assert outputs is not None
    assert set(outputs[0]) == set(engine.output_names)
