"""Per-stage latency windows and counters of the pipeline."""

from __future__ import annotations

import threading
from collections import Counter, deque

import numpy as np

WINDOW_SAMPLES = 10_000
STAGES = ("queue", "infer", "store", "signal", "total")


class LatencyStats:
    """Keeps the last ``WINDOW_SAMPLES`` latencies (milliseconds) of each stage and event counters.

    Stages: ``queue`` (frame ready to inference start), ``infer`` (the batch's inference),
    ``store`` (database commit), ``signal`` (PLC write) and ``total`` (trigger, or frame
    arrival in free-run, to the signalled verdict).
    """

    def __init__(self, window: int = WINDOW_SAMPLES) -> None:
        self._samples = {stage: deque(maxlen=window) for stage in STAGES}
        self._counters: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, stage: str, milliseconds: float) -> None:
        """Record one latency sample of ``stage``."""
        with self._lock:
            self._samples[stage].append(milliseconds)

    def count(self, name: str, amount: int = 1) -> None:
        """Increase the counter ``name``."""
        with self._lock:
            self._counters[name] += amount

    def counter(self, name: str) -> int:
        """Return the counter ``name``."""
        with self._lock:
            return self._counters[name]

    def summary(self) -> dict[str, object]:
        """Return ``{"latency_ms": {stage: {count, p50, p99, max}}, "counters": {...}}``."""
        with self._lock:
            samples = {stage: np.asarray(values, dtype=np.float64) for stage, values in self._samples.items()}
            counters = dict(self._counters)
        latency = {}
        for stage, values in samples.items():
            if values.size == 0:
                latency[stage] = {"count": 0, "p50": None, "p99": None, "max": None}
                continue
            latency[stage] = {
                "count": int(values.size),
                "p50": round(float(np.percentile(values, 50)), 3),
                "p99": round(float(np.percentile(values, 99)), 3),
                "max": round(float(values.max()), 3),
            }
        return {"latency_ms": latency, "counters": counters}
