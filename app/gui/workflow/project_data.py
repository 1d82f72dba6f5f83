"""Pick a project's images for training and evaluation, and find the models trained in it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from labeling.geometry import label_mask
from labeling.model import ImageFilter, Split, Verdict
from labeling.project import Project

logger = logging.getLogger(__name__)

MODELS_FOLDER = "models"
BUNDLES_FOLDER = "bundles"
MANIFEST_NAME = "manifest.json"

TRAINING_SPLITS = frozenset({Split.TRAIN, Split.NONE})
EVALUATION_SPLITS = {
    "test": frozenset({Split.TEST}),
    "validation": frozenset({Split.VALIDATION}),
    "all": None,
}


@dataclass(frozen=True)
class LabelledSample:
    """A labelled project image for evaluation: 0 good, 1 NG, with its defect mask when it has regions."""

    image_id: str
    path: Path
    label: int
    defect_type: str
    has_regions: bool


def good_training_images(project: Project) -> list[Path]:
    """Return the files of the good images in the train split or in no split, sorted by image id."""
    selection = ImageFilter(verdicts=frozenset({Verdict.GOOD}), splits=TRAINING_SPLITS)
    return [project.image_path(image_id) for image_id in project.list_images(selection)]


def defect_examples(project: Project) -> dict[str, list[Path]]:
    """Return NG images outside the test split by defect type ("" for NG images without a type)."""
    selection = ImageFilter(verdicts=frozenset({Verdict.NG}), splits=frozenset({Split.TRAIN, Split.VALIDATION, Split.NONE}))
    examples: dict[str, list[Path]] = {}
    for entry in project.entries(selection):
        examples.setdefault(entry.defect_type or "", []).append(project.image_path(entry.image_id))
    return examples


@dataclass(frozen=True)
class TypedExample:
    """A labelled NG image that teaches a defect type; ``mask`` is the union of that type's regions, or None."""

    path: Path
    defect_type: str
    mask: np.ndarray | None


def defect_type_examples(project: Project) -> list[TypedExample]:
    """Return one example per NG image and region type outside the test split.

    An NG image without typed regions but with an image-level type gives one example
    without a mask, so the classifier takes its region from the anomaly map.
    """
    selection = ImageFilter(verdicts=frozenset({Verdict.NG}), splits=frozenset({Split.TRAIN, Split.VALIDATION, Split.NONE}))
    examples = []
    for entry in project.entries(selection):
        label = project.get_label(entry.image_id)
        path = project.image_path(entry.image_id)
        names = sorted({region.defect_type for region in label.regions if region.defect_type})
        masks = [(name, label_mask(label, name)) for name in names]
        typed = [TypedExample(path, name, mask) for name, mask in masks if mask.any()]
        if not typed and entry.defect_type:
            typed = [TypedExample(path, entry.defect_type, None)]
        examples.extend(typed)
    return examples


def labelled_samples(project: Project, split: str = "test") -> list[LabelledSample]:
    """Return the good and NG images of ``split`` (``test``, ``validation`` or ``all``).

    Raises:
        ValueError: unknown split name.
    """
    if split not in EVALUATION_SPLITS:
        raise ValueError(f"invalid evaluation split {split!r}; use one of {sorted(EVALUATION_SPLITS)}")
    selection = ImageFilter(verdicts=frozenset({Verdict.GOOD, Verdict.NG}), splits=EVALUATION_SPLITS[split])
    samples = []
    for entry in project.entries(selection):
        label = 1 if entry.verdict == Verdict.NG else 0
        defect_type = entry.defect_type or (entry.region_types[0] if entry.region_types else "")
        samples.append(
            LabelledSample(
                entry.image_id, project.image_path(entry.image_id), label, defect_type if label else "good",
                entry.region_count > 0,
            )
        )
    return samples


def sample_mask(project: Project, sample: LabelledSample, shape: tuple[int, int]) -> np.ndarray | None:
    """Return the boolean defect mask of ``sample`` at ``shape`` (all False for good images; None without regions)."""
    if sample.label == 0:
        return np.zeros(shape, dtype=bool)
    if not sample.has_regions:
        return None
    mask = label_mask(project.get_label(sample.image_id))
    if mask.shape != shape:
        logger.warning("Mask of %s is %s but the image is %s; skipping its pixels", sample.image_id, mask.shape, shape)
        return None
    return mask


def new_model_dir(project_root: Path, now: datetime | None = None) -> Path:
    """Return a fresh folder path for a model under the project's ``models`` folder."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = project_root / MODELS_FOLDER / f"model-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = project_root / MODELS_FOLDER / f"model-{stamp}-{suffix}"
    return candidate


def list_bundles(project_root: Path, folder: str = MODELS_FOLDER) -> list[Path]:
    """Return the bundle folders (holding ``manifest.json``) under ``folder``, newest name first."""
    base = project_root / folder
    if not base.is_dir():
        return []
    found = [path for path in base.iterdir() if path.is_dir() and (path / MANIFEST_NAME).is_file()]
    return sorted(found, key=lambda path: path.name, reverse=True)
