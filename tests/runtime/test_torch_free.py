"""The line runtime must work without torch: nothing ``inspect run`` imports may pull it in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT, SAMPLE

BLOCK_TRAINING_PACKAGES = textwrap.dedent(
    """
    import sys

    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "albumentations", "onnx"):
                raise ImportError(f"{name} is blocked: the runtime must not import it")
            return None

    sys.meta_path.insert(0, _Block())
    """
)


def test_runtime_import_leaves_torch_out() -> None:
    code = "import sys, engine.runtime, app.cli.run_command, app.cli.main; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_inspect_run_works_with_training_packages_blocked(sample_model: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TRAINING_PACKAGES, encoding="utf-8")
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)])}
    command = [sys.executable, "-m", "app.cli.main", "run", str(sample_model), str(SAMPLE / "test"), "--report", str(report)]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(report.read_text(encoding="utf-8"))) == 5
    assert "engine:" in result.stderr


def test_train_without_training_packages_explains(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TRAINING_PACKAGES, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)])}
    for argv in (["train", str(SAMPLE / "train" / "good"), "--out", str(tmp_path / "m")], ["demo", "--out", str(tmp_path / "d")]):
        result = subprocess.run([sys.executable, "-m", "app.cli.main", *argv], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 2, result.stderr
        assert "training is not available" in result.stderr
        assert "Traceback" not in result.stderr
