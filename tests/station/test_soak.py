"""Soak: a two-camera station with Modbus, webhook, disk limit, camera failures and a hot swap runs 30 minutes.

Set ``DEFECTSEEK_SOAK_S`` to shorten or lengthen the run (default 1800 seconds). Set
``DEFECTSEEK_SOAK_JSON`` to a file path to write the run's summary there (parts, rate,
lost verdicts, memory, latency, hot swap, machine, load average), also when a final check
fails. ``python bench/station.py --soak-json FILE`` renders it into
docs/benchmarks-station.md.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from pymodbus.client import ModbusTcpClient

from app.station.bundles import BundleManager
from app.station.judge import JudgeSlot
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.results import ResultCode
from app.station.signals.modbus import LANE_BLOCK, ModbusSignaller
from app.station.signals.webhook import WebhookSink
from app.station.sources.base import CameraError
from app.station.sources.fake import FakeCamera
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore, StoreSettings

from .fakes import FakeJudge, open_fake_bundle, write_fake_bundle
from .test_signals import MesHandler

SOAK_S = float(os.environ.get("DEFECTSEEK_SOAK_S", "1800"))
SUMMARY_PATH = os.environ.get("DEFECTSEEK_SOAK_JSON", "")
SWAP_AFTER_FRACTION = 0.5
# One outage every 3000 frames (2 minutes at 25 fps); shorter runs get one every quarter of the run.
FAILURE_EVERY_FRAMES = int(min(3000, max(100, SOAK_S * 25 / 4)))
BASELINE_AFTER_S = 120
MAX_RSS_GROWTH_MB = 64


class FlakyCamera(FakeCamera):
    """Streams distinct frames and fails 6 reads in a row every ``FAILURE_EVERY_FRAMES`` frames."""

    def __init__(self, **options) -> None:
        super().__init__(10**9, "continue", **options)
        self.failures_left = 0
        self.outages = 0

    def next_raw(self, release):
        with self._lock:
            if self.frames_served and self.frames_served % FAILURE_EVERY_FRAMES == 0 and self.failures_left == 0:
                self.failures_left = 6
                self.outages += 1
                self.frames_served += 1
            if self.failures_left > 0:
                self.failures_left -= 1
                raise CameraError("soak: injected read failure")
        return super().next_raw(release)


def rss_mb() -> float | None:
    """Return the current resident set size in MiB, or None where /proc is missing."""
    try:
        pages = int(open("/proc/self/statm").read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class HotSwap:
    """Installs a second bundle from a helper thread while the line runs, as a deploy push does."""

    def __init__(self, manager: BundleManager, source: Path) -> None:
        self.manager = manager
        self.source = source
        self.result: dict[str, object] = {"performed": False}
        self.thread = threading.Thread(target=self._run, name="soak-hot-swap", daemon=True)

    def _run(self) -> None:
        before = self.manager.slot.current()
        started = time.monotonic()
        try:
            installed = self.manager.install_directory(self.source)
        except Exception as error:  # noqa: BLE001 - the summary records any failure
            self.result = {"performed": True, "ok": False, "error": str(error)}
            return
        current = self.manager.slot.current()
        self.result = {
            "performed": True,
            "ok": current is not None and current.bundle_id == installed.bundle_id,
            "from": before.bundle_id if before else None,
            "to": installed.bundle_id,
            "seconds": round(time.monotonic() - started, 3),
        }


def machine() -> str:
    """Return the CPU model, logical CPU count and operating system of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def load_average() -> list[float] | None:
    """Return the 1, 5 and 15 minute load averages, or None where the platform has none."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def write_summary(summary: dict[str, object]) -> None:
    """Write ``summary`` to ``DEFECTSEEK_SOAK_JSON`` when it is set."""
    if not SUMMARY_PATH:
        return
    path = Path(SUMMARY_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(SOAK_S + 300)
def test_station_soak(tmp_path, port):
    MesHandler.received = []
    MesHandler.received_count = 0
    MesHandler.keep_bodies = False
    MesHandler.fail_first = 0
    mes = ThreadingHTTPServer(("127.0.0.1", 0), MesHandler)
    threading.Thread(target=mes.serve_forever, daemon=True).start()
    store = ResultStore.open(tmp_path / "store", StoreSettings(max_disk_bytes=20 * 1024 * 1024, ok_sample_every=10))
    judge = FakeJudge(bundle_id="soak-1", delay_s=0.005, is_ng=lambda source: source.endswith("7"),
                      record_batches=False)
    slot = JudgeSlot(judge)
    signaller = ModbusSignaller(lanes=2, port=port, heartbeat_s=0.5)
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=1.0))
    free_camera = FlakyCamera(fps=25, width=320, height=240, seed=1)
    triggered = FakeCamera(10**9, "continue", fps=0, software_trigger=True, width=320, height=240, seed=2)
    pipeline.add_feed(CameraFeed("free", free_camera.driver, FeedSettings(backoff_max_s=2)), lane=0)
    pipeline.add_feed(CameraFeed("plc", triggered.driver, FeedSettings(expect_continuous_frames=False)), lane=1,
                      mode="plc")
    sink = WebhookSink(store, f"http://127.0.0.1:{mes.server_port}/r", "soak")
    manager = BundleManager(tmp_path / "deploy", slot, open_fake_bundle, on_swap=pipeline.refresh_ready)
    hot_swap = HotSwap(manager, write_fake_bundle(tmp_path / "soak-2", "soak-2", load_s=0.2))

    start_rss = rss_mb()
    start_load = load_average()
    signaller.start()
    pipeline.refresh_ready()
    pipeline.start()
    sink.start()
    client = ModbusTcpClient("127.0.0.1", port=port)
    assert client.connect()
    triggers = answered = 0
    plc_latencies_ms: list[float] = []
    baseline_threads = None
    baseline_rss = None
    max_rss = start_rss
    started = time.monotonic()

    try:
        while time.monotonic() - started < SOAK_S:
            registers = client.read_holding_registers(LANE_BLOCK, count=6, device_id=1).registers
            counter = registers[3]
            triggers += 1
            sent = time.monotonic()
            client.write_registers(LANE_BLOCK + 8, [1, triggers & 0xFFFF], device_id=1)
            deadline = sent + 2.0
            while time.monotonic() < deadline:
                registers = client.read_holding_registers(LANE_BLOCK, count=6, device_id=1).registers
                if registers[3] != counter:
                    answered += 1
                    plc_latencies_ms.append((time.monotonic() - sent) * 1000.0)
                    break
                time.sleep(0.002)
            client.write_registers(LANE_BLOCK + 8, [2, triggers & 0xFFFF], device_id=1)
            client.write_registers(LANE_BLOCK + 8, [0, triggers & 0xFFFF], device_id=1)
            time.sleep(0.05)
            elapsed_s = time.monotonic() - started
            if not hot_swap.thread.is_alive() and not hot_swap.result["performed"] and \
                    elapsed_s > SOAK_S * SWAP_AFTER_FRACTION:
                hot_swap.thread.start()
            if triggers % 100 == 0:
                current = rss_mb()
                if current is not None and (max_rss is None or current > max_rss):
                    max_rss = current
            if baseline_threads is None and elapsed_s > min(BASELINE_AFTER_S, SOAK_S / 4):
                baseline_threads = threading.active_count()
                baseline_rss = rss_mb()
    finally:
        duration_s = time.monotonic() - started
        client.close()
        if hot_swap.thread.ident is not None:
            hot_swap.thread.join(10)
        final_rss = rss_mb()
        status = pipeline.status()
        sink.stop()
        pipeline.stop()
        signaller.stop()
        usage = store.disk_usage_bytes()
        rows = store.count()
        codes = status["counters"]
        store.close()
        mes.shutdown()

    parts = int(codes.get("parts", 0))
    station_total = status["latency_ms"]["total"]
    summary = {
        "duration_s": round(duration_s, 1),
        "parts_judged": parts,
        "parts_per_s": round(parts / duration_s, 2) if duration_s else None,
        "rows_stored": rows,
        "plc_triggers": triggers,
        "plc_answered": answered,
        "lost_verdicts": triggers - answered,
        "result_codes": {name[len("code_"):]: count for name, count in sorted(codes.items())
                         if name.startswith("code_")},
        "camera_outages": free_camera.outages,
        "camera_reconnects": status["feeds"]["free"]["reconnects"],
        "memory_mb": {
            "start": round(start_rss, 1) if start_rss is not None else None,
            "baseline": round(baseline_rss, 1) if baseline_rss is not None else None,
            "end": round(final_rss, 1) if final_rss is not None else None,
            "max": round(max(value for value in (max_rss, final_rss) if value is not None), 1)
            if max_rss is not None or final_rss is not None else None,
        },
        "plc_latency_ms": {"count": len(plc_latencies_ms), "p50": percentile(plc_latencies_ms, 50),
                           "p99": percentile(plc_latencies_ms, 99),
                           "max": round(max(plc_latencies_ms), 3) if plc_latencies_ms else None},
        "station_latency_ms": station_total,
        "hot_swap": hot_swap.result,
        "disk_usage_mb": round(usage / 2**20, 2),
        "mes_delivered": MesHandler.received_count,
        "machine": machine(),
        "load_average": {"start": start_load, "end": load_average()},
        "python": platform.python_version(),
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    write_summary(summary)

    assert answered == triggers
    assert free_camera.outages >= 1
    assert status["feeds"]["free"]["reconnects"] >= free_camera.outages
    assert usage <= 20 * 1024 * 1024
    assert codes.get(f"code_{ResultCode.NG_OVERLOAD.name}", 0) == 0
    assert codes.get(f"code_{ResultCode.NG_ERROR.name}", 0) == 0
    assert codes.get(f"code_{ResultCode.NG_NO_MODEL.name}", 0) == 0
    assert hot_swap.result.get("ok") is True
    assert status["bundle_id"] == "soak-2"
    if baseline_threads is not None:
        assert threading.active_count() <= baseline_threads + 5
    if baseline_rss is not None and final_rss is not None:
        assert final_rss - baseline_rss < MAX_RSS_GROWTH_MB
    assert MesHandler.received_count > 0
