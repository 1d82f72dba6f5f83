"""Undo commands for the label canvas; each one changes a LabelDocument through its methods."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QRect
from PySide6.QtGui import QUndoCommand

from app.gui.canvas.document import CanvasShape, LabelDocument, MaskLayer


class AddShapeCommand(QUndoCommand):
    """Add one rectangle or polygon."""

    def __init__(self, document: LabelDocument, shape: CanvasShape) -> None:
        super().__init__(
            QCoreApplication.translate("CanvasCommands", "Add rectangle")
            if shape.kind == "rectangle"
            else QCoreApplication.translate("CanvasCommands", "Add polygon")
        )
        self._document = document
        self._shape = shape

    def redo(self) -> None:  # noqa: D102
        self._document.add_shape(self._shape)

    def undo(self) -> None:  # noqa: D102
        self._document.remove_shape(self._shape.shape_id)


class RemoveShapesCommand(QUndoCommand):
    """Delete shapes; undo puts them back in their original order."""

    def __init__(self, document: LabelDocument, shape_ids: list[int]) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Delete shapes"))
        self._document = document
        self._shapes = [document.shape(shape_id) for shape_id in shape_ids]

    def redo(self) -> None:  # noqa: D102
        for shape in self._shapes:
            self._document.remove_shape(shape.shape_id)

    def undo(self) -> None:  # noqa: D102
        for shape in self._shapes:
            self._document.add_shape(shape)


class MoveShapesCommand(QUndoCommand):
    """Move shapes by an offset in image pixels."""

    def __init__(self, document: LabelDocument, shape_ids: list[int], dx: float, dy: float) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Move shapes"))
        self._document = document
        self._shape_ids = list(shape_ids)
        self._dx = dx
        self._dy = dy

    def _move(self, dx: float, dy: float) -> None:
        for shape_id in self._shape_ids:
            self._document.replace_shape(self._document.shape(shape_id).translated(dx, dy))

    def redo(self) -> None:  # noqa: D102
        self._move(self._dx, self._dy)

    def undo(self) -> None:  # noqa: D102
        self._move(-self._dx, -self._dy)


class SetShapeLabelCommand(QUndoCommand):
    """Change the defect type of shapes."""

    def __init__(self, document: LabelDocument, shape_ids: list[int], label: str) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Set defect type"))
        self._document = document
        self._before = [document.shape(shape_id) for shape_id in shape_ids]
        self._label = label

    def redo(self) -> None:  # noqa: D102
        for shape in self._before:
            self._document.replace_shape(CanvasShape(shape.shape_id, shape.kind, shape.points, self._label))

    def undo(self) -> None:  # noqa: D102
        for shape in self._before:
            self._document.replace_shape(shape)


class MaskEditCommand(QUndoCommand):
    """Replace the pixels of one mask region inside a rectangle (a brush or eraser stroke).

    Only the changed rectangle is stored, so a stroke on a 5-megapixel image costs
    kilobytes, not megabytes. When ``applied`` is true the pixels are already in the
    document (painted live), and the first redo only records the change.
    """

    def __init__(
        self,
        document: LabelDocument,
        mask_id: int,
        rect: QRect,
        before: np.ndarray,
        after: np.ndarray,
        text: str,
        *,
        applied: bool = False,
    ) -> None:
        super().__init__(text)
        self._document = document
        self._mask_id = mask_id
        self._rect = QRect(rect)
        self._before = before.copy()
        self._after = after.copy()
        self._skip_redo = applied

    @property
    def stored_pixel_count(self) -> int:
        """Number of mask pixels this command keeps for undo and redo."""
        return int(self._before.size + self._after.size)

    def redo(self) -> None:  # noqa: D102
        if self._skip_redo:
            self._skip_redo = False
            self._document.set_modified(True)
            return
        self._document.set_mask_pixels(self._mask_id, self._rect, self._after)

    def undo(self) -> None:  # noqa: D102
        self._document.set_mask_pixels(self._mask_id, self._rect, self._before)


class _StoredMask:
    """A mask region kept by an undo command as its bounding-box crop, so it can be rebuilt."""

    def __init__(self, layer: MaskLayer, index: int) -> None:
        self.mask_id = layer.mask_id
        self.label = layer.label
        self.region_id = layer.region_id
        self.origin = layer.origin
        self.index = index
        rows = np.flatnonzero(layer.pixels.any(axis=1))
        cols = np.flatnonzero(layer.pixels.any(axis=0))
        if rows.size == 0:
            self.rect = QRect()
            self.crop = np.zeros((0, 0), dtype=np.uint8)
            return
        self.rect = QRect(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
        self.crop = layer.pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()

    def rebuild(self, document: LabelDocument) -> MaskLayer:
        pixels = np.zeros((document.height, document.width), dtype=np.uint8)
        if not self.rect.isEmpty():
            top, left = self.rect.y(), self.rect.x()
            pixels[top : top + self.rect.height(), left : left + self.rect.width()] = self.crop
        return MaskLayer(self.mask_id, pixels, self.label, self.region_id, self.origin)


class AddMaskCommand(QUndoCommand):
    """Add a mask region (a brush stroke that started a new region, or an accepted proposal).

    When ``applied`` is true the region is already in the document (painted live), and
    the first redo only records the change. Only the region's bounding-box crop is kept.
    """

    def __init__(self, document: LabelDocument, layer: MaskLayer, text: str, *, applied: bool = False) -> None:
        super().__init__(text)
        self._document = document
        index = document.mask_index(layer.mask_id) if document.has_mask(layer.mask_id) else len(document.masks)
        self._stored = _StoredMask(layer, index)
        self._skip_redo = applied

    @property
    def stored_pixel_count(self) -> int:
        """Number of mask pixels this command keeps for undo and redo."""
        return int(self._stored.crop.size)

    def redo(self) -> None:  # noqa: D102
        if self._skip_redo:
            self._skip_redo = False
            self._document.set_modified(True)
        else:
            self._document.add_mask(self._stored.rebuild(self._document), self._stored.index)

    def undo(self) -> None:  # noqa: D102
        self._document.remove_mask(self._stored.mask_id)


class RemoveMasksCommand(QUndoCommand):
    """Delete mask regions; undo puts them back at their drawing positions."""

    def __init__(self, document: LabelDocument, mask_ids: list[int]) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Delete mask regions"))
        self._document = document
        self._stored = [_StoredMask(document.mask_layer(mask_id), document.mask_index(mask_id)) for mask_id in mask_ids]

    def redo(self) -> None:  # noqa: D102
        for stored in self._stored:
            self._document.remove_mask(stored.mask_id)

    def undo(self) -> None:  # noqa: D102
        for stored in sorted(self._stored, key=lambda item: item.index):
            self._document.add_mask(stored.rebuild(self._document), stored.index)


class SetMaskLabelCommand(QUndoCommand):
    """Change the defect type of one mask region."""

    def __init__(self, document: LabelDocument, mask_id: int, label: str) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Set defect type"))
        self._document = document
        self._mask_id = mask_id
        self._before = document.mask_layer(mask_id).label
        self._label = label

    def redo(self) -> None:  # noqa: D102
        self._document.set_mask_label(self._mask_id, self._label)

    def undo(self) -> None:  # noqa: D102
        self._document.set_mask_label(self._mask_id, self._before)


class SetVerdictCommand(QUndoCommand):
    """Set the image verdict and defect type."""

    def __init__(self, document: LabelDocument, verdict: str, defect_type: str) -> None:
        super().__init__(QCoreApplication.translate("CanvasCommands", "Set verdict"))
        self._document = document
        self._before = (document.verdict, document.defect_type)
        self._after = (verdict, defect_type)

    def redo(self) -> None:  # noqa: D102
        self._document.set_verdict(*self._after)

    def undo(self) -> None:  # noqa: D102
        self._document.set_verdict(*self._before)
