"""The editable label of the image on the canvas: shapes as plain geometry, mask regions and a verdict.

Undo commands change a :class:`LabelDocument` only through its methods, and the
scene redraws itself from the document's signals, so the document is the single
source of truth while an image is open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal

from labeling.model import new_region_id

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


@dataclass(eq=False)
class MaskLayer:
    """One pixel-mask region: its own H x W ``uint8`` array (0 background, 255 defect) and defect type.

    Attributes:
        mask_id: identifier unique within one document, from the same counter as shape ids.
        pixels: the mask, changed in place only through :class:`LabelDocument` methods or a live brush stroke.
        label: the defect type name, or an empty string when none is set.
        region_id: the id the region is saved under (kept from the label file, or new).
        origin: ``manual``, ``import`` or ``assist``, as in :class:`labeling.model.Region`.
    """

    mask_id: int
    pixels: np.ndarray
    label: str = ""
    region_id: str = field(default_factory=new_region_id)
    origin: str = "manual"

    @property
    def area(self) -> int:
        """Number of defect pixels."""
        return int(np.count_nonzero(self.pixels))


def clamp_point(point: Point, width: int, height: int) -> Point:
    """Clamp (x, y) to the image rectangle [0, width] x [0, height]."""
    x, y = point
    return (min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height)))


class LabelDocument(QObject):
    """Shapes, mask regions and verdict of one image, with change signals for the scene and the page.

    Every mask region is a :class:`MaskLayer` with its own array, so regions of different
    defect types stay separate even where they overlap. The active mask region is the one
    the brush and the eraser edit. It is view state, so changing it does not mark the document modified.
    """

    shape_added = Signal(int)
    shape_removed = Signal(int)
    shape_changed = Signal(int)
    mask_added = Signal(int)
    mask_removed = Signal(int)
    mask_label_changed = Signal(int)
    mask_changed = Signal(int, QRect)
    active_mask_changed = Signal(int)
    verdict_changed = Signal()
    modified_changed = Signal(bool)

    def __init__(self, width: int, height: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.width = int(width)
        self.height = int(height)
        self.verdict = "unlabelled"
        self.defect_type = ""
        self.split = "none"
        self._shapes: dict[int, CanvasShape] = {}
        self._masks: dict[int, MaskLayer] = {}
        self._active_mask_id = 0
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

    @property
    def masks(self) -> list[MaskLayer]:
        """The mask regions in drawing order."""
        return list(self._masks.values())

    def mask_layer(self, mask_id: int) -> MaskLayer:
        """Return the mask region with ``mask_id``; raises KeyError when it is not in the document."""
        return self._masks[mask_id]

    def mask_index(self, mask_id: int) -> int:
        """Return the drawing position of mask region ``mask_id``."""
        return list(self._masks).index(mask_id)

    def has_mask(self, mask_id: int) -> bool:
        """True when a mask region with ``mask_id`` is in the document."""
        return mask_id in self._masks

    @property
    def mask(self) -> np.ndarray:
        """The union of all mask regions as a new H x W ``uint8`` array (255 where any region is set).

        Writing into the returned array changes nothing; edit a region through the document.
        """
        union = np.zeros((self.height, self.width), dtype=np.uint8)
        for layer in self._masks.values():
            np.maximum(union, layer.pixels, out=union)
        return union

    def new_mask_layer(self, label: str, *, origin: str = "manual") -> MaskLayer:
        """Return an empty mask region with a fresh id, not yet added to the document."""
        pixels = np.zeros((self.height, self.width), dtype=np.uint8)
        return MaskLayer(self.new_shape_id(), pixels, label, origin=origin)

    def add_mask(self, layer: MaskLayer, index: int | None = None) -> None:
        """Add ``layer`` at drawing position ``index`` (the end when None); its id must be unused."""
        if layer.pixels.shape != (self.height, self.width) or layer.pixels.dtype != np.uint8:
            raise ValueError(
                f"mask region {layer.mask_id} is {layer.pixels.shape} {layer.pixels.dtype}; "
                f"a mask region must be a ({self.height}, {self.width}) uint8 array"
            )
        layers = list(self._masks.values())
        layers.insert(len(layers) if index is None else index, layer)
        self._masks = {item.mask_id: item for item in layers}
        self._next_id = max(self._next_id, layer.mask_id + 1)
        self.mask_added.emit(layer.mask_id)
        self.set_modified(True)

    def remove_mask(self, mask_id: int) -> MaskLayer:
        """Remove and return the mask region with ``mask_id``; it stops being the active one."""
        if mask_id == self._active_mask_id:
            self.set_active_mask(0)
        layer = self._masks.pop(mask_id)
        self.mask_removed.emit(mask_id)
        self.set_modified(True)
        return layer

    def set_mask_label(self, mask_id: int, label: str) -> None:
        """Set the defect type of a mask region ("" for none)."""
        self._masks[mask_id].label = label
        self.mask_label_changed.emit(mask_id)
        self.set_modified(True)

    def set_mask_pixels(self, mask_id: int, rect: QRect, values: np.ndarray) -> None:
        """Write ``values`` into the mask region ``mask_id`` at ``rect`` and announce the change."""
        top, left = rect.y(), rect.x()
        self._masks[mask_id].pixels[top : top + rect.height(), left : left + rect.width()] = values
        self.mask_changed.emit(mask_id, QRect(rect))
        self.set_modified(True)

    def announce_mask_pixels(self, mask_id: int, rect: QRect) -> None:
        """Announce that pixels of mask region ``mask_id`` inside ``rect`` were painted in place (live strokes)."""
        self.mask_changed.emit(mask_id, QRect(rect))

    @property
    def active_mask_id(self) -> int:
        """Id of the mask region the brush and eraser edit, or 0 when none is active."""
        return self._active_mask_id

    def set_active_mask(self, mask_id: int) -> None:
        """Make ``mask_id`` the edited mask region (0: none, so the next brush stroke starts a new region)."""
        if mask_id and mask_id not in self._masks:
            raise KeyError(f"mask region {mask_id} is not in the document")
        if mask_id != self._active_mask_id:
            self._active_mask_id = mask_id
            self.active_mask_changed.emit(mask_id)

    def mask_at(self, x: int, y: int) -> int:
        """Return the id of the topmost mask region set at pixel (x, y), or 0 when none is."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return 0
        for layer in reversed(self._masks.values()):
            if layer.pixels[y, x]:
                return layer.mask_id
        return 0

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
