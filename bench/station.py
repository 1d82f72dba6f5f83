"""Measure the line station's trigger-to-signal latency over loopback Modbus TCP with a real bundle.

A Modbus client plays the PLC: it writes TRIGGER (with a trigger id), polls the
station's registers until RESULT_COUNTER moves, then acknowledges. The latency is
the time from sending the trigger write to reading the new result. It contains two
Modbus round trips on 127.0.0.1, the software trigger of an in-process fake camera,
inference, the SQLite commit (``--sync``, FULL by default) and the register write.

Run from the repository root::

    python bench/station.py --bundle MODEL_DIR --parts 300 --out docs/benchmarks-station.md

Without ``--bundle`` it trains the shipped sample first (``inspect train``, needs the
train extra). This is a script, not a test: CI never runs it.

``--soak-json FILE`` measures nothing. It renders the summary that the soak test
writes (``DEFECTSEEK_SOAK_JSON=FILE python -m pytest tests/station/test_soak.py -m slow``)
as a Markdown section. With ``--out`` that section replaces the file's previous soak
section, or is added at the end when there is none (``--append`` always adds it)::

    python bench/station.py --soak-json soak.json --out docs/benchmarks-station.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pymodbus.client import ModbusTcpClient  # noqa: E402

from app.station.bundles import BundleManager  # noqa: E402
from app.station.judge import JudgeSlot, inspector_opener  # noqa: E402
from app.station.pipeline import InspectionPipeline, PipelineSettings  # noqa: E402
from app.station.signals.modbus import CONTROL_OFFSET, ModbusSignaller  # noqa: E402
from app.station.sources.fake import FakeCamera  # noqa: E402
from app.station.sources.feed import CameraFeed, FeedSettings  # noqa: E402
from app.station.store import ResultStore, StoreSettings  # noqa: E402

logger = logging.getLogger("bench.station")

READY_BIT = 1
SOAK_HEADING = "## Line station: soak test"
SAMPLE_GOOD = REPO_ROOT / "assets" / "sample" / "train" / "good"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", help="bundle directory or zip; default: train the shipped sample")
    parser.add_argument("--parts", type=int, default=300, help="triggers to measure (default: 300)")
    parser.add_argument("--warmup", type=int, default=20, help="triggers run before measuring (default: 20)")
    parser.add_argument("--width", type=int, default=640, help="camera frame width in pixels (default: 640)")
    parser.add_argument("--height", type=int, default=480, help="camera frame height in pixels (default: 480)")
    parser.add_argument("--engine", default="auto", help="runtime engine: auto, openvino, onnxruntime")
    parser.add_argument("--device", default="cpu", help="runtime device: auto, cpu, nvidia, amd (default: cpu)")
    parser.add_argument("--port", type=int, default=15502, help="Modbus port on 127.0.0.1 (default: 15502)")
    parser.add_argument("--sync", default="FULL", choices=("FULL", "NORMAL"), help="SQLite synchronous level (default: FULL)")
    parser.add_argument("--out", help="write the Markdown section to this file")
    parser.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    parser.add_argument("--soak-json", metavar="FILE",
                        help="render the soak test's summary JSON instead of measuring latency")
    return parser.parse_args(argv)


def train_sample(folder: Path) -> Path:
    from app.cli.main import main as cli_main

    out = folder / "sample_model"
    if cli_main(["train", str(SAMPLE_GOOD), "--out", str(out), "--size", "128"]) != 0:
        raise SystemExit("training the sample model failed; pass --bundle MODEL_DIR instead")
    return out


def trigger_and_wait(client: ModbusTcpClient, trigger_id: int, counter: int) -> tuple[float, list[int]]:
    started = time.perf_counter()
    client.write_registers(CONTROL_OFFSET, [1, trigger_id], device_id=1)
    while True:
        registers = client.read_holding_registers(0, count=6, device_id=1).registers
        if registers[3] != counter:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            break
    client.write_registers(CONTROL_OFFSET, [2, trigger_id], device_id=1)
    client.write_registers(CONTROL_OFFSET, [0, trigger_id], device_id=1)
    return elapsed_ms, registers


def measure(args: argparse.Namespace, work: Path) -> dict[str, object]:
    bundle = Path(args.bundle) if args.bundle else train_sample(work)
    slot = JudgeSlot()
    store = ResultStore.open(work / "store", StoreSettings(synchronous=args.sync))
    signaller = ModbusSignaller(lanes=1, port=args.port, heartbeat_s=0)
    pipeline = InspectionPipeline(slot, store, signaller, PipelineSettings(result_deadline_s=5.0))
    manager = BundleManager(work / "deploy", slot, inspector_opener(args.engine, args.device),
                            on_swap=pipeline.refresh_ready)
    installed = manager.install_directory(bundle) if bundle.is_dir() else manager.install_archive(bundle)

    camera = FakeCamera(10**9, "continue", fps=0, width=args.width, height=args.height, software_trigger=True)
    feed = CameraFeed("cam0", camera.driver, FeedSettings(expect_continuous_frames=False))
    pipeline.add_feed(feed, lane=0, mode="plc")
    signaller.start()
    pipeline.refresh_ready()
    pipeline.start()

    client = ModbusTcpClient("127.0.0.1", port=args.port)
    client.connect()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    try:
        while not client.read_holding_registers(0, count=1, device_id=1).registers[0] & READY_BIT:
            time.sleep(0.01)
        counter = 0
        for index in range(args.warmup + args.parts):
            elapsed_ms, registers = trigger_and_wait(client, index + 1, counter)
            counter = registers[3]
            if index >= args.warmup:
                latencies.append(elapsed_ms)
                codes[registers[1]] = codes.get(registers[1], 0) + 1
            time.sleep(0.002)
        status = pipeline.status()
    finally:
        client.close()
        pipeline.stop()
        signaller.stop()
        store.close()

    values = np.asarray(latencies)
    return {
        "bundle": installed.description,
        "parts": len(latencies),
        "p50": float(np.percentile(values, 50)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
        "codes": codes,
        "stages": status["latency_ms"],
    }


def cpu_name() -> str:
    """Return the CPU model from /proc/cpuinfo, else the platform's machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown(result: dict[str, object], args: argparse.Namespace) -> str:
    machine = f"{cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    lines = [
        f"## Line station: trigger-to-signal latency (loopback Modbus TCP, store sync {args.sync})",
        "",
        f"Command: `python bench/station.py --parts {args.parts} --width {args.width} --height {args.height}"
        f" --device {args.device} --sync {args.sync}{' --bundle ' + args.bundle if args.bundle else ''}`",
        "",
        f"Machine: {machine}. Model: {result['bundle']}. Frame: {args.width} x {args.height} BGR from an "
        "in-process fake camera with software trigger (random noise, so most parts are NG). One lane. "
        "Other processes on the machine were not stopped, so p99 includes their interference.",
        "",
        "| measure | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|",
        f"| trigger write to result read by the PLC client ({result['parts']} parts) | "
        f"{result['p50']:.2f} | {result['p99']:.2f} | {result['max']:.2f} |",
    ]
    for stage, values in result["stages"].items():  # type: ignore[union-attr]
        if values["count"]:
            lines.append(f"| station stage `{stage}` | {values['p50']:.2f} | {values['p99']:.2f} | {values['max']:.2f} |")
    lines += ["", f"Result codes seen: {result['codes']} (1 OK, 2 NG).", ""]
    return "\n".join(lines)


