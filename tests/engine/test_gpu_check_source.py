"""The CUDA kernel's check program must keep compiling, so a machine with a GPU can run it at once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="CUDA's compiler (nvcc) is not installed")
def test_kernel_check_program_compiles(tmp_path: Path) -> None:
    program = tmp_path / "nd_check"
    sources = [ROOT / "engine/ops/gpu/nearest_distance.cu", ROOT / "bench/gpu/nearest_distance_check.cu"]
    result = subprocess.run(
        ["nvcc", "-O3", "-std=c++17", "-o", str(program), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert program.is_file()
