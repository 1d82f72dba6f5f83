"""Few-shot defect-type classifier: support descriptors per type, prototypes, and the open-set rule.

The classifier stores the raw descriptor of every support example. Adding a type or
more examples of one therefore only recomputes normalization statistics and
prototypes, which takes milliseconds, and the backbone is never trained. A region whose distance to the nearest
prototype exceeds ``unknown_distance`` is reported as :data:`UNKNOWN`, so a defect type
that was never taught is not forced into a known one.
"""

from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fewshot.descriptor import SHAPE_DIMENSIONS, normalize_descriptors
from labeling.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
DEFAULT_SHAPE_WEIGHT = 0.75
DEFAULT_UNKNOWN_MARGIN = 1.0
MIN_SHAPE_SCALE = 0.25
DUPLICATE_DISTANCE = 1e-6
OWN_DISTANCE_QUANTILE = 0.9
SINGLE_SHOT_GAP_FACTOR = 1.5
FORMAT_VERSION = 1


class FewShotError(ValueError):
    """The support set cannot produce a classifier; the message names the type and the fix."""


@dataclass(frozen=True)
class TypeSummary:
    """Per-type support counts for reports and the GUI: examples, and how many had a mask or box."""

    name: str
    examples: int
    with_region: int


@dataclass(frozen=True)
class ClassifierParameters:
    """Everything the exported head needs: type names, normalization, prototypes and open-set rule.

    ``temperature`` scales distances in the softmax that turns them into a confidence.
    ``unknown_distance`` is the largest distance to the nearest prototype that still
    counts as a known type.
    """

    type_names: tuple[str, ...]
    appearance_centre: np.ndarray
    shape_mean: np.ndarray
    shape_scale: np.ndarray
    shape_weight: float
    prototypes: np.ndarray
    unknown_distance: float
    temperature: float


@dataclass(frozen=True)
class TypePrediction:
    """One region's predicted type (or :data:`UNKNOWN`), its confidence and nearest distance."""

    defect_type: str
    confidence: float
    distance: float
    nearest_type: str


