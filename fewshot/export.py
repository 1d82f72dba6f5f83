"""Export the fitted classifier as ``classifier.onnx``: region descriptor, prototype and support distances in one graph.

Inputs: ``features`` N x C x h x w (the anomaly graph's patch embeddings) and
``region`` N x 1 x H x W (region weights in 0..1 at the model input size). Outputs:
``distance`` N x K, ``descriptor`` N x D and ``support_distance`` N x K. The batch is
one region per row, so an image with three NG regions runs as a batch of three.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from fewshot.classifier import ClassifierParameters
from fewshot.descriptor import FEATURE_STRIDE_PX, PrototypeHead

ONNX_OPSET = 17
INPUT_NAMES = ("features", "region")
OUTPUT_NAMES = ("distance", "descriptor", "support_distance")


def build_head(parameters: ClassifierParameters) -> PrototypeHead:
    """Return the eval-mode torch module of the exported graph."""
    head = PrototypeHead(
        appearance_centre=parameters.appearance_centre,
        contrast_centre=parameters.contrast_centre,
        shape_mean=parameters.shape_mean,
        shape_scale=parameters.shape_scale,
        shape_weight=parameters.shape_weight,
        prototypes=parameters.prototypes,
        support_rows=parameters.support_rows,
        support_types=parameters.support_types,
    )
    return head.eval()


def export_classifier_onnx(
    parameters: ClassifierParameters,
    path: str | os.PathLike[str],
    input_size: tuple[int, int],
    feature_channels: int | None = None,
) -> Path:
    """Write the classifier graph for a model input of (height, width) to ``path`` (written, then renamed).

    ``feature_channels`` is the channel count of the anomaly graph's embeddings, the graph's
    ``features`` input; None means the descriptor's own channel count. The graph uses
    only the descriptor's leading channels of that input.

    Raises:
        ValueError: ``feature_channels`` is below the descriptor's channel count.
    """
    height, width = input_size
    descriptor_channels = parameters.appearance_centre.shape[0]
    channels = descriptor_channels if feature_channels is None else int(feature_channels)
    if channels < descriptor_channels:
        raise ValueError(
            f"the classifier describes regions with {descriptor_channels} feature channels but the model "
            f"has {channels}; teach the defect types again for this model"
        )
    features = torch.zeros(1, channels, height // FEATURE_STRIDE_PX, width // FEATURE_STRIDE_PX)
    region = torch.zeros(1, 1, height, width)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            build_head(parameters),
            (features, region),
            str(temporary),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: {0: "regions"} for name in (*INPUT_NAMES, *OUTPUT_NAMES)},
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
        )
    os.replace(temporary, target)
    return target
