"""``inspect self-test``: check an installed runtime by judging a reference image on every CPU engine.

The packaged runtime ships a small reference bundle, one reference image and the
scores that the source tree computed for them at package time (``expected.json``).
The self-test loads the bundle on ONNX Runtime and on OpenVINO and judges the image
on each. It passes when both engines load and agree on the verdict, and when every
verdict and score matches the recorded one (scores within a relative tolerance of
1e-3). A broken package (a missing native library, an OpenVINO plugin that
was not collected, a wrong decoder) fails here with the reason.

The engines of an INT8 bundle run graphs that were quantized separately, so their scores
differ by design. For such a bundle the engines must agree within the largest normalized-score
differences from fp32 that the compile measured for them (the sum of the two), and a verdict
may differ only within that margin. Each engine must also reproduce its own compile-time score
of the bundle's reference input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from app.cli import exit_codes

logger = logging.getLogger(__name__)

SELF_TEST_ENGINES = ("onnxruntime", "openvino")
SCORE_RELATIVE_TOLERANCE = 1e-3
SELF_TEST_FOLDER = "selftest"
BUNDLE_NAME = "bundle"
IMAGE_NAME = "reference.png"
EXPECTED_NAME = "expected.json"


@dataclass(frozen=True)
class EngineResult:
    """The judgement of the reference image on one engine, or why the engine failed."""

    engine: str
    provider: str | None
    score: float | None
    verdict: str | None
    error: str | None = None
    normalized: float | None = None
    reference_problem: str | None = None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect self-test``."""
    parser = subparsers.add_parser(
        "self-test",
        help="check this installation: judge a reference image on ONNX Runtime and OpenVINO",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", help="bundle to load (default: the reference bundle shipped with the package)")
    parser.add_argument("--image", help="image to judge (default: the reference image shipped with the package)")
    parser.add_argument(
        "--expected", help="JSON file of recorded results to compare with (default: the shipped expected.json)"
    )
    parser.add_argument("--record", help="write the results as the expected JSON file instead of comparing")
    parser.set_defaults(handler=run)


def shipped_self_test_folder() -> Path | None:
    """Return the packaged ``selftest`` folder, or None when running from a source checkout."""
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        return None
    folder = Path(base) / SELF_TEST_FOLDER
    return folder if folder.is_dir() else None


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect self-test`` and return the exit status."""
    shipped = shipped_self_test_folder()
    bundle = _argument_or_shipped(args.bundle, shipped, BUNDLE_NAME)
    image = _argument_or_shipped(args.image, shipped, IMAGE_NAME)
    if bundle is None or image is None:
        print("error: no reference bundle is packaged here; pass --bundle DIR and --image FILE", file=sys.stderr)
        return exit_codes.USAGE
    results = [judge_on(engine, bundle, image) for engine in SELF_TEST_ENGINES]
    for result in results:
        _print_result(result)
    if args.record:
        return _record(results, Path(args.record))
    expected_path = _argument_or_shipped(args.expected, shipped, EXPECTED_NAME)
    expected = _load_expected(expected_path) if expected_path else None
    margin = _bundle_margin(bundle)
    if margin is not None:
        print(
            f"note: the engines run separately quantized INT8 graphs; their normalized scores may differ by up to "
            f"{margin:.3f}, the sum of the differences from fp32 that the compile measured"
        )
    failures = compare_results(results, expected, margin)
    for failure in failures:
        print(f"self-test FAILED: {failure}")
    if failures:
        return exit_codes.NG_FOUND
    alike = "alike" if margin is None else "within that margin"
    print(f"self-test passed: {', '.join(SELF_TEST_ENGINES)} judged {image.name} {alike}")
    return exit_codes.OK


def separate_graph_margin(precision: str, reports: list[dict]) -> float | None:
    """Return the normalized-score difference allowed between the engines of a bundle, or None for one shared graph.

    INT8 bundles quantize a graph per engine. The margin is the sum over the two engine
    families of the largest normalized difference from fp32 in the compile's validation
    ``reports``. None when the bundle is not INT8 or lacks a report of either family.
    """
    if precision != "int8":
        return None
    largest: dict[str, float] = {}
    for report in reports:
        family = "openvino" if str(report.get("engine", "")).startswith("openvino") else "onnxruntime"
        delta = report.get("max_normalized_delta")
        if delta is not None:
            largest[family] = max(largest.get(family, 0.0), float(delta))
    if len(largest) < 2:
        return None
    return sum(largest.values())


def _bundle_margin(bundle: Path) -> float | None:
    from engine.bundle import BundleError, load_manifest

    try:
        _, manifest = load_manifest(bundle)
    except BundleError:
        return None  # judge_on reports the invalid bundle for each engine.
    return separate_graph_margin(manifest.precision, list((manifest.validation or {}).get("reports", [])))


def _argument_or_shipped(argument: str | None, shipped: Path | None, name: str) -> Path | None:
    if argument:
        return Path(argument)
    if shipped is None:
        return None
    return shipped / name


def judge_on(engine: str, bundle: Path, image: Path) -> EngineResult:
    """Load ``bundle`` on ``engine`` (CPU) and judge ``image``, returning any failure as the result's error."""
    from engine.bundle import BundleError
    from engine.runtime import EngineUnavailableError, Inspector
    from labeling.imageio import ImageReadError, read_image

    try:
        inspector = Inspector.open(bundle, engine=engine, device="cpu", threads=1)
        verdict = inspector.inspect_images([read_image(image)])[0]
    except (BundleError, EngineUnavailableError, ImageReadError, OSError, RuntimeError) as error:
        # The result carries the message to the report, so the log keeps only the traceback, shown with -v.
        logger.info("Self-test on %s failed", engine, exc_info=True)
        return EngineResult(engine, None, None, None, f"{type(error).__name__}: {error}")
    reference = inspector.self_test_result
    problem = None if reference is None or reference.passed else inspector.warnings[-1]
    return EngineResult(
        engine, inspector.provider, verdict.score, verdict.verdict, normalized=verdict.normalized_score, reference_problem=problem
    )


def compare_results(
    results: list[EngineResult], expected: dict[str, dict] | None, margin: float | None = None
) -> list[str]:
    """Return one message per disagreement: engine errors, differing verdicts, scores off the record.

    ``margin`` is the normalized-score difference allowed between separately quantized
    graphs (:func:`separate_graph_margin`); None compares raw scores at 1e-3 relative.
    """
    failures = [f"{result.engine} failed: {result.error}" for result in results if result.error]
    failures += [f"{result.engine}: {result.reference_problem}" for result in results if result.reference_problem]
    judged = [result for result in results if result.error is None]
    if margin is None:
        failures += _same_graph_failures(judged)
    else:
        failures += _separate_graph_failures(judged, margin)
    for result in judged:
        recorded = (expected or {}).get(result.engine)
        if recorded is None:
            continue
        if result.verdict != recorded["verdict"]:
            failures.append(f"{result.engine} judged {result.verdict}, the recorded verdict is {recorded['verdict']}")
        if not _close(result.score, recorded["score"]):
            failures.append(f"{result.engine} scored {result.score}, the recorded score is {recorded['score']}")
    return failures


def _same_graph_failures(judged: list[EngineResult]) -> list[str]:
    failures = []
    if len({result.verdict for result in judged}) > 1:
        failures.append("engines disagree: " + ", ".join(f"{r.engine} {r.verdict}" for r in judged))
    if len(judged) == 2 and not _close(judged[0].score, judged[1].score):
        failures.append(f"scores differ beyond {SCORE_RELATIVE_TOLERANCE:g} relative: {judged[0].score} vs {judged[1].score}")
    return failures


def _separate_graph_failures(judged: list[EngineResult], margin: float) -> list[str]:
    """Return a failure when the normalized scores differ by more than ``margin``; verdicts may differ within it."""
    if len(judged) != 2 or judged[0].normalized is None or judged[1].normalized is None:
        return []
    difference = abs(judged[0].normalized - judged[1].normalized)
    if difference <= margin:
        return []
    return [
        f"normalized scores differ by {difference:.3f} ({judged[0].engine} {judged[0].normalized:.3f}, "
        f"{judged[1].engine} {judged[1].normalized:.3f}), more than the {margin:.3f} the compile measured; "
        "compile the bundle again on this PC"
    ]


def _close(value: float | None, reference: float | None) -> bool:
    if value is None or reference is None:
        return False
    return abs(value - reference) <= SCORE_RELATIVE_TOLERANCE * max(abs(reference), 1e-12)


def _print_result(result: EngineResult) -> None:
    if result.error:
        # The reason follows once, in the "self-test FAILED" lines.
        print(f"{result.engine:<12} ERROR")
    else:
        normalized = "" if result.normalized is None else f" (normalized {result.normalized:.3f})"
        print(f"{result.engine:<12} {result.verdict:<6} score {result.score:.6f}{normalized} on {result.provider}")


def _record(results: list[EngineResult], target: Path) -> int:
    from labeling.fileio import atomic_write_json

    failed = [result for result in results if result.error]
    if failed:
        print(f"error: nothing recorded because {failed[0].engine} failed", file=sys.stderr)
        return exit_codes.USAGE
    atomic_write_json(target, {result.engine: asdict(result) for result in results})
    print(f"recorded: {target}")
    return exit_codes.OK


def _load_expected(path: Path) -> dict[str, dict] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        logger.warning("No recorded self-test results at %s; comparing the engines with each other only", path)
        return None
