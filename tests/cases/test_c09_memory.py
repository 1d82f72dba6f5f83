"""Memory bank growth: estimated before extraction, kept within budget, coreset cancellable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from anomaly import TrainConfig, TrainingCancelled, TrainingError, train_patchcore
from anomaly.coreset import greedy_coreset
from app.cli.main import main
from labeling.imageio import LoadedImage
from tests.cases.images import save_png, textured
from tests.conftest import REPO_ROOT


def _images(rng: np.random.Generator, count: int, size: int = 128) -> list[LoadedImage]:
    return [LoadedImage(textured(rng, size, size), f"synthetic_{index}", "L") for index in range(count)]


def test_budget_too_small_stops_with_advice(tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    for index in range(6):
        save_png(good / f"g{index}.png", textured(rng, 128, 128))
    assert main(["train", str(good), "--out", str(tmp_path / "m"), "--size", "128", "--memory-budget-mb", "0"]) == 2
    err = capsys.readouterr().err
    assert "memory budget" in err
    assert "--size" in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_budget_subsamples_patches(rng: np.random.Generator, caplog: pytest.LogCaptureFixture) -> None:
    images = _images(rng, 40)
    config = TrainConfig(size=(128, 128), memory_budget_mb=1)
    with caplog.at_level("INFO"):
        trained = train_patchcore(images, config)
    assert "Estimated feature memory" in caplog.text
    assert "exceeds the budget" in caplog.text
    full_patches = 40 * 16 * 16
    assert trained.bank.shape[0] < 0.1 * full_patches


def test_candidate_cap_bounds_coreset_work(rng: np.random.Generator) -> None:
    trained = train_patchcore(_images(rng, 12), TrainConfig(size=(128, 128), max_candidates=600))
    assert trained.bank.shape[0] <= 600


def test_coreset_reports_progress_and_cancels(rng: np.random.Generator) -> None:
    import torch

    features = torch.from_numpy(rng.normal(size=(5000, 32)).astype(np.float32))
    seen: list[tuple[str, int, int]] = []
    selected = greedy_coreset(features, 700, progress=lambda *event: seen.append(event))
    assert len(set(selected.tolist())) == 700
    assert seen[0][0] == "coreset"
    assert seen[-1] == ("coreset", 700, 700)
    cancel = threading.Event()

    def cancel_midway(stage: str, done: int, total: int) -> None:
        if done >= 256:
            cancel.set()

    with pytest.raises(TrainingCancelled):
        greedy_coreset(features, 700, progress=cancel_midway, cancel=cancel)


def test_training_can_be_cancelled(rng: np.random.Generator) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        train_patchcore(_images(rng, 3), TrainConfig(size=(128, 128)), cancel=cancel)


def test_out_of_memory_is_reported_not_raised(tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    for index in range(3):
        save_png(good / f"g{index}.png", textured(rng, 128, 128))

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("anomaly.trainer.greedy_coreset", exhausted)
    assert main(["train", str(good), "--out", str(tmp_path / "m"), "--size", "128"]) == 2
    err = capsys.readouterr().err
    assert "out of memory" in err
    assert "--memory-budget-mb" in err


def test_empty_training_set_is_an_error() -> None:
    with pytest.raises(TrainingError, match="no readable good images"):
        train_patchcore([])


@pytest.mark.slow
def test_two_thousand_images_under_four_gigabytes(tmp_path: Path) -> None:
    """Train on 2,000 images of 256x256 in a process limited to 4 GB of address space."""
    script = textwrap.dedent(
        f"""
        import resource, sys
        import numpy as np
        resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from anomaly import TrainConfig, train_patchcore
        from labeling.imageio import LoadedImage
        rng = np.random.default_rng(7)
        images = [LoadedImage(rng.integers(90, 160, (256, 256), dtype=np.uint8), f"i{{i}}", "L") for i in range(2000)]
        trained = train_patchcore(images, TrainConfig(size=(256, 256), memory_budget_mb=1024))
        print(trained.bank.shape)
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
