"""The guard's rejection messages: what changed, by how much, and how to proceed."""

from __future__ import annotations

from engine.compile.validate import GuardTolerance, ValidationReport, guard_violations


def _report(agreement: float, count: int) -> ValidationReport:
    return ValidationReport(
        engine="openvino",
        image_count=count,
        score_correlation=0.99,
        verdict_agreement=agreement,
        max_normalized_delta=0.01,
        auroc_reference=None,
        auroc_compiled=None,
    )


def test_one_flip_names_count() -> None:
    problems = guard_violations(_report(95 / 96, 96), GuardTolerance())

    assert len(problems) == 1
    assert "1 of 96 images changed verdict" in problems[0]
    assert "98.96% agree" in problems[0]
    assert "99.00%" in problems[0]
    assert "--min-agreement" in problems[0]


def test_full_agreement_passes() -> None:
    assert guard_violations(_report(1.0, 96), GuardTolerance()) == []
