"""Pipeline behaviour: verdicts stored before signalled, fail-safe NG, faults, back-pressure, batching."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace

from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import PartResult, ResultCode
from app.station.signals.base import FaultCode, NullSignaller
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import DATABASE_NAME, ResultStore, StoreSettings

from .fakes import FakeJudge
from .helpers import wait_until

FAST_FEED = FeedSettings(frozen_after_s=0.4, lost_after_s=1.0, reconnect_frozen_after_s=0.6,
                         backoff_initial_s=0.1, backoff_max_s=0.5, supervise_interval_s=0.02)
TRIGGERED_FEED = FeedSettings(lost_after_s=1.0, backoff_initial_s=0.1, supervise_interval_s=0.02,
                              expect_continuous_frames=False)


class CheckingSignaller(NullSignaller):
    """Asserts, at the moment of each publish, that the verdict is already committed."""

    def __init__(self, store_root, lanes: int = 1) -> None:
        super().__init__(lanes)
        self.store_root = store_root
        self.unstored: list[str] = []

    def publish(self, result: PartResult) -> None:
        with sqlite3.connect(self.store_root / DATABASE_NAME) as reader:
            row = reader.execute("SELECT id FROM results WHERE job_id = ?", (result.job_id,)).fetchone()
        if row is None:
            self.unstored.append(result.job_id)
        super().publish(result)


def make_pipeline(tmp_path, judge, cameras, mode="free_run", settings=None, signaller=None,
                  store_settings=None):
    store = ResultStore.open(tmp_path / "store", store_settings or StoreSettings())
    signaller = signaller or NullSignaller(lanes=len(cameras))
    signaller.start()
    pipeline = InspectionPipeline(JudgeSlot(judge), store, signaller, settings or PipelineSettings())
    feed_settings = FAST_FEED if mode == "free_run" else TRIGGERED_FEED
    for lane, camera in enumerate(cameras):
        feed = CameraFeed(f"cam{lane}", camera.driver, feed_settings)
        pipeline.add_feed(feed, lane=lane, mode=mode)
    return pipeline, store, signaller


def shutdown(pipeline, store, signaller):
    pipeline.stop()
    signaller.stop()
    store.close()


def test_every_frame_stored_before_signalled(tmp_path):
    signaller = CheckingSignaller(tmp_path / "store")
    judge = FakeJudge(is_ng=lambda source: source.endswith(("#3", "#7")))
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [FakeCamera(20, "repeat", fps=100)],
                                               signaller=signaller)
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 20, timeout_s=10)
        time.sleep(0.3)
    finally:
        shutdown(pipeline, store, signaller)
    assert signaller.unstored == []
    assert len(signaller.published) == 20
    verdicts = {result.frame_ref: result.verdict for result in signaller.published}
    assert verdicts["cam0#3"] == "NG"
    assert verdicts["cam0#7"] == "NG"
    assert sum(v == "NG" for v in verdicts.values()) == 2


def test_frozen_feed_yields_no_verdicts(tmp_path):
    pipeline, store, signaller = make_pipeline(tmp_path, FakeJudge(), [FakeCamera(20, "repeat", fps=200)])
    pipeline.start()
    try:
        assert wait_until(lambda: "CAMERA_FROZEN" in signaller.active_faults(0), timeout_s=5)
        time.sleep(0.5)
        assert len(signaller.published) == 20
        assert signaller.outputs(0).fault
        assert signaller.outputs(0).fault_code == FaultCode.CAMERA_FROZEN
        assert not signaller.outputs(0).ready
    finally:
        shutdown(pipeline, store, signaller)


def test_lost_camera_raises_fault_then_clears(tmp_path):
    pipeline, store, signaller = make_pipeline(tmp_path, FakeJudge(), [FakeCamera(20, "block", fps=200)])
    pipeline.start()
    try:
        assert wait_until(lambda: "CAMERA_LOST" in signaller.active_faults(0), timeout_s=4)
        assert signaller.outputs(0).fault_code == FaultCode.CAMERA_LOST
        assert wait_until(lambda: signaller.active_faults(0) == [], timeout_s=5)
        assert wait_until(lambda: signaller.outputs(0).ready, timeout_s=5)
        assert not signaller.outputs(0).fault
    finally:
        shutdown(pipeline, store, signaller)


def test_late_verdict_is_fail_safe_ng(tmp_path):
    judge = FakeJudge(delay_s=0.4)
    settings = PipelineSettings(result_deadline_s=0.15)
    camera = FakeCamera(3, "repeat", fps=0, software_trigger=True)
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [camera], mode="plc", settings=settings)
    pipeline.start()
    try:
        assert wait_until(lambda: signaller.outputs(0).ready, timeout_s=5)
        signaller.trigger(0, 41)
        assert wait_until(lambda: len(signaller.published) == 1, timeout_s=5)
        result = signaller.published[0]
        assert result.verdict == "NG"
        assert result.result_code == ResultCode.NG_TIMEOUT
        assert result.trigger_id == 41
        assert signaller.outputs(0).failed
        assert signaller.outputs(0).result_code == ResultCode.NG_TIMEOUT
        assert wait_until(lambda: (store.row(result.job_id) or {}).get("late_verdict") == "OK", timeout_s=5)
        time.sleep(0.5)
        assert len(signaller.published) == 1
    finally:
        shutdown(pipeline, store, signaller)


def test_trigger_without_frame_is_ng_camera(tmp_path):
    class NoFrameCamera(FakeCamera):
        """A triggered camera that ignores triggers (the driver idles)."""

    camera = NoFrameCamera(3, "repeat", fps=0, software_trigger=True)
    pipeline, store, signaller = make_pipeline(tmp_path, FakeJudge(), [camera], mode="plc",
                                               settings=PipelineSettings(result_deadline_s=0.2))
    pipeline._by_lane[0].feed.trigger = lambda: False
    pipeline.start()
    try:
        signaller.trigger(0, 5)
        assert wait_until(lambda: len(signaller.published) == 1, timeout_s=5)
        assert signaller.published[0].result_code == ResultCode.NG_CAMERA
        assert store.row(signaller.published[0].job_id)["verdict"] == "NG"
    finally:
        shutdown(pipeline, store, signaller)


def test_triggered_part_gets_model_verdict(tmp_path):
    camera = FakeCamera(100, "continue", fps=0, software_trigger=True)
    # Device frame 0 answers the feed's probe trigger, so the parts get frames 1, 2 and 3.
    judge = FakeJudge(is_ng=lambda source: source.endswith("#2"))
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [camera], mode="plc",
                                               settings=PipelineSettings(result_deadline_s=2.0))
    pipeline.start()
    try:
        assert wait_until(lambda: signaller.outputs(0).ready, timeout_s=5)
        assert camera.frames_served == 1
        for trigger_id in (1, 2, 3):
            signaller.trigger(0, trigger_id)
            assert wait_until(lambda trigger_id=trigger_id: len(signaller.published) == trigger_id, timeout_s=5)
        codes = [result.result_code for result in signaller.published]
        assert codes == [ResultCode.OK, ResultCode.NG, ResultCode.OK]
        assert [result.trigger_id for result in signaller.published] == [1, 2, 3]
        assert signaller.outputs(0).result_counter == 3
        assert signaller.outputs(0).trigger_id == 3
    finally:
        shutdown(pipeline, store, signaller)


def test_model_failure_raises_fault_and_ng(tmp_path):
    judge = FakeJudge()
    judge.fail = True
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [FakeCamera(5, "repeat", fps=100)])
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 5, timeout_s=5)
        assert {result.result_code for result in signaller.published} == {ResultCode.NG_ERROR}
        assert "MODEL_ERROR" in signaller.active_faults(0)
    finally:
        shutdown(pipeline, store, signaller)


def test_full_queue_decides_overload_ng(tmp_path):
    judge = FakeJudge(delay_s=0.05)
    settings = PipelineSettings(queue_size=1, result_deadline_s=5.0, max_batch=1)
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [FakeCamera(40, "repeat", fps=0)], settings=settings)
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 40, timeout_s=10)
        codes = [result.result_code for result in signaller.published]
        assert ResultCode.NG_OVERLOAD in codes
        assert ResultCode.OK in codes
        assert store.count() == 40
        assert pipeline.stats.counter("overload_drops") == codes.count(ResultCode.NG_OVERLOAD)
    finally:
        shutdown(pipeline, store, signaller)


def test_cameras_share_batches(tmp_path):
    judge = FakeJudge(delay_s=0.02)
    cameras = [FakeCamera(30, "repeat", fps=50, seed=seed) for seed in (1, 2, 3)]
    settings = PipelineSettings(max_batch=3, batch_window_s=0.02, result_deadline_s=2.0)
    pipeline, store, signaller = make_pipeline(tmp_path, judge, cameras, settings=settings)
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 90, timeout_s=15)
        sizes = [len(batch) for batch in judge.batches]
        assert max(sizes) > 1
        assert max(sizes) <= 3
        mixed = [batch for batch in judge.batches if len({name.split("#")[0] for name in batch}) > 1]
        assert mixed
        assert sum(sizes) == 90
    finally:
        shutdown(pipeline, store, signaller)


def test_latency_stats_exposed(tmp_path):
    pipeline, store, signaller = make_pipeline(tmp_path, FakeJudge(), [FakeCamera(10, "repeat", fps=100)])
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 10, timeout_s=5)
        status = pipeline.status()
        for stage in ("queue", "infer", "store", "signal", "total"):
            assert status["latency_ms"][stage]["count"] > 0, stage
            assert status["latency_ms"][stage]["p99"] >= status["latency_ms"][stage]["p50"]
        assert status["feeds"]["cam0"]["fresh_frames"] == 10
    finally:
        shutdown(pipeline, store, signaller)


def test_ng_images_saved_ok_sampled(tmp_path):
    judge = FakeJudge(is_ng=lambda source: source.endswith("#0"))
    store_settings = StoreSettings(ok_sample_every=3)
    pipeline, store, signaller = make_pipeline(tmp_path, judge, [FakeCamera(10, "repeat", fps=100)],
                                               store_settings=store_settings)
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 10, timeout_s=5)
        assert wait_until(lambda: sum(1 for row in store.recent(20) if row["image_path"]) == 4, timeout_s=5)
        rows = store.recent(20)
        ng_row = next(row for row in rows if row["verdict"] == "NG")
        assert ng_row["image_path"]
        assert (store.root / ng_row["image_path"]).is_file()
        assert sum(1 for row in rows if row["verdict"] == "OK" and row["image_path"]) == 3
    finally:
        shutdown(pipeline, store, signaller)


def test_stop_decides_pending_triggers(tmp_path):
    camera = FakeCamera(3, "repeat", fps=0, software_trigger=True)
    pipeline, store, signaller = make_pipeline(tmp_path, FakeJudge(), [camera], mode="plc",
                                               settings=PipelineSettings(result_deadline_s=30))
    pipeline._by_lane[0].feed.trigger = lambda: False
    pipeline.start()
    signaller.trigger(0, 9)
    assert wait_until(lambda: pipeline.stats.counter("parts") == 1, timeout_s=5)
    started = time.monotonic()
    pipeline.stop()
    assert time.monotonic() - started < 5
    assert [result.result_code for result in signaller.published] == [ResultCode.NG_ERROR]
    signaller.stop()
    store.close()


def test_unknown_model_verdict_is_ng_error(tmp_path):
    class ErrorJudge(FakeJudge):
        def judge(self, images):
            return [replace(item, verdict="ERROR") for item in super().judge(images)]

    pipeline, store, signaller = make_pipeline(tmp_path, ErrorJudge(), [FakeCamera(3, "repeat", fps=100)])
    pipeline.start()
    try:
        assert wait_until(lambda: len(signaller.published) == 3, timeout_s=5)
    finally:
        shutdown(pipeline, store, signaller)
    assert {result.result_code for result in signaller.published} == {ResultCode.NG_ERROR}
    assert {result.verdict for result in signaller.published} == {"NG"}
