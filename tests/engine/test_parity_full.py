"""fp32 bundles of default models score like torch eager on every test image of the three shared sets.

The fast parity test uses small models and slices of each set. This one checks what a user
gets: ``inspect train`` with default settings on the whole ``train/good`` folder, then an
fp32 compile for the cpu target. Torch eager judges every test image (good and defective),
and so do ONNX Runtime CPU and OpenVINO CPU with each head path the bundle offers. Normalized
scores must agree within 1e-3 and verdicts must be identical. It trains three full models,
so it runs with the slow marker: ``python -m pytest -m slow tests/engine/test_parity_full.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from engine.compile import TorchPredictor
from engine.compile.pipeline import CompileOptions, compile_bundle
from engine.ops.domain import HEAD_STANDARD
from engine.runtime import Inspector
from engine.runtime.engines import OpenVinoEngine
from labeling.imageio import read_image
from tests.conftest import shared_set
from tests.engine.conftest import SETS

pytestmark = pytest.mark.slow

MAX_NORMALIZED_DELTA = 1e-3


def _mismatches(paths, expected, actual) -> list[str]:
    """Describe each image whose normalized score or verdict differs from the reference."""
    found = []
    for path, reference, result in zip(paths, expected, actual, strict=True):
        delta = abs(result.normalized_score - reference.normalized_score)
        if delta > MAX_NORMALIZED_DELTA or result.verdict != reference.verdict:
            found.append(
                f"{path.name}: {reference.normalized_score:.5f} {reference.verdict} "
                f"vs {result.normalized_score:.5f} {result.verdict}"
            )
    return found


@pytest.mark.parametrize("name", SETS)
def test_fp32_whole_test_set(models, tmp_path: Path, name: str) -> None:
    # ``models`` points the runtime at the native OpenVINO extension built for this session.
    data = shared_set(name)
    model = tmp_path / "model"
    assert main(["train", str(data / "train" / "good"), "--out", str(model)]) == 0
    bundle = tmp_path / "bundle"
    compile_bundle(model, bundle, CompileOptions(precision="fp32"), validation=data)

    paths = sorted((data / "test").rglob("*.png"))
    images = [read_image(path) for path in paths]
    assert len(images) >= 60, f"{name}: expected the whole test set, found {len(images)} images"
    expected = TorchPredictor.from_model_dir(model).predict(images)

    problems = {}
    for engine in ("onnxruntime", "openvino"):
        inspector = Inspector.open(bundle, engine=engine, device="cpu")
        problems[f"{engine} ({inspector.head_path})"] = _mismatches(paths, expected, inspector.inspect_images(images))
        if engine == "openvino" and inspector.head_path != HEAD_STANDARD:
            inspector._engine = OpenVinoEngine(bundle / inspector.manifest.graphs["openvino"], 2)
            problems["openvino (standard head)"] = _mismatches(paths, expected, inspector.inspect_images(images))
    failing = {path: found for path, found in problems.items() if found}
    assert not failing, f"{name}: engines disagree with torch eager: {failing}"
