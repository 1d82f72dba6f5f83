"""The station runs on a line PC without torch: none of its modules may import it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

STATION_MODULES = (
    "app.station.main", "app.station.station", "app.station.pipeline", "app.station.judge",
    "app.station.bundles", "app.station.deploy_service", "app.station.deploy_client",
    "app.station.signals.modbus", "app.station.signals.opcua", "app.station.signals.webhook",
    "app.station.sources.opencv_source", "app.station.sources.folder_source", "engine.runtime",
)


def test_station_imports_no_torch_or_qt():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in STATION_MODULES)
        + "print(sorted(name for name in ('torch', 'PySide6', 'anomaly', 'fewshot') if name in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
