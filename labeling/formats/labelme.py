"""labelme JSON import and export (one ``.json`` file per image, as written by labelme 5.x).

Shapes map to regions: ``rectangle`` to :class:`~labeling.model.Rectangle`, ``polygon``
to :class:`~labeling.model.Polygon` and ``mask`` (a bounding box plus a base64 PNG of the
box) to :class:`~labeling.model.PixelMask`. labelme's other shape types (circle, line,
linestrip, point, points) are not imported, but exporting over an existing labelme file
keeps them, together with any top-level keys DefectSeek does not write.

The image verdict, type, split and comment travel in an extra top-level ``defectseek``
object. When it is absent, flags named ``good``/``ok`` or ``ng`` that are true set the
verdict, and otherwise an image with shapes is NG and one without is unlabelled.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from labeling.errors import LabelingError
from labeling.fileio import atomic_write_json, sync_file_system
from labeling.formats._common import ReportBuilder, relative_posix
from labeling.geometry import clamp_points, rectangle_from_corners
from labeling.imageio import ImageReadError, decode_image, encode_png, read_image_info
from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Shape, Split, TransferReport, Verdict
from labeling.project import Project, id_for_file

logger = logging.getLogger(__name__)

# Written into new files; the shape layout matches files saved by labelme 5.x.
LABELME_VERSION = "5.5.0"
IMPORTED_SHAPE_TYPES = frozenset({"rectangle", "polygon", "mask"})
_GOOD_FLAGS = ("good", "ok")
_NG_FLAGS = ("ng",)


# ----- reading -----


def resolve_image_path(json_path: Path, image_path: str) -> Path | None:
    """Find the image a labelme file points to, or None.

    ``imagePath`` is relative to the JSON file's folder and may use Windows separators
    (``..\\images\\a.jpg``). When that path does not exist, a file of the same name beside
    the JSON file is used.
    """
    if not image_path:
        return None
    normalized = image_path.replace("\\", "/")
    candidate = Path(normalized)
    if not candidate.is_absolute():
        candidate = Path(os.path.normpath(json_path.parent / candidate))
    if candidate.is_file():
        return candidate
    beside = json_path.parent / Path(normalized).name
    return beside if beside.is_file() else None


def parse_labelme(
    document: dict[str, Any], source: str, width: int, height: int
) -> tuple[ImageLabel, list[str]]:
    """Convert a labelme document into a label for an upright ``width`` x ``height`` image.

    Points outside the image are clamped into it, and polygons with fewer than three
    points and shapes of unsupported types are left out, each with a warning.

    Returns:
        The label and the warnings, each naming ``source``.
    """
    warnings: list[str] = []
    regions: list[Region] = []
    for index, shape in enumerate(document.get("shapes") or []):
        region = _region_from_shape(shape, index, source, width, height, warnings)
        if region is not None:
            regions.append(region)
    flags = tuple((str(name), bool(value)) for name, value in (document.get("flags") or {}).items())
    label = ImageLabel(image_width=width, image_height=height, regions=tuple(regions), flags=flags)
    return _apply_image_fields(label, document, flags), warnings


def import_labelme(
    project: Project, sources: Iterable[str | os.PathLike[str]], *, copy: bool = False
) -> TransferReport:
    """Import labelme JSON files and folders (searched recursively for ``*.json``) into ``project``.

    Image ids follow the JSON files, like :meth:`Project.add_images` does for images. Shape
    labels missing from the class list are added to it.

    Args:
        project: the target project.
        sources: JSON files and folders.
        copy: copy images into the project instead of referencing them. Images that
            exist only as embedded ``imageData`` are always copied.
    """
    report = ReportBuilder()
    for raw in sources:
        base = Path(raw)
        files = sorted(base.rglob("*.json")) if base.is_dir() else [base]
        for json_path in files:
            try:
                image_id = _import_one(project, json_path, id_for_file(base, json_path), copy, report)
            except (LabelingError, ImageReadError, OSError) as error:
                report.skip(json_path, str(error))
                continue
            if image_id is not None:
                report.items.append(image_id)
    project.flush_to_disk()
    return report.build()


# ----- writing -----


def labelme_document(label: ImageLabel, image_ref: str, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a labelme document for ``label``.

    Args:
        label: the label to write.
        image_ref: ``imagePath``, relative to the JSON file's folder.
        existing: a labelme document already at the destination. Its shapes of types
            DefectSeek does not import and its unknown top-level keys are kept.
    """
    document: dict[str, Any] = dict(existing or {})
    foreign_shapes = [
        shape for shape in document.get("shapes") or [] if shape.get("shape_type") not in IMPORTED_SHAPE_TYPES
    ]
    flags = dict(document.get("flags") or {})
    flags.update(dict(label.flags))
    document.update(
        {
            "version": document.get("version") or LABELME_VERSION,
            "flags": flags,
            "shapes": [_shape_document(region) for region in label.regions if _has_area(region)] + foreign_shapes,
            "imagePath": image_ref,
            "imageData": None,
            "imageHeight": label.image_height,
            "imageWidth": label.image_width,
            "defectseek": {
                "verdict": label.verdict.value,
                "defect_type": label.defect_type,
                "split": label.split.value,
                "comment": label.comment,
            },
        }
    )
    return document


