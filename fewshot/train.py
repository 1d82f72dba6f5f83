"""Teach defect types from labelled examples: regions, descriptors, classifier.

The caller supplies the function that runs the anomaly model (``extract``), so this
package needs no engine code. That function maps an N x 3 x H x W batch to the patch
embeddings N x C x H/8 x W/8 and the anomaly maps N x H x W at the model input size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fewshot.augment import augmented_copies
from fewshot.classifier import ClassifierParameters, DefectTypeClassifier
from fewshot.descriptor import describe_regions
from fewshot.examples import DefectExample
from fewshot.regions import region_from_map
from labeling.imageio import ImageReadError, LoadedImage
from labeling.model_input import check_bit_depth, combine_outputs, model_inputs
from labeling.model_regions import region_in_input

logger = logging.getLogger(__name__)

Extractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ModelGeometry:
    """Input geometry and threshold of the anomaly model that the few-shot classifier builds on.

    ``descriptor_channels`` is how many leading channels of the patch embeddings the
    region descriptors use; None uses them all.
    """

    input_size: tuple[int, int]
    bit_depth: int
    threshold: float
    normal_level: float
    resize: str = "stretch"
    descriptor_channels: int | None = None


MAP_VIEW = "map"
MASK_VIEW = "mask"
VIEWS = (MAP_VIEW, MASK_VIEW)


@dataclass(frozen=True)
class FewShotResult:
    """A trained classifier, its exported parameters, warnings naming types, and the time taken."""

    classifier: DefectTypeClassifier
    parameters: ClassifierParameters
    warnings: tuple[str, ...]
    seconds: float


def describe_examples(
    examples: Sequence[DefectExample],
    extract: Extractor,
    geometry: ModelGeometry,
    *,
    augmentations: int = 0,
    seed: int = 0,
    view: str = MAP_VIEW,
) -> list[np.ndarray]:
    """Return one (1 + augmentations) x D descriptor array per example.

    With ``view="map"`` the region is the anomaly map's region around the defect
    (around the peak inside the mask when there is one), which matches the regions
    the line runtime finds. With ``view="mask"`` it is the labelled mask itself where one exists.
    Augmented copies are made only for examples with a mask.
    """
    rows: list[np.ndarray] = []
    for index, example in enumerate(examples):
        items = [(example.image, example.mask)]
        if augmentations and example.mask is not None:
            copies = augmented_copies(example.image.pixels, example.mask.astype(np.uint8), augmentations, seed + index)
            items += [(LoadedImage(pixels=pixels, source=example.source, source_mode=example.image.source_mode), mask) for pixels, mask in copies]
        rows.append(np.concatenate([describe_image_region(image, mask, extract, geometry, view) for image, mask in items]))
    return rows


def describe_image_region(
    image: LoadedImage, mask: np.ndarray | None, extract: Extractor, geometry: ModelGeometry, view: str = MAP_VIEW
) -> np.ndarray:
    """Return the 1 x D raw descriptor of one image's defect region; see :func:`describe_examples` for ``view``."""
    if view not in VIEWS:
        raise ValueError(f"unknown region view {view!r}; expected one of {', '.join(VIEWS)}")
    inputs, plan = model_inputs(image, geometry.input_size, geometry.bit_depth, geometry.resize)
    features, maps = extract(inputs)
    if mask is None or view == MAP_VIEW:
        image_map, _ = combine_outputs(maps, maps.max(axis=(1, 2)), plan, image.height, image.width)
        region = region_from_map(image_map, geometry.threshold, geometry.normal_level, focus=mask)
    else:
        region = np.asarray(mask, dtype=np.float32)
        if region.max(initial=0.0) > 1.0:
            region = region / 255.0
    index, model_region = region_in_input(region, plan, geometry.input_size)
    return describe_regions(features[index : index + 1], model_region[None], geometry.descriptor_channels)


def train_defect_types(
    examples: Sequence[DefectExample],
    extract: Extractor,
    geometry: ModelGeometry,
    *,
    type_names: Sequence[str] = (),
    classifier: DefectTypeClassifier | None = None,
    augmentations: int = 0,
    seed: int = 0,
    view: str = MAP_VIEW,
) -> FewShotResult:
    """Add the examples to ``classifier`` (a new one when None) and fit it.

    Passing the classifier of an existing model adds types or examples without
    recomputing the old ones. ``view`` selects the support regions (see
    :func:`describe_examples`); a bundle needs ``map`` because the runtime finds
    regions in the anomaly map. Types in ``type_names`` without examples produce a
    warning and are left out.

    Raises:
        fewshot.classifier.FewShotError: no type ends up with an example.
    """
    started = time.perf_counter()
    model = classifier if classifier is not None else DefectTypeClassifier()
    examples, depth_warnings = _within_model_depth(examples, geometry.bit_depth)
    descriptors = describe_examples(examples, extract, geometry, augmentations=augmentations, seed=seed, view=view)
    by_type: dict[str, list[np.ndarray]] = {}
    with_region: dict[str, int] = {}
    for example, rows in zip(examples, descriptors, strict=True):
        by_type.setdefault(example.defect_type, []).append(rows.mean(axis=0))
        with_region[example.defect_type] = with_region.get(example.defect_type, 0) + int(example.mask is not None)
    for name, rows in by_type.items():
        model.add_examples(name, np.stack(rows), with_region[name])
    for name in type_names:
        model.declare_type(name)
    warnings = depth_warnings + tuple(model.check())
    parameters = model.fit()
    elapsed = time.perf_counter() - started
    logger.info("Defect types %s fitted in %.1f s", ", ".join(parameters.type_names), elapsed)
    return FewShotResult(model, parameters, warnings, elapsed)


def _within_model_depth(examples: Sequence[DefectExample], bit_depth: int) -> tuple[list[DefectExample], tuple[str, ...]]:
    """Return the examples the anomaly model can read, and a warning naming each one left out as too deep."""
    readable, warnings = [], []
    for example in examples:
        try:
            check_bit_depth(example.image, bit_depth)
        except ImageReadError as error:
            warnings.append(f"defect type {example.defect_type!r}: example left out: {error}")
            continue
        readable.append(example)
    return readable, tuple(warnings)
