"""Undo commands for the label canvas; each one changes a LabelDocument through its methods."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QRect
from PySide6.QtGui import QUndoCommand

from app.gui.canvas.document import CanvasShape, LabelDocument


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
    """Replace the mask pixels inside a rectangle (a brush or eraser stroke, or an accepted proposal).

    Only the changed rectangle is stored, so a stroke on a 5-megapixel image costs
    kilobytes, not megabytes. When ``applied`` is true the pixels are already in the
    document (painted live), and the first redo only records the change.
    """

    def __init__(
        self,
        document: LabelDocument,
        rect: QRect,
        before: np.ndarray,
        after: np.ndarray,
        text: str,
        *,
        applied: bool = False,
    ) -> None:
        super().__init__(text)
        self._document = document
        self._rect = QRect(rect)
        self._before = before.copy()
        self._after = after.copy()
        self._skip_redo = applied

    def redo(self) -> None:  # noqa: D102
        if self._skip_redo:
            self._skip_redo = False
            self._document.set_modified(True)
            return
        self._document.set_mask_region(self._rect, self._after)

    def undo(self) -> None:  # noqa: D102
        self._document.set_mask_region(self._rect, self._before)


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
