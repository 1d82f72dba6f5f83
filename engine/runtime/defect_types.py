"""Defect type per NG region at the line: find regions in the anomaly map, run ``classifier.onnx``, decide.

A region is a connected set of model-resolution pixels whose anomaly score is above
the threshold. The classifier graph returns each region's distance to every known
type's prototype. The nearest type wins, unless it is farther than the bundle's
``unknown_distance``: then the region is reported as ``unknown``. The decision
rule matches ``fewshot.classifier.predict`` on the training side, which the few-shot
tests check. Imports no torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from labeling.model_input import TilePlan
from labeling.model_regions import region_in_input

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
MAX_REGIONS_PER_IMAGE = 16
REGION_LEVEL_FRACTION = 0.5


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
    """The ``task.classifier`` block of a manifest."""

    graph: str
    type_names: tuple[str, ...]
    unknown_distance: float
    temperature: float

    @classmethod
    def from_task(cls, task: dict[str, Any]) -> ClassifierSettings | None:
        """Parse the manifest task, or return None when the bundle has no classifier."""
        block = task.get("classifier")
        if not block:
            return None
        return cls(
            graph=str(block["graph"]),
            type_names=tuple(block["type_names"]),
            unknown_distance=float(block["unknown_distance"]),
            temperature=float(block["temperature"]),
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

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, inputs), strict=True))


class _OpenVinoGraph:
    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)

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
        return cls(settings, graph, "openvino" if engine == "openvino" else "onnxruntime")

    def distances(self, features: np.ndarray, regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (distances R x K, raw descriptors R x D) for one image's features (C x h x w) and R regions (R x H x W)."""
        count = regions.shape[0]
        batch = np.ascontiguousarray(np.broadcast_to(features[None], (count, *features.shape)), dtype=np.float32)
        outputs = self._graph.run({"features": batch, "region": np.ascontiguousarray(regions[:, None], dtype=np.float32)})
        return np.asarray(outputs["distance"], dtype=np.float64), np.asarray(outputs["descriptor"], dtype=np.float64)

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
            distances, _ = self.distances(features[index], model_region[None])
            defect_type, confidence, nearest = decide_type(distances[0], self.settings)
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


def decide_type(distances: np.ndarray, settings: ClassifierSettings) -> tuple[str, float, str]:
    """Return (type or ``unknown``, confidence, nearest type) for one region's distances to the prototypes.

    The confidence of a known type is its softmax weight over ``-distance / temperature``.
    The confidence of ``unknown`` grows from 0 at the open-set boundary towards 1 far beyond it.
    """
    row = np.asarray(distances, dtype=np.float64)
    best = int(np.argmin(row))
    nearest = settings.type_names[best]
    if row[best] > settings.unknown_distance:
        excess = (row[best] - settings.unknown_distance) / settings.temperature
        return UNKNOWN, float(1.0 - np.exp(-excess)), nearest
    logits = -row / settings.temperature
    weights = np.exp(logits - logits.max())
    return nearest, float(weights[best] / weights.sum()), nearest
