"""YOLO detection and segmentation export (the Ultralytics dataset layout), plus a reader for its label files.

Layout::

    data.yaml                   path, train/val/test image folders, class names
    classes.txt                 class names, one per line, in class-index order
    images/<split>/<name>.<ext>
    labels/<split>/<name>.txt   one object per line, coordinates normalized to 0..1

A detection line is ``class x_centre y_centre width height``; a segmentation line is
``class x1 y1 x2 y2 ...`` (one polygon). Pixel masks are traced into one polygon per
connected component. Good images get an empty label file, so they train as background.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from labeling.errors import LabelingError
from labeling.fileio import atomic_write_text, sync_file_system
from labeling.formats._common import ReportBuilder, UniqueNames, copy_upright_image
from labeling.geometry import mask_to_polygons, shape_bounds, shape_mask
from labeling.imageio import ImageReadError
from labeling.model import ImageLabel, PixelMask, Polygon, Rectangle, Region, Split, TransferReport, Verdict
from labeling.project import Project

logger = logging.getLogger(__name__)

TASKS = ("detect", "segment")
# Images of no split train, because YOLO needs a train folder and the user made no choice.
SPLIT_FOLDERS = {Split.TRAIN: "train", Split.NONE: "train", Split.VALIDATION: "val", Split.TEST: "test"}
_DECIMALS = 6


def export_yolo(
    project: Project,
    output_dir: str | os.PathLike[str],
    image_ids: Sequence[str] | None = None,
    *,
    task: str = "detect",
) -> TransferReport:
    """Write the project's labelled images as a YOLO dataset.

    Class indices follow the class list. A region without a type takes the image's
    type. Images of no split go to ``train``. Unlabelled images are skipped.

    Args:
        project: the source project.
        output_dir: the dataset folder to write.
        image_ids: images to export; defaults to all.
        task: ``detect`` (boxes) or ``segment`` (polygons).

    Raises:
        ValueError: ``task`` is not one of ``detect`` and ``segment``.
    """
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not supported; use one of {TASKS}")
    report = ReportBuilder()
    root = Path(output_dir)
    class_index = {name: index for index, name in enumerate(project.info.class_names)}
    names = UniqueNames()
    used_splits: set[str] = set()
    for image_id in image_ids if image_ids is not None else project.list_images():
        try:
            label = project.get_label(image_id)
            if label.verdict is Verdict.UNLABELLED:
                report.skip(project.label_path(image_id), "the image is unlabelled; mark it good or NG to export it")
                continue
            split_folder = SPLIT_FOLDERS[label.split]
            name = names.claim(split_folder, image_id.rsplit("/", 1)[-1])
            copy_upright_image(project.image_path(image_id), root / "images" / split_folder / name, fsync=False)
            lines = _label_lines(image_id, label, class_index, task, report)
            text = "".join(line + "\n" for line in lines)
            atomic_write_text(root / "labels" / split_folder / f"{name}.txt", text, fsync=False)
        except (LabelingError, ImageReadError, OSError) as error:
            report.skip(project.label_path(image_id), str(error))
            continue
        used_splits.add(split_folder)
        report.items.append(image_id)
    if "val" not in used_splits:
        report.warn(f"{root}: no image is in the validation split, so data.yaml uses the train images for validation")
    _write_dataset_files(root, project.info.class_names, used_splits)
    sync_file_system()
    return report.build()


def read_yolo_labels(path: str | os.PathLike[str]) -> list[tuple[int, tuple[float, ...]]]:
    """Read a YOLO label file as (class index, normalized coordinates) per line.

    Raises:
        ValueError: a line is not a class index followed by numbers; the message names the line.
    """
    objects: list[tuple[int, tuple[float, ...]]] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            objects.append((int(fields[0]), tuple(float(value) for value in fields[1:])))
        except ValueError:
            raise ValueError(f"{path}:{number}: expected a class index and numbers, got {line!r}") from None
    return objects


def _label_lines(
    image_id: str, label: ImageLabel, class_index: dict[str, int], task: str, report: ReportBuilder
) -> list[str]:
    lines: list[str] = []
    for region in label.regions:
        name = region.defect_type or label.defect_type
        if name is None or name not in class_index:
            report.warn(f"{image_id}: region {region.region_id} has no defect type in the class list; not exported")
            continue
        if task == "detect":
            lines.append(_box_line(class_index[name], region, label))
        else:
            lines.extend(_polygon_lines(class_index[name], region, label, image_id, report))
    return lines


def _box_line(index: int, region: Region, label: ImageLabel) -> str:
    width, height = label.image_width, label.image_height
    x0, y0, x1, y1 = shape_bounds(region.shape)
    x0, x1 = max(x0, 0.0), min(x1, float(width))
    y0, y1 = max(y0, 0.0), min(y1, float(height))
    values = ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height)
    return _format_line(index, values)


def _polygon_lines(index: int, region: Region, label: ImageLabel, image_id: str, report: ReportBuilder) -> list[str]:
    shape = region.shape
    width, height = label.image_width, label.image_height
    if isinstance(shape, Rectangle):
        polygons = [Polygon(((shape.x0, shape.y0), (shape.x1, shape.y0), (shape.x1, shape.y1), (shape.x0, shape.y1)))]
    elif isinstance(shape, PixelMask):
        polygons = mask_to_polygons(shape_mask(shape, height, width))
        if not polygons:
            report.warn(f"{image_id}: mask region {region.region_id} is too thin to trace as a polygon; not exported")
    else:
        polygons = [shape]
    lines = []
    for polygon in polygons:
        values = []
        for x, y in polygon.points:
            values.extend((min(max(x / width, 0.0), 1.0), min(max(y / height, 0.0), 1.0)))
        lines.append(_format_line(index, values))
    return lines


def _format_line(index: int, values: Sequence[float]) -> str:
    return " ".join([str(index)] + [f"{value:.{_DECIMALS}f}" for value in values])


def _write_dataset_files(root: Path, class_names: Sequence[str], used_splits: set[str]) -> None:
    lines = [f"path: {json.dumps(Path(os.path.abspath(root)).as_posix())}", "train: images/train"]
    lines.append("val: images/val" if "val" in used_splits else "val: images/train")
    if "test" in used_splits:
        lines.append("test: images/test")
    lines.append(f"nc: {len(class_names)}")
    lines.append("names:")
    lines.extend(f"  {index}: {json.dumps(name, ensure_ascii=False)}" for index, name in enumerate(class_names))
    atomic_write_text(root / "data.yaml", "\n".join(lines) + "\n")
    atomic_write_text(root / "classes.txt", "".join(f"{name}\n" for name in class_names))
