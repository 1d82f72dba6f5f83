"""Fused head operators: function bodies against the torch head, native kernels against the function bodies.

Inputs are random with fresh fixed seeds and shapes that are not multiples of the
kernels' blocks (32 patches, 8 or 16 bank rows, 4 channels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from anomaly.patchcore import MapPostprocess, NearestNeighbourHead, gaussian_kernel_1d
from engine.ops.domain import SEARCH_FP32, SEARCH_SCREENED
from engine.ops.functions import build_head_model, inline_functions

SHAPES = [
    # bank rows, channels, grid, output size
    (37, 19, (5, 7), (40, 56)),
    (1003, 150, (13, 11), (104, 88)),
    (1, 3, (1, 2), (8, 16)),
]


def _features(rng: np.random.Generator, bank: np.ndarray, batch: int, grid: tuple[int, int]) -> np.ndarray:
    """Patches near random bank rows, so each has a clear nearest neighbour, plus pure noise patches."""
    rows, channels = bank.shape
    patches = grid[0] * grid[1]
    picks = bank[rng.integers(0, rows, batch * patches)]
    noisy = picks + 0.05 * rng.standard_normal(picks.shape)
    noisy[:: max(1, patches // 3)] = 3.0 * rng.standard_normal((len(noisy[:: max(1, patches // 3)]), channels))
    return noisy.reshape(batch, grid[0], grid[1], channels).transpose(0, 3, 1, 2).astype(np.float32).copy()


def _torch_head(bank: np.ndarray, features: np.ndarray, output_size, sigma: float):
    """Return (map, score, top_count) of the torch head; top_count is what the image score averages."""
    head = NearestNeighbourHead(torch.from_numpy(bank))
    post = MapPostprocess(output_size, sigma)
    with torch.no_grad():
        anomaly_map, score = post(head(torch.from_numpy(features)))
    return anomaly_map.numpy(), score.numpy(), int(getattr(post, "top_count", 1))


def _ort_run(model: onnx.ModelProto, features: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"features": features})


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("rows, channels, grid, output_size", SHAPES)
def test_function_body_matches_torch(seed: int, rows: int, channels: int, grid, output_size) -> None:
    rng = np.random.default_rng(seed)
    bank = rng.standard_normal((rows, channels)).astype(np.float32)
    features = _features(rng, bank, 2, grid)
    kernel = gaussian_kernel_1d(2.0).numpy()
    expected_map, expected_score, top_count = _torch_head(bank, features, output_size, 2.0)
    model = build_head_model(bank, kernel, channels, grid, output_size, top_count=top_count)
    onnx.checker.check_model(model, full_check=True)
    anomaly_map, score = _ort_run(model, features)
    assert anomaly_map.shape == expected_map.shape
    np.testing.assert_allclose(anomaly_map, expected_map, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(score, expected_score, rtol=1e-4, atol=1e-4)


def test_inlined_body_runs_on_openvino() -> None:
    import openvino as ov

    rng = np.random.default_rng(21)
    bank = rng.standard_normal((45, 23)).astype(np.float32)
    features = _features(rng, bank, 1, (6, 5))
    model = build_head_model(bank, gaussian_kernel_1d(4.0).numpy(), 23, (6, 5), (48, 40), top_count=5)
    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(inline_functions(model).SerializeToString(), b""), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    result = compiled(features)
    expected_map, expected_score = _ort_run(model, features)
    np.testing.assert_allclose(result[0], expected_map, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result[1], expected_score, rtol=1e-5, atol=1e-5)


def _native(model: onnx.ModelProto, library: Path, features: np.ndarray) -> list[np.ndarray]:
    import openvino as ov

    core = ov.Core()
    core.add_extension(str(library))
    graph = core.read_model(model.SerializeToString(), b"")
    types = {operation.get_type_name() for operation in graph.get_ops()}
    assert {"NearestDistance", "MapPostprocess"} <= types, "the extension did not replace the function bodies"
    compiled = core.compile_model(graph, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 2})
    result = compiled(features)
    return [np.asarray(result[0]), np.asarray(result[1])]


@pytest.mark.parametrize("search, top_count", [(SEARCH_FP32, 1), (SEARCH_SCREENED, 1), (SEARCH_FP32, 9), (SEARCH_SCREENED, 9), (SEARCH_SCREENED, 100)])
@pytest.mark.parametrize("seed", [31, 32])
@pytest.mark.parametrize("rows, channels, grid, output_size", SHAPES)
def test_native_kernel_matches_function_body(
    ov_extension: Path, search: str, top_count: int, seed: int, rows: int, channels: int, grid, output_size
) -> None:
    rng = np.random.default_rng(seed)
    bank = rng.standard_normal((rows, channels)).astype(np.float32)
    features = _features(rng, bank, 3, grid)
    model = build_head_model(
        bank,
        gaussian_kernel_1d(4.0).numpy(),
        channels,
        grid,
        output_size,
        search=search,
        top_count=top_count,
    )
    expected_map, expected_score = _ort_run(model, features)
    anomaly_map, score = _native(model, ov_extension, features)
    np.testing.assert_allclose(anomaly_map, expected_map, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(score, expected_score, rtol=1e-4, atol=1e-4)


def test_native_distances_without_smoothing(ov_extension: Path) -> None:
    rng = np.random.default_rng(41)
    bank = rng.standard_normal((77, 33)).astype(np.float32)
    features = _features(rng, bank, 2, (9, 7))
    model = build_head_model(bank, np.ones(1, dtype=np.float32), 33, (9, 7), (9, 7))
    exact = np.sqrt(((features.transpose(0, 2, 3, 1)[..., None, :] - bank) ** 2).sum(-1).min(-1))
    anomaly_map, score = _native(model, ov_extension, features)
    np.testing.assert_allclose(anomaly_map[:, 0], exact, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(score, exact.reshape(2, -1).max(axis=1), rtol=1e-4, atol=1e-4)


def test_native_postprocess_follows_kernel_changes(ov_extension: Path) -> None:
    """The same geometry with another smoothing kernel must not reuse the first kernel's weights."""
    rng = np.random.default_rng(51)
    bank = rng.standard_normal((64, 21)).astype(np.float32)
    features = _features(rng, bank, 2, (6, 10))
    for sigma in (4.0, 1.5, 4.0):
        model = build_head_model(bank, gaussian_kernel_1d(sigma).numpy(), 21, (6, 10), (48, 80), top_count=30)
        expected_map, expected_score = _ort_run(model, features)
        anomaly_map, score = _native(model, ov_extension, features)
        np.testing.assert_allclose(anomaly_map, expected_map, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(score, expected_score, rtol=1e-4, atol=1e-4)


def test_native_top_mean_of_a_flat_map(ov_extension: Path) -> None:
    """Every pixel ties: the top-pixel mean is that value whatever top_count is."""
    bank = np.zeros((3, 8), np.float32)
    features = np.full((1, 8, 4, 5), 0.5, np.float32)
    for top_count in (1, 7, 320):
        model = build_head_model(bank, gaussian_kernel_1d(4.0).numpy(), 8, (4, 5), (16, 20), top_count=top_count)
        anomaly_map, score = _native(model, ov_extension, features)
        np.testing.assert_allclose(anomaly_map, np.sqrt(8 * 0.25), rtol=1e-5)
        np.testing.assert_allclose(score, [np.sqrt(8 * 0.25)], rtol=1e-5)
