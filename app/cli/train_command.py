"""``inspect train``: learn what good parts look like and write a model bundle."""

from __future__ import annotations

import argparse
import logging
import sys

from app.cli import defect_options, exit_codes
from app.cli.progress import ProgressBar
from app.cli.run_command import image_files_hint

logger = logging.getLogger(__name__)

# How many training images above the threshold the warning names.
LISTED_ABOVE = 10


def _block_list(text: str) -> tuple[int, ...]:
    """Parse comma-separated block indices such as ``5,12,14``."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid block list {text!r}; use comma-separated integers such as 5,14") from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``inspect train``."""
    parser = subparsers.add_parser("train", help="train an anomaly model from good images", description=__doc__)
    parser.add_argument("good", nargs="+", metavar="GOOD_PATH", help="folders or files of good (defect-free) images")
    parser.add_argument("--out", required=True, help="model directory to write (replaced if it exists)")
    parser.add_argument(
        "--size", default="auto", help="model input: 'auto' (from the images' aspect ratio), '256' or HxW like '192x320'"
    )
    parser.add_argument(
        "--resize",
        choices=["auto", "stretch", "tile"],
        default="auto",
        help="'stretch' resizes whole images; 'tile' keeps the aspect ratio and cuts overlapping tiles "
        "(line-scan strips); 'auto' tiles when the images are longer than 4:1 (default: auto)",
    )
    parser.add_argument("--coreset-ratio", type=float, default=0.03, help="fraction of patches kept in the bank (default: 0.03)")
    parser.add_argument(
        "--backbone",
        default="efficientnet-lite1",
        choices=["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"],
        help="pretrained feature extractor (default: efficientnet-lite1)",
    )
    parser.add_argument(
        "--feature-blocks",
        type=_block_list,
        default=None,
        metavar="I,J[,K]",
        help="backbone block indices whose outputs form the patch features, the first at stride 8, "
        "for example '5,14' (default: the backbone's own choice; for efficientnet-lite1 5,14,19, "
        "or 5,14 when the input's shorter side is below 160 px)",
    )
    parser.add_argument(
        "--intensity",
        choices=["auto", "fixed", "per-image"],
        default=None,
        help="'per-image' standardizes each image's gray level and contrast before the backbone, so exposure "
        "changes between parts are not anomalies; 'fixed' keeps raw intensities, for defects that are only "
        "a change of brightness; 'auto' picks per-image when the good images' mean brightness varies by more "
        "than 20 %% (default: auto)",
    )
    threshold = parser.add_mutually_exclusive_group()
    threshold.add_argument(
        "--target-frr",
        type=float,
        default=None,
        help="accepted false-reject rate of good parts when no defect samples set the threshold: 0.01 means one "
        "good part in a hundred goes to re-inspection; lower catches fewer defects (default: 0.01)",
    )
    threshold.add_argument(
        "--threshold-margin",
        type=float,
        default=None,
        help="use the older rule instead: threshold = highest good score plus this margin times the spread of "
        "the good scores",
    )
    parser.add_argument("--memory-budget-mb", type=int, default=4096, help="memory for patch features (default: 4096 MB)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for subsampling (default: 0)")
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="do not add flipped and rotated copies of the good images to the bank (by default they are added "
        "when there are fewer than 100 images); use it when orientation matters, such as parts with printed text",
    )
    defect_options.add_arguments(parser)
    parser.set_defaults(handler=run)


def training_unavailable_message(error: ImportError) -> str:
    """Explain that this installation has no training support (a line runtime), and what to install."""
    return (
        f"training is not available in this installation ({error.name or error}); a line runtime only inspects. "
        "Install the studio package, or run: pip install torch==2.13.0 && pip install 'defectseek[train]'"
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect train`` and return the exit status."""
    try:
        from anomaly import TrainConfig, TrainingError, load_training_images, train_patchcore
        from engine.compile import write_model_bundle
    except ImportError as error:
        print(f"error: {training_unavailable_message(error)}", file=sys.stderr)
        return exit_codes.USAGE
    from labeling.model_input import parse_size

    if args.target_frr is not None and not 0.0 < args.target_frr < 0.5:
        print(
            "error: --target-frr must be between 0 and 0.5, for example 0.01 for one part in a hundred",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    if not 0.0 < args.coreset_ratio <= 1.0:
        print("error: --coreset-ratio must be in (0, 1]", file=sys.stderr)
        return exit_codes.USAGE
    try:
        size = parse_size(args.size)
    except ValueError as error:
        print(f"error: --size: {error}", file=sys.stderr)
        return exit_codes.USAGE
    images, errors = load_training_images(args.good)
    for error in errors:
        print(f"skipped: {error}", file=sys.stderr)
    if not images:
        print(f"error: no readable good images in {', '.join(args.good)}; {image_files_hint()}", file=sys.stderr)
        return exit_codes.USAGE
    config = TrainConfig(
        backbone=args.backbone,
        intensity=args.intensity or TrainConfig.intensity,
        feature_blocks=args.feature_blocks,
        size=size,
        resize=args.resize,
        coreset_ratio=args.coreset_ratio,
        threshold_margin=TrainConfig.threshold_margin if args.threshold_margin is None else args.threshold_margin,
        target_frr=None if args.threshold_margin is not None else (args.target_frr or TrainConfig.target_frr),
        augment_below=0 if args.no_augment else TrainConfig.augment_below,
        memory_budget_mb=args.memory_budget_mb,
        seed=args.seed,
    )
    progress = ProgressBar()
    try:
        trained = train_patchcore(images, config, progress=progress, skipped=errors)
        progress("export", 0, 1)
        manifest = write_model_bundle(trained, args.out)
        progress("export", 1, 1)
    except (TrainingError, ValueError) as error:
        progress.close()
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    except MemoryError:
        progress.close()
        print(
            f"error: training ran out of memory with {len(images)} images; lower --memory-budget-mb, "
            "use a smaller --size or --coreset-ratio, or train on fewer images",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    progress.close()
    height, width = trained.input_size
    print(
        f"trained on {trained.image_count} images in {trained.train_seconds:.1f} s; input {height}x{width} HxW "
        f"({trained.resize}); "
        f"bank {trained.bank.shape[0]} patches; threshold {trained.threshold.value:.4f} ({trained.threshold.method})"
    )
    if trained.threshold.target_frr is not None:
        print(f"threshold set for an expected false-reject rate of {trained.threshold.target_frr:.1%} of good parts")
    above = trained.images_above_threshold(images)
    if above:
        print(
            "warning: training images that score above the threshold (check them for defects or unusual parts): "
            + ", ".join(f"{name} ({score:.2f})" for name, score in above[:LISTED_ABOVE])
            + (f", and {len(above) - LISTED_ABOVE} more" if len(above) > LISTED_ABOVE else ""),
            file=sys.stderr,
        )
    print(f"model: {args.out} (bundle {manifest.bundle_id})")
    types_status = defect_options.train_types(args, trained, args.out)
    if types_status == exit_codes.USAGE:
        return types_status
    if trained.resize == "tile":
        print("note: images are tiled (aspect ratio kept); every pixel is covered", file=sys.stderr)
    if errors:
        print(f"warning: {len(errors)} file(s) could not be read and were skipped (exit status 3)", file=sys.stderr)
        return exit_codes.PARTIAL
    return types_status
