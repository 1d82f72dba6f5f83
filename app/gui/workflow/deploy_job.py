"""The deploy job: turn a trained model into a bundle per target and precision, check it and time it.

:func:`run_deploy` runs in the worker process of :class:`app.gui.workflow.jobs.JobProcess`
because compiling imports torch. Bundles come from :func:`engine.compile.pipeline.compile_bundle`,
whose accuracy guard rejects an INT8 graph that loses too much against fp32. Without the
compiler only ``cpu``/``fp32`` can be built: the trained model folder already is such a
bundle, so it is verified and copied.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.gui.workflow.jobs import JobCancelled, JobFailure

logger = logging.getLogger(__name__)

DEPLOY_TARGET = "app.gui.workflow.deploy_job:run_deploy"
TARGETS = ("cpu", "nvidia", "amd")
PRECISIONS = ("fp32", "fp16", "int8")
STAGE_BUILD = "build"
STAGE_MEASURE = "measure"
TIMED_RUNS = 5


@dataclass(frozen=True)
class DeployRequest:
    """Build request from the Deploy page.

    Attributes:
        model_dir: the trained model (a cpu/fp32 bundle written by training).
        output_root: folder that receives one bundle folder per target.
        targets: subset of :data:`TARGETS`.
        precision: one of :data:`PRECISIONS`.
        sample_images: images used to time the bundle.
        calibration_images: good training images for INT8 calibration; every fourth one is held out
            for the accuracy guard.
    """

    model_dir: str
    output_root: str
    targets: tuple[str, ...]
    precision: str = "fp32"
    sample_images: tuple[str, ...] = ()
    calibration_images: tuple[str, ...] = ()


def run_deploy(request: DeployRequest, progress: Callable[[str, int, int], None], cancel: Any) -> dict[str, Any]:
    """Build, verify and time one bundle per requested target.

    Returns:
        ``{"bundles": [...]}`` with one entry per target: ``target``, ``precision``, ``path``,
        ``bundle_id``, ``guard``, ``ms_per_image``, ``provider`` and ``error`` (empty when the
        bundle was built). ``guard`` has ``passed``, ``message`` (the rejection), ``reports``
        (per graph: ``engine``, ``images``, ``agreement`` and ``auroc_drop_points``) and
        ``copied`` (True when the model was copied because the compiler is not installed).

    Raises:
        JobFailure: no target requested or an unknown precision.
        JobCancelled: ``cancel`` was set between targets.
    """
    if not request.targets:
        raise JobFailure("no target chosen; tick at least one of cpu, nvidia and amd")
    if request.precision not in PRECISIONS:
        raise JobFailure(f"invalid precision {request.precision!r}; choose one of {', '.join(PRECISIONS)}")
    entries = []
    for index, target in enumerate(request.targets):
        if cancel is not None and cancel.is_set():
            raise JobCancelled("deploy was cancelled")
        progress(STAGE_BUILD, index, len(request.targets))
        entries.append(_build_one(request, target, progress))
    progress(STAGE_BUILD, len(request.targets), len(request.targets))
    return {"bundles": entries}


def _build_one(request: DeployRequest, target: str, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    name = f"{Path(request.model_dir).name}-{target}-{request.precision}"
    destination = Path(request.output_root) / name
    entry: dict[str, Any] = {
        "target": target, "precision": request.precision, "path": str(destination), "bundle_id": "",
        "guard": {"passed": None, "message": "", "reports": [], "copied": False}, "ms_per_image": None, "provider": "", "error": "",
    }
    try:
        guard = _compile(request, target, destination)
    except Exception as error:  # noqa: BLE001 - each target reports its own failure and the others go on
        logger.warning("Building the %s/%s bundle failed: %s", target, request.precision, error, exc_info=True)
        entry["error"] = str(error)
        return entry
    entry["guard"] = guard
    if guard.get("passed") is False:
        return entry
    from engine.bundle import load_manifest

    entry["bundle_id"] = load_manifest(destination)[1].bundle_id
    progress(STAGE_MEASURE, 0, 1)
    entry.update(measure_speed(destination, target, request.sample_images))
    progress(STAGE_MEASURE, 1, 1)
    return entry


def _compile(request: DeployRequest, target: str, destination: Path) -> dict[str, Any]:
    """Write the bundle for ``target`` to ``destination`` and return the accuracy guard's verdict.

    Raises:
        JobFailure: the compiler is not installed and the request is not cpu/fp32.
        engine.compile.pipeline.CompileError: invalid request (for example int8 without calibration images).
    """
    try:
        from engine.compile.pipeline import CompileOptions, compile_bundle
        from engine.compile.validate import GuardRejected
    except ImportError as error:
        if (target, request.precision) != ("cpu", "fp32"):
            raise JobFailure(
                f"{target}/{request.precision} needs the bundle compiler, which this installation lacks ({error}); "
                "choose cpu and fp32, or install the train extra"
            ) from error
        copy_bundle(Path(request.model_dir), destination)
        return {"passed": True, "message": "", "reports": [], "copied": True}
    options = CompileOptions(target=target, precision=request.precision)
    calibration = list(request.calibration_images) or None
    try:
        result = compile_bundle(request.model_dir, destination, options, calibration=calibration)
    except GuardRejected as error:
        return {"passed": False, "message": str(error), "reports": [], "copied": False}
    reports = [
        {"engine": report.engine, "images": report.image_count, "agreement": report.verdict_agreement,
         "auroc_drop_points": report.auroc_drop_points}
        for report in result.reports
    ]
    return {"passed": True, "message": "", "reports": reports, "copied": False}


def copy_bundle(source: Path, destination: Path) -> None:
    """Verify ``source`` and copy it to ``destination`` through a staging folder (never half-written).

    Raises:
        engine.bundle.BundleError: ``source`` is not a valid bundle.
    """
    from engine.bundle import load_manifest

    load_manifest(source)
    staging = destination.with_name(f".{destination.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    if destination.exists():
        shutil.rmtree(destination)
    staging.rename(destination)
    load_manifest(destination)


def measure_speed(bundle: Path, target: str, sample_images: tuple[str, ...]) -> dict[str, Any]:
    """Time the bundle on this machine: median milliseconds per image over a few runs.

    Returns ``ms_per_image`` (None when the target cannot run here) and ``provider``.
    """
    from engine.runtime import EngineUnavailableError, Inspector
    from labeling.imageio import ImageReadError, read_image

    try:
        inspector = Inspector.open(bundle, device=target)
    except EngineUnavailableError as error:
        return {"ms_per_image": None, "provider": "", "speed_note": str(error)}
    images = []
    for path in sample_images[:TIMED_RUNS]:
        try:
            image = read_image(path)
            inspector.check_image(image)
            images.append(image)
        except ImageReadError as error:
            logger.warning("Timing skipped %s", error)
    if not images:
        return {"ms_per_image": None, "provider": inspector.provider, "speed_note": "no readable sample image"}
    inspector.inspect_images(images[:1])
    timings = []
    for image in images:
        started = time.perf_counter()
        inspector.inspect_images([image])
        timings.append(1000.0 * (time.perf_counter() - started))
    return {"ms_per_image": statistics.median(timings), "provider": inspector.provider, "speed_note": ""}


def export_bundle(bundle: Path, destination_folder: Path, *, as_zip: bool) -> Path:
    """Copy a verified bundle into ``destination_folder`` (a folder or a USB stick) as a folder or a zip.

    Returns:
        The written folder or zip file.

    Raises:
        engine.bundle.BundleError: ``bundle`` is not a valid bundle.
        OSError: the destination cannot be written.
    """
    from engine.bundle import load_manifest

    load_manifest(bundle)
    destination_folder.mkdir(parents=True, exist_ok=True)
    if not as_zip:
        target = destination_folder / bundle.name
        copy_bundle(bundle, target)
        return target
    from engine.bundle import zip_bundle

    return zip_bundle(bundle, destination_folder / f"{bundle.name}.zip")
