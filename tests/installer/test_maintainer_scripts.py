"""The runtime package's maintainer scripts, run against a scratch root with stub system commands.

``DPKG_ROOT`` moves every path the scripts touch into a temporary folder, and stubs of
``getent``, ``useradd``, ``chgrp`` and ``systemctl`` on ``PATH`` record their arguments,
so the scripts run unprivileged and never touch this machine's users or services.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from app.station.config import load_config
from tests.conftest import REPO_ROOT

SCRIPTS = REPO_ROOT / "installer" / "linux" / "runtime"
EXAMPLE_CONFIG = REPO_ROOT / "installer" / "linux" / "station.toml.example"

STUBS = {
    # getent finds the user once useradd has created the marker file.
    "getent": '[ -e "$STUB_LOG.user" ] || exit 2\necho "defectseek:x:999:999::/var/lib/defectseek:/usr/sbin/nologin"',
    "useradd": 'echo "useradd $*" >> "$STUB_LOG"\ntouch "$STUB_LOG.user"',
    "chgrp": 'echo "chgrp $*" >> "$STUB_LOG"',
    "systemctl": 'echo "systemctl $*" >> "$STUB_LOG"',
}


@pytest.fixture()
def scratch(tmp_path: Path) -> dict[str, object]:
    """A scratch root with systemd marked as running, stub commands and their log."""
    root = tmp_path / "root"
    (root / "run" / "systemd" / "system").mkdir(parents=True)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, body in STUBS.items():
        path = stubs / name
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    log = tmp_path / "calls.log"
    environment = {**os.environ, "DPKG_ROOT": str(root), "STUB_LOG": str(log), "PATH": f"{stubs}:{os.environ['PATH']}"}
    return {"root": root, "log": log, "env": environment}


def run_script(scratch: dict[str, object], script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run one maintainer script with the scratch environment and return its result."""
    return subprocess.run(
        ["sh", str(SCRIPTS / script), *arguments], capture_output=True, text=True, env=scratch["env"], check=False
    )


def calls(scratch: dict[str, object]) -> list[str]:
    """Return the stub commands called so far, in order."""
    log = scratch["log"]
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_postinst_prepares_station(scratch: dict[str, object]) -> None:
    result = run_script(scratch, "postinst", "configure")

    assert result.returncode == 0, result.stderr
    config_dir = scratch["root"] / "etc" / "defectseek"
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o750
    token = config_dir / "deploy.token"
    assert len(token.read_text(encoding="ascii").strip()) >= 40
    assert stat.S_IMODE(token.stat().st_mode) == 0o640
    recorded = calls(scratch)
    assert recorded[0].startswith("useradd --system --user-group")
    assert recorded[0].endswith(" defectseek")
    assert recorded[-3:] == [
        "systemctl daemon-reload",
        "systemctl enable defectseek-station.service",
        "systemctl try-restart defectseek-station.service",
    ]
    assert "station.toml.example" in result.stdout


def test_postinst_again_keeps_user_and_token(scratch: dict[str, object]) -> None:
    run_script(scratch, "postinst", "configure")
    token = scratch["root"] / "etc" / "defectseek" / "deploy.token"
    first = token.read_text(encoding="ascii")
    (scratch["root"] / "etc" / "defectseek" / "station.toml").write_text("# edited by the engineer\n", encoding="utf-8")

    result = run_script(scratch, "postinst", "configure")

    assert result.returncode == 0, result.stderr
    assert token.read_text(encoding="ascii") == first
    assert sum(call.startswith("useradd") for call in calls(scratch)) == 1
    assert "station.toml.example" not in result.stdout
    assert (scratch["root"] / "etc" / "defectseek" / "station.toml").read_text(encoding="utf-8") == "# edited by the engineer\n"


def test_postinst_without_systemd(scratch: dict[str, object]) -> None:
    (scratch["root"] / "run" / "systemd" / "system").rmdir()

    result = run_script(scratch, "postinst", "configure")

    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("systemctl") for call in calls(scratch))


def test_prerm_remove_stops_service(scratch: dict[str, object]) -> None:
    result = run_script(scratch, "prerm", "remove")

    assert result.returncode == 0, result.stderr
    assert calls(scratch) == ["systemctl stop defectseek-station.service", "systemctl disable defectseek-station.service"]


def test_prerm_upgrade_keeps_station_running(scratch: dict[str, object]) -> None:
    result = run_script(scratch, "prerm", "upgrade", "0.1.0")

    assert result.returncode == 0, result.stderr
    assert calls(scratch) == []


def test_postrm_purge_keeps_results(scratch: dict[str, object]) -> None:
    results = scratch["root"] / "var" / "lib" / "defectseek" / "results.sqlite"
    results.parent.mkdir(parents=True)
    results.write_bytes(b"records")

    result = run_script(scratch, "postrm", "purge")

    assert result.returncode == 0, result.stderr
    assert results.read_bytes() == b"records"
    assert "kept" in result.stdout


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm"])
def test_scripts_reject_unknown_action(scratch: dict[str, object], script: str) -> None:
    result = run_script(scratch, script, "explode")

    assert result.returncode == 1
    assert "unknown argument 'explode'" in result.stderr


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE_CONFIG)

    assert config.station["data_dir"] == "/var/lib/defectseek"
    assert config.deploy["token_file"] == "/etc/defectseek/deploy.token"
