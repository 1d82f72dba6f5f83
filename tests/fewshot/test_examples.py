"""Reading labelled defect examples from folders and from a labeling project."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.examples import load_defect_folders, load_project_examples
from labeling.imageio import write_image
from labeling.model import ImageLabel, Rectangle, Region, Verdict
from labeling.project import Project

from .synthetic import defect_images


def test_folders_with_masks_and_empty_type(tmp_path):
    for index, (image, mask) in enumerate(defect_images("spot", 2, seed=1)):
        write_image(tmp_path / "spot" / f"{index}.png", image.pixels)
        write_image(tmp_path / "spot" / f"{index}_mask.png", mask.astype(np.uint8) * 255)
    image, _ = defect_images("scratch", 1, seed=2)[0]
    write_image(tmp_path / "scratch" / "0.png", image.pixels)
    (tmp_path / "dent").mkdir()
    found = load_defect_folders(tmp_path)
    assert found.counts() == {"dent": 0, "scratch": 1, "spot": 2}
    assert all(example.mask is not None for example in found.examples if example.defect_type == "spot")
    assert [example.mask for example in found.examples if example.defect_type == "scratch"] == [None]


def test_unreadable_example_skipped(tmp_path):
    (tmp_path / "spot").mkdir()
    (tmp_path / "spot" / "broken.png").write_bytes(b"not a png")
    found = load_defect_folders(tmp_path)
    assert found.examples == ()
    assert len(found.skipped) == 1
    assert found.type_names == ("spot",)


def test_missing_folder_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="one subfolder of images per defect type"):
        load_defect_folders(tmp_path / "absent")


def test_project_regions_and_image_types(tmp_path):
    images = tmp_path / "images"
    items = defect_images("spot", 2, seed=3)
    for index, (image, _) in enumerate(items):
        write_image(images / f"{index}.png", image.pixels)
    with Project.create(tmp_path / "project", "parts", classes=["spot", "scratch", "dent"]) as project:
        region = Region(Rectangle(10.0, 10.0, 40.0, 30.0), defect_type="spot")
        project.add_image(images / "0.png", label=ImageLabel(96, 96, verdict=Verdict.NG, regions=(region,)))
        project.add_image(images / "1.png", label=ImageLabel(96, 96, verdict=Verdict.NG, defect_type="scratch"))
    found = load_project_examples(tmp_path / "project")
    by_type = {example.defect_type: example for example in found.examples}
    assert found.counts() == {"spot": 1, "scratch": 1, "dent": 0}
    assert by_type["spot"].mask.sum() == 30 * 20
    assert by_type["scratch"].mask is None
