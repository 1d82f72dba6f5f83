"""Broken files in a batch: the run goes on, each bad file is named with its reason, status is partial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from labeling.imageio import ImageReadError, read_image, write_image
from tests.cases.images import jpeg_bytes, png_bytes, save_png, textured

EXPECTED_KINDS = {
    "cut.png": "truncated",
    "empty.jpg": "empty",
    "notes.png": "not_an_image",
    "cut.jpg": "truncated",
    "cut.tif": "truncated",
    "cut.bmp": "truncated",
}


def _broken_folder(folder: Path, rng: np.random.Generator) -> Path:
    for index in range(5):
        save_png(folder / f"good_{index}.png", textured(rng))
    png = png_bytes(textured(rng))
    (folder / "cut.png").write_bytes(png[: int(len(png) * 0.6)])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("inspection notes, not an image\n", encoding="utf-8")
    jpeg = jpeg_bytes(textured(rng))
    (folder / "cut.jpg").write_bytes(jpeg[: int(len(jpeg) * 0.7)])
    tiff = write_image(folder / "whole.tif", textured(rng)).read_bytes()
    (folder / "whole.tif").unlink()
    (folder / "cut.tif").write_bytes(tiff[: len(tiff) // 2])
    bmp = write_image(folder / "whole.bmp", textured(rng)).read_bytes()
    (folder / "whole.bmp").unlink()
    (folder / "cut.bmp").write_bytes(bmp[: len(bmp) // 2])
    return folder


@pytest.fixture()
def broken(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _broken_folder(tmp_path / "batch", rng)


def test_loader_names_each_kind(broken: Path) -> None:
    for name, kind in EXPECTED_KINDS.items():
        with pytest.raises(ImageReadError) as raised:
            read_image(broken / name)
        assert raised.value.kind == kind, name
        assert name in str(raised.value)


def test_train_skips_bad_files_and_reports_partial(broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model"
    assert main(["train", str(broken), "--out", str(model), "--size", "96"]) == 3
    err = capsys.readouterr().err
    for name in EXPECTED_KINDS:
        assert name in err
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["training"]["image_count"] == 5
    assert len(manifest["training"]["skipped_files"]) == len(EXPECTED_KINDS)


def test_run_lists_bad_files_and_exits_partial(broken: Path, sample_model: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main(["run", str(sample_model), str(broken), "--report", str(report), "--batch-size", "4"]) == 3
    rows = {Path(row["path"]).name: row for row in json.loads(report.read_text(encoding="utf-8"))}
    for name, kind in EXPECTED_KINDS.items():
        assert rows[name]["verdict"] == "ERROR"
        assert rows[name]["score"] is None
        assert rows[name]["error"].startswith(kind)
    judged = [row for row in rows.values() if row["verdict"] != "ERROR"]
    assert len(judged) == 5
