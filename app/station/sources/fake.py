"""An in-process camera for failure tests, demos and benchmarks.

:class:`FakeCamera` plays the device: it yields ``distinct_frames`` different frames
and then follows its ``after`` rule. The device keeps its position across
connections, so after a reconnect the camera carries on where it stopped.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from app.station.frames import RawFrame
from app.station.sources.base import CameraError

AFTER_RULES = ("continue", "repeat", "fail_twice", "block")
IDLE_POLL_S = 0.05


class FakeCamera:
    """A scripted camera device.

    Args:
        distinct_frames: how many distinct frames come before the ``after`` rule applies.
        after: the rule after the distinct frames. ``continue`` yields distinct frames
            forever. ``repeat`` returns the last frame again, forever, with the same
            timestamp. ``fail_twice`` fails two reads, then yields distinct frames again.
            ``block`` blocks the next read for ``block_s`` like a hung driver, and
            ``close`` does not release it. Later connections work.
        fps: frame rate in free-run; 0 reads as fast as asked.
        width: frame width in pixels.
        height: frame height in pixels.
        seed: base seed of the pixel noise.
        software_trigger: when True, each frame waits for ``trigger``; an idle ``read``
            returns None after ``IDLE_POLL_S``, as a real driver's poll timeout does.
        open_failures: how many ``open`` calls fail before one succeeds.
        ignored_triggers: how many software triggers deliver no frame before one does, like
            a camera whose sensor is still starting after power-up.
    """

    def __init__(
        self,
        distinct_frames: int = 20,
        after: str = "continue",
        *,
        fps: float = 100.0,
        width: int = 64,
        height: int = 48,
        seed: int = 0,
        block_s: float = 30.0,
        software_trigger: bool = False,
        open_failures: int = 0,
        ignored_triggers: int = 0,
    ) -> None:
        if after not in AFTER_RULES:
            raise ValueError(f"FakeCamera after={after!r} is not supported; use one of {', '.join(AFTER_RULES)}.")
        self.distinct_frames = distinct_frames
        self.after = after
        self.fps = fps
        self.width = width
        self.height = height
        self.seed = seed
        self.block_s = block_s
        self.software_trigger = software_trigger
        self.open_failures = open_failures
        self.ignored_triggers = ignored_triggers
        self.triggers_received = 0
        self.frames_served = 0
        self.opens = 0
        self.closes = 0
        self._failures_done = 0
        self._blocked_once = False
        self._lock = threading.Lock()

    def driver(self) -> FakeDriver:
        """Create a new connection to this device (a driver factory)."""
        return FakeDriver(self)

    def make_frame(self, index: int) -> np.ndarray:
        """Return the BGR pixels of frame ``index`` (deterministic for a given seed)."""
        rng = np.random.default_rng(self.seed * 1_000_003 + index)
        return rng.integers(0, 256, size=(self.height, self.width, 3), dtype=np.uint8)

    def next_raw(self, release: threading.Event) -> RawFrame:
        """Produce the next read result following the script; may block or raise."""
        with self._lock:
            index = self.frames_served
            past_script = index >= self.distinct_frames
            if past_script and self.after == "repeat":
                index = self.distinct_frames - 1
            elif past_script and self.after == "fail_twice" and self._failures_done < 2:
                self._failures_done += 1
                raise CameraError(f"fake camera: read failure {self._failures_done} of 2")
            elif past_script and self.after == "block" and not self._blocked_once:
                self._blocked_once = True
                block = True
            else:
                block = False
                self.frames_served += 1
        if past_script and self.after == "block" and block:
            release.wait(self.block_s)
            raise CameraError(f"fake camera: read blocked for {self.block_s} s")
        return RawFrame(
            pixels=self.make_frame(index),
            channel_order="BGR",
            device_timestamp=index * 1000,
            device_frame_id=index,
        )


class FakeDriver:
    """One connection to a :class:`FakeCamera`."""

    def __init__(self, camera: FakeCamera) -> None:
        self.camera = camera
        self.name = f"fake camera (seed {camera.seed})"
        self.supports_software_trigger = camera.software_trigger
        self._triggers = threading.Semaphore(0)
        self._hang = threading.Event()
        self._closed = threading.Event()
        self._last_read = 0.0

    def open(self) -> None:
        """Connect, failing while the device still has ``open_failures`` left."""
        with self.camera._lock:
            self.camera.opens += 1
            if self.camera.open_failures > 0:
                self.camera.open_failures -= 1
                raise CameraError("fake camera: open failed as scripted")

    def read(self) -> RawFrame | None:
        """Return the next frame at the device's frame rate; None after ``IDLE_POLL_S`` without a trigger."""
        if self._closed.is_set():
            raise CameraError("fake camera: read after close")
        if self.camera.software_trigger:
            if not self._triggers.acquire(timeout=IDLE_POLL_S):
                return None
        elif self.camera.fps > 0:
            wait_s = self._last_read + 1.0 / self.camera.fps - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
        self._last_read = time.monotonic()
        return self.camera.next_raw(self._hang)

    def trigger(self) -> None:
        """Release one frame in software-trigger mode, unless the device still ignores triggers."""
        with self.camera._lock:
            self.camera.triggers_received += 1
            if self.camera.ignored_triggers > 0:
                self.camera.ignored_triggers -= 1
                return
        self._triggers.release()

    def close(self) -> None:
        """Close the connection; a read stuck in ``block`` stays stuck, like a hung driver."""
        self._closed.set()
        with self.camera._lock:
            self.camera.closes += 1
