"""Tests of the project store: images, labels, index, conflicts and atomic writes."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import labeling.fileio
import labeling.project
from labeling.errors import ConflictError, ProjectError
from labeling.labelfile import encode_label
from labeling.locking import STALE_LOCK_AGE_S, LockTimeoutError, file_lock
from labeling.model import (
    DefectClass,
    ImageFilter,
    ImageLabel,
    PixelMask,
    Rectangle,
    Region,
    Split,
    Verdict,
)
from labeling.project import CACHE_DIR, INDEX_FILE, Project
from tests.labeling.helpers import make_image


def _ng_label(label: ImageLabel, defect_type: str = "crack") -> ImageLabel:
    region = Region(Rectangle(1, 1, 5, 5), defect_type)
    return replace(label, verdict=Verdict.NG, defect_type=defect_type, regions=(region,))


def test_create_writes_readable_folder(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p", "tiles", [DefectClass("crack", "#ff0000"), "dent"], {"input_px": 256})
    project.close()
    document = json.loads((tmp_path / "p" / "project.json").read_text(encoding="utf-8"))
    assert document["name"] == "tiles"
    assert document["classes"] == [{"name": "crack", "color": "#ff0000"}, {"name": "dent", "color": None}]
    assert document["settings"] == {"input_px": 256}
    assert (tmp_path / "p" / ".gitignore").read_text(encoding="utf-8") == f"{CACHE_DIR}/\n"
    with Project.open(tmp_path / "p") as reopened:
        assert reopened.info.class_names == ("crack", "dent")


def test_create_rejects_existing_project(project: Project) -> None:
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(project.root, "again")


def test_open_rejects_plain_folder(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="project.json not found"):
        Project.open(tmp_path)


def test_add_images_reference_and_copy(project: Project, tmp_path: Path) -> None:
    source = tmp_path / "camera"
    make_image(source / "a.png", 40, 30)
    make_image(source / "sub" / "b.jpg", 50, 20, seed=1)
    single = make_image(tmp_path / "single.bmp", 20, 20, seed=2)
    (source / "notes.txt").write_text("not an image", encoding="utf-8")

    report = project.add_images([source, single], copy=False)
    assert report.items == ("camera/a", "camera/sub/b", "single")
    assert report.skipped == ()
    assert project.image_path("camera/a") == source / "a.png"
    assert project.entry("camera/sub/b").width == 50

    copied = project.add_images([single], copy=True, split=Split.TRAIN)
    assert copied.items == ("single_2",)
    assert project.image_path("single_2") == project.root / "images" / "single_2.bmp"
    assert project.entry("single_2").split is Split.TRAIN


def test_add_images_skips_duplicates_and_bad_files(project: Project, tmp_path: Path) -> None:
    good = make_image(tmp_path / "a.png", 20, 20)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    project.add_images([good])
    report = project.add_images([good, broken, tmp_path / "missing"])
    assert report.items == ()
    reasons = {Path(item.path).name: item.reason for item in report.skipped}
    assert "already in the project" in reasons["a.png"]
    assert "not an image" in reasons["broken.png"]
    assert "no such file" in reasons["missing"]


@pytest.mark.parametrize(("orientation", "upright_size"), [(6, (30, 50)), (8, (30, 50)), (3, (50, 30))])
def test_exif_orientation_gives_upright_size(
    project: Project, tmp_path: Path, orientation: int, upright_size: tuple[int, int]
) -> None:
    stored = Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rotated_{orientation}.jpg"
    stored.save(path, exif=exif.tobytes())
    image_id = project.add_image(path)
    label = project.get_label(image_id)
    assert (label.image_width, label.image_height) == upright_size
    assert (project.entry(image_id).width, project.entry(image_id).height) == upright_size


def test_filters_and_counts(project: Project, tmp_path: Path) -> None:
    for index in range(6):
        make_image(tmp_path / "src" / f"{index}.png", 20, 20, seed=index)
    project.add_images([tmp_path / "src"])
    ids = project.list_images()
    project.save_label(ids[0], replace(project.get_label(ids[0]), verdict=Verdict.GOOD, split=Split.TRAIN))
    project.save_label(ids[1], _ng_label(project.get_label(ids[1])))
    scratched = replace(_ng_label(project.get_label(ids[2])), split=Split.TEST)
    scratched = replace(scratched, regions=scratched.regions + (Region(Rectangle(6, 6, 9, 9), "scratch"),))
    project.save_label(ids[2], scratched)

    assert project.list_images(verdict=Verdict.UNLABELLED) == ids[3:]
    assert project.list_images(verdict=Verdict.GOOD) == [ids[0]]
    assert project.list_images(defect_type="crack") == [ids[1], ids[2]]
    assert project.list_images(defect_type="scratch") == [ids[2]]
    assert project.list_images(verdict=Verdict.NG, split=Split.TEST) == [ids[2]]
    both = ImageFilter(verdicts=frozenset({Verdict.GOOD, Verdict.NG}))
    assert project.list_images(both) == ids[:3]
    assert project.entry(ids[2]).region_types == ("crack", "scratch")

    counts = project.counts()
    assert counts.total == 6
    assert counts.by_verdict[Verdict.NG] == 2
    assert counts.by_verdict[Verdict.UNLABELLED] == 3
    assert counts.by_defect_type == {"crack": 2}
    assert counts.by_split[Split.NONE] == 4


def test_save_label_validates_size_and_classes(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 10))
    label = project.get_label(image_id)
    with pytest.raises(ProjectError, match="not in the class list"):
        project.save_label(image_id, _ng_label(label, "dent"))
    with pytest.raises(ProjectError, match="10x20 image but the image is 20x10"):
        project.save_label(image_id, replace(label, image_width=10, image_height=20))


def test_conflict_between_two_windows(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    with Project.open(project.root) as other:
        mine = project.get_label(image_id)
        theirs = other.get_label(image_id)
        other.save_label(image_id, replace(theirs, verdict=Verdict.GOOD))
        with pytest.raises(ConflictError) as caught:
            project.save_label(image_id, _ng_label(mine))
    assert caught.value.path == str(project.label_path(image_id))
    assert str(project.label_path(image_id)) in str(caught.value)
    assert project.get_label(image_id).verdict is Verdict.GOOD


def test_save_after_reload_succeeds(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    first = project.save_label(image_id, replace(project.get_label(image_id), comment="one"))
    second = project.save_label(image_id, replace(first, comment="two"))
    assert second.revision != first.revision
    with pytest.raises(ConflictError):
        project.save_label(image_id, replace(first, comment="stale"))
    assert project.get_label(image_id).comment == "two"


def test_failed_write_keeps_old_file(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    label_file = project.label_path(image_id)
    before = label_file.read_bytes()

    def failing_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(labeling.fileio.os, "replace", failing_replace)
    with pytest.raises(OSError, match="Could not write"):
        project.save_label(image_id, _ng_label(project.get_label(image_id)))
    monkeypatch.undo()

    assert label_file.read_bytes() == before
    assert [path.name for path in label_file.parent.iterdir() if path.name.startswith(".")] == []
    assert project.entry(image_id).verdict is Verdict.UNLABELLED


def test_refresh_picks_up_external_edits(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    label_file = project.label_path(image_id)
    document = json.loads(label_file.read_text(encoding="utf-8"))
    document["verdict"] = "good"
    label_file.write_text(json.dumps(document), encoding="utf-8")
    os.utime(label_file, ns=(1, 1))
    assert project.refresh() == ()
    assert project.entry(image_id).verdict is Verdict.GOOD


def test_refresh_reports_invalid_label_file(project: Project, tmp_path: Path) -> None:
    project.add_image(make_image(tmp_path / "a.png", 20, 20))
    (project.root / "labels" / "broken.json").write_text("{", encoding="utf-8")
    warnings = project.refresh()
    assert len(warnings) == 1
    assert "broken.json" in warnings[0]
    assert "broken" in project.invalid_label_files
    assert project.list_images() == ["a"]


def test_damaged_index_is_rebuilt(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    project.save_label(image_id, _ng_label(project.get_label(image_id)))
    project.close()
    (project.root / CACHE_DIR / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    with Project.open(project.root) as reopened:
        assert reopened.list_images(verdict=Verdict.NG) == [image_id]


def test_class_rename_updates_labels(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    project.save_label(image_id, _ng_label(project.get_label(image_id)))
    assert project.rename_class("crack", "fissure") == 1
    assert project.info.class_names == ("fissure", "scratch")
    label = project.get_label(image_id)
    assert label.defect_type == "fissure"
    assert label.regions[0].defect_type == "fissure"
    assert project.list_images(defect_type="fissure") == [image_id]


def test_class_remove_rejects_used_class(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 20, 20))
    project.save_label(image_id, _ng_label(project.get_label(image_id)))
    with pytest.raises(ProjectError, match="still used by 1 images"):
        project.remove_class("crack")
    project.remove_class("scratch")
    assert project.info.class_names == ("crack",)


def test_class_edit_conflict(project: Project) -> None:
    with Project.open(project.root) as other:
        other.add_class("dent")
        with pytest.raises(ConflictError, match="project.json"):
            project.add_class("hole")
        assert project.reload_info().class_names == ("crack", "scratch", "dent")
    project.add_class("hole")
    assert project.info.class_names == ("crack", "scratch", "dent", "hole")


def test_remove_image_deletes_copy_only(project: Project, tmp_path: Path) -> None:
    source = make_image(tmp_path / "a.png", 20, 20)
    referenced = project.add_image(source)
    copied = project.add_image(source, copy=True)
    copy_path = project.image_path(copied)
    project.remove_image(referenced)
    project.remove_image(copied)
    assert source.exists()
    assert not copy_path.exists()
    assert project.list_images() == []


def test_pixel_mask_label_survives_reopen(project: Project, tmp_path: Path) -> None:
    image_id = project.add_image(make_image(tmp_path / "a.png", 32, 24))
    mask = np.random.default_rng(5).random((24, 32)) > 0.7
    region = Region(PixelMask.from_array(mask), "scratch")
    project.save_label(image_id, replace(project.get_label(image_id), verdict=Verdict.NG, regions=(region,)))
    project.close()
    with Project.open(project.root) as reopened:
        stored = reopened.get_label(image_id).regions[0].shape
        assert np.array_equal(stored.to_array(24, 32), mask)


def test_ten_thousand_images_index_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Project.create(tmp_path / "big", "big", ["crack", "scratch"]).close()
    labels_folder = tmp_path / "big" / "labels" / "line1"
    labels_folder.mkdir(parents=True)
    verdicts = (Verdict.UNLABELLED, Verdict.GOOD, Verdict.NG)
    for index in range(10_000):
        verdict = verdicts[index % 3]
        regions = (Region(Rectangle(1, 1, 4, 4), "scratch", region_id="r1"),) if index % 7 == 0 else ()
        label = ImageLabel(
            image_width=64,
            image_height=48,
            verdict=verdict,
            defect_type="crack" if verdict is Verdict.NG else None,
            split=Split.TRAIN if index % 2 else Split.TEST,
            regions=regions,
        )
        (labels_folder / f"{index:05d}.json").write_bytes(encode_label(label, f"../../images/{index:05d}.png"))

    with Project.open(tmp_path / "big") as built:
        counts = built.counts()
        assert counts.total == 10_000
        assert counts.by_verdict[Verdict.NG] == 3_333
        assert len(built.list_images(defect_type="scratch")) == 1_429

    reads: list[Path] = []
    original_read = labeling.project.read_label_file

    def counting_read(path: Path) -> tuple[ImageLabel, str]:
        reads.append(Path(path))
        return original_read(path)

    monkeypatch.setattr(labeling.project, "read_label_file", counting_read)
    with Project.open(tmp_path / "big") as reopened:
        good_train = reopened.list_images(verdict=Verdict.GOOD, split=Split.TRAIN)
        assert len(good_train) == 1_667
        assert reads == []
        label = reopened.get_label(good_train[0])
        assert label.verdict is Verdict.GOOD
        assert len(reads) == 1
        assert reopened.image_path("line1/00000") == tmp_path / "big" / "images" / "00000.png"


def test_lock_times_out_then_takes_stale(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    lock = tmp_path / ".a.json.lock"
    lock.write_text("1234", encoding="ascii")
    with pytest.raises(LockTimeoutError, match="delete the lock file"):
        with file_lock(target, timeout_s=0.1):
            pass
    old_s = time.time() - STALE_LOCK_AGE_S - 5
    os.utime(lock, (old_s, old_s))
    with file_lock(target, timeout_s=0.1):
        assert lock.read_text(encoding="ascii") == str(os.getpid())
    assert not lock.exists()
