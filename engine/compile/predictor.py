"""The torch-eager predictor: the training side's reference for what a bundle must output.

It shares preprocessing and decision code with the line runtime, so any difference
between the two comes from the engines alone, which the parity tests measure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from anomaly import TrainedModel
from engine.compile.export import load_trained_model
from engine.runtime.inspector import NG, OK, Verdict, normalize_score
from labeling.imageio import LoadedImage
from labeling.model_input import combine_outputs, model_inputs


class TorchPredictor:
    """Score images with the trained model in torch eager mode."""

    def __init__(self, trained: TrainedModel) -> None:
        self.trained = trained
        self.model = trained.torch_model()

    @classmethod
    def from_model_dir(cls, directory: str | os.PathLike[str]) -> TorchPredictor:
        """Load the model that ``inspect train`` wrote to ``directory``."""
        return cls(load_trained_model(directory))

    @torch.no_grad()
    def run_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (maps N x H x W, scores N) for a prepared batch."""
        maps, scores, _ = self.model(torch.from_numpy(batch))
        return maps[:, 0].numpy(), scores.double().numpy()

    def predict(self, images: Sequence[LoadedImage], batch_size: int = 1) -> list[Verdict]:
        """Judge images exactly as the runtime does, but with torch."""
        threshold = self.trained.threshold
        verdicts = []
        for image in images:
            inputs, plan = model_inputs(image, self.trained.input_size, self.trained.bit_depth, self.trained.resize)
            outputs = [self.run_batch(inputs[start : start + batch_size]) for start in range(0, len(inputs), batch_size)]
            maps = np.concatenate([item[0] for item in outputs])
            scores = np.concatenate([item[1] for item in outputs])
            anomaly_map, score = combine_outputs(maps, scores, plan, image.height, image.width)
            verdicts.append(
                Verdict(
                    score=score,
                    normalized_score=float(normalize_score(score, threshold.value, threshold.normal_level)),
                    verdict=NG if score > threshold.value else OK,
                    threshold=threshold.value,
                    width=image.width,
                    height=image.height,
                    anomaly_map=anomaly_map,
                )
            )
        return verdicts
