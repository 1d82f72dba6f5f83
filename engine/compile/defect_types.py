"""Put a few-shot defect-type classifier into a model directory: graph, support set, manifest entry.

The classifier builds on the model's own anomaly graph (same backbone, same input
size and resize rule), so adding types or examples later needs only the model
directory and the new examples, never PatchCore training.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from anomaly import TrainedModel
from anomaly.patchcore import PatchCoreModel
from engine.bundle import load_manifest, write_manifest
from engine.compile.export import load_trained_model
from fewshot.classifier import DefectTypeClassifier
from fewshot.descriptor import channels_of
from fewshot.examples import DefectExample
from fewshot.export import export_classifier_onnx
from fewshot.train import Extractor, FewShotResult, ModelGeometry, train_defect_types

logger = logging.getLogger(__name__)

CLASSIFIER_NAME = "classifier.onnx"
SUPPORT_NAME = "training/defect_types.npz"


def model_extractor(trained: TrainedModel | PatchCoreModel) -> Extractor:
    """Return the function that maps a model-input batch to (patch embeddings, anomaly maps) with torch.

    ``trained`` may also be a torch model already built by :meth:`TrainedModel.torch_model`.
    """
    model = trained.torch_model() if isinstance(trained, TrainedModel) else trained

    @torch.no_grad()
    def extract(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        maps, _, features = model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        return features.numpy(), maps[:, 0].numpy()

    return extract


def model_geometry(trained: TrainedModel, network: PatchCoreModel | None = None) -> ModelGeometry:
    """Return the input size, depth, resize rule, threshold and descriptor channels for a new classifier.

    The descriptor channels are those of the model's blocks finer than stride 32
    (:attr:`anomaly.backbone.FeatureExtractor.region_channels`). ``network`` saves
    rebuilding the torch model when the caller has it.
    """
    network = network if network is not None else trained.torch_model()
    return ModelGeometry(
        input_size=tuple(trained.input_size),
        bit_depth=trained.bit_depth,
        threshold=float(trained.threshold.value),
        normal_level=float(trained.threshold.normal_level),
        resize=trained.resize,
        descriptor_channels=network.extractor.region_channels,
    )


def add_defect_types(
    directory: str | os.PathLike[str],
    examples: Sequence[DefectExample],
    *,
    type_names: Sequence[str] = (),
    trained: TrainedModel | None = None,
    augmentations: int = 0,
    replace_existing: bool = False,
) -> FewShotResult:
    """Teach defect types to the model in ``directory`` and write the classifier into it.

    Examples are added to the classifier the model already has, unless
    ``replace_existing`` is set. ``trained`` saves reloading the model when the caller
    has just trained it.

    Raises:
        fewshot.classifier.FewShotError: no type has an example.
        engine.bundle.BundleError: ``directory`` is not a model written by ``inspect train``.
    """
    root = Path(directory)
    model = trained if trained is not None else load_trained_model(root)
    network = model.torch_model()
    geometry = model_geometry(model, network)
    existing = None
    if not replace_existing and (root / SUPPORT_NAME).is_file():
        existing = DefectTypeClassifier.load(root / SUPPORT_NAME)
        if existing.descriptor_width is not None:
            # Classifiers written before stride-32 channels were left out store wider descriptors, and new rows must match them.
            geometry = replace(geometry, descriptor_channels=channels_of(existing.descriptor_width))
    result = train_defect_types(
        examples,
        model_extractor(network),
        geometry,
        type_names=type_names,
        classifier=existing,
        augmentations=augmentations,
    )
    write_classifier(root, result, model.input_size, network.extractor.channels)
    return result


def write_classifier(
    directory: str | os.PathLike[str],
    result: FewShotResult,
    input_size: tuple[int, int],
    feature_channels: int | None = None,
) -> None:
    """Write ``classifier.onnx`` and the support set, record them in the manifest and re-hash the model.

    ``feature_channels`` is the channel count of the model's patch embeddings (see
    :func:`fewshot.export.export_classifier_onnx`).
    """
    root, manifest = load_manifest(directory)
    parameters = result.parameters
    export_classifier_onnx(parameters, root / CLASSIFIER_NAME, input_size, feature_channels)
    (root / SUPPORT_NAME).parent.mkdir(parents=True, exist_ok=True)
    result.classifier.save(root / SUPPORT_NAME)
    task = dict(manifest.task)
    task["defect_types"] = list(parameters.type_names)
    task["classifier"] = {
        "graph": CLASSIFIER_NAME,
        "type_names": list(parameters.type_names),
        "type_radius": [float(value) for value in parameters.type_radius],
        "temperature": parameters.temperature,
        "descriptor_channels": int(parameters.appearance_centre.shape[0]),
        "method": (
            "type: nearest prototype (appearance minus image mean, shape moments); "
            "open set: nearest support example (contrast to the surrounding ring, shape moments, "
            "orientation and border distances) within a per-type radius"
        ),
        "examples": {item.name: item.examples for item in result.classifier.summary()},
        "warnings": list(result.warnings),
    }
    write_manifest(root, replace(manifest, task=task))
    logger.info("Wrote defect-type classifier for %s to %s", ", ".join(parameters.type_names), root)