def _number(value: object, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _loads(values: list[float] | None) -> str:
    return "n/a" if values is None else " / ".join(f"{value:.2f}" for value in values)


def soak_markdown(summary: dict[str, Any], source: str) -> str:
    """Return the Markdown section of one soak run's summary."""
    memory = summary["memory_mb"]
    plc = summary["plc_latency_ms"]
    station = summary["station_latency_ms"]
    swap = summary["hot_swap"]
    load = summary["load_average"]
    minutes = float(summary["duration_s"]) / 60.0
    if swap.get("performed") and swap.get("ok"):
        swap_text = f"{swap['from']} to {swap['to']} in {swap['seconds']} s, verdicts continued"
    elif swap.get("performed"):
        swap_text = f"failed: {swap.get('error', 'the new bundle was not in service')}"
    else:
        swap_text = "not performed (run shorter than half its length?)"
    codes = ", ".join(f"{name} {count}" for name, count in summary["result_codes"].items())
    lines = [
        f"{SOAK_HEADING} ({minutes:.1f} minutes, finished {summary['finished_at']})",
        "",
        f"Command: `DEFECTSEEK_SOAK_S={summary['duration_s']:.0f} DEFECTSEEK_SOAK_JSON={source} "
        "python -m pytest tests/station/test_soak.py -m slow`, then "
        f"`python bench/station.py --soak-json {source} --out docs/benchmarks-station.md`.",
        "",
        f"Machine: {summary['machine']}, Python {summary['python']}. Load average (1, 5, 15 min) at start "
        f"{_loads(load['start'])}, at end {_loads(load['end'])}.",
        "",
        "Setup: two fake cameras at 320 x 240. Lane 0 runs free at 25 fps and fails 6 reads in a row at "
        "regular intervals. Lane 1 is triggered by a Modbus TCP client on 127.0.0.1 that waits for each "
        "result. A fake model takes 5 ms per batch. The webhook posts to a local HTTP server, the store has "
        "a 20 MB disk limit, and a second bundle is hot-swapped in halfway.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| parts judged (both lanes) | {summary['parts_judged']} ({_number(summary['parts_per_s'])} per s) |",
        f"| PLC triggers answered / sent | {summary['plc_answered']} / {summary['plc_triggers']} |",
        f"| lost verdicts | {summary['lost_verdicts']} |",
        f"| result codes | {codes} |",
        f"| camera outages / reconnects | {summary['camera_outages']} / {summary['camera_reconnects']} |",
        f"| resident memory MiB: start / after warm-up / end / max | {_number(memory['start'], 1)} / "
        f"{_number(memory['baseline'], 1)} / {_number(memory['end'], 1)} / {_number(memory['max'], 1)} |",
        f"| PLC trigger to result read, ms: p50 / p99 / max ({plc['count']} parts) | {_number(plc['p50'])} / "
        f"{_number(plc['p99'])} / {_number(plc['max'])} |",
        f"| station trigger to signal, ms: p50 / p99 / max (last {station['count']} parts) | "
        f"{_number(station['p50'])} / {_number(station['p99'])} / {_number(station['max'])} |",
        f"| hot swap | {swap_text} |",
        f"| store disk usage | {_number(summary['disk_usage_mb'])} MB |",
        f"| results delivered to the MES | {summary['mes_delivered']} |",
        "",
    ]
    return "\n".join(lines)


def replace_soak_section(document: str, section: str) -> str:
    """Replace the first soak section of ``document`` with ``section``, or add it at the end."""
    start = document.find(SOAK_HEADING)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + section if document.strip() else section
    end = document.find("\n## ", start + len(SOAK_HEADING))
    rest = document[end + 1:] if end >= 0 else ""
    return document[:start] + section + ("\n" + rest if rest else "")


def render_soak(args: argparse.Namespace) -> int:
    source = Path(args.soak_json)
    try:
        summary = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"bench/station.py: cannot read the soak summary {source}: {error}", file=sys.stderr)
        return 2
    text = soak_markdown(summary, args.soak_json)
    print(text)
    if args.out:
        out = Path(args.out)
        previous = out.read_text(encoding="utf-8") if out.exists() else ""
        if args.append:
            updated = previous.rstrip("\n") + "\n\n" + text if previous.strip() else text
        else:
            updated = replace_soak_section(previous, text)
        out.write_text(updated, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.soak_json:
        return render_soak(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-station-") as folder:
        result = measure(args, Path(folder))
    text = markdown(result, args)
    print(text)
    if args.out:
        out = Path(args.out)
        previous = out.read_text(encoding="utf-8") + "\n" if args.append and out.exists() else ""
        out.write_text(previous + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
