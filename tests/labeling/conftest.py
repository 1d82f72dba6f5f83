"""Fixtures for the labeling tests: an empty project and the real magnetic-tile slice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.project import Project
from tests.labeling.helpers import MAGNETIC_TILE


@pytest.fixture
def magnetic_tile() -> Path:
    """Return the magnetic-tile MVTec-layout folder, or skip when the shared data is absent."""
    if not (MAGNETIC_TILE / "test").is_dir():
        pytest.skip(f"shared data not found at {MAGNETIC_TILE}; the real-image round trips need it")
    return MAGNETIC_TILE


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """Return a new empty project with the classes crack and scratch."""
    opened = Project.create(tmp_path / "project", "test project", ["crack", "scratch"])
    yield opened
    opened.close()
