"""The editable label of the image on the canvas: shapes as plain geometry, a brush mask and a verdict.

Undo commands change a :class:`LabelDocument` only through its methods, and the
scene redraws itself from the document's signals, so the document is the single
source of truth while an image is open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal

logger = logging.getLogger(__name__)

RECTANGLE = "rectangle"
POLYGON = "polygon"
SHAPE_KINDS = (RECTANGLE, POLYGON)
MASK_ON = 255

Point = tuple[float, float]


@dataclass(frozen=True)
class CanvasShape:
    """A rectangle or polygon in image pixel coordinates.

    Attributes:
        shape_id: identifier unique within one document.
        kind: ``rectangle`` (two opposite corners) or ``polygon`` (three or more vertices).
        points: vertices as (x, y) floats; x grows to the right and y downwards.
        label: the defect type name, or an empty string when none is set.
    """

    shape_id: int
    kind: str
    points: tuple[Point, ...]
    label: str = ""

    def translated(self, dx: float, dy: float) -> CanvasShape:
        """Return a copy moved by (dx, dy) pixels."""
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))


def clamp_point(point: Point, width: int, height: int) -> Point:
    """Clamp (x, y) to the image rectangle [0, width] x [0, height]."""
    x, y = point
    return (min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height)))


class LabelDocument(QObject):
    """Shapes, mask and verdict of one image, with change signals for the scene and the page.

    The mask is an H x W ``uint8`` array: 0 is background and 255 is defect.
    """

    shape_added = Signal(int)
    shape_removed = Signal(int)
    shape_changed = Signal(int)
    mask_changed = Signal(QRect)
    verdict_changed = Signal()
    modified_changed = Signal(bool)

    def __init__(self, width: int, height: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.width = int(width)
        self.height = int(height)
        self.mask = np.zeros((self.height, self.width), dtype=np.uint8)
        self.verdict = "unlabelled"
        self.defect_type = ""
        self.split = "none"
        self._shapes: dict[int, CanvasShape] = {}
        self._next_id = 1
        self._modified = False

    @property
    def shapes(self) -> list[CanvasShape]:
        """The shapes in drawing order."""
        return list(self._shapes.values())

    def shape(self, shape_id: int) -> CanvasShape:
        """Return the shape with ``shape_id``; raises KeyError when it is not in the document."""
        return self._shapes[shape_id]

    def new_shape_id(self) -> int:
        """Reserve an id for a shape about to be added."""
        shape_id = self._next_id
        self._next_id += 1
        return shape_id

    def add_shape(self, shape: CanvasShape) -> None:
        """Add ``shape`` (its id must be unused)."""
        if shape.kind not in SHAPE_KINDS:
            raise ValueError(f"unknown shape kind {shape.kind!r}; use one of {SHAPE_KINDS}")
        self._shapes[shape.shape_id] = shape
        self._next_id = max(self._next_id, shape.shape_id + 1)
        self.shape_added.emit(shape.shape_id)
        self.set_modified(True)

    def remove_shape(self, shape_id: int) -> CanvasShape:
        """Remove and return the shape with ``shape_id``."""
        shape = self._shapes.pop(shape_id)
        self.shape_removed.emit(shape_id)
        self.set_modified(True)
        return shape

    def replace_shape(self, shape: CanvasShape) -> None:
        """Replace the stored shape that has the same id."""
        if shape.shape_id not in self._shapes:
            raise KeyError(f"shape {shape.shape_id} is not in the document")
        self._shapes[shape.shape_id] = shape
        self.shape_changed.emit(shape.shape_id)
        self.set_modified(True)

    def set_mask_region(self, rect: QRect, values: np.ndarray) -> None:
        """Write ``values`` into the mask at ``rect`` and announce the change."""
        top, left = rect.y(), rect.x()
        self.mask[top : top + rect.height(), left : left + rect.width()] = values
        self.mask_changed.emit(QRect(rect))
        self.set_modified(True)

    def announce_mask_region(self, rect: QRect) -> None:
        """Announce that pixels inside ``rect`` were painted in place (live brush strokes)."""
        self.mask_changed.emit(QRect(rect))

    def set_verdict(self, verdict: str, defect_type: str) -> None:
        """Set the image verdict (``unlabelled``, ``good`` or ``ng``) and the defect type name ("" for none)."""
        self.verdict = verdict
        self.defect_type = defect_type
        self.verdict_changed.emit()
        self.set_modified(True)

    def set_split(self, split: str) -> None:
        """Set the dataset split (``none``, ``train``, ``validation`` or ``test``)."""
        if split != self.split:
            self.split = split
            self.set_modified(True)

    def set_modified(self, modified: bool) -> None:
        """Mark the document as changed since the last save (or not)."""
        if modified != self._modified:
            self._modified = modified
            self.modified_changed.emit(modified)

    @property
    def modified(self) -> bool:
        """True when the document changed since it was loaded or saved."""
        return self._modified
