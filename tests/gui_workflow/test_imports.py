"""The studio process never imports torch: training and compiling import it only in the worker process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

WORKFLOW_MODULES = (
    "app.gui.workflow.jobs",
    "app.gui.workflow.train_job",
    "app.gui.workflow.deploy_job",
    "app.gui.workflow.evaluation",
    "app.gui.workflow.inspection",
    "app.gui.workflow.report",
    "app.gui.workflow.project_data",
    "app.gui.workflow.dataset_import",
)


def test_workflow_imports_no_torch_or_qt():
    code = "import sys\n" + "".join(f"import {name}\n" for name in WORKFLOW_MODULES) + (
        "print('torch' in sys.modules, 'PySide6' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert output == ["False", "False"]


def test_pages_import_no_torch():
    code = (
        "import os, sys\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import app.gui.pages.train_page, app.gui.pages.evaluate_page, app.gui.pages.deploy_page, "
        "app.gui.pages.inspect_page\nprint('torch' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert output == ["False"]
