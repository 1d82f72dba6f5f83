"""The self-test's comparison of the two engines: one shared graph, or separately quantized INT8 graphs."""

from __future__ import annotations

import pytest

from app.cli.selftest_command import EngineResult, compare_results, separate_graph_margin

REPORTS = [
    {"engine": "onnxruntime:CPUExecutionProvider", "max_normalized_delta": 0.08},
    {"engine": "openvino", "max_normalized_delta": 0.29},
    {"engine": "openvino+native-head", "max_normalized_delta": 0.30},
]


def _result(engine: str, score: float, normalized: float, verdict: str, problem: str | None = None) -> EngineResult:
    return EngineResult(engine, "CPU", score, verdict, normalized=normalized, reference_problem=problem)


def test_margin_sums_largest_delta_per_family() -> None:
    assert separate_graph_margin("int8", REPORTS) == pytest.approx(0.38)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_margin_none_for_shared_graph(precision: str) -> None:
    assert separate_graph_margin(precision, REPORTS) is None


def test_margin_none_without_both_families() -> None:
    assert separate_graph_margin("int8", REPORTS[:1]) is None


def test_int8_verdicts_may_differ_within_margin() -> None:
    results = [_result("onnxruntime", 50.6, 0.52, "NG"), _result("openvino", 49.6, 0.49, "OK")]
    assert compare_results(results, None, margin=0.38) == []


def test_int8_scores_beyond_margin_fail() -> None:
    results = [_result("onnxruntime", 60.0, 0.95, "NG"), _result("openvino", 40.0, 0.30, "OK")]
    failures = compare_results(results, None, margin=0.38)
    assert len(failures) == 1
    assert "differ by 0.650" in failures[0]
    assert "more than the 0.380" in failures[0]


def test_shared_graph_keeps_strict_rule() -> None:
    results = [_result("onnxruntime", 38.73, 0.40, "OK"), _result("openvino", 38.66, 0.40, "OK")]
    failures = compare_results(results, None)
    assert len(failures) == 1
    assert "beyond 0.001 relative" in failures[0]


def test_reference_input_mismatch_fails() -> None:
    results = [
        _result("onnxruntime", 38.7, 0.4, "OK"),
        _result("openvino", 38.7, 0.4, "OK", problem="self-test: openvino on CPU scores the reference image 0.9"),
    ]
    failures = compare_results(results, None, margin=0.38)
    assert failures == ["openvino: self-test: openvino on CPU scores the reference image 0.9"]
