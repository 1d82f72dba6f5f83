"""A small progress bar on stderr for long CLI stages (no dependency, silent when not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressBar:
    """Draw ``stage [#####-----] done/total`` on one stderr line, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last_draw = 0.0
        self._stage = ""
        self._started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Update the bar; the signature matches the training progress callback."""
        if stage != self._stage:
            if self._stage:
                self._finish_line()
            self._stage = stage
            self._started = time.monotonic()
        now = time.monotonic()
        if not self.enabled or (now - self._last_draw < 0.1 and done < total):
            return
        self._last_draw = now
        fraction = done / total if total else 1.0
        filled = int(BAR_WIDTH * fraction)
        elapsed = now - self._started
        eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{stage:<10} [{bar}] {done}/{total}  ETA {eta:4.0f} s")
        self.stream.flush()

    def close(self) -> None:
        """End the current line."""
        if self._stage:
            self._finish_line()
            self._stage = ""

    def _finish_line(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
