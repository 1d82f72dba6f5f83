"""Camera drivers against real back ends: OpenCV video files, a watched folder, the GenTL virtual camera
shipped with the genicam package, and the pylon camera emulator."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.station.sources.feed import CameraFeed, FeedSettings, FeedState
from app.station.sources.folder_source import FolderDriver
from app.station.sources.opencv_source import OpenCvDriver
from labeling.imageio import write_image

from .helpers import wait_until


def collect(feed_factory, count, timeout_s=10.0, settings=None):
    frames = []
    feed = CameraFeed("cam", feed_factory, settings or FeedSettings(frozen_after_s=2, lost_after_s=3),
                      on_frame=frames.append)
    feed.start()
    try:
        assert wait_until(lambda: len(frames) >= count, timeout_s=timeout_s), f"only {len(frames)} frames"
    finally:
        feed.stop()
    return frames, feed


def write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    rng = np.random.default_rng(11)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()


def test_opencv_video_file_frames(tmp_path):
    video = tmp_path / "parts.avi"
    write_video(video, 12)
    frames, feed = collect(lambda: OpenCvDriver(str(video)), 12)
    assert [frame.sequence for frame in frames[:12]] == list(range(1, 13))
    assert frames[0].pixels.shape == (48, 64, 3)
    assert frames[0].channel_order == "BGR"
    assert feed.status().read_errors >= 0


def test_opencv_end_of_file_is_lost(tmp_path):
    video = tmp_path / "short.avi"
    write_video(video, 3)
    states = []
    feed = CameraFeed("cam", lambda: OpenCvDriver(str(video)),
                      FeedSettings(lost_after_s=1, backoff_initial_s=5, max_consecutive_errors=3),
                      on_state=lambda source, old, new: states.append(new))
    feed.start()
    try:
        assert wait_until(lambda: FeedState.LOST in states, timeout_s=5)
    finally:
        feed.stop()


def test_opencv_missing_device_reports_error(tmp_path):
    driver = OpenCvDriver(str(tmp_path / "missing.avi"))
    with pytest.raises(Exception, match="could not open"):
        driver.open()


def test_folder_source_reads_new_files(tmp_path):
    inbox = tmp_path / "inbox"
    done = tmp_path / "done"
    inbox.mkdir()
    rng = np.random.default_rng(5)
    for index in range(3):
        write_image(inbox / f"part{index}.png", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    (inbox / "broken.png").write_bytes(b"not a png")
    identical = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    write_image(inbox / "part3.png", identical)
    write_image(inbox / "part4.png", identical)
    driver = FolderDriver(inbox, poll_s=0.05, settle_s=0.1, done_dir=done)
    settings = FeedSettings(expect_continuous_frames=False, lost_after_s=3)
    frames, _ = collect(lambda: driver, 5, settings=settings)
    assert [Path(frame.frame_ref).name for frame in frames] == [f"part{index}.png" for index in range(5)]
    assert frames[3].pixels.ndim == 2
    assert frames[0].channel_order == "RGB"
    assert sorted(path.name for path in done.iterdir()) == [f"part{index}.png" for index in range(5)]
    assert [error.kind for error in driver.skipped] == ["not_an_image"]


def test_folder_source_waits_for_settled_file(tmp_path):
    driver = FolderDriver(tmp_path, poll_s=0.05, settle_s=0.3)
    driver.open()
    write_image(tmp_path / "a.png", np.zeros((32, 32), dtype=np.uint8))
    assert driver.read() is None
    frame = None
    for _ in range(20):
        frame = driver.read()
        if frame is not None:
            break
    assert frame is not None
    assert frame.frame_ref.endswith("a.png")


def test_genicam_virtual_camera_streams():
    harvesters = pytest.importorskip("harvesters")
    genicam = pytest.importorskip("genicam")
    from app.station.sources.genicam_source import GenicamDriver

    cti = os.path.join(os.path.dirname(genicam.__file__), "viky.cti")
    if not os.path.isfile(cti):
        pytest.skip(f"the genicam package ({harvesters.__name__} back end) ships no virtual producer at {cti}")
    frames, feed = collect(lambda: GenicamDriver(cti, "VikyTL_DEV_red"), 5)
    assert frames[0].pixels.shape[:2] == (400, 400)
    assert len({frame.digest for frame in frames}) == len(frames)
    assert feed.status().reconnects == 0


def test_genicam_without_software_trigger_rejected():
    genicam = pytest.importorskip("genicam")
    pytest.importorskip("harvesters")
    from app.station.sources.base import CameraError
    from app.station.sources.genicam_source import GenicamDriver

    driver = GenicamDriver(os.path.join(os.path.dirname(genicam.__file__), "viky.cti"), 0, software_trigger=True)
    with pytest.raises(CameraError, match="no software trigger"):
        driver.open()


def test_pylon_emulator_software_trigger(tmp_path):
    pytest.importorskip("pypylon")
    from app.station.sources.pylon_source import PylonDriver

    rng = np.random.default_rng(9)
    for index in range(4):
        write_image(tmp_path / f"img{index}.png", rng.integers(0, 256, (60, 80), dtype=np.uint8))
    driver = PylonDriver(software_trigger=True, timeout_ms=200, emulation_images=str(tmp_path))
    frames = []
    feed = CameraFeed("basler", lambda: driver, FeedSettings(expect_continuous_frames=False, lost_after_s=3),
                      on_frame=frames.append)
    feed.start()
    try:
        assert wait_until(lambda: feed.state == FeedState.LIVE, timeout_s=10)
        assert frames == []
        for count in (1, 2, 3):
            assert feed.trigger()
            assert wait_until(lambda count=count: len(frames) == count, timeout_s=5)
    finally:
        feed.stop()
    assert frames[0].pixels.shape == (60, 80)
    # The emulator's frame 1 answered the feed's probe trigger and was not passed on.
    assert frames[0].device_frame_id == 2
