"""The model behind the pipeline: a judge per bundle and a slot that swaps judges between batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from labeling.imageio import LoadedImage, image_from_array

logger = logging.getLogger(__name__)

WARMUP_SIDE_PX = 256


@dataclass(frozen=True)
class Judgement:
    """The model's verdict on one image."""

    verdict: str
    score: float
    normalized_score: float
    threshold: float
    bundle_id: str
    defect_type: str | None = None
    defect_confidence: float | None = None


class Judge(Protocol):
    """A loaded, warmed-up model that judges batches of images."""

    bundle_id: str
    description: str

    def judge(self, images: Sequence[LoadedImage]) -> list[Judgement]:
        """Judge every image; the result list has the same order and length."""

    def warm_up(self) -> None:
        """Run one inference so the first real frame does not pay for lazy initialisation."""


JudgeOpener = Callable[[Path], Judge]


class InspectorJudge:
    """A judge backed by ``engine.runtime.Inspector`` (imported lazily: the station runs without torch).

    Args:
        bundle_dir: the bundle directory; the runtime verifies its schema and hashes on open.
        engine: ``auto``, ``openvino`` or ``onnxruntime``.
        device: ``auto``, ``cpu``, ``nvidia`` or ``amd``.
    """

    def __init__(self, bundle_dir: Path, engine: str = "auto", device: str = "auto") -> None:
        from engine.runtime import Inspector

        self._inspector = Inspector.open(bundle_dir, engine=engine, device=device)
        manifest = self._inspector.manifest
        self.bundle_id = str(manifest.bundle_id)
        self.description = f"{self.bundle_id} on {self._inspector.engine}/{self._inspector.provider}"
        self._warmup_size = _input_size(manifest)

    def judge(self, images: Sequence[LoadedImage]) -> list[Judgement]:
        """Run the bundle on ``images`` and convert the runtime's verdicts."""
        verdicts = self._inspector.inspect_images(list(images), batch_size=max(1, len(images)))
        return [
            Judgement(
                verdict=str(item.verdict),
                score=float(item.score),
                normalized_score=float(item.normalized_score),
                threshold=float(item.threshold),
                bundle_id=self.bundle_id,
                defect_type=getattr(item, "defect_type", None),
                defect_confidence=_optional_float(getattr(item, "defect_confidence", None)),
            )
            for item in verdicts
        ]

    def check(self, image: LoadedImage) -> None:
        """Raise :class:`labeling.imageio.ImageReadError` when the bundle cannot judge ``image``.

        A frame deeper than the model's bit depth (a camera switched to 12 bits for an 8-bit
        model) is rejected here, as a frame fault, instead of failing the inference batch.
        """
        self._inspector.check_image(image)

    def warm_up(self) -> None:
        """Judge one mid-gray image of the bundle's input size."""
        width, height = self._warmup_size
        pixels = np.full((height, width, 3), 128, dtype=np.uint8)
        self.judge([image_from_array(pixels, "warm-up", channel_order="RGB")])


def inspector_opener(engine: str = "auto", device: str = "auto") -> JudgeOpener:
    """Return an opener that loads bundles with the line runtime on the given engine and device."""

    def open_bundle(bundle_dir: Path) -> Judge:
        return InspectorJudge(bundle_dir, engine=engine, device=device)

    return open_bundle


class JudgeSlot:
    """Holds the judge in service; the pipeline reads it once per batch, the deploy service swaps it.

    A swap only replaces a reference, so a batch in flight finishes on the judge it
    started with and the next batch uses the new one. No frame is judged by a model
    that is still loading, and none is dropped.
    """

    def __init__(self, judge: Judge | None = None) -> None:
        self._judge = judge
        self._lock = threading.Lock()
        self.swaps = 0

    def current(self) -> Judge | None:
        """Return the judge in service, or None before the first bundle is loaded."""
        with self._lock:
            return self._judge

    def swap(self, judge: Judge) -> Judge | None:
        """Put ``judge`` in service and return the one it replaced."""
        with self._lock:
            previous, self._judge = self._judge, judge
            self.swaps += 1
        logger.info("Model in service: %s", judge.description)
        return previous


def _input_size(manifest: object) -> tuple[int, int]:
    """Return (width, height) of the bundle's input, or a square default when the manifest has none."""
    size = getattr(manifest, "input_size", None)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        height, width = size
        return int(width), int(height)
    return WARMUP_SIDE_PX, WARMUP_SIDE_PX


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)
