"""A small slice of the magnetic tile data set through training, bundle and both engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from labeling.imageio import read_image, read_mask

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "magnetic_tile"
TYPES = ("blowhole", "crack", "fray")

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"magnetic_tile data set not found at {DATA}")


def examples_of(name: str, start: int, count: int) -> list:
    from fewshot.examples import DefectExample

    items = []
    for path in sorted((DATA / "test" / name).glob("*.png"))[start : start + count]:
        image = read_image(path)
        mask = read_mask(DATA / "ground_truth" / name / f"{path.stem}_mask.png", (image.height, image.width))
        items.append(DefectExample(image, name, mask, str(path)))
    return items


@pytest.fixture(scope="module")
def tile_model(tmp_path_factory):
    from anomaly import TrainConfig, load_training_images, train_patchcore
    from engine.compile import write_model_bundle
    from engine.compile.defect_types import add_defect_types

    files = sorted((DATA / "train" / "good").glob("*.png"))[:4]
    images, _ = load_training_images(files)
    trained = train_patchcore(images, TrainConfig(size=(128, 96), coreset_ratio=0.5))
    directory = tmp_path_factory.mktemp("tile") / "model"
    write_model_bundle(trained, directory)
    support = [example for name in TYPES for example in examples_of(name, 0, 2)]
    result = add_defect_types(directory, support, trained=trained)
    return directory, result


def engine_distances(directory: Path, engine: str, examples: list) -> tuple[np.ndarray, np.ndarray, list]:
    from engine.runtime import Inspector
    from engine.runtime.defect_types import decide_type
    from labeling.model_input import model_inputs
    from labeling.model_regions import region_in_input

    inspector = Inspector.open(directory, engine=engine, device="cpu", threads=2)
    prep = inspector.manifest.preprocessing
    rows, support_rows, decisions = [], [], []
    for example in examples:
        inputs, plan = model_inputs(example.image, inspector.manifest.input_size, prep.bit_depth, prep.resize)
        features = np.asarray(inspector._engine.run(inputs)["features"], dtype=np.float32)
        index, region = region_in_input(example.mask, plan, inspector.manifest.input_size)
        distances, _, support = inspector.classifier.scores(features[index], region[None])
        rows.append(distances[0])
        support_rows.append(support[0])
        decisions.append(decide_type(distances[0], inspector.classifier.settings, support[0]))
    return np.stack(rows), np.stack(support_rows), decisions


def test_tile_types_fitted(tile_model):
    _, result = tile_model
    assert result.parameters.type_names == TYPES
    assert [item.examples for item in result.classifier.summary()] == [2, 2, 2]


def test_tile_engines_agree(tile_model):
    directory, _ = tile_model
    queries = [example for name in TYPES for example in examples_of(name, 2, 1)]
    ort_rows, ort_support, ort_decisions = engine_distances(directory, "onnxruntime", queries)
    ov_rows, ov_support, ov_decisions = engine_distances(directory, "openvino", queries)
    np.testing.assert_allclose(ort_rows, ov_rows, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ort_support, ov_support, rtol=1e-3, atol=1e-4)
    assert [decision[0] for decision in ort_decisions] == [decision[0] for decision in ov_decisions]


def test_tile_cli_run_reports(tile_model, tmp_path):
    import json

    from app.cli.main import main

    directory, _ = tile_model
    folder = tmp_path / "images"
    folder.mkdir()
    for name in TYPES:
        source = sorted((DATA / "test" / name).glob("*.png"))[3]
        shutil.copy(source, folder / f"{name}.png")
    report = tmp_path / "report.json"
    status = main(["run", str(directory), str(folder), "--report", str(report), "--engine", "openvino"])
    rows = json.loads(report.read_text())
    assert status == 0
    assert len(rows) == 3
    for row in rows:
        assert (row["defect_type"] is None) == (row["verdict"] == "OK")
