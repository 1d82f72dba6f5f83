"""``inspect train --defects``, ``inspect run`` and ``inspect eval`` with defect types, on synthetic parts."""

from __future__ import annotations

import csv
import json
import re

import pytest

from app.cli.main import main
from labeling.imageio import write_image

from .synthetic import defect_images, good_images


def write_images(folder, items) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (image, mask) in enumerate(items):
        write_image(folder / f"{index}.png", image.pixels)
        if mask is not None:
            write_image(folder / f"{index}_mask.png", mask.astype("uint8") * 255)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Return (good folder, defects folder, MVTec-layout evaluation folder, model directory)."""
    root = tmp_path_factory.mktemp("cli")
    write_images(root / "good", [(image, None) for image in good_images(6, seed=0)])
    write_images(root / "defects" / "spot", defect_images("spot", 3, seed=1))
    write_images(root / "defects" / "scratch", defect_images("scratch", 3, seed=1))
    (root / "defects" / "dent").mkdir()
    evaluation = root / "eval"
    write_images(evaluation / "test" / "good", [(image, None) for image in good_images(2, seed=5)])
    for kind in ("spot", "scratch"):
        items = defect_images(kind, 2, seed=7)
        write_images(evaluation / "test" / kind, [(image, None) for image, _ in items])
        truth = evaluation / "ground_truth" / kind
        truth.mkdir(parents=True)
        for index, (_, mask) in enumerate(items):
            write_image(truth / f"{index}_mask.png", mask.astype("uint8") * 255)
    model = root / "model"
    status = main(
        ["train", str(root / "good"), "--out", str(model), "--size", "96", "--coreset-ratio", "0.5", "--defects", str(root / "defects")]
    )
    assert status == 0
    return root, evaluation, model


def test_train_warns_about_empty_type(dataset, capsys):
    root, _, _ = dataset
    status = main(["train", str(root / "good"), "--out", str(root / "again"), "--size", "96", "--defects", str(root / "defects")])
    captured = capsys.readouterr()
    assert status == 0
    assert "'dent'" in captured.err
    assert "spot 3" in captured.out


def test_run_reports_type_per_image_and_region(dataset, tmp_path):
    _, evaluation, model = dataset
    report = tmp_path / "report.json"
    status = main(["run", str(model), str(evaluation / "test" / "spot"), "--report", str(report), "--engine", "onnxruntime"])
    rows = json.loads(report.read_text())
    assert status == 0
    assert [row["regions"][0]["nearest_type"] for row in rows] == ["spot", "spot"]
    assert [row["defect_type"] for row in rows] == [row["regions"][0]["defect_type"] for row in rows]
    assert set(row["defect_type"] for row in rows) <= {"spot", "unknown"}


def test_run_csv_has_regions_column(dataset, tmp_path):
    _, evaluation, model = dataset
    report = tmp_path / "report.csv"
    main(["run", str(model), str(evaluation / "test" / "scratch"), "--report", str(report), "--engine", "openvino"])
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert len(rows) == 2
    for row in rows:
        assert re.fullmatch(r"(scratch|unknown) \d\.\d{3} at \d+,\d+ \d+x\d+(; .*)?", row["regions"])


def test_eval_reports_confusion_matrix(dataset, tmp_path, capsys):
    _, evaluation, model = dataset
    report = tmp_path / "eval.json"
    status = main(["eval", str(model), str(evaluation), "--report", str(report), "--engine", "onnxruntime"])
    types = json.loads(report.read_text())["defect_types"]
    assert status == 0
    assert types["rows"] == ["scratch", "spot"]
    assert types["columns"][-2:] == ["unknown", "none"]
    assert [sum(row) for row in types["confusion_matrix"]] == [2, 2]
    assert types["confusion_matrix"][0][1] == 0
    assert types["confusion_matrix"][1][0] == 0
    assert [score["support"] for score in types["per_type"]] == [2, 2]
    assert "confusion" in capsys.readouterr().out


def test_missing_defects_folder_is_usage_error(dataset, tmp_path, capsys):
    root, _, _ = dataset
    status = main(["train", str(root / "good"), "--out", str(tmp_path / "m"), "--size", "96", "--defects", str(tmp_path / "none")])
    assert status == 2
    assert "defect types" in capsys.readouterr().err


def test_types_adds_type_to_model(dataset, tmp_path, capsys):
    import shutil

    from engine.bundle import load_manifest

    root, _, model = dataset
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    write_images(tmp_path / "new" / "grid", defect_images("grid", 2, seed=4))
    status = main(["types", str(copy), "--defects", str(tmp_path / "new")])
    _, manifest = load_manifest(copy)
    assert status == 0
    assert manifest.task["defect_types"] == ["scratch", "spot", "grid"]
    assert "grid 2" in capsys.readouterr().out


def test_types_requires_examples(dataset, capsys):
    _, _, model = dataset
    assert main(["types", str(model)]) == 2
    assert "--defects" in capsys.readouterr().err
