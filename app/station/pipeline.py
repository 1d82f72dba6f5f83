"""The bounded inspection pipeline: acquire -> infer -> decide -> store -> signal.

Threads and queues:

* Camera feeds hand fresh frames to :meth:`InspectionPipeline.on_frame` in their reader
  thread. In ``free_run`` mode every fresh frame is a part. In ``plc`` mode a frame is
  used only when a PLC trigger is waiting for one, and the trigger takes the first
  fresh frame that arrived after it.
* The inference queue contains at most ``queue_size`` parts. Drop policy: a part that
  finds it full is not queued. It is decided NG with code ``NG_OVERLOAD`` at once,
  stored and signalled. So the acquisition thread never blocks, and the PLC always
  gets a result.
* One inference thread batches parts from several cameras sharing one engine. A batch
  takes the parts already queued, up to ``max_batch``. While a camera has no part in
  the batch, it waits up to ``batch_window_s`` for one, but never past the earliest
  deadline minus the running estimate of inference time.
* One output thread decides, commits each verdict to the store and only then signals it.
* A deadline thread decides NG (``NG_TIMEOUT``, or ``NG_CAMERA`` when no frame came)
  for every part still undecided ``result_deadline_s`` after its trigger. A verdict that
  arrives later is stored as the late verdict of that row and never signalled.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from app.station.frames import Frame
from app.station.judge import Judgement, JudgeSlot
from app.station.results import PartResult, ResultCode
from app.station.signals.base import FaultCode, Signaller
from app.station.sources.feed import CameraFeed, FeedState
from app.station.stats import LatencyStats
from app.station.store import ResultStore, StoreError
from labeling.imageio import ImageReadError, LoadedImage, image_from_array

logger = logging.getLogger(__name__)

MODES = ("free_run", "plc")
ESTIMATE_WEIGHT = 0.2


@dataclass(frozen=True)
class PipelineSettings:
    """Limits of the pipeline; durations in seconds.

    Attributes:
        result_deadline_s: trigger (or frame arrival) to signalled verdict; later is NG.
        queue_size: parts waiting for inference before new ones are decided NG_OVERLOAD.
        max_batch: most parts inferred together.
        batch_window_s: how long the first part of a batch waits for parts of other cameras.
        inference_estimate_s: starting estimate of one batch's inference time.
    """

    result_deadline_s: float = 0.5
    queue_size: int = 16
    max_batch: int = 4
    batch_window_s: float = 0.005
    inference_estimate_s: float = 0.05

    def __post_init__(self) -> None:
        if self.result_deadline_s <= 0:
            raise ValueError(f"result_deadline_s must be > 0, got {self.result_deadline_s}")
        if self.queue_size < 1 or self.max_batch < 1:
            raise ValueError(f"queue_size and max_batch must be >= 1, got {self.queue_size} and {self.max_batch}")
        if self.batch_window_s < 0:
            raise ValueError(f"batch_window_s must be >= 0, got {self.batch_window_s}")


@dataclass
class _Job:
    """A part on its way through the pipeline (internal, mutable)."""

    job_id: str
    lane: int
    source_id: str
    trigger_id: int
    triggered_at: float
    wall_time: float
    deadline: float
    frame: Frame | None = None
    image: LoadedImage | None = None
    queued_at: float = 0.0
    decided: bool = False
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Lane:
    lane: int
    feed: CameraFeed
    mode: str
    waiting: deque[_Job] = field(default_factory=deque)


class InspectionPipeline:
    """Judges parts from camera feeds and reports every verdict, stored first, to the PLC.

    Args:
        slot: the judge in service (swapped by the deploy service).
        store: the results store.
        signaller: the PLC transport.
        settings: limits.
    """

    def __init__(self, slot: JudgeSlot, store: ResultStore, signaller: Signaller,
                 settings: PipelineSettings | None = None) -> None:
        self.slot = slot
        self.store = store
        self.signaller = signaller
        self.settings = settings or PipelineSettings()
        self.stats = LatencyStats()
        self._lanes: dict[str, _Lane] = {}
        self._by_lane: dict[int, _Lane] = {}
        self._infer_queue: queue.Queue[_Job] = queue.Queue(self.settings.queue_size)
        self._output_queue: queue.Queue[tuple[_Job, ResultCode, str, Judgement | None]] = queue.Queue()
        self._deadlines: list[tuple[float, int, _Job]] = []
        self._deadline_wakeup = threading.Condition()
        self._sequence = itertools.count()
        self._decide_lock = threading.Lock()
        self._lanes_lock = threading.Lock()
        self._ready_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._estimate_s = self.settings.inference_estimate_s
        signaller.set_trigger_handler(self.trigger)

    # -- setup --------------------------------------------------------------

    def add_feed(self, feed: CameraFeed, lane: int, mode: str = "free_run") -> None:
        """Attach a feed (not yet started) to ``lane``; the pipeline takes its frames and state changes."""
        if mode not in MODES:
            raise ValueError(f"Camera {feed.source_id!r}: mode {mode!r} is not supported; use free_run or plc.")
        if lane in self._by_lane:
            raise ValueError(f"Camera {feed.source_id!r}: lane {lane} is already used by "
                             f"{self._by_lane[lane].feed.source_id!r}; give each camera its own lane.")
        entry = _Lane(lane=lane, feed=feed, mode=mode)
        self._lanes[feed.source_id] = entry
        self._by_lane[lane] = entry
        feed.set_listeners(self.on_frame, self.on_feed_state)

    def start(self) -> None:
        """Start the worker threads and the feeds."""
        for target, name in ((self._infer_loop, "infer"), (self._output_loop, "output"),
                             (self._deadline_loop, "deadlines")):
            thread = threading.Thread(target=target, name=f"pipeline-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.store.start()
        for entry in self._lanes.values():
            entry.feed.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the feeds, decide every pending part NG, and stop the threads."""
        for entry in self._lanes.values():
            entry.feed.stop(timeout_s=1.0)
        self._stopping.set()
        with self._deadline_wakeup:
            pending = [job for _, _, job in self._deadlines if not job.decided]
            self._deadline_wakeup.notify_all()
        for job in pending:
            self._decide(job, ResultCode.NG_ERROR, "station stopped before the verdict", None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    # -- inputs -------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """Take a fresh frame from a feed in its reader thread; queues with ``put_nowait`` and never waits."""
        entry = self._lanes.get(frame.source_id)
        if entry is None or self._stopping.is_set():
            return
        if entry.mode == "free_run":
            job = self._new_job(entry, trigger_id=frame.sequence, triggered_at=frame.received_at)
            self._attach_and_queue(job, frame)
            return
        with self._lanes_lock:
            while entry.waiting and entry.waiting[0].decided:
                entry.waiting.popleft()
            job = entry.waiting.popleft() if entry.waiting and entry.waiting[0].triggered_at <= frame.received_at \
                else None
        if job is None:
            self.stats.count("frames_without_trigger")
            return
        self._attach_and_queue(job, frame)

    def trigger(self, lane: int, trigger_id: int) -> None:
        """Start the inspection of a part on ``lane`` (PLC trigger edge)."""
        entry = self._by_lane.get(lane)
        if entry is None:
            logger.warning("Trigger %d on lane %d ignored: no camera is configured on that lane", trigger_id, lane)
            return
        job = self._new_job(entry, trigger_id=trigger_id, triggered_at=time.monotonic())
        self.signaller.set_busy(lane, True)
        if self._stopping.is_set():
            self._decide(job, ResultCode.NG_ERROR, "station is stopping", None)
            return
        state = entry.feed.state
        if state in (FeedState.LOST, FeedState.FROZEN, FeedState.STOPPED):
            self._decide(job, ResultCode.NG_CAMERA, f"camera {entry.feed.source_id} is {state.value}", None)
            return
        with self._lanes_lock:
            entry.waiting.append(job)
        entry.feed.trigger()

    def on_feed_state(self, source_id: str, old: FeedState, new: FeedState) -> None:
        """Mirror a feed's health on the PLC: fault codes and READY."""
        entry = self._lanes.get(source_id)
        if entry is None:
            return
        self._show_lane_state(entry)

    def refresh_ready(self) -> None:
        """Recompute READY and NO_MODEL on every lane (after a model swap)."""
        has_model = self.slot.current() is not None
        for entry in self._by_lane.values():
            self.signaller.set_fault(entry.lane, FaultCode.NO_MODEL, not has_model)
            self._show_lane_state(entry)

    def _show_lane_state(self, entry: _Lane) -> None:
        """Write a lane's camera faults and READY from the feed's current state.

        Feeds report state changes from their reader and supervisor threads, so two
        callbacks can run out of order. Reading the current state under one lock makes
        the last writer publish the latest state, and READY is never left high for a
        camera that has gone FROZEN or LOST since.
        """
        with self._ready_lock:
            state = entry.feed.state
            self.signaller.set_fault(entry.lane, FaultCode.CAMERA_LOST, state == FeedState.LOST)
            self.signaller.set_fault(entry.lane, FaultCode.CAMERA_FROZEN, state == FeedState.FROZEN)
            self.signaller.set_ready(entry.lane, state == FeedState.LIVE and self.slot.current() is not None)

    # -- internals: jobs ----------------------------------------------------

    def _new_job(self, entry: _Lane, trigger_id: int, triggered_at: float) -> _Job:
        job = _Job(
            job_id=uuid.uuid4().hex,
            lane=entry.lane,
            source_id=entry.feed.source_id,
            trigger_id=trigger_id,
            triggered_at=triggered_at,
            wall_time=time.time() - (time.monotonic() - triggered_at),
            deadline=triggered_at + self.settings.result_deadline_s,
        )
        with self._deadline_wakeup:
            heapq.heappush(self._deadlines, (job.deadline, next(self._sequence), job))
            self._deadline_wakeup.notify()
        self.stats.count("parts")
        return job

    def _attach_and_queue(self, job: _Job, frame: Frame) -> None:
        job.frame = frame
        try:
            order = "GRAY" if frame.pixels.ndim == 2 else frame.channel_order
            job.image = image_from_array(frame.pixels, frame.reference, channel_order="RGB" if order == "GRAY" else order)
        except ImageReadError as error:
            self._decide(job, ResultCode.NG_ERROR, f"frame rejected: {error.reason}", None)
            return
        judge = self.slot.current()
        if judge is None:
            self._decide(job, ResultCode.NG_NO_MODEL, "no model bundle is loaded", None)
            return
        check = getattr(judge, "check", None)
        if check is not None:
            try:
                check(job.image)
            except ImageReadError as error:
                self._decide(job, ResultCode.NG_ERROR, f"frame rejected: {error.reason}", None)
                return
        job.queued_at = time.monotonic()
        try:
            self._infer_queue.put_nowait(job)
        except queue.Full:
            self.stats.count("overload_drops")
            self._decide(job, ResultCode.NG_OVERLOAD, "inference queue full", None)

    # -- internals: inference ----------------------------------------------

    def _infer_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._infer_queue.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = self._collect_batch(first)
            live = [job for job in batch if not job.decided]
            if live:
                self._infer(live)

    def _collect_batch(self, first: _Job) -> list[_Job]:
        batch = [first]
        lanes = {first.lane}
        window_end = first.queued_at + self.settings.batch_window_s
        while len(batch) < self.settings.max_batch:
            remaining_s = 0.0
            if len(lanes) < len(self._by_lane):
                budget_end = min(job.deadline for job in batch) - self._estimate_s
                remaining_s = min(window_end, budget_end) - time.monotonic()
            try:
                job = self._infer_queue.get(timeout=remaining_s) if remaining_s > 0 else self._infer_queue.get_nowait()
            except queue.Empty:
                break
            batch.append(job)
            lanes.add(job.lane)
        return batch

    def _infer(self, batch: list[_Job]) -> None:
        judge = self.slot.current()
        started = time.monotonic()
        for job in batch:
            job.timings["queue"] = started - job.queued_at
            self.stats.add("queue", (started - job.queued_at) * 1000.0)
        if judge is None:
            for job in batch:
                self._output_queue.put((job, ResultCode.NG_NO_MODEL, "no model bundle is loaded", None))
            return
        try:
            judgements = judge.judge([job.image for job in batch])
            if len(judgements) != len(batch):
                raise RuntimeError(f"the judge returned {len(judgements)} verdicts for {len(batch)} images")
        except Exception as error:  # noqa: BLE001 - any model failure is NG for the batch and a fault
            logger.exception("Inference failed on %d frames with %s", len(batch), judge.description)
            self.signaller.set_fault(None, FaultCode.MODEL_ERROR, True)
            for job in batch:
                self._output_queue.put((job, ResultCode.NG_ERROR, f"inference failed: {error}", None))
            return
        elapsed = time.monotonic() - started
        self._estimate_s += ESTIMATE_WEIGHT * (elapsed - self._estimate_s)
        self.stats.add("infer", elapsed * 1000.0)
        self.signaller.set_fault(None, FaultCode.MODEL_ERROR, False)
        for job, judgement in zip(batch, judgements, strict=True):
            if judgement.verdict in ("OK", "NG"):
                code, reason = (ResultCode.OK if judgement.verdict == "OK" else ResultCode.NG), ""
            else:
                code, reason = ResultCode.NG_ERROR, f"the model returned verdict {judgement.verdict!r}"
            self._output_queue.put((job, code, reason, judgement))

    # -- internals: decide, store, signal ----------------------------------

    def _output_loop(self) -> None:
        while not (self._stopping.is_set() and self._output_queue.empty()):
            try:
                job, code, reason, judgement = self._output_queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self._decide(job, code, reason, judgement)

    def _deadline_loop(self) -> None:
        while not self._stopping.is_set():
            with self._deadline_wakeup:
                now = time.monotonic()
                expired = []
                while self._deadlines and self._deadlines[0][0] <= now:
                    expired.append(heapq.heappop(self._deadlines)[2])
                if not expired:
                    wait_s = self._deadlines[0][0] - now if self._deadlines else 0.1
                    self._deadline_wakeup.wait(min(wait_s, 0.1))
                    continue
            for job in expired:
                if job.decided:
                    continue
                if job.frame is None:
                    self._decide(job, ResultCode.NG_CAMERA, "no fresh frame arrived before the deadline", None)
                else:
                    self._decide(job, ResultCode.NG_TIMEOUT, "verdict missed the deadline", None)

    def _decide(self, job: _Job, code: ResultCode, reason: str, judgement: Judgement | None) -> None:
        with self._decide_lock:
            if job.decided:
                if judgement is not None:
                    self.stats.count("late_verdicts")
                    self.store.record_late(job.job_id, judgement.verdict, judgement.score)
                return
            job.decided = True
            result = self._result(job, code, reason, judgement)
            started = time.monotonic()
            try:
                row_id: int | None = self.store.record(result)
                self.signaller.set_fault(None, FaultCode.STORE_ERROR, False)
            except StoreError as error:
                logger.error("%s; signalling NG", error)
                self.signaller.set_fault(None, FaultCode.STORE_ERROR, True)
                result = self._result(job, ResultCode.NG_STORE, "the verdict could not be stored", judgement)
                row_id = None
            stored = time.monotonic()
            self.signaller.publish(result)
            signalled = time.monotonic()
        self.stats.add("store", (stored - started) * 1000.0)
        self.stats.add("signal", (signalled - stored) * 1000.0)
        self.stats.add("total", (signalled - job.triggered_at) * 1000.0)
        self.stats.count(f"code_{result.result_code.name}")
        if row_id is not None and job.image is not None and self.store.wants_image(result):
            self.store.save_image_async(row_id, self.store.image_path_for(result), job.image.pixels)

    def _result(self, job: _Job, code: ResultCode, reason: str, judgement: Judgement | None) -> PartResult:
        frame = job.frame
        return PartResult(
            job_id=job.job_id,
            lane=job.lane,
            source_id=job.source_id,
            trigger_id=job.trigger_id,
            verdict="OK" if code == ResultCode.OK else "NG",
            result_code=code,
            reason=reason,
            created_at=job.wall_time,
            latency_ms=(time.monotonic() - job.triggered_at) * 1000.0,
            frame_ref=frame.reference if frame else None,
            frame_sequence=frame.sequence if frame else None,
            score=judgement.score if judgement else None,
            normalized_score=judgement.normalized_score if judgement else None,
            threshold=judgement.threshold if judgement else None,
            defect_type=judgement.defect_type if judgement else None,
            defect_confidence=judgement.defect_confidence if judgement else None,
            bundle_id=judgement.bundle_id if judgement else self._bundle_id(),
        )

    def _bundle_id(self) -> str | None:
        judge = self.slot.current()
        return judge.bundle_id if judge else None

    def status(self) -> dict[str, object]:
        """Return feeds, PLC faults, queue depth and latency statistics as a JSON-ready dict."""
        feeds = {}
        for source_id, entry in self._lanes.items():
            snapshot = entry.feed.status()
            feeds[source_id] = {
                "lane": entry.lane,
                "mode": entry.mode,
                "state": snapshot.state.value,
                "fresh_frames": snapshot.fresh_frames,
                "stale_frames": snapshot.stale_frames,
                "read_errors": snapshot.read_errors,
                "reconnects": snapshot.reconnects,
                "last_error": snapshot.last_error,
                "faults": self.signaller.active_faults(entry.lane),
            }
        judge = self.slot.current()
        return {
            "model": judge.description if judge else None,
            "bundle_id": judge.bundle_id if judge else None,
            "feeds": feeds,
            "queue_depth": self._infer_queue.qsize(),
            "inference_estimate_ms": round(self._estimate_s * 1000.0, 3),
            **self.stats.summary(),
        }
