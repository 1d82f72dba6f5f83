"""The label data model shared by the project store, the format readers and writers, and the GUI.

Every record is a frozen dataclass: edit with :func:`dataclasses.replace`. Coordinates
are in pixels of the upright image (EXIF orientation applied), with (0, 0) at the
top-left corner of the top-left pixel and (width, height) at the bottom-right corner
of the bottom-right pixel.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LABEL_SCHEMA_VERSION = 1
PROJECT_SCHEMA_VERSION = 1


class Verdict(str, enum.Enum):
    """Image-level decision: not decided yet, good, or not good (NG)."""

    UNLABELLED = "unlabelled"
    GOOD = "good"
    NG = "ng"


class Split(str, enum.Enum):
    """Dataset split an image belongs to; ``NONE`` leaves the choice to training."""

    NONE = "none"
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


@dataclass(frozen=True)
class Rectangle:
    """Axis-aligned rectangle from corner (x0, y0) to corner (x1, y1), with x0 <= x1 and y0 <= y1."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def kind(self) -> str:
        """Shape kind as written in label files: ``rectangle``."""
        return "rectangle"


@dataclass(frozen=True)
class Polygon:
    """Closed polygon through at least three (x, y) vertices; the last vertex joins the first."""

    points: tuple[tuple[float, float], ...]

    @property
    def kind(self) -> str:
        """Shape kind as written in label files: ``polygon``."""
        return "polygon"


@dataclass(frozen=True)
class PixelMask:
    """Brush or imported pixel mask, stored as a run-length code inside its bounding box.

    The box starts at pixel (``left``, ``top``) and is ``width`` x ``height`` pixels.
    ``counts`` alternates runs of background and foreground pixels and starts with a
    background run, which may be 0. Runs scan the box row by row (row-major order)
    and add up to ``width * height``. Build one with :meth:`from_array`.
    """

    left: int
    top: int
    width: int
    height: int
    counts: tuple[int, ...]

    @property
    def kind(self) -> str:
        """Shape kind as written in label files: ``mask``."""
        return "mask"

    @classmethod
    def from_array(cls, mask: np.ndarray) -> PixelMask:
        """Encode a full-image boolean H x W array (nonzero is foreground) cropped to its bounding box.

        An all-background array gives an empty mask (zero-size box, no runs).
        """
        binary = np.asarray(mask).astype(bool)
        rows = np.flatnonzero(binary.any(axis=1))
        cols = np.flatnonzero(binary.any(axis=0))
        if rows.size == 0:
            return cls(left=0, top=0, width=0, height=0, counts=())
        top, bottom = int(rows[0]), int(rows[-1]) + 1
        left, right = int(cols[0]), int(cols[-1]) + 1
        crop = binary[top:bottom, left:right]
        return cls(left=left, top=top, width=right - left, height=bottom - top, counts=encode_runs(crop))

    def crop_array(self) -> np.ndarray:
        """Decode the bounding-box crop as a boolean ``height`` x ``width`` array."""
        return decode_runs(self.counts, self.height, self.width)

    def to_array(self, image_height: int, image_width: int) -> np.ndarray:
        """Decode into a full-image boolean array; parts outside the image are cut off."""
        full = np.zeros((image_height, image_width), dtype=bool)
        if self.width == 0 or self.height == 0:
            return full
        crop = self.crop_array()
        top, left = max(self.top, 0), max(self.left, 0)
        bottom = min(self.top + self.height, image_height)
        right = min(self.left + self.width, image_width)
        if bottom > top and right > left:
            full[top:bottom, left:right] = crop[top - self.top : bottom - self.top, left - self.left : right - self.left]
        return full

    @property
    def area(self) -> int:
        """Number of foreground pixels."""
        return int(sum(self.counts[1::2]))


Shape = Rectangle | Polygon | PixelMask


