"""Fast checks of the runtime's one-program entry point and of the FFmpeg license collection."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

INSTALLER = REPO_ROOT / "installer"
sys.path.insert(0, str(INSTALLER))

import defectseek_pyi as pyi  # noqa: E402


def _load_entry() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runtime_main", INSTALLER / "entry" / "runtime_main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_mains(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import app.cli.main
    import app.station.main

    calls: list[str] = []
    monkeypatch.setattr(app.station.main, "main", lambda: calls.append("station") or 0)
    monkeypatch.setattr(app.cli.main, "main", lambda: calls.append("inspect") or 0)
    return calls


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("/opt/defectseek-runtime/defectseek-station", "station"),
        ("/usr/bin/defectseek-station", "station"),
        ("defectseek-station.exe", "station"),
        ("/opt/defectseek-runtime/inspect", "inspect"),
        ("inspect.exe", "inspect"),
    ],
)
def test_entry_dispatches_by_program_name(
    monkeypatch: pytest.MonkeyPatch, fake_mains: list[str], program: str, expected: str
) -> None:
    entry = _load_entry()
    monkeypatch.setattr(sys, "argv", [program])

    assert entry.main() == 0
    assert fake_mains == [expected]


def test_ffmpeg_license_found_beside_prefix(tmp_path: Path) -> None:
    library = tmp_path / "lib" / "libavcodec.so.59"
    library.parent.mkdir()
    library.write_bytes(b"")
    licenses = tmp_path / "share" / "licenses" / "ffmpeg"
    licenses.mkdir(parents=True)
    (licenses / "COPYING.LGPLv2.1").write_text("LGPL", encoding="utf-8")
    binaries = [("libz.so.1", "/usr/lib/libz.so.1", "BINARY"), ("libavcodec.so.59", str(library), "BINARY")]

    datas = pyi.ffmpeg_license_datas(binaries)

    assert datas == [("licenses/ffmpeg/COPYING.LGPLv2.1", str(licenses / "COPYING.LGPLv2.1"), "DATA")]


def test_ffmpeg_license_absent_for_wheel_ffmpeg(tmp_path: Path) -> None:
    library = tmp_path / "opencv_python_headless.libs" / "libavcodec-e863e0e1.so.63"
    library.parent.mkdir()
    library.write_bytes(b"")

    assert pyi.ffmpeg_license_datas([(library.name, str(library), "BINARY")]) == []


def test_runtime_wheels_script_rejects_missing_python() -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER / "build_runtime_wheels.sh")], capture_output=True, text=True, timeout=30
    )

    assert result.returncode != 0
    assert "usage: installer/build_runtime_wheels.sh PYTHON WHEEL..." in result.stderr


def test_runtime_wheels_script_rejects_unknown_wheel() -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER / "build_runtime_wheels.sh"), sys.executable, "scipy"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "unknown wheel scipy" in result.stderr


def test_runtime_wheels_script_needs_a_wheel() -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER / "build_runtime_wheels.sh"), sys.executable], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert "name at least one wheel" in result.stderr


def test_build_script_rejects_unknown_wheel_source() -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER / "build_linux.sh"), "--only", "runtime"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "DEFECTSEEK_RUNTIME_WHEELS": "conda"},
    )

    assert result.returncode == 2
    assert "DEFECTSEEK_RUNTIME_WHEELS must be numpy, numpy,opencv or pypi" in result.stderr
