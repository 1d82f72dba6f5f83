"""Job functions for the worker-process tests (importable by the spawned child)."""

from __future__ import annotations

import os
import time

from app.gui.workflow.jobs import JobCancelled, JobFailure


def count_to(request: int, progress, cancel) -> dict:
    for step in range(1, request + 1):
        progress("count", step, request)
    return {"counted": request}


def fail_with_message(request: str, progress, cancel) -> dict:
    raise JobFailure(request)


def crash_hard(request: int, progress, cancel) -> dict:
    progress("crash", 0, 1)
    os._exit(request)


def wait_for_cancel(request: float, progress, cancel) -> dict:
    progress("wait", 0, 1)
    deadline = time.monotonic() + request
    while time.monotonic() < deadline:
        if cancel.is_set():
            raise JobCancelled("stopped on request")
        time.sleep(0.02)
    return {}


def ignore_cancel(request: float, progress, cancel) -> dict:
    progress("stuck", 0, 1)
    time.sleep(request)
    return {}
