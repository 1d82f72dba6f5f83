"""Frozen, failing and hung camera feeds: detection, reconnect, no stale frames, bounded shutdown."""

from __future__ import annotations

import threading
import time

from app.station.frames import Frame
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings, FeedState

from .helpers import wait_until

FAST = FeedSettings(frozen_after_s=0.4, lost_after_s=1.5, reconnect_frozen_after_s=0.6,
                    backoff_initial_s=0.1, backoff_max_s=0.8, supervise_interval_s=0.02)


class Recorder:
    """Collects fresh frames and state changes from a feed."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.states: list[tuple[float, FeedState]] = []
        self.lock = threading.Lock()

    def on_frame(self, frame: Frame) -> None:
        with self.lock:
            self.frames.append(frame)

    def on_state(self, source_id: str, old: FeedState, new: FeedState) -> None:
        with self.lock:
            self.states.append((time.monotonic(), new))

    def ids(self) -> list[int]:
        with self.lock:
            return [frame.device_frame_id for frame in self.frames]

    def entered(self, state: FeedState) -> float | None:
        with self.lock:
            return next((at for at, seen in self.states if seen == state), None)


def start_feed(camera: FakeCamera, settings: FeedSettings = FAST) -> tuple[CameraFeed, Recorder]:
    recorder = Recorder()
    feed = CameraFeed("cam", camera.driver, settings, on_frame=recorder.on_frame, on_state=recorder.on_state)
    feed.start()
    return feed, recorder


def test_repeated_frame_detected_as_frozen():
    camera = FakeCamera(20, "repeat", fps=200)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: feed.state == FeedState.FROZEN, timeout_s=5)
        time.sleep(1.0)
        assert recorder.ids() == list(range(20))
        status = feed.status()
        assert status.stale_frames > 0
        assert status.reconnects >= 1
        assert feed.state == FeedState.FROZEN
    finally:
        assert feed.stop(timeout_s=2)


def test_frozen_frames_never_leave_feed():
    camera = FakeCamera(20, "repeat", fps=500)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: feed.status().stale_frames > 200, timeout_s=5)
        assert len(recorder.frames) == 20
        digests = {frame.digest for frame in recorder.frames}
        assert len(digests) == 20
    finally:
        feed.stop()


def test_two_failed_reads_recover_without_reconnect():
    camera = FakeCamera(20, "fail_twice", fps=200)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: len(recorder.frames) >= 40, timeout_s=5)
        assert recorder.ids()[:40] == list(range(40))
        status = feed.status()
        assert status.read_errors == 2
        assert status.reconnects == 0
        assert recorder.entered(FeedState.LOST) is None
        assert feed.state == FeedState.LIVE
    finally:
        feed.stop()


def test_blocked_read_reports_lost_within_two_seconds():
    camera = FakeCamera(20, "block", fps=200, block_s=30)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: len(recorder.frames) == 20, timeout_s=5)
        blocked_at = recorder.frames[-1].received_at
        assert wait_until(lambda: recorder.entered(FeedState.LOST) is not None, timeout_s=3)
        assert recorder.entered(FeedState.LOST) - blocked_at < 2.0
    finally:
        feed.stop()


def test_blocked_read_reconnects_and_resumes():
    camera = FakeCamera(20, "block", fps=200, block_s=30)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: len(recorder.frames) >= 30, timeout_s=6)
        ids = recorder.ids()
        assert ids == sorted(set(ids))
        assert ids[:20] == list(range(20))
        assert feed.status().reconnects == 1
        assert camera.opens == 2
        assert feed.state == FeedState.LIVE
    finally:
        feed.stop()


def test_stop_returns_while_read_blocked():
    camera = FakeCamera(20, "block", fps=200, block_s=30)
    feed, recorder = start_feed(camera, FeedSettings(lost_after_s=20, frozen_after_s=10, reconnect_frozen_after_s=10))
    assert wait_until(lambda: len(recorder.frames) == 20, timeout_s=5)
    time.sleep(0.2)
    started = time.monotonic()
    feed.stop(timeout_s=1.0)
    assert time.monotonic() - started < 2.0
    assert feed.state == FeedState.STOPPED


def test_failed_opens_retry_with_backoff():
    camera = FakeCamera(20, "continue", fps=200, open_failures=3)
    feed, recorder = start_feed(camera)
    try:
        assert wait_until(lambda: len(recorder.frames) >= 5, timeout_s=5)
        assert camera.opens == 4
        assert feed.status().read_errors == 3
    finally:
        feed.stop()


def test_no_frames_after_stop():
    camera = FakeCamera(1000, "continue", fps=500)
    feed, recorder = start_feed(camera)
    assert wait_until(lambda: len(recorder.frames) >= 10, timeout_s=5)
    feed.stop()
    count = len(recorder.frames)
    time.sleep(0.2)
    assert len(recorder.frames) == count


def test_idle_triggered_camera_stays_live():
    camera = FakeCamera(20, "continue", software_trigger=True)
    settings = FeedSettings(frozen_after_s=0.2, lost_after_s=1.0, expect_continuous_frames=False)
    feed, recorder = start_feed(camera, settings)
    try:
        assert wait_until(lambda: feed.state == FeedState.LIVE, timeout_s=5)
        time.sleep(1.5)
        assert feed.state == FeedState.LIVE
        assert recorder.entered(FeedState.FROZEN) is None
        assert recorder.entered(FeedState.LOST) is None
        assert recorder.frames == []
    finally:
        feed.stop()


def test_reconnect_delay_doubles_to_cap(caplog):
    camera = FakeCamera(20, "continue", fps=200, open_failures=5)
    settings = FeedSettings(backoff_initial_s=0.05, backoff_max_s=0.4, supervise_interval_s=0.02)
    with caplog.at_level("INFO", logger="app.station.sources.feed"):
        feed, recorder = start_feed(camera, settings)
        try:
            assert wait_until(lambda: len(recorder.frames) >= 1, timeout_s=10)
        finally:
            feed.stop()
    delays = [float(record.getMessage().split("reconnecting in ")[1].split(" s")[0])
              for record in caplog.records if "reconnecting in" in record.getMessage()]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.4]
