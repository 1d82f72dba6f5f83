"""Run a bundle over a folder or a camera and keep the counters the Inspect page shows."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.runtime import ERROR, NG, Inspector
from engine.runtime.inspector import normalize_score
from engine.runtime.overlay import heatmap_overlay
from labeling.imageio import ImageReadError, LoadedImage, find_images, image_from_array, read_image

logger = logging.getLogger(__name__)

DISPLAY_MAX_SIDE_PX = 720
LATENCY_WINDOW = 200
RECENT_NG_COUNT = 12


@dataclass(frozen=True)
class InspectionResult:
    """The verdict on one image, with an overlay for display (RGB uint8, at most 720 px on its long side)."""

    name: str
    verdict: str
    score: float
    normalized_score: float
    latency_ms: float
    overlay: np.ndarray = field(repr=False, compare=False)
    error: str = ""


@dataclass(frozen=True)
class InspectRequest:
    """Inspection request: a bundle and a folder (``folder``) or an OpenCV camera (``camera``: index, file or URL).

    ``emit`` receives each :class:`InspectionResult`; ``max_frames`` stops a camera run (0: until stopped).
    """

    bundle: str
    folder: str = ""
    camera: str = ""
    max_frames: int = 0
    emit: Callable[[InspectionResult], None] | None = None
    engine: str = "auto"
    device: str = "cpu"


class Counters:
    """OK/NG/error counts, throughput and latency of an inspection run."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.ok = 0
        self.ng = 0
        self.errors = 0
        self._latencies_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._started: float | None = None
        self._last: float | None = None
        self.recent_ng: deque[InspectionResult] = deque(maxlen=RECENT_NG_COUNT)

    @property
    def total(self) -> int:
        """Images judged so far, errors included."""
        return self.ok + self.ng + self.errors

    def add(self, result: InspectionResult) -> None:
        """Count ``result``."""
        now = self._clock()
        if self._started is None:
            self._started = now - result.latency_ms / 1000.0
        self._last = now
        if result.verdict == ERROR:
            self.errors += 1
            return
        self._latencies_ms.append(result.latency_ms)
        if result.verdict == NG:
            self.ng += 1
            self.recent_ng.appendleft(result)
        else:
            self.ok += 1

    def throughput_per_s(self) -> float:
        """Images per second from the first result to the last."""
        if self._started is None or self._last is None or self._last <= self._started:
            return 0.0
        return self.total / (self._last - self._started)

    def mean_latency_ms(self) -> float:
        """Mean inference latency over the last results."""
        return float(np.mean(self._latencies_ms)) if self._latencies_ms else 0.0

    def max_latency_ms(self) -> float:
        """Largest inference latency over the last results."""
        return float(max(self._latencies_ms)) if self._latencies_ms else 0.0


def folder_frames(folder: Path) -> Iterator[tuple[str, LoadedImage | ImageReadError]]:
    """Yield ``(file name, image or read error)`` for the images under ``folder`` in sorted order."""
    files, errors = find_images([folder])
    for error in errors:
        yield Path(error.path).name, error
    for path in files:
        try:
            yield path.name, read_image(path)
        except ImageReadError as error:
            yield path.name, error


def camera_frames(uri: str, max_frames: int = 0) -> Iterator[tuple[str, LoadedImage | ImageReadError]]:
    """Yield frames of an OpenCV camera, file or stream as ``(frame name, image)``.

    The end of a video file ends the run; a camera or stream that stops delivering raises.

    Raises:
        app.station.sources.base.CameraError: the camera cannot be opened or stopped delivering frames.
    """
    from app.station.sources.base import CameraError
    from app.station.sources.opencv_source import OpenCvDriver

    is_file = Path(uri).is_file()
    driver = OpenCvDriver(uri)
    driver.open()
    try:
        count = 0
        while max_frames <= 0 or count < max_frames:
            try:
                frame = driver.read()
            except CameraError:
                if is_file and count > 0:
                    return
                raise
            count += 1
            order = "BGR" if frame.channel_order == "BGR" else "RGB"
            yield f"frame {count}", image_from_array(frame.pixels, f"camera {uri} frame {count}", channel_order=order)
    finally:
        driver.close()


def run_inspection(request: InspectRequest, progress: Callable[[str, int, int], None], cancel: threading.Event) -> dict[str, Any]:
    """Judge every image of the request's source and pass each result to ``request.emit``.

    A stop request (``cancel``) ends the run normally with the count so far.

    Raises:
        engine.bundle.BundleError: the bundle is invalid.
        app.station.sources.base.CameraError: the camera cannot be opened or stopped delivering frames.
    """
    inspector = Inspector.open(request.bundle, engine=request.engine, device=request.device)
    post = inspector.manifest.postprocessing
    source = camera_frames(request.camera, request.max_frames) if request.camera else folder_frames(Path(request.folder))
    count = 0
    for name, image in source:
        if cancel.is_set():
            break
        result = _judge(inspector, post, name, image)
        count += 1
        if request.emit is not None:
            request.emit(result)
        progress("inspect", count, 0)
    return {"images": count, "engine": inspector.engine, "provider": inspector.provider}


def _judge(inspector: Inspector, post: Any, name: str, image: LoadedImage | ImageReadError) -> InspectionResult:
    if not isinstance(image, ImageReadError):
        try:
            inspector.check_image(image)
        except ImageReadError as error:
            image = error
    if isinstance(image, ImageReadError):
        logger.warning("Inspect could not read %s: %s", name, image)
        return InspectionResult(name, ERROR, float("nan"), float("nan"), 0.0, np.zeros((1, 1, 3), np.uint8), str(image))
    started = time.perf_counter()
    verdict = inspector.inspect_images([image])[0]
    latency_ms = 1000.0 * (time.perf_counter() - started)
    normalized = np.asarray(normalize_score(verdict.anomaly_map, post.threshold, post.normal_level), dtype=np.float32)
    overlay = _fit(heatmap_overlay(image, normalized))
    return InspectionResult(name, verdict.verdict, verdict.score, verdict.normalized_score, latency_ms, overlay)


def _fit(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = DISPLAY_MAX_SIDE_PX / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
