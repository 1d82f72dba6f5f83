"""Fixtures for engine tests: small models trained on slices of the shared sets, compiled bundles, the extension."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_set

SETS = ("magnetic_tile", "kolektorsdd", "elpv")
TRAIN_IMAGES = 10
TEST_IMAGES = 8
MODEL_SIZE = (128, 128)


def pick_test_images(root: Path, count: int = TEST_IMAGES) -> list[Path]:
    """Return ``count`` test images spread over the good and defect folders of a set."""
    files = sorted(path for path in (root / "test").rglob("*.png"))
    picks = np.unique(np.linspace(0, len(files) - 1, count).round().astype(int))
    return [files[index] for index in picks]


@pytest.fixture(scope="session")
def ov_extension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The native OpenVINO extension built into a temporary folder; skips without CMake or a compiler."""
    from engine.ops.build import OpsBuildError, build_openvino_extension

    try:
        return build_openvino_extension(tmp_path_factory.mktemp("ops"))
    except OpsBuildError as error:
        pytest.skip(f"the native extension cannot be built here: {str(error).splitlines()[0]}")


class ModelCache:
    """Train each shared-set model once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.models: dict[str, Path] = {}
        self.bundles: dict[tuple[str, str], Path] = {}

    def model(self, name: str) -> Path:
        if name not in self.models:
            from anomaly import TrainConfig, load_training_images, train_patchcore
            from engine.compile import write_model_bundle

            data = shared_set(name)
            files = sorted((data / "train" / "good").iterdir())[:TRAIN_IMAGES]
            images, _ = load_training_images(files)
            trained = train_patchcore(images, TrainConfig(size=MODEL_SIZE))
            out = self.root / f"model_{name}"
            write_model_bundle(trained, out)
            self.models[name] = out
        return self.models[name]

    def fp32_bundle(self, name: str) -> Path:
        key = (name, "fp32")
        if key not in self.bundles:
            from engine.compile.pipeline import CompileOptions, compile_bundle

            out = self.root / f"bundle_{name}_fp32"
            options = CompileOptions(precision="fp32", validation_images=TEST_IMAGES)
            compile_bundle(self.model(name), out, options, validation=shared_set(name))
            self.bundles[key] = out
        return self.bundles[key]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    """Session cache of trained models and compiled bundles (with the native extension when it builds)."""
    from engine.ops.build import OpsBuildError, build_openvino_extension

    previous = os.environ.get("DEFECTSEEK_OV_EXTENSION")
    try:
        os.environ["DEFECTSEEK_OV_EXTENSION"] = str(build_openvino_extension(tmp_path_factory.mktemp("ops")))
    except OpsBuildError:
        os.environ["DEFECTSEEK_OV_EXTENSION"] = str(tmp_path_factory.mktemp("no_ops") / "missing")
    yield ModelCache(tmp_path_factory.mktemp("engine_models"))
    if previous is None:
        os.environ.pop("DEFECTSEEK_OV_EXTENSION", None)
    else:
        os.environ["DEFECTSEEK_OV_EXTENSION"] = previous
