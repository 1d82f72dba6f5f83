"""The two Debian packages install side by side: ``build_linux.sh --package-only`` on stub program folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BUILD_SCRIPT = REPO_ROOT / "installer" / "build_linux.sh"
PROGRAMS = {
    "defectseek-runtime": ("inspect", "defectseek-station"),
    "defectseek-studio": ("inspect", "defectseek-studio"),
}


def deb_files(deb: Path) -> set[str]:
    """Return the paths of the files and links that a .deb installs, without its folders."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = set()
    for line in listing.splitlines():
        fields = line.split(maxsplit=5)
        if fields[0].startswith("d"):
            continue
        paths.add(fields[5].split(" -> ")[0].removeprefix("."))
    return paths


def _stub_build(dist: Path, name: str) -> None:
    folder = dist / name
    (folder / "_internal").mkdir(parents=True)
    (folder / "_internal" / f"{name}.txt").write_text("stub", encoding="utf-8")
    for program in PROGRAMS[name]:
        (folder / program).write_text("#!/bin/sh\n", encoding="utf-8")
        (folder / program).chmod(0o755)


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both .debs, packed by the real build script from stub program folders."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed (apt-get install dpkg)")
    root = tmp_path_factory.mktemp("package-only")
    dist = root / "dist"
    for name in PROGRAMS:
        _stub_build(dist, name)
    environment = {**os.environ, "DEFECTSEEK_DIST": str(dist), "DEFECTSEEK_BUILD_DIR": str(root / "build")}

    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--package-only"], capture_output=True, text=True, env=environment
    )

    assert result.returncode == 0, result.stderr
    found = {name: sorted(dist.glob(f"{name}_*.deb")) for name in PROGRAMS}
    assert all(len(files) == 1 for files in found.values()), found
    return {name: files[0] for name, files in found.items()}


def test_debs_share_no_file(debs: dict[str, Path]) -> None:
    runtime = deb_files(debs["defectseek-runtime"])
    studio = deb_files(debs["defectseek-studio"])

    assert runtime & studio == set()


def test_runtime_deb_commands(debs: dict[str, Path]) -> None:
    files = deb_files(debs["defectseek-runtime"])

    assert {path for path in files if path.startswith("/usr/bin/")} == {
        "/usr/bin/inspect",
        "/usr/bin/defectseek-station",
    }


def test_studio_deb_commands(debs: dict[str, Path]) -> None:
    files = deb_files(debs["defectseek-studio"])

    assert {path for path in files if path.startswith("/usr/bin/")} == {
        "/usr/bin/defectseek-studio",
        "/usr/bin/defectseek-inspect",
    }


def test_studio_inspect_link_target(debs: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(debs["defectseek-studio"]), str(tmp_path)], check=True)

    link = tmp_path / "usr" / "bin" / "defectseek-inspect"

    assert os.readlink(link) == "/opt/defectseek-studio/inspect"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_debs_declare_no_conflict(debs: dict[str, Path], name: str) -> None:
    control = subprocess.run(["dpkg-deb", "-f", str(debs[name])], capture_output=True, text=True, check=True).stdout

    assert "Conflicts:" not in control
    assert f"Package: {name}" in control


def test_package_only_needs_build(tmp_path: Path) -> None:
    environment = {**os.environ, "DEFECTSEEK_DIST": str(tmp_path / "dist"), "DEFECTSEEK_BUILD_DIR": str(tmp_path)}

    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--package-only", "--only", "runtime"],
        capture_output=True,
        text=True,
        env=environment,
    )

    assert result.returncode == 1
    assert "run without --package-only first" in result.stderr


def test_runtime_deb_station_unit(debs: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(debs["defectseek-runtime"]), str(tmp_path)], check=True)

    unit = (tmp_path / "lib" / "systemd" / "system" / "defectseek-station.service").read_text(encoding="utf-8")

    exec_lines = [line for line in unit.splitlines() if line.startswith(("ExecStart=", "ExecStartPre="))]
    assert len(exec_lines) == 2
    assert all(line.split("=", 1)[1].startswith("/opt/defectseek-runtime/defectseek-station ") for line in exec_lines)
    assert (tmp_path / "opt" / "defectseek-runtime" / "defectseek-station").is_file()
    assert "ConditionPathExists=/etc/defectseek/station.toml" in unit
    assert "venv" not in unit


def test_runtime_deb_ships_example_config(debs: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(debs["defectseek-runtime"]), str(tmp_path)], check=True)

    example = tmp_path / "usr" / "share" / "doc" / "defectseek-runtime" / "station.toml.example"

    assert example.read_bytes() == (REPO_ROOT / "installer" / "linux" / "station.toml.example").read_bytes()


def test_runtime_deb_maintainer_scripts(debs: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-e", str(debs["defectseek-runtime"]), str(tmp_path)], check=True)

    for script in ("postinst", "prerm", "postrm"):
        assert os.access(tmp_path / script, os.X_OK), script


def test_studio_deb_has_no_service(debs: dict[str, Path]) -> None:
    files = deb_files(debs["defectseek-studio"])

    assert not any(path.startswith("/lib/systemd/") for path in files)


def test_station_unit_passes_verify(debs: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    subprocess.run(["dpkg-deb", "-x", str(debs["defectseek-runtime"]), str(tmp_path)], check=True)
    unit = tmp_path / "lib" / "systemd" / "system" / "defectseek-station.service"
    # The packaged program exists only under the extracted root, so point the unit there.
    text = unit.read_text(encoding="utf-8").replace("/opt/defectseek-runtime/", f"{tmp_path}/opt/defectseek-runtime/")
    checked = tmp_path / "defectseek-station.service"
    checked.write_text(text, encoding="utf-8")

    result = subprocess.run(["systemd-analyze", "verify", str(checked)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
