"""``inspect self-test`` from the source tree: recording, comparing and reporting disagreements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.cli.selftest_command import EngineResult, compare_results
from tests.conftest import SAMPLE

REFERENCE_IMAGE = SAMPLE / "test" / "crack" / "exp1_num_249594.png"


def test_self_test_records_then_passes(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = tmp_path / "expected.json"
    arguments = ["self-test", "--bundle", str(sample_model), "--image", str(REFERENCE_IMAGE)]

    recorded = main([*arguments, "--record", str(expected)])
    compared = main([*arguments, "--expected", str(expected)])

    output = capsys.readouterr().out
    assert recorded == 0
    assert compared == 0
    assert set(json.loads(expected.read_text(encoding="utf-8"))) == {"onnxruntime", "openvino"}
    assert "self-test passed" in output


def test_self_test_fails_on_changed_score(sample_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = tmp_path / "expected.json"
    arguments = ["self-test", "--bundle", str(sample_model), "--image", str(REFERENCE_IMAGE)]
    assert main([*arguments, "--record", str(expected)]) == 0
    values = json.loads(expected.read_text(encoding="utf-8"))
    values["openvino"]["score"] *= 1.01
    expected.write_text(json.dumps(values), encoding="utf-8")

    status = main([*arguments, "--expected", str(expected)])

    assert status == 1
    assert "openvino scored" in capsys.readouterr().out


def test_self_test_reports_invalid_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["self-test", "--bundle", str(tmp_path), "--image", str(REFERENCE_IMAGE)])

    output = capsys.readouterr().out
    assert status == 1
    assert "onnxruntime failed" in output
    assert "openvino failed" in output


def test_self_test_needs_bundle_from_source(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["self-test"])

    assert status == 2
    assert "--bundle" in capsys.readouterr().err


def test_compare_flags_verdict_disagreement() -> None:
    results = [EngineResult("onnxruntime", "CPU", 1.0, "OK"), EngineResult("openvino", "CPU", 1.0, "NG")]

    failures = compare_results(results, None)

    assert any("engines disagree" in failure for failure in failures)


def test_compare_flags_score_difference() -> None:
    results = [EngineResult("onnxruntime", "CPU", 1.0, "OK"), EngineResult("openvino", "CPU", 1.01, "OK")]

    failures = compare_results(results, None)

    assert any("scores differ" in failure for failure in failures)


def test_compare_accepts_close_scores() -> None:
    results = [EngineResult("onnxruntime", "CPU", 1.0, "OK"), EngineResult("openvino", "CPU", 1.0005, "OK")]
    recorded = {"onnxruntime": {"score": 1.0, "verdict": "OK"}, "openvino": {"score": 1.0, "verdict": "OK"}}

    assert compare_results(results, recorded) == []


def test_compare_flags_recorded_verdict() -> None:
    results = [EngineResult("onnxruntime", "CPU", 1.0, "OK"), EngineResult("openvino", "CPU", 1.0, "OK")]
    recorded = {"onnxruntime": {"score": 1.0, "verdict": "NG"}}

    failures = compare_results(results, recorded)

    assert failures == ["onnxruntime judged OK, the recorded verdict is NG"]
