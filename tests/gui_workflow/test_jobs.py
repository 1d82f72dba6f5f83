"""Worker processes and threads: results, failures, crashes, cancel and the ETA estimate."""

from __future__ import annotations

import time

import pytest

from app.gui.workflow.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    ITEM,
    PROGRESS,
    EtaEstimator,
    JobCancelled,
    JobProcess,
    ThreadJob,
)

MODULE = "tests.gui_workflow.job_functions"
WAIT_S = 60.0


def _run_until_final(job, timeout_s: float = WAIT_S, **poll_options) -> list:
    events = []
    deadline = time.monotonic() + timeout_s
    while job.final_event is None:
        assert time.monotonic() < deadline, f"no final event; got {events}"
        events += job.poll(**poll_options)
        time.sleep(0.02)
    return events


def test_process_job_reports_progress_and_result():
    job = JobProcess(f"{MODULE}:count_to", 3)
    job.start()
    events = _run_until_final(job)
    assert [event.done for event in events if event.kind == PROGRESS] == [1, 2, 3]
    assert events[-1].kind == DONE
    assert events[-1].result == {"counted": 3}


def test_process_job_failure_message_reaches_window():
    job = JobProcess(f"{MODULE}:fail_with_message", "no good images; label some")
    job.start()
    final = _run_until_final(job)[-1]
    assert final.kind == FAILED
    assert final.message == "no good images; label some"
    assert "JobFailure" in final.details


def test_process_crash_becomes_failed_event():
    job = JobProcess(f"{MODULE}:crash_hard", 7)
    job.start()
    final = _run_until_final(job)[-1]
    assert final.kind == FAILED
    assert "exit code 7" in final.message


def test_process_cancel_stops_cooperative_job():
    job = JobProcess(f"{MODULE}:wait_for_cancel", 30.0)
    job.start()
    deadline = time.monotonic() + WAIT_S
    while not any(event.kind == PROGRESS for event in job.poll()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job.cancel()
    final = _run_until_final(job, timeout_s=10.0)[-1]
    assert final.kind == CANCELLED


def test_process_cancel_ends_stuck_worker():
    job = JobProcess(f"{MODULE}:ignore_cancel", 60.0)
    job.start()
    deadline = time.monotonic() + WAIT_S
    while not any(event.kind == PROGRESS for event in job.poll()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job.cancel()
    final = _run_until_final(job, timeout_s=10.0, cancel_grace_s=0.2)[-1]
    assert final.kind == CANCELLED
    assert "did not stop" in final.message
    assert not job._process.is_alive()


def test_thread_job_items_and_cancel():
    holder: dict = {}

    def produce(request, progress, cancel):
        for index in range(1000):
            if cancel.is_set():
                raise JobCancelled("stopped")
            request["job"].emit(index)
            time.sleep(0.001)
        return {}

    job = ThreadJob(produce, holder)
    holder["job"] = job
    job.start()
    deadline = time.monotonic() + WAIT_S
    items = []
    while len(items) < 3:
        assert time.monotonic() < deadline
        items += [event.payload for event in job.poll() if event.kind == ITEM]
        time.sleep(0.01)
    job.cancel()
    assert job.wait(5.0)
    events = job.poll()
    assert events[-1].kind == CANCELLED
    assert items[:3] == [0, 1, 2]


def test_eta_from_stage_rate():
    now = [0.0]
    eta = EtaEstimator(clock=lambda: now[0])
    assert eta.update("features", 0, 10) is None
    now[0] = 4.0
    assert eta.update("features", 2, 10) == pytest.approx(16.0)
    now[0] = 5.0
    assert eta.update("coreset", 0, 100) is None
    now[0] = 6.0
    assert eta.update("coreset", 50, 100) == pytest.approx(1.0)


def test_train_request_defaults_match_the_cli() -> None:
    from anomaly import TrainConfig
    from app.gui.workflow.train_job import TrainRequest

    request = TrainRequest(good_images=(), model_dir="unused")
    assert request.backbone == TrainConfig.backbone
    assert request.coreset_ratio == TrainConfig.coreset_ratio
    assert request.target_frr == TrainConfig.target_frr
