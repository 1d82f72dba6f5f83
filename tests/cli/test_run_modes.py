"""``inspect run`` writes the same report and heatmaps in throughput and latency mode."""

from __future__ import annotations

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
