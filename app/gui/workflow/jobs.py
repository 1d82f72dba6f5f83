"""Run a long job (training, compiling) in a spawned worker process and read its progress.

A crash, an out-of-memory kill or a native fault in the worker ends only that
process: the window receives a ``failed`` event instead of going down with it.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

PROGRESS = "progress"
ITEM = "item"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
FINAL_KINDS = frozenset({DONE, FAILED, CANCELLED})

DEFAULT_CANCEL_GRACE_S = 10.0
EXIT_DRAIN_TIMEOUT_S = 0.5


class JobCancelled(Exception):
    """The job saw the cancel request and stopped."""


class JobFailure(Exception):
    """The job cannot go on; the message states why and what to change, and the user sees it unchanged."""


@dataclass(frozen=True)
class JobEvent:
    """One message from the worker process.

    Attributes:
        kind: ``progress``, ``done``, ``failed`` or ``cancelled``.
        stage: the job's current stage name (progress events).
        done: finished steps of the stage.
        total: steps of the stage.
        result: the job function's return value (``done`` events).
        message: what failed, for the user (``failed`` events).
        details: the traceback, for the log file only (``failed`` events).
        payload: one produced record (``item`` events of thread jobs).
    """

    kind: str
    stage: str = ""
    done: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    details: str = ""
    payload: Any = None


JobFunction = Callable[[Any, Callable[[str, int, int], None], Any], dict[str, Any]]


def _resolve(target: str) -> JobFunction:
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def _is_cancellation(error: BaseException) -> bool:
    return isinstance(error, JobCancelled) or type(error).__name__ == "TrainingCancelled"


def _child_main(target: str, request: Any, events: Any, cancel: Any) -> None:
    """Run ``target(request, progress, cancel)`` in the worker process."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _run_reporting(_resolve(target), request, events, cancel)


def _run_reporting(function: JobFunction, request: Any, events: Any, cancel: Any) -> None:
    """Run ``function(request, progress, cancel)`` and report every outcome as a :class:`JobEvent`."""

    def progress(stage: str, done: int, total: int) -> None:
        events.put(JobEvent(PROGRESS, stage, int(done), int(total)))

    try:
        result = function(request, progress, cancel)
        events.put(JobEvent(DONE, result=result or {}))
    except MemoryError:
        events.put(JobEvent(FAILED, message="the job ran out of memory", details=traceback.format_exc()))
    except Exception as error:  # noqa: BLE001 - every failure must reach the window as an event
        if _is_cancellation(error):
            events.put(JobEvent(CANCELLED, message=str(error)))
        else:
            message = str(error) if isinstance(error, JobFailure) else f"{type(error).__name__}: {error}"
            events.put(JobEvent(FAILED, message=message, details=traceback.format_exc()))