def write_labelme_file(
    json_path: str | os.PathLike[str], label: ImageLabel, image_path: Path, *, fsync: bool = True
) -> list[str]:
    """Write ``label`` as a labelme file atomically, keeping what an existing file has that DefectSeek does not model.

    ``fsync`` is passed to :func:`labeling.fileio.atomic_write_bytes`.

    Returns:
        Warnings, for example when the existing file was not valid JSON and was replaced.
    """
    target = Path(json_path)
    warnings: list[str] = []
    existing: dict[str, Any] | None = None
    if target.is_file():
        try:
            existing = json.loads(target.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            warnings.append(f"{target}: the existing file is not valid JSON ({error}) and was replaced")
        if existing is not None and not isinstance(existing, dict):
            existing = None
    document = labelme_document(label, relative_posix(image_path, target.parent), existing)
    atomic_write_json(target, document, fsync=fsync)
    return warnings


def export_labelme(
    project: Project, output_dir: str | os.PathLike[str], image_ids: Sequence[str] | None = None
) -> TransferReport:
    """Write ``<output_dir>/<image id>.json`` for each image, pointing at the project's image files.

    Returns:
        The written JSON paths; images whose label cannot be read are skipped.
    """
    report = ReportBuilder()
    root = Path(output_dir)
    for image_id in image_ids if image_ids is not None else project.list_images():
        target = root / f"{image_id}.json"
        try:
            label = project.get_label(image_id)
            for message in write_labelme_file(target, label, project.image_path(image_id), fsync=False):
                report.warn(message)
        except (LabelingError, OSError) as error:
            report.skip(project.label_path(image_id), str(error))
            continue
        report.items.append(str(target))
    sync_file_system()
    return report.build()


# ----- internals -----


def _import_one(project: Project, json_path: Path, image_id: str, copy: bool, report: ReportBuilder) -> str | None:
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        report.skip(json_path, f"not valid UTF-8 JSON ({error}); open and re-save it in labelme")
        return None
    if not isinstance(document, dict) or "shapes" not in document:
        report.skip(json_path, "not a labelme file (no 'shapes' list); check that it was saved by labelme")
        return None
    image_path = resolve_image_path(json_path, str(document.get("imagePath") or ""))
    if image_path is not None:
        return _add_labelme_image(project, document, json_path, image_path, image_id, copy, report)
    with tempfile.TemporaryDirectory(prefix="defectseek-labelme-") as scratch:
        embedded = _embedded_image(document, json_path, Path(scratch))
        if embedded is None:
            report.skip(
                json_path,
                f"image {document.get('imagePath')!r} not found and the file has no imageData; "
                "put the image beside the JSON file or fix imagePath",
            )
            return None
        return _add_labelme_image(project, document, json_path, embedded, image_id, True, report)


def _add_labelme_image(
    project: Project,
    document: dict[str, Any],
    json_path: Path,
    image_path: Path,
    image_id: str,
    copy: bool,
    report: ReportBuilder,
) -> str | None:
    info = read_image_info(image_path)
    stored = (document.get("imageWidth"), document.get("imageHeight"))
    if None not in stored and tuple(int(value) for value in stored) != (info.width, info.height):
        report.skip(
            json_path,
            f"imageWidth x imageHeight {stored[0]}x{stored[1]} differ from the upright image "
            f"{image_path} ({info.width}x{info.height}), so the shapes would be misplaced; "
            "open and re-save the file in labelme",
        )
        return None
    label, warnings = parse_labelme(document, str(json_path), info.width, info.height)
    for message in warnings:
        report.warn(message)
    project.ensure_classes([name for name in _used_types(label) if name])
    return project.add_image(image_path, copy=copy, image_id=image_id, label=label, durable=False)


def _embedded_image(document: dict[str, Any], json_path: Path, scratch: Path) -> Path | None:
    encoded = document.get("imageData")
    if not encoded:
        return None
    try:
        data = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return None
    name = Path(str(document.get("imagePath") or "").replace("\\", "/")).name or f"{json_path.stem}.png"
    target = scratch / name
    target.write_bytes(data)
    return target


def _used_types(label: ImageLabel) -> list[str]:
    names = [region.defect_type for region in label.regions if region.defect_type]
    if label.defect_type:
        names.insert(0, label.defect_type)
    return names


def _apply_image_fields(label: ImageLabel, document: dict[str, Any], flags: tuple[tuple[str, bool], ...]) -> ImageLabel:
    extension = document.get("defectseek")
    if isinstance(extension, dict):
        return replace(
            label,
            verdict=Verdict(extension.get("verdict", Verdict.UNLABELLED.value)),
            defect_type=extension.get("defect_type") or None,
            split=Split(extension.get("split", Split.NONE.value)),
            comment=str(extension.get("comment") or ""),
        )
    set_flags = {name.lower() for name, value in flags if value}
    first_type = next((region.defect_type for region in label.regions if region.defect_type), None)
    if set_flags & set(_NG_FLAGS) or (label.regions and not set_flags & set(_GOOD_FLAGS)):
        return replace(label, verdict=Verdict.NG, defect_type=first_type)
    if set_flags & set(_GOOD_FLAGS):
        return replace(label, verdict=Verdict.GOOD)
    return label


def _region_from_shape(
    shape: dict[str, Any], index: int, source: str, width: int, height: int, warnings: list[str]
) -> Region | None:
    kind = shape.get("shape_type") or "polygon"
    name = str(shape.get("label") or "") or None
    where = f"{source}: shape {index} ({kind} {name!r})"
    if kind not in IMPORTED_SHAPE_TYPES:
        warnings.append(f"{where}: shape type {kind!r} is not imported; it stays in the labelme file")
        return None
    try:
        points = [(float(x), float(y)) for x, y in shape.get("points") or []]
    except (TypeError, ValueError):
        warnings.append(f"{where}: points are not [x, y] number pairs; fix them in labelme. Skipped")
        return None
    geometry = _shape_geometry(kind, points, shape, where, width, height, warnings)
    if geometry is None:
        return None
    group_id = shape.get("group_id")
    return Region(
        shape=geometry,
        defect_type=name,
        group_id=int(group_id) if group_id is not None else None,
        description=str(shape.get("description") or ""),
        flags=tuple((str(key), bool(value)) for key, value in (shape.get("flags") or {}).items()),
        origin="import",
    )


def _shape_geometry(
    kind: str,
    points: list[tuple[float, float]],
    shape: dict[str, Any],
    where: str,
    width: int,
    height: int,
    warnings: list[str],
) -> Shape | None:
    if kind == "mask":
        return _mask_geometry(points, shape, where, width, height, warnings)
    needed = 2 if kind == "rectangle" else 3
    if len(points) < needed:
        warnings.append(f"{where}: a {kind} needs at least {needed} points but has {len(points)}; skipped")
        return None
    clamped, moved = clamp_points(points, width, height)
    if moved:
        warnings.append(f"{where}: points outside the {width}x{height} image were clamped to its border")
    if kind == "rectangle":
        (x_a, y_a), (x_b, y_b) = clamped[0], clamped[1]
        rectangle = rectangle_from_corners(x_a, y_a, x_b, y_b)
        if rectangle.x1 <= rectangle.x0 or rectangle.y1 <= rectangle.y0:
            warnings.append(f"{where}: the rectangle has no area inside the image; skipped")
            return None
        return rectangle
    return Polygon(points=clamped)


def _mask_geometry(
    points: list[tuple[float, float]],
    shape: dict[str, Any],
    where: str,
    width: int,
    height: int,
    warnings: list[str],
) -> PixelMask | None:
    encoded = shape.get("mask")
    if not encoded or len(points) < 1:
        warnings.append(f"{where}: a mask shape needs a box and base64 'mask' data; skipped")
        return None
    try:
        pixels = decode_image(base64.b64decode(encoded), where, min_side_px=1).pixels
    except (ImageReadError, binascii.Error, ValueError) as error:
        warnings.append(f"{where}: the mask data cannot be decoded ({error}); redraw the mask. Skipped")
        return None
    crop = (pixels.max(axis=2) if pixels.ndim == 3 else pixels) > 0
    left, top = int(points[0][0]), int(points[0][1])
    if len(points) >= 2:
        box = (int(points[1][0]) - left + 1, int(points[1][1]) - top + 1)
        if box != (crop.shape[1], crop.shape[0]):
            warnings.append(
                f"{where}: the mask is {crop.shape[1]}x{crop.shape[0]} but its box is {box[0]}x{box[1]}; "
                "the mask size was used"
            )
    full = np.zeros((height, width), dtype=bool)
    bottom, right = min(top + crop.shape[0], height), min(left + crop.shape[1], width)
    if top < 0 or left < 0 or bottom < top + crop.shape[0] or right < left + crop.shape[1]:
        warnings.append(f"{where}: the mask reaches outside the {width}x{height} image; the outside part was cut off")
    if bottom > max(top, 0) and right > max(left, 0):
        full[max(top, 0) : bottom, max(left, 0) : right] = crop[max(-top, 0) : bottom - top, max(-left, 0) : right - left]
    mask = PixelMask.from_array(full)
    if mask.area == 0:
        warnings.append(f"{where}: the mask is empty inside the image; skipped")
        return None
    return mask


def _has_area(region: Region) -> bool:
    shape = region.shape
    return not isinstance(shape, PixelMask) or shape.area > 0


def _shape_document(region: Region) -> dict[str, Any]:
    shape = region.shape
    document: dict[str, Any] = {
        "label": region.defect_type or "",
        "points": [],
        "group_id": region.group_id,
        "description": region.description,
        "shape_type": shape.kind,
        "flags": dict(region.flags),
        "mask": None,
    }
    if isinstance(shape, Rectangle):
        document["points"] = [[shape.x0, shape.y0], [shape.x1, shape.y1]]
    elif isinstance(shape, Polygon):
        document["points"] = [[x, y] for x, y in shape.points]
    else:
        crop = shape.crop_array().astype(np.uint8) * 255
        document["points"] = [
            [float(shape.left), float(shape.top)],
            [float(shape.left + shape.width - 1), float(shape.top + shape.height - 1)],
        ]
        document["mask"] = base64.b64encode(encode_png(crop)).decode("ascii")
    return document
