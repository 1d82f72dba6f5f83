"""Conversion between the project's ImageLabel records and the canvas LabelDocument.

Fields the canvas does not edit (region ids, group ids, descriptions, flags, origin,
comment) are carried through unchanged, so opening and saving an image never drops
information another tool wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from app.gui.canvas.document import MASK_ON, POLYGON, RECTANGLE, CanvasShape, LabelDocument
from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Split, Verdict


@dataclass
class LoadedLabel:
    """A document plus what is needed to write it back without losing fields.

    Attributes:
        document: the editable canvas document.
        base: the label as read from the project (its revision detects conflicts on save).
        regions_by_shape: original region of each canvas shape id.
        mask_regions: original pixel-mask regions, merged into ``document.mask``.
        mask_at_load: a copy of the merged mask, to tell whether the brush changed it.
    """

    document: LabelDocument
    base: ImageLabel
    regions_by_shape: dict[int, Region] = field(default_factory=dict)
    mask_regions: list[Region] = field(default_factory=list)
    mask_at_load: np.ndarray | None = None


def document_from_label(label: ImageLabel, width: int, height: int) -> LoadedLabel:
    """Build a canvas document of a ``width`` x ``height`` image from ``label``."""
    document = LabelDocument(width, height)
    loaded = LoadedLabel(document=document, base=label)
    for region in label.regions:
        shape = region.shape
        if isinstance(shape, PixelMask):
            document.mask[shape.to_array(height, width)] = MASK_ON
            loaded.mask_regions.append(region)
            continue
        shape_id = document.new_shape_id()
        if isinstance(shape, Rectangle):
            canvas_shape = CanvasShape(
                shape_id, RECTANGLE, ((shape.x0, shape.y0), (shape.x1, shape.y1)), region.defect_type or ""
            )
        else:
            canvas_shape = CanvasShape(shape_id, POLYGON, tuple(shape.points), region.defect_type or "")
        document.add_shape(canvas_shape)
        loaded.regions_by_shape[shape_id] = region
    document.verdict = label.verdict.value
    document.defect_type = label.defect_type or ""
    document.split = label.split.value
    loaded.mask_at_load = document.mask.copy()
    document.set_modified(False)
    return loaded


def label_from_document(loaded: LoadedLabel) -> ImageLabel:
    """Build the ImageLabel to save from the edited document, keeping untouched fields of ``loaded.base``."""
    document = loaded.document
    regions = [_region_of(shape, loaded.regions_by_shape.get(shape.shape_id)) for shape in document.shapes]
    regions.extend(_mask_regions(loaded))
    return replace(
        loaded.base,
        image_width=document.width,
        image_height=document.height,
        verdict=Verdict(document.verdict),
        defect_type=document.defect_type or None,
        split=Split(document.split),
        regions=tuple(regions),
    )


def _region_of(shape: CanvasShape, original: Region | None) -> Region:
    if shape.kind == RECTANGLE:
        (x0, y0), (x1, y1) = shape.points
        geometry = Rectangle(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    else:
        geometry = Polygon(tuple((float(x), float(y)) for x, y in shape.points))
    if original is None:
        return Region(shape=geometry, defect_type=shape.label or None)
    return replace(original, shape=geometry, defect_type=shape.label or None)


def _mask_regions(loaded: LoadedLabel) -> list[Region]:
    """Return the original mask regions when the brush did not change the mask, else one merged region.

    NOTE: the canvas edits one binary mask per image. After a brush edit, all mask
    regions become one region with the first region's id, defect type and origin,
    or with the image's defect type when the image had no mask before.
    """
    document = loaded.document
    if loaded.mask_at_load is not None and np.array_equal(loaded.mask_at_load, document.mask):
        return list(loaded.mask_regions)
    if not document.mask.any():
        return []
    geometry = PixelMask.from_array(document.mask > 0)
    if loaded.mask_regions:
        return [replace(loaded.mask_regions[0], shape=geometry)]
    return [Region(shape=geometry, defect_type=document.defect_type or None)]


def mark_saved(loaded: LoadedLabel, saved: ImageLabel) -> None:
    """Make ``saved`` (the label as written, with its new revision) the base for the next save."""
    shapes = loaded.document.shapes
    plain = [region for region in saved.regions if not isinstance(region.shape, PixelMask)]
    loaded.regions_by_shape = {shape.shape_id: region for shape, region in zip(shapes, plain, strict=True)}
    loaded.mask_regions = [region for region in saved.regions if isinstance(region.shape, PixelMask)]
    loaded.mask_at_load = loaded.document.mask.copy()
    loaded.base = saved
    loaded.document.set_modified(False)
