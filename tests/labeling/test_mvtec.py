"""Tests of MVTec AD folder import and export, on generated folders and the real magnetic-tile slice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from labeling.formats.labelme import export_labelme, import_labelme
from labeling.formats.mvtec import export_mvtec, import_mvtec
from labeling.imageio import read_image
from labeling.model import PixelMask, Rectangle, Region, Split, Verdict
from labeling.project import Project
from tests.labeling.helpers import make_image, make_mvtec_folder


def _assert_same_tree(expected_root: Path, actual_root: Path) -> None:
    expected = sorted(path.relative_to(expected_root) for path in expected_root.rglob("*.png"))
    actual = sorted(path.relative_to(actual_root) for path in actual_root.rglob("*.png"))
    assert actual == expected
    for relative in expected:
        before = read_image(expected_root / relative).pixels
        after = read_image(actual_root / relative).pixels
        assert after.dtype == before.dtype, relative
        assert np.array_equal(after, before), relative


def test_import_generated_folder(project: Project, tmp_path: Path) -> None:
    root = make_mvtec_folder(tmp_path / "widget")
    report = import_mvtec(project, root)

    assert len(report.items) == 8
    assert report.warnings == ()
    assert project.info.class_names == ("crack", "scratch", "hole")
    assert len(project.list_images(verdict=Verdict.GOOD, split=Split.TRAIN)) == 3
    assert len(project.list_images(verdict=Verdict.GOOD, split=Split.TEST)) == 2
    assert project.list_images(defect_type="hole") == ["widget/test/hole/000"]
    label = project.get_label("widget/test/crack/001")
    assert label.verdict is Verdict.NG
    assert label.defect_type == "crack"
    assert isinstance(label.regions[0].shape, PixelMask)


def test_generated_round_trip_is_pixel_exact(project: Project, tmp_path: Path) -> None:
    root = make_mvtec_folder(tmp_path / "widget")
    import_mvtec(project, root)
    report = export_mvtec(project, tmp_path / "exported")
    assert len(report.items) == 8
    _assert_same_tree(root, tmp_path / "exported")


def test_missing_and_mismatched_masks_warn(project: Project, tmp_path: Path) -> None:
    root = make_mvtec_folder(tmp_path / "widget")
    (root / "ground_truth" / "hole" / "000_mask.png").unlink()
    make_image(root / "ground_truth" / "crack" / "000_mask.png", 10, 10, channels=1)

    report = import_mvtec(project, root)

    assert len(report.items) == 8
    assert any("no ground-truth mask" in message and "hole" in message for message in report.warnings)
    assert any("does not match its image" in message for message in report.warnings)
    assert project.get_label("widget/test/hole/000").regions == ()


def test_export_layout_rules(project: Project, tmp_path: Path) -> None:
    sources = [make_image(tmp_path / "src" / f"{name}.png", 30, 20, seed=index)
               for index, name in enumerate(("a", "b", "c", "d", "e"))]
    project.add_images(sources)
    project.save_label("a", replace(project.get_label("a"), verdict=Verdict.GOOD))
    project.save_label("b", replace(project.get_label("b"), verdict=Verdict.GOOD, split=Split.VALIDATION))
    ng = replace(project.get_label("c"), verdict=Verdict.NG, split=Split.TRAIN,
                 regions=(Region(Rectangle(2, 3, 6, 8), "scratch"),))
    project.save_label("c", ng)
    project.save_label("d", replace(project.get_label("d"), verdict=Verdict.NG))

    report = export_mvtec(project, tmp_path / "out")

    out = tmp_path / "out"
    assert (out / "train" / "good" / "a.png").is_file()
    assert (out / "validation" / "good" / "b.png").is_file()
    assert (out / "test" / "scratch" / "c.png").is_file()
    mask = read_image(out / "ground_truth" / "scratch" / "c_mask.png").pixels
    assert mask.ndim == 2
    assert mask.dtype == np.uint8
    assert set(np.unique(mask).tolist()) == {0, 255}
    assert int((mask == 255).sum()) == 4 * 5
    assert (out / "test" / "defect" / "d.png").is_file()
    assert not read_image(out / "ground_truth" / "defect" / "d_mask.png").pixels.any()
    assert any("without a defect type" in message for message in report.warnings)
    assert any("without regions" in message for message in report.warnings)
    assert [Path(item.path).name for item in report.skipped] == ["e.json"]


def test_magnetic_tile_round_trip_through_labelme(magnetic_tile: Path, tmp_path: Path) -> None:
    with Project.create(tmp_path / "first", "tiles") as first:
        report = import_mvtec(first, magnetic_tile)
        assert report.skipped == ()
        assert first.info.class_names == ("blowhole", "break", "crack", "fray", "uneven")
        assert first.counts().by_verdict[Verdict.NG] == 56
        export_labelme(first, tmp_path / "labelme")

    with Project.create(tmp_path / "second", "tiles again") as second:
        report = import_labelme(second, [tmp_path / "labelme"])
        assert report.skipped == ()
        assert report.warnings == ()
        export = export_mvtec(second, tmp_path / "exported")
        assert export.skipped == ()

    _assert_same_tree(magnetic_tile, tmp_path / "exported")
