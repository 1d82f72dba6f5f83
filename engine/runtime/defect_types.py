"""Defect type per NG region at the line: find regions in the anomaly map, run ``classifier.onnx``, decide.

A region is a connected set of model-resolution pixels whose anomaly score is above
the threshold. The classifier graph returns each region's distance to every known
type's prototype and to each type's nearest support example. The nearest prototype
gives the type. The region is reported as ``unknown`` unless its support distance
to some type k is at most the manifest's ``type_radius[k]``. The decision rule
matches ``fewshot.classifier.predict`` on the training side, which the few-shot
tests check.

Bundles written before the per-type radii have a graph without ``support_distance``
and a single ``unknown_distance`` in the manifest. They still load and use their
own rule: unknown when the nearest prototype is farther than ``unknown_distance``.
Imports no torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.bundle import BundleError
from labeling.model_input import TilePlan
from labeling.model_regions import region_in_input

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
MAX_REGIONS_PER_IMAGE = 16
REGION_LEVEL_FRACTION = 0.5
SUPPORT_OUTPUT = "support_distance"
RETEACH_HINT = "teach the defect types again with 'inspect types MODEL --defects DIR --replace'"


@dataclass(frozen=True)
class DefectRegion:
    """One NG region of an image: bounding box and area in image pixels, peak score and type.

    ``defect_type`` is a known type name or ``unknown``. ``nearest_type`` is the closest
    known type, also when the region is unknown, and ``distance`` is the distance to its prototype.
    """

    x: int
    y: int
    width: int
    height: int
    area_px: int
    peak_score: float
    defect_type: str
    confidence: float
    distance: float
    nearest_type: str


@dataclass(frozen=True)
class ClassifierSettings:
    """The ``task.classifier`` block of a manifest.

    Current bundles set ``type_radius`` (one open-set radius per type) and leave
    ``unknown_distance`` None. Older bundles set only ``unknown_distance``.
    """

    graph: str
    type_names: tuple[str, ...]
    unknown_distance: float | None
    temperature: float
    type_radius: tuple[float, ...] | None = None

    @classmethod
    def from_task(cls, task: dict[str, Any]) -> ClassifierSettings | None:
        """Parse the manifest task, or return None when the bundle has no classifier.

        Raises:
            BundleError: the block has neither ``type_radius`` nor ``unknown_distance``,
                or the radii do not match the type names.
        """
        block = task.get("classifier")
        if not block:
            return None
        names = tuple(block["type_names"])
        radius = block.get("type_radius")
        unknown = block.get("unknown_distance")
        if radius is None and unknown is None:
            raise BundleError(
                f"invalid manifest task.classifier: neither 'type_radius' nor 'unknown_distance' is set; {RETEACH_HINT}"
            )
        if radius is not None and len(radius) != len(names):
            raise BundleError(
                f"invalid manifest task.classifier: {len(names)} types but {len(radius)} radii; {RETEACH_HINT}"
            )
        return cls(
            graph=str(block["graph"]),
            type_names=names,
            unknown_distance=None if unknown is None else float(unknown),
            temperature=float(block["temperature"]),
            type_radius=None if radius is None else tuple(float(value) for value in radius),
        )


class _OnnxRuntimeGraph:
    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(output.name for output in self.session.get_outputs())

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(self.output_names)
        return dict(zip(names, self.session.run(names, inputs), strict=True))


class _OpenVinoGraph:
    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(output.get_any_name() for output in self.compiled.outputs)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = self.compiled(inputs)
        return {output.get_any_name(): np.asarray(results[output]) for output in self.compiled.outputs}


class RegionClassifier:
    """The bundle's defect-type graph on OpenVINO or ONNX Runtime (CPU; the graph is small)."""

    def __init__(self, settings: ClassifierSettings, graph: _OnnxRuntimeGraph | _OpenVinoGraph, engine: str) -> None:
        self.settings = settings
        self._graph = graph
        self.engine = engine

    @classmethod
    def open(cls, root: Path, task: dict[str, Any], engine: str, threads: int) -> RegionClassifier | None:
        """Load the classifier named in the manifest task on ``engine``, or return None when there is none."""
        settings = ClassifierSettings.from_task(task)
        if settings is None:
            return None
        path = root / settings.graph
        graph = _OpenVinoGraph(path, threads) if engine == "openvino" else _OnnxRuntimeGraph(path, threads)
        if settings.type_radius is not None and SUPPORT_OUTPUT not in graph.output_names:
            raise BundleError(
                f"{path}: the manifest sets per-type radii but the graph has no '{SUPPORT_OUTPUT}' output; {RETEACH_HINT}"
            )
        return cls(settings, graph, "openvino" if engine == "openvino" else "onnxruntime")

    def distances(self, features: np.ndarray, regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (distances R x K, raw descriptors R x D) for one image's features (C x h x w) and R regions (R x H x W)."""
        distances, descriptors, _ = self.scores(features, regions)
        return distances, descriptors

    def scores(self, features: np.ndarray, regions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return (prototype distances R x K, raw descriptors R x D, support distances R x K or None).

        The support distances are None for a graph of an older bundle, which has no such output.
        """
        count = regions.shape[0]
        batch = np.ascontiguousarray(np.broadcast_to(features[None], (count, *features.shape)), dtype=np.float32)
        outputs = self._graph.run({"features": batch, "region": np.ascontiguousarray(regions[:, None], dtype=np.float32)})
        support = outputs.get(SUPPORT_OUTPUT)
        return (
            np.asarray(outputs["distance"], dtype=np.float64),
            np.asarray(outputs["descriptor"], dtype=np.float64),
            None if support is None else np.asarray(support, dtype=np.float64),
        )

    def classify(
        self,
        image_map: np.ndarray,
        features: np.ndarray,
        plan: TilePlan | None,
        input_size: tuple[int, int],
        threshold: float,
        normal_level: float,
    ) -> tuple[DefectRegion, ...]:
        """Find the NG regions of an image-size anomaly map and type each one, highest peak first.

        Args:
            image_map: the anomaly map at the image's size.
            features: the patch embeddings of the image's graph inputs (n x C x h x w).
            plan: the image's tile plan, or None when it was stretched to one input.
            input_size: the model input (height, width).
            threshold: the bundle's decision threshold on the raw score.
            normal_level: the typical score of good parts (the manifest's ``normal_level``).
        """
        regions = []
        for mask, peak in find_regions(image_map, threshold, normal_level):
            index, model_region = region_in_input(mask, plan, input_size)
            distances, _, support = self.scores(features[index], model_region[None])
            defect_type, confidence, nearest = decide_type(distances[0], self.settings, None if support is None else support[0])
            rows, cols = np.nonzero(mask)
            regions.append(
                DefectRegion(
                    x=int(cols.min()),
                    y=int(rows.min()),
                    width=int(cols.max() - cols.min() + 1),
                    height=int(rows.max() - rows.min() + 1),
                    area_px=int(mask.sum()),
                    peak_score=peak,
                    defect_type=defect_type,
                    confidence=confidence,
                    distance=float(distances[0].min()),
                    nearest_type=nearest,
                )
            )
        return tuple(regions)


def find_regions(image_map: np.ndarray, threshold: float, normal_level: float) -> list[tuple[np.ndarray, float]]:
    """Return (mask, peak score) of each NG region, highest peak first.

    An NG region is an 8-connected set of pixels above ``threshold``, trimmed to the
    pixels above the level halfway between ``normal_level`` and its own peak. The
    smoothed map spreads a strong defect far beyond its edge, and trimming keeps the
    region close to the defect, as ``fewshot.regions.region_from_map`` does for
    training examples without a mask. At most :data:`MAX_REGIONS_PER_IMAGE` regions
    are kept so a noisy map cannot stall the line.
    """
    values = np.asarray(image_map, dtype=np.float32)
    count, labels = cv2.connectedComponents((values > threshold).astype(np.uint8), connectivity=8)
    found = []
    for label in range(1, count):
        component = labels == label
        peak = float(values[component].max())
        level = max(threshold, normal_level + REGION_LEVEL_FRACTION * (peak - normal_level))
        found.append((component & (values >= level), peak))
    found.sort(key=lambda item: -item[1])
    if len(found) > MAX_REGIONS_PER_IMAGE:
        logger.warning("%d NG regions found; typing the %d with the highest scores", len(found), MAX_REGIONS_PER_IMAGE)
    return found[:MAX_REGIONS_PER_IMAGE]


def decide_type(
    distances: np.ndarray, settings: ClassifierSettings, support_distances: np.ndarray | None = None
) -> tuple[str, float, str]:
    """Return (type or ``unknown``, confidence, nearest type) for one region's distances.

    The nearest prototype gives the type. With per-type radii, the region is known when
    its support distance to some type k is at most ``type_radius[k]``. The confidence of
    ``unknown`` is then ``1 - 1 / ratio``, where ratio is the smallest support distance
    over radius. An older bundle's region is known when its nearest prototype is within
    ``unknown_distance``, and the confidence of ``unknown`` is
    ``1 - exp(-excess / temperature)``. Either way, the confidence of a known type is its
    softmax weight over ``-distance / temperature``.

    Raises:
        ValueError: the settings have radii but ``support_distances`` is None.
    """
    row = np.asarray(distances, dtype=np.float64)
    best = int(np.argmin(row))
    nearest = settings.type_names[best]
    if settings.type_radius is not None:
        if support_distances is None:
            raise ValueError("the classifier settings have per-type radii, so decide_type needs the support distances")
        ratio = float(np.min(np.asarray(support_distances, dtype=np.float64) / np.asarray(settings.type_radius)))
        if ratio > 1.0:
            return UNKNOWN, 1.0 - 1.0 / ratio, nearest
    elif row[best] > settings.unknown_distance:
        excess = (row[best] - settings.unknown_distance) / settings.temperature
        return UNKNOWN, float(1.0 - np.exp(-excess)), nearest
    logits = -row / settings.temperature
    weights = np.exp(logits - logits.max())
    return nearest, float(weights[best] / weights.sum()), nearest
