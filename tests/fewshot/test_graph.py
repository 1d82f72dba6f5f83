"""classifier.onnx: torch, numpy reference, ONNX Runtime and OpenVINO agree on distances and descriptors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from engine.bundle import BundleError
from engine.runtime.defect_types import ClassifierSettings, RegionClassifier, decide_type
from fewshot.classifier import DefectTypeClassifier, distances_to_prototypes, distances_to_support
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
    task = {"classifier": {"graph": path.name, "type_names": ["a", "b", "c"], "type_radius": [1.0, 1.0, 1.0], "temperature": 0.1}}
    return RegionClassifier.open(path.parent, task, engine, threads=2)


class PrototypeOnlyHead(torch.nn.Module):
    """The graph of bundles written before per-type radii: prototype distances and descriptor only."""

    def __init__(self, head: torch.nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, features: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        distance, raw, _ = self.head(features, region)
        return distance, raw


def torch_outputs(parameters, features: np.ndarray, regions: np.ndarray) -> tuple[np.ndarray, ...]:
    with torch.no_grad():
        outputs = build_head(parameters)(torch.from_numpy(features), torch.from_numpy(regions)[:, None])
    return tuple(output.numpy() for output in outputs)


def test_torch_matches_numpy_reference(fitted):
    parameters, _ = fitted
    features, regions = random_inputs(5, seed=1)
    distances, raw, support = torch_outputs(parameters, features, regions)
    reference_raw = describe_regions(features, regions)
    np.testing.assert_allclose(raw, reference_raw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(distances, distances_to_prototypes(parameters, reference_raw), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(support, distances_to_support(parameters, reference_raw), rtol=1e-4, atol=1e-5)


def test_support_rows_at_zero_distance(fitted):
    parameters, _ = fitted
    features, regions = random_inputs(9, seed=0)
    support = distances_to_support(parameters, describe_regions(features, regions))
    for row, type_index in enumerate(parameters.support_types):
        assert support[row, type_index] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_engine_matches_torch(fitted, engine):
    parameters, path = fitted
    features, regions = random_inputs(5, seed=2)
    expected, expected_raw, expected_support = torch_outputs(parameters, features, regions)
    graph = open_graph(path, engine)
    for index in range(features.shape[0]):
        distances, raw, support = graph.scores(features[index], regions[index : index + 1])
        np.testing.assert_allclose(distances[0], expected[index], rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(raw[0], expected_raw[index], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(support[0], expected_support[index], rtol=1e-3, atol=1e-4)


def test_empty_region_stays_finite(fitted):
    _, path = fitted
    features, regions = random_inputs(2, seed=3)
    distances, descriptor, support = open_graph(path, "onnxruntime").scores(features[1], regions[1:])
    assert np.all(np.isfinite(distances))
    assert np.all(np.isfinite(descriptor))
    assert np.all(np.isfinite(support))


def test_full_region_stays_finite(fitted):
    _, path = fitted
    features, _ = random_inputs(1, seed=4)
    full = np.ones((1, *INPUT_SIZE), np.float32)
    distances, descriptor, support = open_graph(path, "onnxruntime").scores(features[0], full)
    assert np.all(np.isfinite(distances))
    assert np.all(np.isfinite(descriptor))
    assert np.all(np.isfinite(support))


def export_prototype_only(parameters, path, features: np.ndarray, regions: np.ndarray) -> None:
    """Write a graph shaped like an older bundle's: outputs ``distance`` and ``descriptor`` only."""
    example = (torch.from_numpy(features), torch.from_numpy(regions)[:, None])
    axes = {name: {0: "regions"} for name in ("features", "region", "distance", "descriptor")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            PrototypeOnlyHead(build_head(parameters)).eval(),
            example,
            str(path),
            dynamo=False,
            input_names=["features", "region"],
            output_names=["distance", "descriptor"],
            dynamic_axes=axes,
            opset_version=17,
        )


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_older_graph_keeps_its_rule(fitted, tmp_path, engine):
    parameters, _ = fitted
    features, regions = random_inputs(2, seed=5)
    export_prototype_only(parameters, tmp_path / "classifier.onnx", features[:1], regions[:1])
    task = {"classifier": {"graph": "classifier.onnx", "type_names": ["a", "b", "c"], "unknown_distance": 1e9, "temperature": 0.1}}
    graph = RegionClassifier.open(tmp_path, task, engine, threads=2)
    distances, _, support = graph.scores(features[0], regions[:1])
    defect_type, _, nearest = decide_type(distances[0], graph.settings, None)
    assert support is None
    assert defect_type == nearest


def test_radii_without_support_output_rejected(fitted, tmp_path):
    parameters, _ = fitted
    features, regions = random_inputs(1, seed=6)
    path = tmp_path / "classifier.onnx"
    export_prototype_only(parameters, path, features, regions)
    with pytest.raises(BundleError, match="support_distance"):
        open_graph(path, "onnxruntime")


def test_settings_absent_without_classifier():
    assert ClassifierSettings.from_task({"type": "anomaly", "defect_types": []}) is None


def test_settings_without_rule_rejected():
    task = {"classifier": {"graph": "classifier.onnx", "type_names": ["a"], "temperature": 0.1}}
    with pytest.raises(BundleError, match="type_radius"):
        ClassifierSettings.from_task(task)


def test_settings_radius_count_checked():
    task = {"classifier": {"graph": "classifier.onnx", "type_names": ["a", "b"], "type_radius": [1.0], "temperature": 0.1}}
    with pytest.raises(BundleError, match="2 types but 1 radii"):
        ClassifierSettings.from_task(task)
