"""Region descriptors of a model with a stride-32 block use only the finer blocks' channels.

The anomaly graph's embeddings keep every channel, so the classifier graph takes them all
and uses the leading ones. Classifiers that describe regions with every channel still load,
judge and accept new examples with the same width.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import onnx
import pytest

from engine.bundle import load_manifest
from engine.compile.defect_types import (
    CLASSIFIER_NAME,
    SUPPORT_NAME,
    add_defect_types,
    model_extractor,
    model_geometry,
    write_classifier,
)
from engine.runtime import Inspector
from fewshot.classifier import DefectTypeClassifier, distances_to_prototypes, distances_to_support
from fewshot.descriptor import GEOMETRY_DIMENSIONS, describe_regions
from fewshot.examples import DefectExample
from fewshot.train import train_defect_types
from labeling.model_input import model_inputs
from labeling.model_regions import region_in_input

from .synthetic import defect_images, good_images

# The smallest input that keeps the stride-32 block in a new model.
MODEL_SIZE = (160, 160)
ENGINES = ("onnxruntime", "openvino")


@pytest.fixture(scope="module")
def coarse_model(tmp_path_factory):
    """Return (directory, trained model, torch network) of a model with blocks 5, 14 and 19."""
    from anomaly import TrainConfig, train_patchcore
    from engine.compile import write_model_bundle

    trained = train_patchcore(good_images(4, seed=0), TrainConfig(size=MODEL_SIZE, coreset_ratio=0.5))
    directory = tmp_path_factory.mktemp("coarse") / "model"
    write_model_bundle(trained, directory)
    return directory, trained, trained.torch_model()


@pytest.fixture(scope="module")
def examples():
    pairs = [(kind, item) for kind in ("spot", "scratch") for item in defect_images(kind, 3, seed=1)]
    return [DefectExample(image, kind, mask, image.source) for kind, (image, mask) in pairs]


@pytest.fixture(scope="module")
def typed(coarse_model, examples, tmp_path_factory):
    source, trained, _ = coarse_model
    directory = tmp_path_factory.mktemp("typed") / "model"
    shutil.copytree(source, directory)
    result = add_defect_types(directory, examples, trained=trained)
    return directory, result


def test_model_has_coarse_channels(coarse_model):
    _, trained, network = coarse_model
    assert 19 in trained.config.feature_blocks
    assert network.extractor.region_channels < network.extractor.channels


def test_descriptor_uses_finer_channels(coarse_model, typed):
    _, _, network = coarse_model
    directory, result = typed
    channels = network.extractor.region_channels
    assert result.classifier.descriptor_width == 2 * channels + GEOMETRY_DIMENSIONS
    _, manifest = load_manifest(directory)
    assert manifest.task["classifier"]["descriptor_channels"] == channels
    graph = onnx.load(str(directory / CLASSIFIER_NAME))
    features = next(item for item in graph.graph.input if item.name == "features")
    assert features.type.tensor_type.shape.dim[1].dim_value == network.extractor.channels


@pytest.mark.parametrize("engine", ENGINES)
def test_graph_matches_reference(typed, examples, engine):
    directory, result = typed
    parameters = result.parameters
    channels = parameters.appearance_centre.shape[0]
    inspector = Inspector.open(directory, engine=engine, device="cpu", threads=2)
    prep = inspector.manifest.preprocessing
    for example in examples[::2]:
        inputs, plan = model_inputs(example.image, inspector.manifest.input_size, prep.bit_depth, prep.resize)
        features = np.asarray(inspector._engine.run(inputs)["features"], dtype=np.float32)
        index, region = region_in_input(example.mask, plan, inspector.manifest.input_size)
        distances, raw, support = inspector.classifier.scores(features[index], region[None])
        reference = describe_regions(features[index : index + 1], region[None], channels)
        np.testing.assert_allclose(raw, reference, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(distances, distances_to_prototypes(parameters, reference), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(support, distances_to_support(parameters, reference), rtol=1e-3, atol=1e-3)


def test_all_channel_classifier_keeps_its_width(coarse_model, examples, tmp_path):
    """A classifier that describes regions with every channel keeps doing so when examples are added."""
    source, trained, network = coarse_model
    directory = tmp_path / "model"
    shutil.copytree(source, directory)
    geometry = model_geometry(trained, network)
    everything = train_defect_types(examples, model_extractor(network), replace(geometry, descriptor_channels=None))
    write_classifier(directory, everything, trained.input_size, network.extractor.channels)
    width = 2 * network.extractor.channels + GEOMETRY_DIMENSIONS
    assert DefectTypeClassifier.load(directory / SUPPORT_NAME).descriptor_width == width

    grid = [DefectExample(image, "grid", mask, image.source) for image, mask in defect_images("grid", 2, seed=3)]
    result = add_defect_types(directory, grid)
    assert result.classifier.descriptor_width == width
    assert result.parameters.type_names == ("spot", "scratch", "grid")
    images = [image for image, _ in defect_images("scratch", 2, seed=7)]
    verdicts = Inspector.open(directory, engine="onnxruntime", device="cpu", threads=2).inspect_images(images)
    assert all(verdict.regions for verdict in verdicts)