def new_region_id() -> str:
    """Return a fresh random region id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Region:
    """One marked defect area of an image.

    Attributes:
        shape: the geometry.
        defect_type: a class name from the project's class list, or None when not set.
        region_id: stable id within the label file, so the GUI can track selection.
        group_id: optional group number (labelme ``group_id``), joining shapes of one instance.
        description: free text.
        flags: per-region yes/no flags as (name, value) pairs.
        origin: ``manual`` (drawn), ``import`` (read from another format) or ``assist``
            (an accepted model proposal).
    """

    shape: Shape
    defect_type: str | None = None
    region_id: str = field(default_factory=new_region_id)
    group_id: int | None = None
    description: str = ""
    flags: tuple[tuple[str, bool], ...] = ()
    origin: str = "manual"


@dataclass(frozen=True)
class ImageLabel:
    """Everything known about one image's labels.

    Attributes:
        image_width: upright width of the image in pixels, which region coordinates refer to.
        image_height: upright height in pixels.
        verdict: good, NG or unlabelled.
        defect_type: image-level defect class for NG images (a project class name), else None.
        split: dataset split.
        regions: the marked defect areas.
        comment: free text.
        flags: image-level yes/no flags as (name, value) pairs (labelme ``flags``).
        revision: content hash of the label file this record was read from, or "" for a
            label never saved. :meth:`labeling.project.Project.save_label` compares it with
            the file on disk to detect edits made elsewhere in the meantime.
    """

    image_width: int
    image_height: int
    verdict: Verdict = Verdict.UNLABELLED
    defect_type: str | None = None
    split: Split = Split.NONE
    regions: tuple[Region, ...] = ()
    comment: str = ""
    flags: tuple[tuple[str, bool], ...] = ()
    revision: str = ""


@dataclass(frozen=True)
class DefectClass:
    """A defect type the project defines; ``color`` is ``#rrggbb`` or None to let the GUI choose."""

    name: str
    color: str | None = None


@dataclass(frozen=True)
class ProjectInfo:
    """Contents of ``project.json``: name, class list, free-form settings and schema version.

    ``settings`` contains JSON values. Treat it as read-only and replace it whole to edit.
    """

    name: str
    classes: tuple[DefectClass, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = PROJECT_SCHEMA_VERSION

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names in list order."""
        return tuple(item.name for item in self.classes)


@dataclass(frozen=True)
class ImageEntry:
    """One image's row in the project index: enough to filter, count and show a list without loading labels.

    ``image_path`` is relative to the project folder (``/`` separators) or absolute when the
    image lies on another drive. ``region_types`` lists the distinct defect types of the regions.
    """

    image_id: str
    image_path: str
    width: int
    height: int
    verdict: Verdict = Verdict.UNLABELLED
    defect_type: str | None = None
    split: Split = Split.NONE
    region_count: int = 0
    region_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageFilter:
    """Selection for :meth:`labeling.project.Project.list_images`; a None field matches everything.

    ``defect_types`` matches the image-level type or the type of any region.
    """

    verdicts: frozenset[Verdict] | None = None
    defect_types: frozenset[str] | None = None
    splits: frozenset[Split] | None = None


@dataclass(frozen=True)
class ProjectCounts:
    """Image counts by verdict, image-level defect type and split."""

    total: int
    by_verdict: Mapping[Verdict, int]
    by_defect_type: Mapping[str, int]
    by_split: Mapping[Split, int]


@dataclass(frozen=True)
class SkippedFile:
    """A file an import or export left out, and why (the message names the fix)."""

    path: str
    reason: str


@dataclass(frozen=True)
class TransferReport:
    """Outcome of an import or export: what was written, what was odd, and what was skipped.

    Attributes:
        items: image ids (imports) or written file paths (exports).
        warnings: messages naming the file, the problem and the fix; the data was still used.
        skipped: files that were not used at all.
    """

    items: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()


def encode_runs(binary: np.ndarray) -> tuple[int, ...]:
    """Run-length encode a boolean 2-D array in row-major order, starting with a background run."""
    flat = np.asarray(binary, dtype=bool).ravel()
    if flat.size == 0:
        return ()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return tuple(int(run) for run in runs)


def decode_runs(counts: tuple[int, ...] | list[int], height: int, width: int) -> np.ndarray:
    """Decode row-major runs (background first) into a boolean ``height`` x ``width`` array.

    Raises:
        ValueError: the runs do not add up to ``height * width``, or one is negative.
    """
    values = np.asarray(counts, dtype=np.int64)
    if values.size and values.min() < 0:
        raise ValueError(f"mask run lengths must not be negative; got {values.min()}")
    if int(values.sum()) != height * width:
        raise ValueError(
            f"mask runs add up to {int(values.sum())} pixels but the box is {width}x{height} = {height * width}; "
            "the mask data is damaged, redraw or re-import the mask"
        )
    states = np.arange(values.size) % 2 == 1
    return np.repeat(states, values).reshape(height, width)
