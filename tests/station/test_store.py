"""Results store: crash consistency, disk limit that keeps unsynced NG records, late verdicts."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from app.station.results import PartResult, ResultCode
from app.station.store import DATABASE_NAME, ResultStore, StoreSettings
from labeling.imageio import read_image

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_result(index: int, ng: bool) -> PartResult:
    return PartResult(
        job_id=uuid.uuid4().hex, lane=0, source_id="cam0", trigger_id=index,
        verdict="NG" if ng else "OK", result_code=ResultCode.NG if ng else ResultCode.OK, reason="",
        created_at=time.time(), latency_ms=2.0, score=0.5, threshold=0.4, bundle_id="b1",
    )


def test_kill_during_writes_leaves_consistent_store(tmp_path):
    root = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    writer = subprocess.Popen([sys.executable, str(Path(__file__).with_name("store_writer.py")), str(root)],
                              stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT, text=True)
    try:
        acknowledged = 0
        deadline = time.monotonic() + 60
        while acknowledged < 60 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            acknowledged = int(line)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(10)
    assert acknowledged >= 60
    assert writer.returncode == -signal.SIGKILL

    with sqlite3.connect(root / DATABASE_NAME) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    store = ResultStore.open(root)
    try:
        rows = store.recent(100_000)
        ids = sorted(row["id"] for row in rows)
        assert ids[-1] >= acknowledged
        assert ids == list(range(1, len(ids) + 1))
        for row in rows:
            if row["image_path"]:
                pixels = read_image(root / row["image_path"]).pixels
                assert pixels.shape == (96, 128, 3)
        saved = {row["image_path"] for row in rows if row["image_path"]}
        on_disk = {path.relative_to(root).as_posix() for path in (root / "images").rglob("*") if path.is_file()}
        assert on_disk == saved
        assert sum(1 for row in rows if row["verdict"] == "NG" and row["image_path"]) >= acknowledged // 2 - 1
    finally:
        store.close()


def test_disk_limit_keeps_unsynced_ng(tmp_path):
    rng = np.random.default_rng(3)
    store = ResultStore.open(tmp_path, StoreSettings(max_disk_bytes=0, ok_sample_every=1))
    ng_jobs = []
    for index in range(40):
        ng = index % 4 == 0
        result = make_result(index, ng)
        row_id = store.record(result)
        store.save_image(row_id, store.image_path_for(result), rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
        if ng:
            ng_jobs.append(result.job_id)
    usage = store.disk_usage_bytes()
    limit = int(usage * 0.6)
    store.settings = StoreSettings(max_disk_bytes=limit, ok_sample_every=1)

    deleted = store.enforce_disk_limit()

    assert deleted > 0
    remaining = {row["job_id"]: row for row in store.recent(1000)}
    for job_id in ng_jobs:
        assert job_id in remaining
        assert (tmp_path / remaining[job_id]["image_path"]).is_file()
    oldest_ok = min(row["id"] for row in remaining.values() if row["verdict"] == "OK")
    for row in remaining.values():
        if row["verdict"] == "OK":
            assert row["id"] >= oldest_ok
    assert store.disk_usage_bytes() <= limit
    assert not store.cleanup_blocked
    store.close()


def test_disk_limit_deletes_synced_ng_oldest_first(tmp_path):
    rng = np.random.default_rng(4)
    store = ResultStore.open(tmp_path)
    row_ids = []
    for index in range(30):
        result = make_result(index, ng=True)
        row_id = store.record(result)
        store.save_image(row_id, store.image_path_for(result), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
        row_ids.append(row_id)
    assert store.acknowledge_up_to(row_ids[9]) == 10
    store.settings = StoreSettings(max_disk_bytes=store.disk_usage_bytes() // 2)

    store.enforce_disk_limit()

    remaining = sorted(row["id"] for row in store.recent(1000))
    assert remaining == row_ids[10:]
    assert store.cleanup_blocked
    store.close()


def test_leftover_temporary_files_removed(tmp_path):
    store = ResultStore.open(tmp_path)
    store.close()
    stray = tmp_path / "images" / "20260101"
    stray.mkdir(parents=True)
    (stray / ".cam0_x.png.abc.tmp").write_bytes(b"partial")
    (stray / "cam0_orphan.png").write_bytes(b"not referenced")
    store = ResultStore.open(tmp_path)
    assert list(stray.iterdir()) == []
    store.close()


def test_late_verdict_recorded(tmp_path):
    store = ResultStore.open(tmp_path)
    result = PartResult(
        job_id="job-1", lane=0, source_id="cam0", trigger_id=1, verdict="NG", result_code=ResultCode.NG_TIMEOUT,
        reason="verdict missed the deadline", created_at=time.time(), latency_ms=500.0,
    )
    store.record(result)
    store.record_late("job-1", "OK", 0.1)
    row = store.row("job-1")
    assert row["verdict"] == "NG"
    assert row["result_code"] == "NG_TIMEOUT"
    assert row["late_verdict"] == "OK"
    assert row["late_score"] == 0.1
    store.close()


def test_record_rejects_contradictory_verdict():
    try:
        PartResult(job_id="x", lane=0, source_id="c", trigger_id=0, verdict="OK", result_code=ResultCode.NG_TIMEOUT,
                   reason="", created_at=0.0, latency_ms=0.0)
    except ValueError as error:
        assert "contradicts" in str(error)
    else:
        raise AssertionError("an OK verdict with an NG code was accepted")


def test_second_open_of_store_rejected(tmp_path):
    store = ResultStore.open(tmp_path)
    code = (
        "import sys\n"
        "from app.station.store import ResultStore, StoreError\n"
        "try:\n"
        f"    ResultStore.open({str(tmp_path)!r})\n"
        "except StoreError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    try:
        completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                                   timeout=60)
    finally:
        store.close()
    assert completed.returncode == 3, completed.stderr
    assert "in use by another process" in completed.stdout
    reopened = ResultStore.open(tmp_path)
    reopened.close()
