"""Greedy k-center coreset selection for the memory bank, with progress and cancellation.

The method of Roth et al., "Towards Total Recall in Industrial Anomaly Detection"
(CVPR 2022): repeatedly add the feature farthest from the ones already chosen,
measured in a random projection of the features to save time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

logger = logging.getLogger(__name__)

PROJECTION_DIM = 128
PROGRESS_EVERY = 256

ProgressCallback = Callable[[str, int, int], None]


class TrainingCancelled(Exception):
    """Raised when the caller's cancel event is set during training."""


def greedy_coreset(
    features: torch.Tensor,
    count: int,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> torch.Tensor:
    """Select ``count`` row indices of ``features`` (M x C) that cover the set best.

    Args:
        features: the candidate patch features.
        count: how many to keep; values >= M return every index.
        seed: seed of the random projection and of the first centre.
        progress: called as ``progress("coreset", done, count)``.
        cancel: when set, selection stops with :class:`TrainingCancelled`.

    Returns:
        A 1-D int64 tensor of selected indices, in selection order.
    """
    total = features.shape[0]
    if count >= total:
        return torch.arange(total)
    generator = torch.Generator().manual_seed(seed)
    projected = _project(features, generator)
    norms = (projected * projected).sum(dim=1)
    selected = torch.empty(count, dtype=torch.int64)
    current = int(torch.randint(total, (1,), generator=generator))
    nearest = torch.full((total,), float("inf"))
    for step in range(count):
        selected[step] = current
        # Squared distance as |x|^2 - 2 x.c + |c|^2: one matrix-vector product, no M x C temporary.
        distance = norms - 2.0 * (projected @ projected[current]) + norms[current]
        torch.minimum(nearest, distance, out=nearest)
        current = int(torch.argmax(nearest))
        if step % PROGRESS_EVERY == 0:
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled("coreset selection was cancelled")
            if progress is not None:
                progress("coreset", step, count)
    if progress is not None:
        progress("coreset", count, count)
    return selected


def _project(features: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    channels = features.shape[1]
    if channels <= PROJECTION_DIM:
        return features.float().contiguous()
    matrix = torch.randn(channels, PROJECTION_DIM, generator=generator) / PROJECTION_DIM**0.5
    return (features.float() @ matrix).contiguous()
