"""``inspect compile``: build a bundle for a target and precision from a trained model, with an accuracy guard."""

from __future__ import annotations

import argparse
import logging
import sys

from app.cli import exit_codes
from app.cli.quiet import third_party_stdout

logger = logging.getLogger(__name__)

GUARD_REJECTED = exit_codes.GUARD_REJECTED
"""Exit status when the accuracy guard rejects the compiled graphs (no bundle is written)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect compile``."""
    parser = subparsers.add_parser("compile", help="compile a trained model into a bundle", description=__doc__)
    parser.add_argument("model", help="model directory written by 'inspect train'")
    parser.add_argument("--out", required=True, help="bundle directory to write (replaced only when the compile succeeds)")
    parser.add_argument(
        "--target",
        choices=["auto", "cpu", "nvidia", "amd"],
        default="cpu",
        help="cpu: OpenVINO, then ONNX Runtime CPU; nvidia: TensorRT, then CUDA; amd: MIGraphX, then ROCm or "
        "DirectML; auto: the accelerator whose provider is installed, else cpu (default: cpu)",
    )
    parser.add_argument(
        "--precision",
        choices=["fp32", "fp16", "int8"],
        default="fp32",
        help="numeric precision of the compiled graphs; int8 needs --calibration and must pass the accuracy "
        "guard (default: fp32)",
    )
    parser.add_argument(
        "--calibration",
        nargs="+",
        metavar="PATH",
        help="good training images (folders or files); required for int8, every fourth is held out for validation",
    )
    parser.add_argument(
        "--validation", metavar="DIR", help="held-out images; in the MVTec AD layout the guard also checks image AUROC"
    )
    parser.add_argument(
        "--head",
        choices=["auto", "native", "function", "standard"],
        default="auto",
        help="head path: auto uses the native OpenVINO kernels when built and faster, else the fused function "
        "bodies (default: auto)",
    )
    parser.add_argument(
        "--max-auroc-drop", type=float, default=0.5, help="largest image-AUROC loss in points (default: 0.5)"
    )
    parser.add_argument(
        "--min-agreement", type=float, default=0.99, help="smallest share of identical verdicts (default: 0.99)"
    )
    parser.add_argument(
        "--bank-ratio",
        type=float,
        default=1.0,
        help="keep this fraction of the memory bank (greedy k-center); the guard checks the loss (default: 1)",
    )
    parser.add_argument("--validation-images", type=int, default=None, help="use at most this many validation images")
    parser.add_argument("--threads", type=int, default=None, help="threads for validation runs (default: all cores)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect compile`` and return the exit status."""
    from engine.bundle import BundleError
    from engine.compile.pipeline import CompileError, CompileOptions, compile_bundle
    from engine.compile.validate import GuardRejected, GuardTolerance

    options = CompileOptions(
        target=args.target,
        precision=args.precision,
        head=args.head,
        tolerance=GuardTolerance(auroc_drop_points=args.max_auroc_drop, min_verdict_agreement=args.min_agreement),
        validation_images=args.validation_images,
        bank_ratio=args.bank_ratio,
        threads=args.threads,
    )
    try:
        # ONNX Runtime's calibrator and NNCF print progress to stdout, which carries the summary below.
        with third_party_stdout(args.verbose):
            result = compile_bundle(
                args.model,
                args.out,
                options,
                calibration=args.calibration,
                validation=args.validation,
                progress=_print_stage,
            )
    except (BundleError, CompileError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    except GuardRejected as error:
        print(f"error: {error}", file=sys.stderr)
        return GUARD_REJECTED
    _print_summary(result)
    return exit_codes.OK


def _float_layers_text(search: dict) -> str:
    """Describe the layers that an engine's INT8 quantize-and-validate rounds kept in float, from the manifest record."""
    leading = int(search.get("leading_float_blocks", 0))
    float_parts = ["the stem"]
    if leading == 1:
        float_parts.append("block 0")
    elif leading > 1:
        float_parts.append(f"blocks 0-{leading - 1}")
    depthwise = search.get("float_depthwise_blocks") or []
    if depthwise:
        float_parts.append("the depthwise convolutions of blocks " + ", ".join(str(block) for block in depthwise))
    rounds = len(search.get("rounds", []))
    return f"kept in float: {', '.join(float_parts)} (chosen in {rounds} quantization round{'s' if rounds != 1 else ''})"


def _print_stage(message: str) -> None:
    """Print a compile stage on stderr, so stdout keeps only the summary that scripts read."""
    print(f"compile: {message} ...", file=sys.stderr, flush=True)


def _print_summary(result) -> None:
    manifest = result.manifest
    head = manifest.head
    print(f"bundle: {result.bundle} ({manifest.bundle_id})")
    print(f"target: {manifest.target}; precision: {manifest.precision}; engines: {', '.join(head['engines'])}")
    paths = ", ".join(f"{engine}: {path}" for engine, path in head.get("paths", {}).items())
    print(f"head: {paths}")
    if head.get("native_note"):
        print(f"note: {head['native_note']}")
    for engine in ("openvino", "onnxruntime"):
        search = (manifest.validation or {}).get(f"{engine}_float_layers")
        if search:
            print(f"{engine} int8: {_float_layers_text(search)}")
    for report in result.reports:
        auroc = (
            f"; AUROC {report.auroc_compiled:.4f} vs fp32 {report.auroc_reference:.4f}"
            if report.auroc_compiled is not None
            else ""
        )
        print(
            f"validation {report.engine}: {report.image_count} images; verdict agreement "
            f"{report.verdict_agreement:.1%}; score correlation {report.score_correlation:.5f}; "
            f"max normalized delta {report.max_normalized_delta:.2e}{auroc}"
        )
    tolerance = (manifest.validation or {}).get("tolerance")
    if result.reports and tolerance:
        print(
            f"guard: passed on every graph (image AUROC at most {tolerance['auroc_drop_points']:g} points below fp32 "
            f"where defects exist, at least {tolerance['min_verdict_agreement']:.0%} identical verdicts)"
        )
    if not result.reports:
        print(
            "warning: no validation images were given, so the bundle was not checked on held-out images; "
            "pass --validation DIR with test images (good and defect) to check it",
            file=sys.stderr,
        )
