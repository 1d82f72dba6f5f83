"""Few-shot classifier on hand-made descriptors: degenerate support sets, adding types, open set, file round trip."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest

from engine.runtime.defect_types import ClassifierSettings, decide_type
from fewshot.classifier import (
    SPREAD_FACTOR,
    UNKNOWN,
    DefectTypeClassifier,
    FewShotError,
    distances_to_prototypes,
    distances_to_support,
    predict,
)
from fewshot.descriptor import GEOMETRY_DIMENSIONS, SHAPE_DIMENSIONS, normalize_descriptors

CHANNELS = 16
WIDTH = 2 * CHANNELS + GEOMETRY_DIMENSIONS


def cluster(centre_seed: int, count: int, seed: int, spread: float = 0.05) -> np.ndarray:
    """Return ``count`` descriptors around a random centre."""
    centre = np.random.default_rng(centre_seed).normal(0.0, 1.0, WIDTH)
    return centre + np.random.default_rng(seed).normal(0.0, spread, (count, WIDTH))


def classify(parameters, raw: np.ndarray) -> list:
    """Return the training-side predictions for raw descriptors."""
    return predict(parameters, distances_to_prototypes(parameters, raw), distances_to_support(parameters, raw))


def three_types() -> DefectTypeClassifier:
    classifier = DefectTypeClassifier()
    for index, name in enumerate(("spot", "scratch", "dent")):
        classifier.add_examples(name, cluster(index, 4, seed=10 + index))
    return classifier


def test_known_types_classified():
    classifier = three_types()
    parameters = classifier.fit()
    for index, name in enumerate(("spot", "scratch", "dent")):
        results = classify(parameters, cluster(index, 10, seed=50 + index))
        accepted = [result for result in results if result.defect_type == name]
        assert [result.nearest_type for result in results] == [name] * 10
        assert accepted
        assert all(result.confidence > 0.5 for result in accepted)


def test_new_type_reported_unknown():
    parameters = three_types().fit()
    results = classify(parameters, cluster(7, 5, seed=70))
    assert [result.defect_type for result in results] == [UNKNOWN] * 5


def test_single_example_warns_with_name(caplog):
    classifier = DefectTypeClassifier()
    classifier.add_examples("spot", cluster(0, 3, seed=1))
    classifier.add_examples("scratch", cluster(1, 1, seed=2))
    with caplog.at_level(logging.WARNING):
        parameters = classifier.fit()
    assert parameters.type_names == ("spot", "scratch")
    assert any("'scratch'" in message and "single example" in message for message in caplog.messages)


def test_type_without_examples_left_out():
    classifier = DefectTypeClassifier()
    classifier.add_examples("spot", cluster(0, 2, seed=1))
    classifier.declare_type("crack")
    warnings = classifier.check()
    parameters = classifier.fit()
    assert parameters.type_names == ("spot",)
    assert any("'crack'" in message and "no examples" in message for message in warnings)
    assert [item.examples for item in classifier.summary()] == [2, 0]


def test_identical_examples_warn_both_names():
    shared = cluster(0, 1, seed=1)
    classifier = DefectTypeClassifier()
    classifier.add_examples("spot", shared)
    classifier.add_examples("pit", shared.copy())
    warnings = classifier.check()
    parameters = classifier.fit()
    assert any("'spot'" in message and "'pit'" in message for message in warnings)
    results = classify(parameters, shared)
    assert results[0].nearest_type in ("spot", "pit")
    assert np.isfinite(results[0].confidence)


def test_single_type_single_example():
    classifier = DefectTypeClassifier()
    classifier.add_examples("spot", cluster(0, 1, seed=1))
    parameters = classifier.fit()
    result = classify(parameters, cluster(0, 1, seed=1))[0]
    assert result.defect_type == "spot"


def test_no_examples_rejected():
    classifier = DefectTypeClassifier()
    classifier.declare_type("spot")
    with pytest.raises(FewShotError, match="no defect type has an example"):
        classifier.fit()


def test_reserved_name_rejected():
    with pytest.raises(FewShotError, match="unknown"):
        DefectTypeClassifier().add_examples(UNKNOWN, cluster(0, 1, seed=1))


def test_width_mismatch_rejected():
    classifier = three_types()
    with pytest.raises(FewShotError, match="'crack'"):
        classifier.add_examples("crack", np.zeros((1, WIDTH + 1)))


def test_add_type_keeps_old_examples():
    classifier = three_types()
    before = {name: rows.copy() for name, rows in classifier.support.items()}
    classifier.add_examples("grid", cluster(7, 3, seed=71))
    parameters = classifier.fit()
    assert parameters.type_names == ("spot", "scratch", "dent", "grid")
    for name, rows in before.items():
        np.testing.assert_array_equal(classifier.support[name], rows)
    results = classify(parameters, cluster(7, 4, seed=72))
    assert [result.defect_type for result in results] == ["grid"] * 4


def test_more_examples_extend_type():
    classifier = three_types()
    classifier.add_examples("spot", cluster(0, 2, seed=80), with_region=2)
    assert classifier.support["spot"].shape == (6, WIDTH)
    assert classifier.with_region["spot"] == 2


def test_save_load_round_trip(tmp_path):
    classifier = three_types()
    classifier.declare_type("crack")
    path = classifier.save(tmp_path / "types.npz")
    loaded = DefectTypeClassifier.load(path)
    assert list(loaded.support) == list(classifier.support)
    assert loaded.declared == ["crack"]
    np.testing.assert_allclose(loaded.fit().prototypes, classifier.fit().prototypes)


def test_runtime_rule_matches_training_rule():
    parameters = three_types().fit()
    settings = ClassifierSettings(
        "classifier.onnx", parameters.type_names, None, parameters.temperature, tuple(parameters.type_radius)
    )
    queries = np.concatenate([cluster(0, 3, seed=90), cluster(7, 3, seed=91)])
    distances = distances_to_prototypes(parameters, queries)
    support = distances_to_support(parameters, queries)
    expectations = predict(parameters, distances, support)
    assert {result.defect_type for result in expectations} == {"spot", UNKNOWN}
    for row, support_row, expected in zip(distances, support, expectations, strict=True):
        defect_type, confidence, nearest = decide_type(row, settings, support_row)
        assert defect_type == expected.defect_type
        assert nearest == expected.nearest_type
        assert confidence == pytest.approx(expected.confidence)


def open_set_rows(parameters, raw: np.ndarray) -> np.ndarray:
    return normalize_descriptors(
        raw, parameters.contrast_centre, parameters.shape_mean, parameters.shape_scale, parameters.shape_weight, part="contrast"
    )


def nearest_between(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.linalg.norm(first[:, None] - second[None], axis=2).min())


def largest_nearest_neighbour(rows: np.ndarray) -> float:
    distances = np.linalg.norm(rows[:, None] - rows[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    return float(distances.min(axis=1).max())


def test_radius_bounded_by_other_types():
    classifier = DefectTypeClassifier()
    classifier.add_examples("spot", cluster(0, 4, seed=1, spread=1.0))
    classifier.add_examples("scratch", cluster(0, 4, seed=2, spread=1.0))
    parameters = classifier.fit()
    spot = open_set_rows(parameters, classifier.support["spot"])
    scratch = open_set_rows(parameters, classifier.support["scratch"])
    gap = nearest_between(spot, scratch)
    assert gap < SPREAD_FACTOR * largest_nearest_neighbour(spot)
    np.testing.assert_allclose(parameters.type_radius, [gap, gap])


def test_radius_bounded_by_own_spread():
    parameters = three_types().fit()
    classifier = three_types()
    for index, name in enumerate(parameters.type_names):
        rows = open_set_rows(parameters, classifier.support[name])
        assert parameters.type_radius[index] == pytest.approx(SPREAD_FACTOR * largest_nearest_neighbour(rows))


def test_margin_scales_radii():
    wide = three_types()
    wide.unknown_margin = 1.5
    np.testing.assert_allclose(wide.fit().type_radius, 1.5 * three_types().fit().type_radius)


def test_support_distance_zero_on_examples():
    classifier = three_types()
    parameters = classifier.fit()
    support = distances_to_support(parameters, classifier.support["dent"])
    np.testing.assert_allclose(support[:, 2], 0.0, atol=1e-9)
    assert np.all(support[:, :2] > 0.0)


def test_odd_descriptor_width_rejected():
    with pytest.raises(FewShotError, match="2 C"):
        DefectTypeClassifier().add_examples("spot", np.zeros((1, WIDTH + 1)))


def test_older_support_file_names_fix(tmp_path):
    meta = {"format_version": 1, "types": ["spot"], "with_region": [0], "declared": [], "shape_weight": 0.75, "unknown_margin": 1.0}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), support_0=np.zeros((2, CHANNELS + SHAPE_DIMENSIONS)))
    path = tmp_path / "defect_types.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(FewShotError, match="--replace"):
        DefectTypeClassifier.load(path)
