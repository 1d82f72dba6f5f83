"""Tests of COCO import and export, checked against pycocotools."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from labeling.formats.coco import export_coco, import_coco
from labeling.formats.coco_rle import compress_counts, decode_rle, decompress_counts, encode_rle
from labeling.formats.mvtec import import_mvtec
from labeling.geometry import label_mask
from labeling.model import PixelMask, Polygon, Rectangle, Region, Split, Verdict
from labeling.project import Project
from tests.labeling.helpers import make_image

# pycocotools 2.0.x calls numpy's __array__ without the copy keyword that NumPy 2 expects.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools.*")


def test_compressed_rle_matches_pycocotools() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        height, width = (int(value) for value in rng.integers(1, 50, size=2))
        mask = rng.random((height, width)) < rng.random()
        reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        ours = encode_rle(mask, compressed=True)
        assert ours["counts"] == reference["counts"].decode("ascii")
        assert ours["size"] == [height, width]
        assert np.array_equal(decode_rle(reference), mask)


def test_rle_counts_round_trip() -> None:
    counts = [0, 5, 300, 2, 1, 70000, 3]
    assert decompress_counts(compress_counts(counts)) == counts
    with pytest.raises(ValueError, match="ends in the middle"):
        decompress_counts("j")


def _labelled_project(project: Project, tmp_path: Path) -> dict[str, object]:
    project.add_images([make_image(tmp_path / "src" / f"{index}.png", 64, 48, seed=index) for index in range(4)])
    mask = np.zeros((48, 64), dtype=bool)
    mask[20:30, 40:52] = True
    mask[5, 5] = True
    regions = (
        Region(Rectangle(2, 3, 20, 30), "crack"),
        Region(Polygon(((5.0, 5.0), (40.0, 8.0), (30.0, 40.0))), "scratch", group_id=7),
        Region(Polygon(((50.0, 5.0), (60.0, 8.0), (55.0, 20.0))), "scratch", group_id=7),
        Region(PixelMask.from_array(mask), "crack"),
    )
    project.save_label(
        "0",
        replace(project.get_label("0"), verdict=Verdict.NG, defect_type="crack", split=Split.TEST, regions=regions),
    )
    project.save_label("1", replace(project.get_label("1"), verdict=Verdict.GOOD, split=Split.TRAIN))
    project.save_label("2", replace(project.get_label("2"), verdict=Verdict.NG, defect_type="scratch"))
    return {"regions": regions, "mask": mask}


@pytest.mark.parametrize("compressed", [False, True])
def test_export_reads_in_pycocotools(project: Project, tmp_path: Path, compressed: bool) -> None:
    _labelled_project(project, tmp_path)
    report = export_coco(project, tmp_path / "coco" / "annotations.json", compressed_rle=compressed)
    assert report.items == ("0", "1", "2")
    assert [Path(item.path).name for item in report.skipped] == ["3.json"]

    dataset = COCO(str(tmp_path / "coco" / "annotations.json"))
    assert [category["name"] for category in dataset.loadCats(dataset.getCatIds())] == ["crack", "scratch"]
    record = next(image for image in dataset.dataset["images"] if image["defectseek"]["image_id"] == "0")
    assert (tmp_path / "coco" / record["file_name"]).resolve() == project.image_path("0").resolve()
    annotations = dataset.loadAnns(dataset.getAnnIds(imgIds=[record["id"]]))
    assert len(annotations) == 3
    union = np.zeros((48, 64), dtype=bool)
    for annotation in annotations:
        union |= dataset.annToMask(annotation).astype(bool)
    expected = label_mask(project.get_label("0"))
    # pycocotools rasterizes polygons with pixel centres at integer coordinates, DefectSeek
    # at half-integer ones, so the masks may differ only along the one-pixel border band.
    kernel = np.ones((3, 3), dtype=np.uint8)
    border = cv2.dilate(expected.astype(np.uint8), kernel) > cv2.erode(expected.astype(np.uint8), kernel)
    difference = np.logical_xor(union, expected)
    assert not (difference & ~border).any()
    assert difference.sum() < expected.sum() // 10
    rle_annotation = next(item for item in annotations if isinstance(item["segmentation"], dict))
    assert rle_annotation["area"] == int(dataset.annToMask(rle_annotation).sum())


def test_export_import_round_trip(project: Project, tmp_path: Path) -> None:
    fixture = _labelled_project(project, tmp_path)
    export_coco(project, tmp_path / "coco" / "annotations.json", compressed_rle=True)
    with Project.create(tmp_path / "second", "second") as second:
        report = import_coco(second, tmp_path / "coco" / "annotations.json")
        assert report.warnings == ()
        assert sorted(report.items) == ["0", "1", "2"]
        label = second.get_label("0")
        assert label.verdict is Verdict.NG
        assert label.split is Split.TEST
        shapes = Counter((region.shape, region.defect_type, region.group_id) for region in label.regions)
        expected = Counter((region.shape, region.defect_type, region.group_id) for region in fixture["regions"])
        assert shapes == expected
        assert second.get_label("1").split is Split.TRAIN
        assert second.get_label("2").defect_type == "scratch"


def test_import_foreign_file_with_warnings(project: Project, tmp_path: Path) -> None:
    make_image(tmp_path / "images" / "a.png", 40, 30)
    make_image(tmp_path / "images" / "b.png", 40, 30, seed=1)
    make_image(tmp_path / "images" / "c.png", 40, 30, seed=2)
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[3:9, 10:20] = 1
    rle = coco_mask.encode(np.asfortranarray(mask))
    document = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
            {"id": 3, "file_name": "c.png", "width": 41, "height": 30},
            {"id": 4, "file_name": "missing.png", "width": 40, "height": 30},
        ],
        "categories": [{"id": 3, "name": "dent"}, {"id": 9, "name": "crack"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "iscrowd": 1,
             "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")}},
            {"id": 2, "image_id": 1, "category_id": 9, "segmentation": [[-5, 2, 30, 2, 30, 20]]},
            {"id": 3, "image_id": 1, "category_id": 9, "segmentation": [[1, 2, 3, 4]]},
            {"id": 4, "image_id": 1, "category_id": 42, "segmentation": [[1, 2, 3, 4, 5, 6]]},
            {"id": 5, "image_id": 1, "category_id": 3, "bbox": [1, 1, 4, 5]},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(document), encoding="utf-8")

    report = import_coco(project, tmp_path / "instances.json")

    assert report.items == ("a", "b")
    assert project.info.class_names == ("crack", "scratch", "dent")
    assert [Path(item.path).name for item in report.skipped] == ["c.png", "missing.png"]
    assert any("clamped" in message for message in report.warnings)
    assert any("needs an even count of at least 6" in message for message in report.warnings)
    assert any("category_id 42" in message for message in report.warnings)
    label = project.get_label("a")
    assert label.verdict is Verdict.NG
    assert label.defect_type == "dent"
    kinds = [region.shape.kind for region in label.regions]
    assert kinds == ["mask", "polygon", "rectangle"]
    assert np.array_equal(label.regions[0].shape.to_array(30, 40), mask.astype(bool))
    assert project.get_label("b").verdict is Verdict.GOOD


def test_magnetic_tile_masks_through_coco(magnetic_tile: Path, tmp_path: Path) -> None:
    with Project.create(tmp_path / "first", "tiles") as first:
        import_mvtec(first, magnetic_tile)
        export_coco(first, tmp_path / "coco" / "tiles.json", compressed_rle=True)
        with Project.create(tmp_path / "second", "tiles") as second:
            report = import_coco(second, tmp_path / "coco" / "tiles.json")
            assert report.skipped == ()
            for image_id in first.list_images(verdict=Verdict.NG):
                assert np.array_equal(label_mask(second.get_label(image_id)), label_mask(first.get_label(image_id)))
