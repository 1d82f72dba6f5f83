"""The line runtime's defect-type code imports no torch and no training code."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("torch", "albumentations", "fewshot.descriptor", "fewshot.train", "anomaly")


def test_runtime_types_import_no_torch():
    code = (
        "import sys, engine.runtime.defect_types, engine.runtime.inspector, app.cli.run_command; "
        f"print(sorted(name for name in {FORBIDDEN!r} if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