@dataclass
class DefectTypeClassifier:
    """Support descriptors per defect type and the settings that turn them into a classifier.

    Attributes:
        support: raw descriptors (n x D) per type name, in insertion order.
        with_region: per type, how many examples came with a mask or box.
        declared: type names listed without examples (kept so reports can name them).
        shape_weight: weight of the shape part against the unit-length appearance part.
        unknown_margin: factor on the calibrated open-set distance; above 1 reports
            fewer regions as unknown.
    """

    support: dict[str, np.ndarray] = field(default_factory=dict)
    with_region: dict[str, int] = field(default_factory=dict)
    declared: list[str] = field(default_factory=list)
    shape_weight: float = DEFAULT_SHAPE_WEIGHT
    unknown_margin: float = DEFAULT_UNKNOWN_MARGIN

    def add_examples(self, defect_type: str, descriptors: np.ndarray, with_region: int = 0) -> None:
        """Append support descriptors (n x D) for a type, creating the type when it is new.

        Raises:
            FewShotError: the type name is empty or reserved, or the descriptor width differs.
        """
        name = defect_type.strip()
        if not name or name == UNKNOWN:
            raise FewShotError(f"invalid defect type name {defect_type!r}; use a non-empty name other than {UNKNOWN!r}")
        rows = np.atleast_2d(np.asarray(descriptors, dtype=np.float64))
        width = self.descriptor_width
        if rows.size and width is not None and rows.shape[1] != width:
            raise FewShotError(
                f"descriptors for {name!r} have {rows.shape[1]} values but the classifier uses {width}; "
                "extract them with the same backbone as the other types"
            )
        previous = self.support.get(name)
        self.support[name] = rows if previous is None else np.concatenate([previous, rows])
        self.with_region[name] = self.with_region.get(name, 0) + int(with_region)
        if name in self.declared:
            self.declared.remove(name)

    def declare_type(self, defect_type: str) -> None:
        """Record a type that has no examples yet; :meth:`fit` warns about it and leaves it out."""
        if defect_type not in self.support and defect_type not in self.declared:
            self.declared.append(defect_type)

    def remove_type(self, defect_type: str) -> None:
        """Forget a type and its examples (nothing happens when it is unknown)."""
        self.support.pop(defect_type, None)
        self.with_region.pop(defect_type, None)
        if defect_type in self.declared:
            self.declared.remove(defect_type)

    @property
    def descriptor_width(self) -> int | None:
        """Width D of the stored descriptors, or None when there are none."""
        for rows in self.support.values():
            if rows.size:
                return int(rows.shape[1])
        return None

    def summary(self) -> list[TypeSummary]:
        """Return per-type example counts, types without examples included (for reports and the GUI)."""
        rows = [TypeSummary(name, int(values.shape[0]), self.with_region.get(name, 0)) for name, values in self.support.items()]
        return rows + [TypeSummary(name, 0, 0) for name in self.declared]

    def check(self) -> list[str]:
        """Return warnings about the support set, each naming the type concerned."""
        warnings = [f"defect type {name!r} has no examples and is left out of the classifier" for name in self.declared]
        for name, rows in self.support.items():
            if rows.shape[0] == 0:
                warnings.append(f"defect type {name!r} has no examples and is left out of the classifier")
            elif rows.shape[0] == 1:
                warnings.append(f"defect type {name!r} has a single example; add more for a reliable type and confidence")
        warnings.extend(self._duplicate_warnings())
        return warnings

    def _duplicate_warnings(self) -> list[str]:
        names = [name for name, rows in self.support.items() if rows.shape[0]]
        warnings = []
        for index, first in enumerate(names):
            for second in names[index + 1 :]:
                distances = np.linalg.norm(self.support[first][:, None] - self.support[second][None], axis=2)
                if distances.min() <= DUPLICATE_DISTANCE * (1.0 + np.abs(self.support[first]).max()):
                    warnings.append(
                        f"defect types {first!r} and {second!r} share an identical example; "
                        "they cannot be told apart by it, so check the labels"
                    )
        return warnings

    def fit(self) -> ClassifierParameters:
        """Compute normalization, prototypes and the open-set rule from the current support set.

        Raises:
            FewShotError: no type has any example.
        """
        names = [name for name, rows in self.support.items() if rows.shape[0]]
        if not names:
            raise FewShotError("no defect type has an example; add at least one labelled defect image per type")
        for message in self.check():
            logger.warning("%s", message)
        width = self.descriptor_width or 0
        channels = width - SHAPE_DIMENSIONS
        class_means = np.stack([self.support[name].mean(axis=0) for name in names])
        appearance_centre = class_means[:, :channels].mean(axis=0)
        everything = np.concatenate([self.support[name] for name in names])
        shape_mean = everything[:, channels:].mean(axis=0)
        shape_scale = np.maximum(everything[:, channels:].std(axis=0), MIN_SHAPE_SCALE)
        normalized = {
            name: normalize_descriptors(self.support[name], appearance_centre, shape_mean, shape_scale, self.shape_weight)
            for name in names
        }
        prototypes = np.stack([normalized[name].mean(axis=0) for name in names])
        unknown_distance, temperature = calibrate_open_set(normalized, prototypes)
        return ClassifierParameters(
            type_names=tuple(names),
            appearance_centre=appearance_centre,
            shape_mean=shape_mean,
            shape_scale=shape_scale,
            shape_weight=float(self.shape_weight),
            prototypes=prototypes,
            unknown_distance=float(unknown_distance * self.unknown_margin),
            temperature=float(temperature),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the support set and settings to one ``.npz`` file (atomically)."""
        names = list(self.support)
        meta = {
            "format_version": FORMAT_VERSION,
            "types": names,
            "with_region": [self.with_region.get(name, 0) for name in names],
            "declared": self.declared,
            "shape_weight": self.shape_weight,
            "unknown_margin": self.unknown_margin,
        }
        arrays = {f"support_{index}": self.support[name] for index, name in enumerate(names)}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DefectTypeClassifier:
        """Read a classifier written by :meth:`save`.

        Raises:
            FewShotError: the file is not a classifier of this format version.
        """
        with np.load(path, allow_pickle=False) as data:
            try:
                meta = json.loads(str(data["meta"]))
            except KeyError:
                raise FewShotError(f"{path}: not a defect-type classifier file; train the defect types again") from None
            if meta.get("format_version") != FORMAT_VERSION:
                raise FewShotError(f"{path}: classifier format {meta.get('format_version')!r} is not supported; train again")
            support = {name: np.asarray(data[f"support_{index}"]) for index, name in enumerate(meta["types"])}
        return cls(
            support=support,
            with_region=dict(zip(meta["types"], meta["with_region"], strict=True)),
            declared=list(meta["declared"]),
            shape_weight=float(meta["shape_weight"]),
            unknown_margin=float(meta["unknown_margin"]),
        )


def calibrate_open_set(normalized: dict[str, np.ndarray], prototypes: np.ndarray) -> tuple[float, float]:
    """Return (unknown distance, softmax temperature) from the normalized support set.

    The unknown distance is the 90th percentile of the leave-one-out distances of
    support examples to their own type's prototype: a region farther from every
    prototype than nearly all taught examples are from theirs looks like none of them.
    With one example per type there is no leave-one-out distance, so 1.5 times the
    smallest gap between two prototypes is used instead (1.0 for a lone example).
    On magnetic_tile these choices keep known-type accuracy within about 5 points of
    the closed-set accuracy (bench/fewshot.py); a larger ``unknown_margin`` trades
    fewer unknowns for accuracy on known types.
    """
    own = []
    for rows in normalized.values():
        count = rows.shape[0]
        if count < 2:
            continue
        total = rows.sum(axis=0)
        own.extend(float(np.linalg.norm(row - (total - row) / (count - 1))) for row in rows)
    if prototypes.shape[0] > 1:
        gaps = np.linalg.norm(prototypes[:, None] - prototypes[None], axis=2)
        nearest_gap = float(gaps[~np.eye(prototypes.shape[0], dtype=bool)].min())
    else:
        nearest_gap = 0.0
    unknown = float(np.quantile(own, OWN_DISTANCE_QUANTILE)) if own else SINGLE_SHOT_GAP_FACTOR * nearest_gap
    if unknown <= 0.0:
        unknown = 1.0
    temperature = max(0.25 * (nearest_gap or unknown), 1e-3)
    return unknown, temperature


def predict(parameters: ClassifierParameters, distances: np.ndarray) -> list[TypePrediction]:
    """Turn an N x K distance matrix into predictions; this is the rule the runtime applies too."""
    results = []
    for row in np.atleast_2d(distances):
        logits = -row / parameters.temperature
        weights = np.exp(logits - logits.max())
        probabilities = weights / weights.sum()
        best = int(np.argmin(row))
        nearest = parameters.type_names[best]
        known = row[best] <= parameters.unknown_distance
        results.append(
            TypePrediction(
                defect_type=nearest if known else UNKNOWN,
                confidence=float(probabilities[best]) if known else _beyond_boundary(row[best], parameters),
                distance=float(row[best]),
                nearest_type=nearest,
            )
        )
    return results


def _beyond_boundary(distance: float, parameters: ClassifierParameters) -> float:
    """Return the confidence of an unknown: 0 at the open-set boundary, towards 1 far beyond it."""
    excess = (distance - parameters.unknown_distance) / parameters.temperature
    return float(1.0 - np.exp(-max(excess, 0.0)))


def distances_to_prototypes(parameters: ClassifierParameters, raw: np.ndarray) -> np.ndarray:
    """Return the N x K distances of raw descriptors to the prototypes (numpy reference of the graph)."""
    normalized = normalize_descriptors(
        np.atleast_2d(raw), parameters.appearance_centre, parameters.shape_mean, parameters.shape_scale, parameters.shape_weight
    )
    return np.linalg.norm(normalized[:, None] - parameters.prototypes[None], axis=2)
