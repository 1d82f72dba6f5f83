"""Tests of the YOLO detection and segmentation export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from labeling.formats.mvtec import import_mvtec
from labeling.formats.yolo import export_yolo, read_yolo_labels
from labeling.geometry import shape_mask
from labeling.imageio import read_image
from labeling.model import PixelMask, Polygon, Rectangle, Region, Split, Verdict
from labeling.project import Project
from tests.labeling.helpers import make_image


def _two_image_project(project: Project, tmp_path: Path) -> np.ndarray:
    project.add_images([make_image(tmp_path / "src" / f"{name}.png", 100, 50, seed=index)
                        for index, name in enumerate(("ng", "ok", "todo"))])
    mask = np.zeros((50, 100), dtype=bool)
    mask[10:20, 60:80] = True
    regions = (
        Region(Rectangle(10, 5, 30, 25), "scratch"),
        Region(Polygon(((40.0, 10.0), (50.0, 10.0), (45.0, 30.0))), None),
        Region(PixelMask.from_array(mask), "crack"),
    )
    label = replace(project.get_label("ng"), verdict=Verdict.NG, defect_type="crack", split=Split.VALIDATION,
                    regions=regions)
    project.save_label("ng", label)
    project.save_label("ok", replace(project.get_label("ok"), verdict=Verdict.GOOD, split=Split.TRAIN))
    return mask


def test_detection_export(project: Project, tmp_path: Path) -> None:
    _two_image_project(project, tmp_path)
    report = export_yolo(project, tmp_path / "yolo", task="detect")

    assert report.items == ("ng", "ok")
    assert [Path(item.path).name for item in report.skipped] == ["todo.json"]
    boxes = read_yolo_labels(tmp_path / "yolo" / "labels" / "val" / "ng.txt")
    assert boxes[0] == (1, pytest.approx((0.2, 0.3, 0.2, 0.4)))
    assert boxes[1] == (0, pytest.approx((0.45, 0.4, 0.1, 0.4)))
    assert boxes[2] == (0, pytest.approx((0.7, 0.3, 0.2, 0.2)))
    assert read_yolo_labels(tmp_path / "yolo" / "labels" / "train" / "ok.txt") == []
    assert (tmp_path / "yolo" / "images" / "val" / "ng.png").read_bytes() == project.image_path("ng").read_bytes()

    data = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text(encoding="utf-8"))
    assert data["names"] == {0: "crack", 1: "scratch"}
    assert data["nc"] == 2
    assert data["train"] == "images/train"
    assert data["val"] == "images/val"
    assert "test" not in data
    assert Path(data["path"]) == tmp_path / "yolo"
    assert (tmp_path / "yolo" / "classes.txt").read_text(encoding="utf-8") == "crack\nscratch\n"


def test_segmentation_export(project: Project, tmp_path: Path) -> None:
    mask = _two_image_project(project, tmp_path)
    export_yolo(project, tmp_path / "yolo", task="segment")

    objects = read_yolo_labels(tmp_path / "yolo" / "labels" / "val" / "ng.txt")
    assert [index for index, _ in objects] == [1, 0, 0]
    rectangle = np.asarray(objects[0][1]).reshape(-1, 2) * (100, 50)
    assert rectangle.tolist() == [[10, 5], [30, 5], [30, 25], [10, 25]]
    traced = np.asarray(objects[2][1]).reshape(-1, 2) * (100, 50)
    redrawn = shape_mask(Polygon(tuple(map(tuple, traced))), 50, 100)
    assert np.array_equal(redrawn, mask)


def test_validation_falls_back_to_train(project: Project, tmp_path: Path) -> None:
    project.add_image(make_image(tmp_path / "a.png", 20, 20))
    project.save_label("a", replace(project.get_label("a"), verdict=Verdict.GOOD))
    report = export_yolo(project, tmp_path / "yolo")
    assert any("validation" in message for message in report.warnings)
    data = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text(encoding="utf-8"))
    assert data["val"] == "images/train"


def test_rotated_jpeg_written_upright(project: Project, tmp_path: Path) -> None:
    stored = Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "rotated.jpg", exif=exif.tobytes())
    project.add_image(tmp_path / "rotated.jpg")
    project.save_label("rotated", replace(project.get_label("rotated"), verdict=Verdict.GOOD))
    export_yolo(project, tmp_path / "yolo")
    written = read_image(tmp_path / "yolo" / "images" / "train" / "rotated.png")
    assert (written.width, written.height) == (30, 50)


def test_unknown_task_rejected(project: Project, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task 'pose'"):
        export_yolo(project, tmp_path / "yolo", task="pose")


def test_magnetic_tile_segmentation(magnetic_tile: Path, tmp_path: Path) -> None:
    with Project.create(tmp_path / "tiles", "tiles") as project:
        import_mvtec(project, magnetic_tile)
        report = export_yolo(project, tmp_path / "yolo", task="segment")
        assert report.skipped == ()
        assert len(report.items) == 156
    label_files = list((tmp_path / "yolo" / "labels" / "test").glob("*.txt"))
    assert len(label_files) == 96
    non_empty = [path for path in label_files if read_yolo_labels(path)]
    assert len(non_empty) == 56
    for path in non_empty:
        for _, values in read_yolo_labels(path):
            assert len(values) >= 6
            assert min(values) >= 0.0
            assert max(values) <= 1.0
