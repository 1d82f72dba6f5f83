"""classifier.onnx: torch, numpy reference, ONNX Runtime and OpenVINO agree on distances and descriptors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.runtime.defect_types import ClassifierSettings, RegionClassifier
from fewshot.classifier import DefectTypeClassifier, distances_to_prototypes
from fewshot.descriptor import describe_regions
from fewshot.export import build_head, export_classifier_onnx

INPUT_SIZE = (64, 96)
CHANNELS = 24


def random_inputs(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, (count, CHANNELS, INPUT_SIZE[0] // 8, INPUT_SIZE[1] // 8)).astype(np.float32)
    regions = np.zeros((count, *INPUT_SIZE), np.float32)
    for index in range(count):
        row, col = rng.integers(0, INPUT_SIZE[0] - 20), rng.integers(0, INPUT_SIZE[1] - 30)
        regions[index, row : row + int(rng.integers(3, 20)), col : col + int(rng.integers(3, 30))] = 1.0
    regions[-1] = 0.0
    return features, regions


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    features, regions = random_inputs(9, seed=0)
    descriptors = describe_regions(features, regions)
    classifier = DefectTypeClassifier()
    for index, name in enumerate(("a", "b", "c")):
        classifier.add_examples(name, descriptors[index * 3 : index * 3 + 3])
    parameters = classifier.fit()
    path = export_classifier_onnx(parameters, tmp_path_factory.mktemp("graph") / "classifier.onnx", INPUT_SIZE)
    return parameters, path


def open_graph(path, engine: str) -> RegionClassifier:
    task = {"classifier": {"graph": path.name, "type_names": ["a", "b", "c"], "unknown_distance": 1.0, "temperature": 0.1}}
    return RegionClassifier.open(path.parent, task, engine, threads=2)


def test_torch_matches_numpy_reference(fitted):
    parameters, _ = fitted
    features, regions = random_inputs(5, seed=1)
    with torch.no_grad():
        distances, raw = build_head(parameters)(torch.from_numpy(features), torch.from_numpy(regions)[:, None])
    np.testing.assert_allclose(raw.numpy(), describe_regions(features, regions), rtol=1e-5, atol=1e-5)
    reference = distances_to_prototypes(parameters, describe_regions(features, regions))
    np.testing.assert_allclose(distances.numpy(), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_engine_matches_torch(fitted, engine):
    parameters, path = fitted
    features, regions = random_inputs(5, seed=2)
    with torch.no_grad():
        expected, _ = build_head(parameters)(torch.from_numpy(features), torch.from_numpy(regions)[:, None])
    graph = open_graph(path, engine)
    for index in range(features.shape[0]):
        distances, _ = graph.distances(features[index], regions[index : index + 1])
        np.testing.assert_allclose(distances[0], expected.numpy()[index], rtol=1e-3, atol=1e-5)


def test_empty_region_stays_finite(fitted):
    _, path = fitted
    features, regions = random_inputs(2, seed=3)
    distances, descriptor = open_graph(path, "onnxruntime").distances(features[1], regions[1:])
    assert np.all(np.isfinite(distances))
    assert np.all(np.isfinite(descriptor))


def test_settings_absent_without_classifier():
    assert ClassifierSettings.from_task({"type": "anomaly", "defect_types": []}) is None
