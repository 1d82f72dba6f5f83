"""Tests of labelme JSON import and export."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from labeling.formats.labelme import export_labelme, import_labelme
from labeling.imageio import decode_image, encode_png
from labeling.model import PixelMask, Polygon, Rectangle, Region, Split, Verdict
from labeling.project import Project
from tests.labeling.helpers import make_image


def _shape(label: str, points: list[list[float]], shape_type: str, **extra: object) -> dict[str, object]:
    return {"label": label, "points": points, "group_id": None, "description": "", "shape_type": shape_type,
            "flags": {}, **extra}


def _write_labelme(path: Path, shapes: list[dict[str, object]], image_path: str, width: int, height: int,
                   **extra: object) -> Path:
    document = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": None,
                "imageHeight": height, "imageWidth": width, **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def windows_style_folder(tmp_path: Path) -> Path:
    """A 640x480 images/a.jpg with labels/a.json whose imagePath is ..\\images\\a.jpg."""
    make_image(tmp_path / "dataset" / "images" / "a.jpg", 640, 480)
    shapes = [
        _shape("scratch", [[-3.2, 10], [640.41, 50]], "rectangle"),
        _shape("crack", [[10, 10], [20, 20]], "polygon"),
    ]
    _write_labelme(tmp_path / "dataset" / "labels" / "a.json", shapes, "..\\images\\a.jpg", 640, 480)
    return tmp_path / "dataset"


def test_windows_path_clamp_and_degenerate_polygon(project: Project, windows_style_folder: Path) -> None:
    report = import_labelme(project, [windows_style_folder / "labels" / "a.json"])

    assert report.items == ("a",)
    assert report.skipped == ()
    assert project.image_path("a") == windows_style_folder / "images" / "a.jpg"
    clamp_warnings = [message for message in report.warnings if "clamped" in message]
    assert len(clamp_warnings) == 1
    assert "shape 0" in clamp_warnings[0]
    polygon_warnings = [message for message in report.warnings if "polygon needs at least 3 points" in message]
    assert len(polygon_warnings) == 1
    assert "a.json" in polygon_warnings[0]

    label = project.get_label("a")
    assert (label.image_width, label.image_height) == (640, 480)
    assert len(label.regions) == 1
    assert label.regions[0].shape == Rectangle(0.0, 10.0, 640.0, 50.0)
    assert label.verdict is Verdict.NG
    assert label.defect_type == "scratch"


def test_resave_keeps_valid_shapes(project: Project, windows_style_folder: Path) -> None:
    labels_folder = windows_style_folder / "labels"
    document = json.loads((labels_folder / "a.json").read_text(encoding="utf-8"))
    document["shapes"].append(_shape("pin", [[5, 5]], "point"))
    document["flags"] = {"reviewed": True}
    document["customKey"] = {"kept": 1}
    (labels_folder / "a.json").write_text(json.dumps(document), encoding="utf-8")
    import_labelme(project, [labels_folder / "a.json"])

    report = export_labelme(project, labels_folder, ["a"])

    assert report.items == (str(labels_folder / "a.json"),)
    saved = json.loads((labels_folder / "a.json").read_text(encoding="utf-8"))
    assert [shape["shape_type"] for shape in saved["shapes"]] == ["rectangle", "point"]
    assert saved["shapes"][0]["points"] == [[0.0, 10.0], [640.0, 50.0]]
    assert saved["shapes"][1]["label"] == "pin"
    assert saved["imagePath"] == "../images/a.jpg"
    assert saved["imageData"] is None
    assert saved["flags"] == {"reviewed": True}
    assert saved["customKey"] == {"kept": 1}


def test_mask_shape_round_trip(project: Project, tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "m.png", 60, 40)
    crop = np.zeros((7, 9), dtype=np.uint8)
    crop[1:6, 2:8] = 1
    crop[0, 0] = 1
    encoded = base64.b64encode(encode_png(crop)).decode("ascii")
    shapes = [_shape("crack", [[12, 5], [20, 11]], "mask", mask=encoded)]
    _write_labelme(tmp_path / "src" / "m.json", shapes, "m.png", 60, 40)

    report = import_labelme(project, [tmp_path / "src" / "m.json"])
    assert report.warnings == ()
    region_mask = project.get_label("m").regions[0].shape
    assert isinstance(region_mask, PixelMask)
    expected = np.zeros((40, 60), dtype=bool)
    expected[5:12, 12:21] = crop > 0
    assert np.array_equal(region_mask.to_array(40, 60), expected)

    export_labelme(project, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "m.json").read_text(encoding="utf-8"))
    shape = saved["shapes"][0]
    (x1, y1), (x2, y2) = (np.asarray(shape["points"]).astype(int)).tolist()
    decoded = decode_image(base64.b64decode(shape["mask"]), "mask", min_side_px=1).pixels > 0
    assert decoded.shape == (y2 - y1 + 1, x2 - x1 + 1)
    rebuilt = np.zeros((40, 60), dtype=bool)
    rebuilt[y1 : y2 + 1, x1 : x2 + 1] = decoded
    assert np.array_equal(rebuilt, expected)


def test_embedded_image_data_is_copied(project: Project, tmp_path: Path) -> None:
    image_file = make_image(tmp_path / "gone.png", 30, 20)
    document_path = _write_labelme(tmp_path / "e.json", [], "gone.png", 30, 20)
    document = json.loads(document_path.read_text(encoding="utf-8"))
    document["imageData"] = base64.b64encode(image_file.read_bytes()).decode("ascii")
    document_path.write_text(json.dumps(document), encoding="utf-8")
    image_file.unlink()

    report = import_labelme(project, [document_path])

    assert report.items == ("e",)
    assert project.image_path("e").parent == project.root / "images"
    assert project.image_path("e").is_file()


def test_flags_set_verdict(project: Project, tmp_path: Path) -> None:
    make_image(tmp_path / "g.png", 30, 20)
    _write_labelme(tmp_path / "g.json", [], "g.png", 30, 20, flags={"good": True, "blurry": False})
    import_labelme(project, [tmp_path / "g.json"])
    label = project.get_label("g")
    assert label.verdict is Verdict.GOOD
    assert label.flags == (("good", True), ("blurry", False))


def test_bad_files_are_skipped(project: Project, tmp_path: Path) -> None:
    make_image(tmp_path / "folder" / "s.png", 30, 20)
    _write_labelme(tmp_path / "folder" / "size.json", [], "s.png", 31, 20)
    _write_labelme(tmp_path / "folder" / "missing.json", [], "nowhere.png", 30, 20)
    (tmp_path / "folder" / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "folder" / "other.json").write_text('{"a": 1}', encoding="utf-8")

    report = import_labelme(project, [tmp_path / "folder"])

    assert report.items == ()
    reasons = {Path(item.path).name: item.reason for item in report.skipped}
    assert "differ from the upright image" in reasons["size.json"]
    assert "not found" in reasons["missing.json"]
    assert "not valid UTF-8 JSON" in reasons["broken.json"]
    assert "not a labelme file" in reasons["other.json"]


def test_project_round_trip_through_labelme(project: Project, tmp_path: Path) -> None:
    project.add_images([make_image(tmp_path / "src" / f"{index}.png", 48, 36, seed=index) for index in range(3)])
    mask = np.zeros((36, 48), dtype=bool)
    mask[10:20, 5:9] = True
    regions = (
        Region(Rectangle(1.5, 2.5, 20.0, 30.0), "crack", group_id=2, description="long", flags=(("deep", True),)),
        Region(Polygon(((1.0, 1.0), (30.0, 4.0), (12.5, 20.0))), "scratch"),
        Region(PixelMask.from_array(mask), "crack"),
    )
    original = project.save_label(
        "0",
        replace(project.get_label("0"), verdict=Verdict.NG, defect_type="crack", split=Split.TEST,
                regions=regions, comment="check", flags=(("reviewed", True),)),
    )
    project.save_label("1", replace(project.get_label("1"), verdict=Verdict.GOOD, split=Split.TRAIN))

    export_labelme(project, tmp_path / "labelme")
    with Project.create(tmp_path / "second", "second") as second:
        report = import_labelme(second, [tmp_path / "labelme"])
        assert sorted(report.items) == ["labelme/0", "labelme/1", "labelme/2"]
        assert second.info.class_names == ("crack", "scratch")
        imported = second.get_label("labelme/0")
        assert imported.verdict is Verdict.NG
        assert imported.split is Split.TEST
        assert imported.comment == "check"
        assert imported.flags == original.flags
        assert len(imported.regions) == len(original.regions)
        for before, after in zip(original.regions, imported.regions, strict=True):
            assert after.shape == before.shape
            assert after.defect_type == before.defect_type
            assert after.group_id == before.group_id
            assert after.flags == before.flags
        assert second.get_label("labelme/1").verdict is Verdict.GOOD
        assert second.get_label("labelme/2").verdict is Verdict.UNLABELLED
