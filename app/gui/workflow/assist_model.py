"""Anomaly maps for model-assisted labeling, from a trained model folder run by the torch-free runtime."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.gui.workflow.project_data import MANIFEST_NAME
from engine.bundle import BundleError
from engine.runtime import EngineUnavailableError, Inspector
from labeling.imageio import ImageReadError, read_image

logger = logging.getLogger(__name__)

MODEL_FAILED = "model"
IMAGE_FAILED = "image"
ENGINE_FAILED = "engine"


@dataclass(frozen=True)
class AssistMap:
    """A model's anomaly map of one image, with the model's decision threshold on the same raw scores.

    Attributes:
        image_path: the image the map belongs to.
        model_dir: the model folder that produced it.
        anomaly_map: float32 H x W raw scores at the image's own (upright) size.
        threshold: the model's decision threshold; pixels above it look defective to the model.
        score: the image score (the highest smoothed map value).
    """

    image_path: Path
    model_dir: Path
    anomaly_map: np.ndarray = field(repr=False, compare=False)
    threshold: float
    score: float


class AssistModelError(Exception):
    """Proposing failed: ``kind`` is ``model`` (invalid model folder), ``image`` (unreadable image) or ``engine``.

    Attributes:
        kind: which input is at fault.
        path: the model folder or image file at fault.
    """

    def __init__(self, kind: str, path: Path, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


def is_model_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` contains a bundle manifest (the file every trained model folder has)."""
    return (Path(folder) / MANIFEST_NAME).is_file()


class AssistModel:
    """One model folder, opened on the first request and reused for every later image.

    The inspector runs on CPU. Call :meth:`anomaly_map` from one thread at a time (the
    Label page uses a single worker thread).
    """

    def __init__(self, model_dir: str | os.PathLike[str]) -> None:
        self.model_dir = Path(model_dir)
        self._inspector: Inspector | None = None
        self._lock = threading.Lock()

    def anomaly_map(self, image_path: str | os.PathLike[str]) -> AssistMap:
        """Run the model on the image file and return its anomaly map.

        Raises:
            AssistModelError: the model folder is invalid, no engine can run it, or the image cannot be read.
        """
        path = Path(image_path)
        with self._lock:
            inspector = self._open()
            try:
                image = read_image(path)
                inspector.check_image(image)
            except ImageReadError as error:
                raise AssistModelError(IMAGE_FAILED, path, f"cannot read {path}: {error}") from error
            verdict = inspector.inspect_images([image])[0]
        logger.info("Proposed from %s on %s: score %.4f", self.model_dir.name, path.name, verdict.score)
        return AssistMap(
            image_path=path,
            model_dir=self.model_dir,
            anomaly_map=np.asarray(verdict.anomaly_map, dtype=np.float32),
            threshold=float(verdict.threshold),
            score=float(verdict.score),
        )

    def _open(self) -> Inspector:
        if self._inspector is not None:
            return self._inspector
        if not self.model_dir.is_dir():
            raise AssistModelError(MODEL_FAILED, self.model_dir, f"model folder {self.model_dir} does not exist")
        try:
            self._inspector = Inspector.open(self.model_dir, device="cpu")
        except BundleError as error:
            raise AssistModelError(MODEL_FAILED, self.model_dir, str(error)) from error
        except EngineUnavailableError as error:
            raise AssistModelError(ENGINE_FAILED, self.model_dir, str(error)) from error
        return self._inspector
