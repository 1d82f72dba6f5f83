"""Shared fixtures: the real data sets beside the checkout and small trained models."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLE = REPO_ROOT / "assets" / "sample"


def shared_set(name: str) -> Path:
    """Return a shared data set folder, skipping the test when it is absent."""
    path = SHARED_DATA / name
    if not (path / "train" / "good").is_dir():
        pytest.skip(f"real data set {name} not found at {path}; place the shared data beside the checkout")
    return path


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained by the real CLI on the shipped sample (8 good magnetic tiles)."""
    from app.cli.main import main

    out = tmp_path_factory.mktemp("models") / "sample_model"
    assert main(["train", str(SAMPLE / "train" / "good"), "--out", str(out), "--size", "128"]) == 0
    return out


@pytest.fixture()
def rng() -> np.random.Generator:
    """A fixed-seed random generator."""
    return np.random.default_rng(1234)
