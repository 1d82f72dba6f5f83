"""Labelled defect examples: read from a folder per type, an MVTec-layout dataset or a labeling project."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeling.errors import LabelingError
from labeling.geometry import region_mask
from labeling.imageio import IMAGE_SUFFIXES, ImageReadError, LoadedImage, read_image, read_mask
from labeling.model import Verdict

logger = logging.getLogger(__name__)

MASK_SUFFIX = "_mask"


@dataclass(frozen=True)
class DefectExample:
    """One labelled defect: the image, its type and, when known, its region as an image-size mask."""

    image: LoadedImage
    defect_type: str
    mask: np.ndarray | None
    source: str


@dataclass(frozen=True)
class ExampleSet:
    """Examples read from disk, the type names found (also those without examples) and unreadable files."""

    examples: tuple[DefectExample, ...]
    type_names: tuple[str, ...]
    skipped: tuple[ImageReadError, ...]

    def counts(self) -> dict[str, int]:
        """Return the number of examples per type, zero for types without any."""
        counts = {name: 0 for name in self.type_names}
        for example in self.examples:
            counts[example.defect_type] = counts.get(example.defect_type, 0) + 1
        return counts


def load_defect_folders(root: str | os.PathLike[str]) -> ExampleSet:
    """Read examples from ``root/<type>/`` folders, or from ``root/test/<type>/`` (MVTec AD layout).

    A mask is ``<name>_mask.png`` beside the image or ``root/ground_truth/<type>/<name>_mask.png``.
    In the MVTec layout the ``good`` folder is skipped. An empty type folder still
    names its type, so the caller can warn about it.

    Raises:
        FileNotFoundError: ``root`` is not a folder; the message shows the expected layout.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: not a folder; expected one subfolder of images per defect type")
    images_root = base / "test" if (base / "test").is_dir() else base
    folders = sorted(p for p in images_root.iterdir() if p.is_dir() and p.name not in ("good", "ground_truth"))
    examples, skipped = [], []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            if path.stem.endswith(MASK_SUFFIX):
                continue
            try:
                image = read_image(path)
                mask = _find_mask(path, base / "ground_truth" / folder.name, (image.height, image.width))
            except ImageReadError as error:
                logger.warning("Skipping defect example %s", error)
                skipped.append(error)
                continue
            examples.append(DefectExample(image, folder.name, mask, str(path)))
    return ExampleSet(tuple(examples), tuple(folder.name for folder in folders), tuple(skipped))


def _find_mask(image_path: Path, truth_folder: Path, shape: tuple[int, int]) -> np.ndarray | None:
    for folder in (image_path.parent, truth_folder):
        for suffix in (".png", image_path.suffix):
            candidate = folder / f"{image_path.stem}{MASK_SUFFIX}{suffix}"
            if candidate.is_file():
                mask = read_mask(candidate, shape)
                return mask if mask.any() else None
    return None


def load_project_examples(project_root: str | os.PathLike[str]) -> ExampleSet:
    """Read the NG images of a labeling project as examples, one per image and defect type.

    Regions with a type give that type a mask (the union of its regions in the image).
    An NG image with an image-level type but no typed regions gives an example
    without a mask, so its region comes from the anomaly map. Project classes without
    any example are listed in ``type_names``.

    Raises:
        labeling.errors.ProjectError: the folder is not a labeling project.
    """
    from labeling.project import Project

    examples, skipped = [], []
    with Project.open(project_root) as project:
        classes = [item.name for item in project.info.classes]
        for entry in project.entries():
            if entry.verdict != Verdict.NG:
                continue
            try:
                label = project.get_label(entry.image_id)
                image = read_image(project.image_path(entry.image_id))
            except ImageReadError as error:
                skipped.append(error)
                continue
            except LabelingError as error:
                logger.warning("Skipping project image %s: %s", entry.image_id, error)
                continue
            examples.extend(_project_examples(image, label, str(project.image_path(entry.image_id))))
    names = list(dict.fromkeys([*classes, *(example.defect_type for example in examples)]))
    return ExampleSet(tuple(examples), tuple(names), tuple(skipped))


def _project_examples(image: LoadedImage, label, source: str) -> list[DefectExample]:
    masks: dict[str, np.ndarray] = {}
    for region in label.regions:
        if region.defect_type is None:
            continue
        mask = region_mask(region, image.height, image.width)
        masks[region.defect_type] = masks[region.defect_type] | mask if region.defect_type in masks else mask
    examples = [DefectExample(image, name, mask, source) for name, mask in masks.items() if mask.any()]
    if not examples and label.defect_type:
        examples.append(DefectExample(image, label.defect_type, None, source))
    return examples
