"""``inspect run`` and ``inspect eval`` give the same results in throughput mode, latency mode and batches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.cli.main import main
from engine.runtime import ERROR
from tests.conftest import SAMPLE


def test_run_modes_write_same_report(sample_model: Path, tmp_path: Path) -> None:
    reports = {}
    for mode in ("throughput", "latency"):
        report = tmp_path / f"{mode}.json"
        heatmaps = tmp_path / f"heatmaps_{mode}"
        arguments = ["run", str(sample_model), str(SAMPLE / "test"), "--engine", "openvino", "--mode", mode]
        assert main([*arguments, "--report", str(report), "--heatmaps", str(heatmaps), "--threads", "2"]) == 0
        reports[mode] = report.read_text(encoding="utf-8").replace(f"heatmaps_{mode}", "heatmaps")
        assert sorted(path.name for path in heatmaps.rglob("*.png")) == sorted(
            f"{path.stem}_heatmap.png" for path in sorted(SAMPLE.joinpath("test").rglob("*.png"))
        )
    assert reports["throughput"] == reports["latency"]
    assert ERROR not in reports["throughput"]


def _eval_report(model: Path, dataset: Path, report: Path, *options: str) -> dict:
    status = main(["eval", str(model), str(dataset), "--engine", "openvino", "--report", str(report), *options])
    assert status in (0, 3)
    result = json.loads(report.read_text(encoding="utf-8"))
    result.pop("ms_per_image")
    return result


def test_eval_modes_give_same_metrics(sample_model: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "set"
    shutil.copytree(SAMPLE, dataset)
    (dataset / "test" / "good" / "truncated.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    results = {
        "throughput": _eval_report(sample_model, dataset, tmp_path / "throughput.json"),
        "latency": _eval_report(sample_model, dataset, tmp_path / "latency.json", "--mode", "latency"),
        "batches": _eval_report(sample_model, dataset, tmp_path / "batches.json", "--batch-size", "4"),
    }
    assert results["throughput"] == results["latency"]
    assert results["throughput"] == results["batches"]
    assert [row["path"] for row in results["throughput"]["unreadable"]] == [
        str(dataset / "test" / "good" / "truncated.png")
    ]
    assert results["throughput"]["images"] == len(list(SAMPLE.joinpath("test").rglob("*.png")))