class JobProcess:
    """A job function running in its own process (``spawn`` start method), polled without blocking.

    Args:
        target: ``"package.module:function"``; the function takes ``(request, progress, cancel)``
            and returns a JSON-ready dict. It runs in the child, so it may import torch.
        request: a picklable request record.
    """

    def __init__(self, target: str, request: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._events = context.Queue()
        self._cancel = context.Event()
        self._process = context.Process(
            target=_child_main, args=(target, request, self._events, self._cancel), daemon=True, name=f"job {target}"
        )
        self._final: JobEvent | None = None
        self._cancel_requested_at: float | None = None
        self.target = target

    def start(self) -> None:
        """Start the worker process."""
        self._process.start()
        logger.info("Started job %s in process %s", self.target, self._process.pid)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before start)."""
        return self._process.pid

    @property
    def final_event(self) -> JobEvent | None:
        """The ``done``, ``failed`` or ``cancelled`` event once the job ended, else None."""
        return self._final

    def cancel(self) -> None:
        """Ask the job to stop; :meth:`poll` kills the worker when it does not stop within the grace time."""
        if self._cancel_requested_at is None:
            self._cancel_requested_at = time.monotonic()
            self._cancel.set()
            logger.info("Cancel requested for job %s (process %s)", self.target, self.pid)

    def poll(self, cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S) -> list[JobEvent]:
        """Return the events that arrived since the last call, without blocking.

        Adds a ``failed`` event when the worker exited without reporting, and a
        ``cancelled`` event after killing a worker that ignored a cancel request
        for ``cancel_grace_s`` seconds.
        """
        if self._final is not None:
            return []
        events = self._drain(timeout_s=0.0)
        reported = any(event.kind in FINAL_KINDS for event in events)
        if not reported and not self._process.is_alive():
            events += self._drain(timeout_s=EXIT_DRAIN_TIMEOUT_S)
            if not any(event.kind in FINAL_KINDS for event in events):
                events.append(self._lost_worker_event())
        elif not reported and self._cancel_overdue(cancel_grace_s):
            self.terminate()
            events.append(JobEvent(CANCELLED, message="the worker did not stop in time and was ended"))
        for event in events:
            if event.kind in FINAL_KINDS:
                self._final = event
        if self._final is not None:
            self._process.join(timeout=5.0)
        return events

    def terminate(self) -> None:
        """End the worker process now (used on window close and for a stuck cancel)."""
        if self._process.is_alive():
            logger.warning("Ending job %s (process %s)", self.target, self.pid)
            self._process.terminate()
            self._process.join(timeout=5.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5.0)

    def _drain(self, timeout_s: float) -> list[JobEvent]:
        events: list[JobEvent] = []
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self._events.get(timeout=remaining) if remaining > 0 else self._events.get_nowait()
            except queue.Empty:
                return events
            events.append(event)
            if event.kind in FINAL_KINDS:
                return events

    def _cancel_overdue(self, grace_s: float) -> bool:
        started = self._cancel_requested_at
        return started is not None and time.monotonic() - started > grace_s

    def _lost_worker_event(self) -> JobEvent:
        if self._cancel_requested_at is not None:
            return JobEvent(CANCELLED, message="the worker stopped")
        code = self._process.exitcode
        logger.error("Job %s: worker process %s exited with code %s without a result", self.target, self.pid, code)
        return JobEvent(FAILED, message=f"the worker process stopped unexpectedly (exit code {code})")


class ThreadJob:
    """A torch-free job (evaluation, inspection, upload) in a daemon thread, polled like :class:`JobProcess`.

    Args:
        function: called as ``function(request, progress, cancel)``; it may call ``emit(record)``
            given in ``request`` to send ``item`` events, and returns a dict for the ``done`` event.
        request: passed through to ``function``.
    """

    def __init__(self, function: JobFunction, request: Any, name: str = "job") -> None:
        self._events: queue.Queue[JobEvent] = queue.Queue()
        self._cancel = threading.Event()
        self._final: JobEvent | None = None
        self._thread = threading.Thread(
            target=_run_reporting, args=(function, request, self._events, self._cancel), daemon=True, name=name
        )

    @property
    def cancel_event(self) -> threading.Event:
        """The event the job function checks to stop early."""
        return self._cancel

    def emit(self, record: Any) -> None:
        """Queue an ``item`` event carrying ``record`` (called from the job's thread)."""
        self._events.put(JobEvent(ITEM, payload=record))

    @property
    def final_event(self) -> JobEvent | None:
        """The ``done``, ``failed`` or ``cancelled`` event once the job ended, else None."""
        return self._final

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._cancel.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the thread to end; return True when it ended."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def poll(self) -> list[JobEvent]:
        """Return the events that arrived since the last call, without blocking."""
        events: list[JobEvent] = []
        while self._final is None:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            events.append(event)
            if event.kind in FINAL_KINDS:
                self._final = event
        return events


class EtaEstimator:
    """Estimate the time left in the current stage from its rate so far."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stage = ""
        self._stage_started = 0.0

    def update(self, stage: str, done: int, total: int) -> float | None:
        """Record a progress event and return the estimated seconds left in ``stage`` (None when unknown)."""
        now = self._clock()
        if stage != self._stage:
            self._stage = stage
            self._stage_started = now
            return None
        if done <= 0 or total <= 0:
            return None
        elapsed = now - self._stage_started
        return max(0.0, elapsed / done * (total - done))
