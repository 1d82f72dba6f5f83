"""MVTec AD folder layout import and export.

Layout::

    train/good/<name>.png
    validation/good/<name>.png          (optional; used by MVTec LOCO)
    test/good/<name>.png
    test/<defect>/<name>.png
    ground_truth/<defect>/<name>_mask.png   single-channel 0/255 PNG, same size as the image

On import, ``train`` images become good images of the train split, ``validation`` and
``test`` good images keep their split, and ``test/<defect>`` images become NG images of
that defect type with their ground-truth mask as one pixel-mask region.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from labeling.errors import LabelingError
from labeling.fileio import sync_file_system
from labeling.formats._common import ReportBuilder, UniqueNames
from labeling.geometry import label_mask
from labeling.imageio import IMAGE_SUFFIXES, ImageReadError, read_image, read_image_info, read_mask, write_image
from labeling.model import ImageLabel, PixelMask, Region, Split, TransferReport, Verdict
from labeling.project import Project

logger = logging.getLogger(__name__)

GOOD_FOLDER = "good"
MASK_SUFFIX = "_mask.png"
DEFAULT_DEFECT_FOLDER = "defect"
_SPLIT_FOLDERS = {"train": Split.TRAIN, "validation": Split.VALIDATION, "test": Split.TEST}


def import_mvtec(project: Project, root: str | os.PathLike[str], *, copy: bool = False) -> TransferReport:
    """Import an MVTec AD category folder into ``project``.

    Image ids are ``<root folder name>/<split>/<class folder>/<name>``. Defect folder
    names missing from the class list are added to it.

    Args:
        project: the target project.
        root: the category folder (the one holding ``train`` and ``test``).
        copy: copy images into the project instead of referencing them.
    """
    report = ReportBuilder()
    base = Path(root)
    if not (base / "train").is_dir() and not (base / "test").is_dir():
        report.skip(base, "not an MVTec AD folder: it has neither train/ nor test/; choose the category folder")
        return report.build()
    defect_folders = sorted(
        folder.name for folder in (base / "test").glob("*") if folder.is_dir() and folder.name != GOOD_FOLDER
    )
    project.ensure_classes(defect_folders)
    for split_name, split in _SPLIT_FOLDERS.items():
        for class_folder in sorted(path for path in (base / split_name).glob("*") if path.is_dir()):
            _import_class_folder(project, base, class_folder, split, copy, report)
    project.flush_to_disk()
    return report.build()


def export_mvtec(
    project: Project, output_root: str | os.PathLike[str], image_ids: Sequence[str] | None = None
) -> TransferReport:
    """Write images and masks in the MVTec AD layout.

    Good images of the train split or of no split go to ``train/good``, validation ones
    to ``validation/good`` and test ones to ``test/good``. NG images go to
    ``test/<defect type>`` whatever their split, because MVTec AD trains on good images
    only, with the union of all their regions as ``ground_truth/<defect type>/<name>_mask.png``.
    Images are written upright as PNG under the last part of their id, made unique per
    folder. Unlabelled images are skipped.

    Returns:
        The written image paths.
    """
    report = ReportBuilder()
    root = Path(output_root)
    names = UniqueNames()
    for image_id in image_ids if image_ids is not None else project.list_images():
        try:
            label = project.get_label(image_id)
            if label.verdict is Verdict.UNLABELLED:
                report.skip(project.label_path(image_id), "the image is unlabelled; mark it good or NG to export it")
                continue
            written = _export_one(project, image_id, label, root, names, report)
        except (LabelingError, ImageReadError, OSError) as error:
            report.skip(project.label_path(image_id), str(error))
            continue
        report.items.append(str(written))
    sync_file_system()
    return report.build()


def _import_class_folder(
    project: Project, base: Path, class_folder: Path, split: Split, copy: bool, report: ReportBuilder
) -> None:
    is_good = class_folder.name == GOOD_FOLDER
    if not is_good and split is not Split.TEST:
        report.warn(
            f"{class_folder}: defect images belong under test/ in the MVTec AD layout; "
            f"imported as NG images of the {split.value} split"
        )
        project.ensure_classes([class_folder.name])
    for image_path in sorted(p for p in class_folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        image_id = f"{Path(os.path.abspath(base)).name}/{class_folder.parent.name}/{class_folder.name}/{image_path.stem}"
        try:
            info = read_image_info(image_path)
            label = ImageLabel(image_width=info.width, image_height=info.height, split=split)
            if is_good:
                label = replace(label, verdict=Verdict.GOOD)
            else:
                label = _defect_label(label, base, class_folder.name, image_path, report)
            report.items.append(project.add_image(image_path, copy=copy, image_id=image_id, label=label, durable=False))
        except (LabelingError, ImageReadError, OSError) as error:
            report.skip(image_path, str(error))


def _defect_label(label: ImageLabel, base: Path, defect: str, image_path: Path, report: ReportBuilder) -> ImageLabel:
    label = replace(label, verdict=Verdict.NG, defect_type=defect)
    mask_path = base / "ground_truth" / defect / f"{image_path.stem}{MASK_SUFFIX}"
    if not mask_path.is_file():
        report.warn(f"{image_path}: no ground-truth mask {mask_path}; imported as NG without a region")
        return label
    try:
        mask = read_mask(mask_path, shape=(label.image_height, label.image_width))
    except ImageReadError as error:
        report.warn(f"{error}; imported {image_path} as NG without a region")
        return label
    if not mask.any():
        report.warn(f"{mask_path}: the mask is empty; imported {image_path} as NG without a region")
        return label
    region = Region(shape=PixelMask.from_array(mask), defect_type=defect, origin="import")
    return replace(label, regions=(region,))


def _export_one(
    project: Project, image_id: str, label: ImageLabel, root: Path, names: UniqueNames, report: ReportBuilder
) -> Path:
    if label.verdict is Verdict.GOOD:
        split_folder = {Split.VALIDATION: "validation", Split.TEST: "test"}.get(label.split, "train")
        class_folder = GOOD_FOLDER
    else:
        split_folder = "test"
        class_folder = label.defect_type or _first_region_type(label)
        if class_folder is None:
            class_folder = DEFAULT_DEFECT_FOLDER
            report.warn(f"{image_id}: NG image without a defect type; exported under test/{DEFAULT_DEFECT_FOLDER}")
    folder = f"{split_folder}/{class_folder}"
    name = names.claim(folder, image_id.rsplit("/", 1)[-1])
    image = read_image(project.image_path(image_id))
    if (image.width, image.height) != (label.image_width, label.image_height):
        raise LabelingError(
            f"{project.image_path(image_id)} is {image.width}x{image.height} but its label is for "
            f"{label.image_width}x{label.image_height}; re-add the image to the project"
        )
    target = write_image(root / folder / f"{name}.png", image.pixels, fsync=False)
    if label.verdict is Verdict.NG:
        mask = label_mask(label)
        if not mask.any():
            report.warn(f"{image_id}: NG image without regions; its ground-truth mask is empty")
        mask_path = root / "ground_truth" / class_folder / f"{name}{MASK_SUFFIX}"
        write_image(mask_path, mask.astype(np.uint8) * 255, fsync=False)
    return target


def _first_region_type(label: ImageLabel) -> str | None:
    return next((region.defect_type for region in label.regions if region.defect_type), None)
