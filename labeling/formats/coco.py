"""COCO instance segmentation import and export (one JSON file with images, annotations and categories).

Annotations map to regions: a polygon list gives one polygon region per ring (rings of
one annotation share a ``group_id``), an RLE object gives a pixel-mask region, and an
annotation with only a ``bbox`` gives a rectangle. The image verdict, type, split and
comment travel in an extra ``defectseek`` object of each image record. Without it, an
image with annotations is NG, and one without is good by default, because COCO files
list the images that were reviewed.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from labeling.errors import LabelingError
from labeling.fileio import atomic_write_json
from labeling.formats._common import ReportBuilder, relative_posix
from labeling.formats.coco_rle import decode_rle, encode_rle
from labeling.geometry import clamp_points, region_mask, shape_bounds
from labeling.imageio import ImageReadError, read_image_info
from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Split, TransferReport, Verdict
from labeling.project import Project

logger = logging.getLogger(__name__)

SUPERCATEGORY = "defect"


def import_coco(
    project: Project,
    json_path: str | os.PathLike[str],
    *,
    image_root: str | os.PathLike[str] | None = None,
    copy: bool = False,
    images_without_annotations: Verdict = Verdict.GOOD,
) -> TransferReport:
    """Import a COCO instance segmentation file into ``project``.

    Args:
        project: the target project.
        json_path: the COCO JSON file.
        image_root: folder that ``file_name`` values are relative to; defaults to the
            JSON file's folder, then its ``images`` subfolder.
        copy: copy images into the project instead of referencing them.
        images_without_annotations: verdict of images that have no annotations and no
            ``defectseek`` record.

    Returns:
        The new image ids; images whose file is missing or whose size differs from the
        record are skipped, and invalid annotations become warnings.
    """
    report = ReportBuilder()
    source = Path(json_path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        images = list(document["images"])
        annotations = list(document.get("annotations") or [])
        categories = {int(item["id"]): str(item["name"]) for item in document.get("categories") or []}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        report.skip(source, f"not a readable COCO file ({error}); check that it has 'images' and 'categories'")
        return report.build()
    project.ensure_classes(categories[key] for key in sorted(categories))
    by_image: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for annotation in annotations:
        by_image[annotation.get("image_id")].append(annotation)
    roots = [Path(image_root)] if image_root is not None else [source.parent, source.parent / "images"]
    for record in images:
        try:
            image_id = _import_image(
                project, record, by_image.get(record.get("id"), []), categories, roots, copy,
                images_without_annotations, report,
            )
        except (LabelingError, ImageReadError, OSError, KeyError, TypeError, ValueError) as error:
            report.skip(f"{source} image {record.get('file_name')!r}", str(error))
            continue
        if image_id is not None:
            report.items.append(image_id)
    project.flush_to_disk()
    return report.build()


def export_coco(
    project: Project,
    json_path: str | os.PathLike[str],
    image_ids: Sequence[str] | None = None,
    *,
    compressed_rle: bool = False,
) -> TransferReport:
    """Write the project's labelled images as a COCO instance segmentation file.

    ``file_name`` is the image path relative to the JSON file's folder. Categories are
    the class list, numbered from 1. Rectangles and polygons are written as polygons,
    pixel masks as RLE, and polygon regions that share a ``group_id`` and a type as one
    annotation. A region without a type takes the image's type. Unlabelled images are
    skipped.

    Args:
        project: the source project.
        json_path: the file to write.
        image_ids: images to export; defaults to all.
        compressed_rle: write RLE ``counts`` as the compressed string instead of a list.
    """
    report = ReportBuilder()
    target = Path(json_path)
    category_ids = {name: index + 1 for index, name in enumerate(project.info.class_names)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id in image_ids if image_ids is not None else project.list_images():
        try:
            label = project.get_label(image_id)
        except LabelingError as error:
            report.skip(project.label_path(image_id), str(error))
            continue
        if label.verdict is Verdict.UNLABELLED:
            report.skip(project.label_path(image_id), "the image is unlabelled; mark it good or NG to export it")
            continue
        record_id = len(images) + 1
        images.append(_image_record(record_id, image_id, label, relative_posix(project.image_path(image_id), target.parent)))
        for annotation in _annotations_for(image_id, label, category_ids, compressed_rle, report):
            annotations.append({"id": len(annotations) + 1, "image_id": record_id, **annotation})
        report.items.append(image_id)
    categories = [{"id": index, "name": name, "supercategory": SUPERCATEGORY} for name, index in category_ids.items()]
    document = {
        "info": {"description": f"DefectSeek project {project.info.name}"},
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    atomic_write_json(target, document)
    return report.build()


# ----- import internals -----


def _import_image(
    project: Project,
    record: dict[str, Any],
    annotations: list[dict[str, Any]],
    categories: dict[int, str],
    roots: list[Path],
    copy: bool,
    default_verdict: Verdict,
    report: ReportBuilder,
) -> str | None:
    file_name = str(record["file_name"]).replace("\\", "/")
    image_path = next((root / file_name for root in roots if (root / file_name).is_file()), None)
    if image_path is None:
        report.skip(file_name, f"image not found under {', '.join(str(root) for root in roots)}; pass image_root")
        return None
    info = read_image_info(image_path)
    declared = (record.get("width"), record.get("height"))
    if None not in declared and (int(declared[0]), int(declared[1])) != (info.width, info.height):
        report.skip(
            image_path,
            f"the COCO record says {declared[0]}x{declared[1]} but the upright image is {info.width}x{info.height}; "
            "fix width and height in the file",
        )
        return None
    where = f"{file_name}"
    regions: list[Region] = []
    for annotation in annotations:
        regions.extend(_regions_from_annotation(annotation, categories, where, info.width, info.height, report))
    label = ImageLabel(image_width=info.width, image_height=info.height, regions=tuple(regions))
    extension = record.get("defectseek")
    label = _apply_image_fields(label, extension, default_verdict)
    image_id = extension.get("image_id") if isinstance(extension, dict) else None
    if not image_id:
        image_id = Path(file_name).with_suffix("").as_posix().lstrip("./") or Path(file_name).stem
    return project.add_image(image_path, copy=copy, image_id=str(image_id), label=label, durable=False)


def _regions_from_annotation(
    annotation: dict[str, Any], categories: dict[int, str], where: str, width: int, height: int, report: ReportBuilder
) -> list[Region]:
    annotation_id = annotation.get("id")
    name = categories.get(int(annotation.get("category_id", -1)))
    context = f"{where}: annotation {annotation_id}"
    if name is None:
        report.warn(f"{context}: category_id {annotation.get('category_id')!r} is not in 'categories'; skipped")
        return []
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        return _mask_region(segmentation, name, context, width, height, report)
    if isinstance(segmentation, list) and segmentation:
        extension = annotation.get("defectseek")
        kinds = extension.get("shapes") if isinstance(extension, dict) else None
        group_id = extension.get("group_id") if isinstance(extension, dict) else None
        regions = _polygon_regions(segmentation, name, annotation_id, group_id, context, width, height, report)
        return _restore_rectangles(regions, kinds) if isinstance(kinds, list) and len(kinds) == len(regions) else regions
    bbox = annotation.get("bbox")
    if isinstance(bbox, list) and len(bbox) == 4:
        x, y, box_width, box_height = (float(value) for value in bbox)
        (corner_a, corner_b), moved = clamp_points([(x, y), (x + box_width, y + box_height)], width, height)
        if moved:
            report.warn(f"{context}: the bbox reaches outside the {width}x{height} image and was clamped")
        shape = Rectangle(corner_a[0], corner_a[1], corner_b[0], corner_b[1])
        return [Region(shape=shape, defect_type=name, origin="import")]
    report.warn(f"{context}: no segmentation and no bbox; skipped")
    return []


def _mask_region(
    segmentation: dict[str, Any], name: str, context: str, width: int, height: int, report: ReportBuilder
) -> list[Region]:
    try:
        mask = decode_rle(segmentation)
    except ValueError as error:
        report.warn(f"{context}: invalid RLE ({error}); skipped")
        return []
    if mask.shape != (height, width):
        report.warn(f"{context}: RLE size {mask.shape[0]}x{mask.shape[1]} (h x w) differs from the image; skipped")
        return []
    if not mask.any():
        report.warn(f"{context}: the RLE mask is empty; skipped")
        return []
    return [Region(shape=PixelMask.from_array(mask), defect_type=name, origin="import")]


def _polygon_regions(
    rings: list[Any],
    name: str,
    annotation_id: Any,
    exported_group_id: Any,
    context: str,
    width: int,
    height: int,
    report: ReportBuilder,
) -> list[Region]:
    group_id = int(annotation_id) if len(rings) > 1 and isinstance(annotation_id, int) else None
    if isinstance(exported_group_id, int):
        group_id = exported_group_id
    regions: list[Region] = []
    for ring in rings:
        values = [float(value) for value in ring]
        if len(values) < 6 or len(values) % 2:
            report.warn(f"{context}: a polygon ring has {len(values)} coordinates; it needs an even count of at least 6")
            continue
        points, moved = clamp_points(zip(values[0::2], values[1::2], strict=True), width, height)
        if moved:
            report.warn(f"{context}: points outside the {width}x{height} image were clamped to its border")
        regions.append(Region(shape=Polygon(points=points), defect_type=name, group_id=group_id, origin="import"))
    return regions


def _restore_rectangles(regions: list[Region], kinds: list[Any]) -> list[Region]:
    """Turn rings that DefectSeek exported from rectangles back into rectangles."""
    restored: list[Region] = []
    for region, kind in zip(regions, kinds, strict=True):
        if kind == "rectangle" and len(region.shape.points) == 4:
            x0, y0, x1, y1 = shape_bounds(region.shape)
            region = replace(region, shape=Rectangle(x0, y0, x1, y1))
        restored.append(region)
    return restored


def _apply_image_fields(label: ImageLabel, extension: Any, default_verdict: Verdict) -> ImageLabel:
    if isinstance(extension, dict):
        return replace(
            label,
            verdict=Verdict(extension.get("verdict", Verdict.UNLABELLED.value)),
            defect_type=extension.get("defect_type") or None,
            split=Split(extension.get("split", Split.NONE.value)),
            comment=str(extension.get("comment") or ""),
        )
    if label.regions:
        return replace(label, verdict=Verdict.NG, defect_type=label.regions[0].defect_type)
    return replace(label, verdict=default_verdict)


# ----- export internals -----


def _image_record(record_id: int, image_id: str, label: ImageLabel, file_name: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "file_name": file_name,
        "width": label.image_width,
        "height": label.image_height,
        "defectseek": {
            "image_id": image_id,
            "verdict": label.verdict.value,
            "defect_type": label.defect_type,
            "split": label.split.value,
            "comment": label.comment,
        },
    }


def _annotations_for(
    image_id: str, label: ImageLabel, category_ids: dict[str, int], compressed_rle: bool, report: ReportBuilder
) -> list[dict[str, Any]]:
    grouped: dict[tuple[int, str], list[Region]] = defaultdict(list)
    singles: list[tuple[Region, str]] = []
    for region in label.regions:
        name = region.defect_type or label.defect_type
        if name is None or name not in category_ids:
            report.warn(f"{image_id}: region {region.region_id} has no defect type in the class list; not exported")
            continue
        if region.group_id is not None and not isinstance(region.shape, PixelMask):
            grouped[(region.group_id, name)].append(region)
        else:
            singles.append((region, name))
    annotations = [_annotation(group, name, label, category_ids, compressed_rle) for (_, name), group in grouped.items()]
    annotations += [_annotation([region], name, label, category_ids, compressed_rle) for region, name in singles]
    return annotations


def _annotation(
    regions: list[Region], name: str, label: ImageLabel, category_ids: dict[str, int], compressed_rle: bool
) -> dict[str, Any]:
    height, width = label.image_height, label.image_width
    mask = np.zeros((height, width), dtype=bool)
    for region in regions:
        mask |= region_mask(region, height, width)
    if isinstance(regions[0].shape, PixelMask):
        segmentation: Any = encode_rle(mask, compressed=compressed_rle)
        bounds = shape_bounds(regions[0].shape)
    else:
        segmentation = [_polygon_ring(region) for region in regions]
        all_bounds = [shape_bounds(region.shape) for region in regions]
        bounds = (
            min(b[0] for b in all_bounds),
            min(b[1] for b in all_bounds),
            max(b[2] for b in all_bounds),
            max(b[3] for b in all_bounds),
        )
    return {
        "category_id": category_ids[name],
        "segmentation": segmentation,
        "area": int(mask.sum()),
        "bbox": [bounds[0], bounds[1], bounds[2] - bounds[0], bounds[3] - bounds[1]],
        "iscrowd": 0,
        "defectseek": {"shapes": [region.shape.kind for region in regions], "group_id": regions[0].group_id},
    }


def _polygon_ring(region: Region) -> list[float]:
    shape = region.shape
    if isinstance(shape, Rectangle):
        corners = [(shape.x0, shape.y0), (shape.x1, shape.y0), (shape.x1, shape.y1), (shape.x0, shape.y1)]
    else:
        corners = list(shape.points)
    return [float(value) for point in corners for value in point]
