"""Messages of the ``inspect`` command that a user acts on: help text and input errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli.main import build_parser, main
from tests.conftest import SAMPLE


def test_help_lists_every_exit_status() -> None:
    epilog = build_parser().epilog
    assert "0 all judged" in epilog
    assert "1 NG found with --fail-on-ng or self-test failed" in epilog
    assert "2 usage error, invalid model or unusable device" in epilog
    assert "some outputs not written" in epilog
    assert "4 the INT8 accuracy guard" in epilog


def test_train_empty_folder_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "model"
    assert main(["train", str(empty), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"no readable good images in {empty}" in err
    assert ".png" in err
    assert not out.exists()


def test_run_empty_folder_names_it(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image", encoding="utf-8")
    assert main(["run", str(sample_model), str(empty)]) == 3
    err = capsys.readouterr().err
    assert f"no image files found in {empty}" in err
    assert ".png" in err


def test_eval_missing_dataset_names_it(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_such_dataset"
    assert main(["eval", str(sample_model), str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such dataset folder" in err
    assert "no test folder" not in err


def test_run_unwritable_report_names_it(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the report folder should be", encoding="utf-8")
    report = blocker / "report.json"
    assert main(["run", str(sample_model), str(SAMPLE / "test" / "good"), "--report", str(report)]) == 3
    err = capsys.readouterr().err
    assert f"report {report} was not written" in err
    assert "choose a writable path" in err


def test_types_empty_folder_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    defects = tmp_path / "defects"
    (defects / "crack").mkdir(parents=True)
    (defects / "crack" / "broken.png").write_bytes(b"")
    model = tmp_path / "model"
    model.mkdir()
    assert main(["types", str(model), "--defects", str(defects)]) == 2
    err = capsys.readouterr().err
    assert f"no readable defect examples in {defects}" in err
    assert "one subfolder of images per defect type" in err
    assert "broken.png" in err


def test_eval_without_test_images_fails(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "dataset"
    (dataset / "test" / "good").mkdir(parents=True)
    assert main(["eval", str(sample_model), str(dataset)]) == 2
    err = capsys.readouterr().err
    assert f"{dataset}: no images under test/" in err


def test_eval_good_only_shows_na(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "dataset"
    shutil.copytree(SAMPLE / "test" / "good", dataset / "test" / "good")
    assert main(["eval", str(sample_model), str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "F1 at threshold  n/a     (no defect images)" in out
    assert "escape rate      n/a     (no defect images)" in out
    assert "(good judged NG)" in out


def test_eval_defects_only_shows_na(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "dataset"
    shutil.copytree(SAMPLE / "test" / "crack", dataset / "test" / "crack")
    assert main(["eval", str(sample_model), str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "overkill rate    n/a     (no good images)" in out
    assert "(defects judged OK)" in out


@pytest.mark.parametrize("command", ["train", "run", "eval", "compile", "types", "self-test", "demo"])
def test_subcommand_help_plain_text(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"'inspect {command}'" in out
    assert "``" not in out


def test_compile_help_explains_precision(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "numeric precision of the compiled graphs" in out
    assert "int8 needs --calibration" in out
