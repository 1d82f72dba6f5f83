"""Shared fixtures: a tiny anomaly model on synthetic parts, and labelled synthetic defects."""

from __future__ import annotations

import pytest

from .synthetic import defect_images, good_images

MODEL_SIZE = (96, 96)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Return (model directory, trained model) of a PatchCore model on six synthetic good parts."""
    from anomaly import TrainConfig, train_patchcore
    from engine.compile import write_model_bundle

    trained = train_patchcore(good_images(6, seed=0), TrainConfig(size=MODEL_SIZE, coreset_ratio=0.5))
    directory = tmp_path_factory.mktemp("fewshot") / "model"
    write_model_bundle(trained, directory)
    return directory, trained


@pytest.fixture(scope="session")
def labelled_defects():
    """Return synthetic examples: five spots and five scratches, each with its mask."""
    from fewshot.examples import DefectExample

    return [
        DefectExample(image, kind, mask, image.source)
        for kind in ("spot", "scratch")
        for image, mask in defect_images(kind, 5, seed=1)
    ]
