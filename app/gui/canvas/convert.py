"""Conversion between the project's ImageLabel records and the canvas LabelDocument.

Fields the canvas does not edit (region ids, group ids, descriptions, flags, origin,
comment) are carried through unchanged, so opening and saving an image never drops
information another tool wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from app.gui.canvas.document import MASK_ON, POLYGON, RECTANGLE, CanvasShape, LabelDocument, MaskLayer
from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Split, Verdict


@dataclass
class LoadedLabel:
    """A document plus what is needed to write it back without losing fields.

    Attributes:
        document: the editable canvas document.
        base: the label as read from the project (its revision detects conflicts on save).
        regions_by_shape: original region of each canvas shape id.
        regions_by_mask: original pixel-mask region of each canvas mask region id.
    """

    document: LabelDocument
    base: ImageLabel
    regions_by_shape: dict[int, Region] = field(default_factory=dict)
    regions_by_mask: dict[int, Region] = field(default_factory=dict)


def document_from_label(label: ImageLabel, width: int, height: int) -> LoadedLabel:
    """Build a canvas document of a ``width`` x ``height`` image from ``label``."""
    document = LabelDocument(width, height)
    loaded = LoadedLabel(document=document, base=label)
    for region in label.regions:
        shape = region.shape
        if isinstance(shape, PixelMask):
            pixels = np.where(shape.to_array(height, width), MASK_ON, 0).astype(np.uint8)
            layer = MaskLayer(document.new_shape_id(), pixels, region.defect_type or "", region.region_id, region.origin)
            document.add_mask(layer)
            loaded.regions_by_mask[layer.mask_id] = region
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
    """Return one region per non-empty mask region; an unchanged region is returned exactly as it was loaded."""
    document = loaded.document
    regions = []
    for layer in document.masks:
        original = loaded.regions_by_mask.get(layer.mask_id)
        painted = layer.pixels > 0
        if not painted.any():
            continue
        if original is not None and np.array_equal(original.shape.to_array(document.height, document.width), painted):
            regions.append(replace(original, defect_type=layer.label or None))
            continue
        geometry = PixelMask.from_array(painted)
        if original is None:
            regions.append(
                Region(shape=geometry, defect_type=layer.label or None, region_id=layer.region_id, origin=layer.origin)
            )
        else:
            regions.append(replace(original, shape=geometry, defect_type=layer.label or None))
    return regions


def mark_saved(loaded: LoadedLabel, saved: ImageLabel) -> None:
    """Make ``saved`` (the label as written, with its new revision) the base for the next save."""
    shapes = loaded.document.shapes
    plain = [region for region in saved.regions if not isinstance(region.shape, PixelMask)]
    loaded.regions_by_shape = {shape.shape_id: region for shape, region in zip(shapes, plain, strict=True)}
    # Saved mask regions follow the document's non-empty mask regions in order (see _mask_regions).
    painted = [layer for layer in loaded.document.masks if layer.pixels.any()]
    masks = [region for region in saved.regions if isinstance(region.shape, PixelMask)]
    loaded.regions_by_mask = {layer.mask_id: region for layer, region in zip(painted, masks, strict=True)}
    loaded.base = saved
    loaded.document.set_modified(False)
