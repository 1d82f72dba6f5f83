"""Native nearest-distance searches against the exact distances of the function body.

Every search strategy must return the distance to the nearest bank row, whatever the bank
size (1, 17, 2048, 10000 rows), channel count (not a multiple of 4 or 16) and patch count
(not a multiple of the 8- or 32-patch tiles). The screened search is exact by construction,
so the tests also feed it cases that a fixed candidate count would miss: equidistant rows,
duplicated rows, patches equal to a bank row and rows of very different norms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from engine.ops.domain import NATIVE_SEARCHES, SEARCH_SCREENED
from engine.ops.functions import build_head_model
from engine.ops.loader import search_kernel

BANKS = [
    # bank rows, channels, grid
    (1, 5, (3, 3)),
    (17, 19, (7, 5)),
    (2048, 150, (11, 13)),
    (10000, 37, (9, 7)),
]
RELATIVE_TOLERANCE = 1e-4


def _distance_model(bank: np.ndarray, grid: tuple[int, int], search: str) -> onnx.ModelProto:
    """Head graph whose map is the patch distance map itself (one-tap kernel, no resampling)."""
    return build_head_model(bank, np.ones(1, dtype=np.float32), bank.shape[1], grid, grid, search=search)


def _native_distances(library: Path, model: onnx.ModelProto, features: np.ndarray) -> np.ndarray:
    import openvino as ov

    core = ov.Core()
    core.add_extension(str(library))
    compiled = core.compile_model(
        core.read_model(model.SerializeToString(), b""), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 2}
    )
    return np.asarray(compiled(features)[0])


def _reference_distances(model: onnx.ModelProto, features: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"features": features})[0]


def _exact_distances(bank: np.ndarray, features: np.ndarray) -> np.ndarray:
    patches = features.transpose(0, 2, 3, 1).astype(np.float64)
    squared = (
        (patches**2).sum(-1)[..., None] + (bank.astype(np.float64) ** 2).sum(-1) - 2.0 * patches @ bank.T.astype(np.float64)
    )
    return np.sqrt(np.maximum(squared.min(-1), 0.0))[:, None]


def _patches_near(rng: np.random.Generator, bank: np.ndarray, batch: int, grid: tuple[int, int], noise: float) -> np.ndarray:
    rows, channels = bank.shape
    picks = bank[rng.integers(0, rows, batch * grid[0] * grid[1])]
    patches = picks + noise * rng.standard_normal(picks.shape)
    patches[::5] = 2.0 * rng.standard_normal((len(patches[::5]), channels))
    return patches.reshape(batch, *grid, channels).transpose(0, 3, 1, 2).astype(np.float32).copy()


def _assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=RELATIVE_TOLERANCE, atol=RELATIVE_TOLERANCE * scale)


@pytest.mark.parametrize("search", NATIVE_SEARCHES)
@pytest.mark.parametrize("rows, channels, grid", BANKS)
def test_search_matches_function_body(ov_extension: Path, search: str, rows: int, channels: int, grid) -> None:
    rng = np.random.default_rng(1000 + rows + channels)
    bank = (rng.standard_normal((rows, channels)) * rng.uniform(0.5, 3.0, (rows, 1))).astype(np.float32)
    features = _patches_near(rng, bank, 2, grid, noise=0.1)
    model = _distance_model(bank, grid, search)
    expected = _reference_distances(model, features)
    actual = _native_distances(ov_extension, model, features)
    assert actual.shape == expected.shape
    _assert_close(actual, expected)
    _assert_close(actual, _exact_distances(bank, features))


@pytest.mark.parametrize("search", NATIVE_SEARCHES)
def test_search_hard_cases(ov_extension: Path, search: str) -> None:
    rng = np.random.default_rng(77)
    channels, grid = 23, (6, 9)
    centre = rng.standard_normal(channels).astype(np.float32)
    directions = rng.standard_normal((40, channels))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    equidistant = centre + 1.5 * directions.astype(np.float32)
    duplicates = np.repeat(rng.standard_normal((5, channels)).astype(np.float32), 7, axis=0)
    far = 400.0 * rng.standard_normal((6, channels)).astype(np.float32)
    tiny = 1e-3 * rng.standard_normal((6, channels)).astype(np.float32)
    zero = np.zeros((1, channels), np.float32)
    bank = np.concatenate([equidistant, duplicates, far, tiny, zero]).astype(np.float32)
    patches = np.concatenate(
        [
            np.repeat(centre[None], 10, axis=0),
            bank[rng.integers(0, len(bank), 20)],
            duplicates[::7] + 1e-3,
            np.zeros((4, channels), np.float32),
            far[:2] * 1.01,
            500.0 * rng.standard_normal((13, channels)).astype(np.float32),
        ]
    ).astype(np.float32)
    features = patches.reshape(1, *grid, channels).transpose(0, 3, 1, 2).copy()
    model = _distance_model(bank, grid, search)
    actual = _native_distances(ov_extension, model, features)
    _assert_close(actual, _exact_distances(bank, features))


def test_search_kernel_names(ov_extension: Path) -> None:
    import openvino  # noqa: F401  (loads the libraries the extension links to)

    names = {search: search_kernel(ov_extension, search) for search in NATIVE_SEARCHES}
    assert names["fp32"].startswith("fp32-scan-")
    assert names["screened-portable"] == "int8-screened-portable"
    assert names["screened-avx2"] in ("int8-screened-avx2", "int8-screened-portable")
    assert names["screened-vnni"] in ("int8-screened-avx512-vnni", "int8-screened-avx2", "int8-screened-portable")
    screens = ("int8-screened-amx", "int8-screened-avx512-vnni", "int8-screened-avx2")
    assert names[SEARCH_SCREENED] in (*screens, names["fp32"])
    assert search_kernel(ov_extension, "no-such-search") is None


def test_unknown_search_rejected(ov_extension: Path) -> None:
    import openvino as ov

    bank = np.ones((3, 4), np.float32)
    model = _distance_model(bank, (2, 2), "no-such-search")
    core = ov.Core()
    core.add_extension(str(ov_extension))
    with pytest.raises(Exception, match="invalid search"):
        core.compile_model(core.read_model(model.SerializeToString(), b""), "CPU")


def test_search_on_real_features(ov_extension: Path, models) -> None:
    import torch

    from engine.compile.export import load_trained_model
    from engine.compile.validate import stack_inputs
    from labeling.imageio import read_image
    from tests.conftest import shared_set
    from tests.engine.conftest import pick_test_images

    trained = load_trained_model(models.model("magnetic_tile"))
    images = [read_image(path) for path in pick_test_images(shared_set("magnetic_tile"))]
    inputs, _ = stack_inputs(images, trained.input_size, trained.bit_depth, trained.resize)
    with torch.no_grad():
        features = trained.torch_model().extractor(torch.from_numpy(inputs)).numpy()
    grid = features.shape[2:]
    for search in NATIVE_SEARCHES:
        model = _distance_model(trained.bank, grid, search)
        expected = _reference_distances(model, features)
        _assert_close(_native_distances(ov_extension, model, features), expected)
