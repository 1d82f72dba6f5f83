"""Few-shot defect-type classifier: support descriptors per type, prototypes, and the open-set rule.

The classifier stores the raw descriptor of every support example. Adding a type or
more examples of one therefore only recomputes normalization statistics,
prototypes and radii, which takes milliseconds, and the backbone is never trained.
The nearest prototype gives a region's type. The region is reported as
:data:`UNKNOWN` unless it lies within some type's radius of one of that type's
support examples, so a defect type that was never taught is not forced into a known one.
"""

from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fewshot.descriptor import channels_of, normalize_descriptors
from labeling.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
DEFAULT_SHAPE_WEIGHT = 0.75
DEFAULT_UNKNOWN_MARGIN = 1.0
MIN_SHAPE_SCALE = 0.25
DUPLICATE_DISTANCE = 1e-6
MIN_RADIUS = 1e-6
LONE_EXAMPLE_RADIUS = 2.0
SPREAD_FACTOR = 2.0
TEMPERATURE_GAP_FRACTION = 0.25
FORMAT_VERSION = 3


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

    ``temperature`` scales prototype distances in the softmax that turns them into a
    confidence. ``support_rows`` are the support examples in the open-set space and
    ``support_types`` their type indices. A region is known when its distance to the
    nearest support example of some type k is at most ``type_radius[k]``. ``shape_mean``
    and ``shape_scale`` cover the shape and layout values at the end of a raw descriptor.
    """

    type_names: tuple[str, ...]
    appearance_centre: np.ndarray
    contrast_centre: np.ndarray
    shape_mean: np.ndarray
    shape_scale: np.ndarray
    shape_weight: float
    prototypes: np.ndarray
    support_rows: np.ndarray
    support_types: np.ndarray
    type_radius: np.ndarray
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
        shape_weight: weight of the shape part (with the layout part in the open-set space)
            against the unit-length appearance or contrast part.
        unknown_margin: factor on the calibrated per-type radii; above 1 reports
            fewer regions as unknown, below 1 more.
    """

    support: dict[str, np.ndarray] = field(default_factory=dict)
    with_region: dict[str, int] = field(default_factory=dict)
    declared: list[str] = field(default_factory=list)
    shape_weight: float = DEFAULT_SHAPE_WEIGHT
    unknown_margin: float = DEFAULT_UNKNOWN_MARGIN

    def add_examples(self, defect_type: str, descriptors: np.ndarray, with_region: int = 0) -> None:
        """Append support descriptors (n x D) for a type, creating the type when it is new.

        Raises:
            FewShotError: the type name is empty or reserved, or the descriptor width is not
                2 C + 11 or differs from the other types'.
        """
        name = defect_type.strip()
        if not name or name == UNKNOWN:
            raise FewShotError(f"invalid defect type name {defect_type!r}; use a non-empty name other than {UNKNOWN!r}")
        rows = np.atleast_2d(np.asarray(descriptors, dtype=np.float64))
        try:
            channels_of(rows.shape[1])
        except ValueError as error:
            raise FewShotError(f"descriptors for {name!r}: {error}") from None
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
        """Compute normalization, prototypes and the open-set radii from the current support set.

        Raises:
            FewShotError: no type has any example.
        """
        names = [name for name, rows in self.support.items() if rows.shape[0]]
        if not names:
            raise FewShotError("no defect type has an example; add at least one labelled defect image per type")
        for message in self.check():
            logger.warning("%s", message)
        channels = channels_of(self.descriptor_width or 0)
        class_means = np.stack([self.support[name].mean(axis=0) for name in names])
        appearance_centre = class_means[:, :channels].mean(axis=0)
        contrast_centre = class_means[:, channels : 2 * channels].mean(axis=0)
        everything = np.concatenate([self.support[name] for name in names])
        shape_mean = everything[:, 2 * channels :].mean(axis=0)
        shape_scale = np.maximum(everything[:, 2 * channels :].std(axis=0), MIN_SHAPE_SCALE)
        scaling = (shape_mean, shape_scale, self.shape_weight)
        prototype_space = {name: normalize_descriptors(self.support[name], appearance_centre, *scaling) for name in names}
        open_set_space = [normalize_descriptors(self.support[name], contrast_centre, *scaling, part="contrast") for name in names]
        prototypes = np.stack([prototype_space[name].mean(axis=0) for name in names])
        return ClassifierParameters(
            type_names=tuple(names),
            appearance_centre=appearance_centre,
            contrast_centre=contrast_centre,
            shape_mean=shape_mean,
            shape_scale=shape_scale,
            shape_weight=float(self.shape_weight),
            prototypes=prototypes,
            support_rows=np.concatenate(open_set_space),
            support_types=np.concatenate([np.full(rows.shape[0], index) for index, rows in enumerate(open_set_space)]),
            type_radius=calibrate_radii(open_set_space) * self.unknown_margin,
            temperature=softmax_temperature(prototypes),
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
                raise FewShotError(
                    f"{path}: classifier format {meta.get('format_version')!r} is not supported (expected {FORMAT_VERSION}), "
                    "because older versions stored a shorter region descriptor; teach the types again with "
                    "'inspect types MODEL --defects DIR --replace' (or --project DIR --replace)"
                )
            support = {name: np.asarray(data[f"support_{index}"]) for index, name in enumerate(meta["types"])}
        return cls(
            support=support,
            with_region=dict(zip(meta["types"], meta["with_region"], strict=True)),
            declared=list(meta["declared"]),
            shape_weight=float(meta["shape_weight"]),
            unknown_margin=float(meta["unknown_margin"]),
        )


def calibrate_radii(rows_by_type: list[np.ndarray]) -> np.ndarray:
    """Return each type's open-set radius from its support rows in the open-set space.

    A type's radius is the smaller of two distances. The first is the smallest distance
    between one of its examples and an example of another type: a region closer than
    that to one of the type's examples is nearer to it than the taught types come to
    each other. The second, for a type with two or more examples, is
    :data:`SPREAD_FACTOR` times the largest distance from one of its examples to its
    nearest other example; it bounds the radius by the type's own spread when the types
    lie far apart. A lone type uses only the second. A lone example gets
    :data:`LONE_EXAMPLE_RADIUS`, the diameter of the unit sphere of the contrast part,
    so it accepts nearly every region.
    """
    radii = []
    for index, rows in enumerate(rows_by_type):
        others = [other for position, other in enumerate(rows_by_type) if position != index]
        radius = float(_pairwise(rows, np.concatenate(others)).min()) if others else LONE_EXAMPLE_RADIUS
        if rows.shape[0] >= 2:
            own = _pairwise(rows, rows)
            np.fill_diagonal(own, np.inf)
            radius = min(radius, SPREAD_FACTOR * float(own.min(axis=1).max()))
        radii.append(max(radius, MIN_RADIUS))
    return np.array(radii)


def softmax_temperature(prototypes: np.ndarray) -> float:
    """Return the softmax temperature: a quarter of the smallest gap between two prototypes (1 for one type)."""
    if prototypes.shape[0] < 2:
        return TEMPERATURE_GAP_FRACTION
    gaps = _pairwise(prototypes, prototypes)
    nearest_gap = float(gaps[~np.eye(prototypes.shape[0], dtype=bool)].min())
    return max(TEMPERATURE_GAP_FRACTION * nearest_gap, 1e-3)


def _pairwise(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.linalg.norm(first[:, None] - second[None], axis=2)


def predict(parameters: ClassifierParameters, distances: np.ndarray, support_distances: np.ndarray) -> list[TypePrediction]:
    """Turn N x K prototype and support distances into predictions; the runtime applies the same rule.

    The nearest prototype gives the type. The region is known when, for some type k,
    its support distance is at most ``type_radius[k]``. A known type's confidence is
    its softmax weight over ``-distance / temperature``. An unknown region's confidence
    is ``1 - 1 / ratio``, where ratio is the smallest support distance over radius:
    0 at the boundary, towards 1 far beyond it.
    """
    results = []
    for row, support_row in zip(np.atleast_2d(distances), np.atleast_2d(support_distances), strict=True):
        best = int(np.argmin(row))
        nearest = parameters.type_names[best]
        ratio = float(np.min(support_row / parameters.type_radius))
        if ratio <= 1.0:
            logits = -row / parameters.temperature
            weights = np.exp(logits - logits.max())
            results.append(TypePrediction(nearest, float(weights[best] / weights.sum()), float(row[best]), nearest))
        else:
            results.append(TypePrediction(UNKNOWN, 1.0 - 1.0 / ratio, float(row[best]), nearest))
    return results


def distances_to_prototypes(parameters: ClassifierParameters, raw: np.ndarray) -> np.ndarray:
    """Return the N x K distances of raw descriptors to the prototypes (numpy reference of the graph)."""
    projected = normalize_descriptors(
        np.atleast_2d(raw), parameters.appearance_centre, parameters.shape_mean, parameters.shape_scale, parameters.shape_weight
    )
    return _pairwise(projected, parameters.prototypes)


def distances_to_support(parameters: ClassifierParameters, raw: np.ndarray) -> np.ndarray:
    """Return the N x K distances of raw descriptors to each type's nearest support example (numpy reference)."""
    projected = normalize_descriptors(
        np.atleast_2d(raw),
        parameters.contrast_centre,
        parameters.shape_mean,
        parameters.shape_scale,
        parameters.shape_weight,
        part="contrast",
    )
    to_rows = _pairwise(projected, parameters.support_rows)
    return np.stack(
        [to_rows[:, parameters.support_types == index].min(axis=1) for index in range(len(parameters.type_names))], axis=1
    )
