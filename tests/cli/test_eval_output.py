"""What ``inspect eval`` prints around the metrics: missing masks and a high escape rate."""

from __future__ import annotations

import pytest

from app.cli.eval_command import _print_result


def _result(escape_rate: float, pixel_auroc: float | None) -> dict:
    return {
        "images": 20,
        "image_auroc": 0.9,
        "pixel_auroc": pixel_auroc,
        "aupro": pixel_auroc,
        "threshold": 49.8,
        "at_threshold": {
            "true_positive": 6,
            "false_negative": 4,
            "false_positive": 1,
            "true_negative": 9,
            "f1": 0.7,
            "overkill_rate": 0.1,
            "escape_rate": escape_rate,
        },
        "unreadable": [],
    }


def test_high_escape_rate_prints_hint(capsys: pytest.CaptureFixture[str]) -> None:
    _print_result(_result(0.4, None))
    captured = capsys.readouterr()
    assert "hint: 40% of the defect images were judged OK" in captured.err
    assert "--target-frr" in captured.err
    assert "n/a     (no ground_truth masks)" in captured.out


def test_low_escape_rate_prints_no_hint(capsys: pytest.CaptureFixture[str]) -> None:
    _print_result(_result(0.05, 0.95))
    captured = capsys.readouterr()
    assert "hint:" not in captured.err
    assert "pixel AUROC      0.9500" in captured.out
