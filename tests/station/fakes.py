"""Test doubles for the model: a judge whose verdicts and speed the test controls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from app.station.judge import Judgement
from labeling.imageio import LoadedImage


class FakeJudge:
    """Judges by a rule on the frame reference; records every batch it saw.

    Args:
        bundle_id: reported in every judgement.
        delay_s: sleep per batch, to simulate a slow model.
        is_ng: rule on the image's source name (``cam#<frame id>``); default: all OK.
    """

    def __init__(self, bundle_id: str = "fake-1", delay_s: float = 0.0,
                 is_ng: Callable[[str], bool] | None = None) -> None:
        self.bundle_id = bundle_id
        self.description = f"{bundle_id} on fake"
        self.delay_s = delay_s
        self.is_ng = is_ng or (lambda source: False)
        self.batches: list[list[str]] = []
        self.ready = True
        self.fail = False
        self._lock = threading.Lock()

    def judge(self, images: Sequence[LoadedImage]) -> list[Judgement]:
        if not self.ready:
            raise RuntimeError(f"judge {self.bundle_id} used before it finished loading")
        if self.fail:
            raise RuntimeError("fake model failure")
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.batches.append([image.source for image in images])
        results = []
        for image in images:
            ng = self.is_ng(image.source)
            results.append(Judgement(verdict="NG" if ng else "OK", score=0.9 if ng else 0.1,
                                     normalized_score=1.8 if ng else 0.2, threshold=0.5, bundle_id=self.bundle_id))
        return results

    def warm_up(self) -> None:
        return None
