"""Tests of the label data model, the label file codec and the region geometry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from labeling.errors import LabelFileError
from labeling.geometry import clamp_points, label_mask, mask_to_polygons, shape_mask
from labeling.labelfile import content_revision, decode_label, encode_label
from labeling.model import (
    ImageLabel,
    PixelMask,
    Polygon,
    Rectangle,
    Region,
    Split,
    Verdict,
    decode_runs,
    encode_runs,
)


def test_pixel_mask_round_trip_random() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        height, width = rng.integers(1, 30, size=2)
        mask = rng.random((height, width)) < rng.random()
        encoded = PixelMask.from_array(mask)
        assert np.array_equal(encoded.to_array(height, width), mask)
        assert encoded.area == int(mask.sum())


def test_pixel_mask_crops_to_bounding_box() -> None:
    mask = np.zeros((10, 12), dtype=bool)
    mask[2:4, 5:9] = True
    encoded = PixelMask.from_array(mask)
    assert (encoded.left, encoded.top, encoded.width, encoded.height) == (5, 2, 4, 2)
    assert encoded.counts == (0, 8)


def test_pixel_mask_empty() -> None:
    encoded = PixelMask.from_array(np.zeros((5, 5), dtype=bool))
    assert encoded.area == 0
    assert not encoded.to_array(5, 5).any()


def test_decode_runs_rejects_wrong_total() -> None:
    with pytest.raises(ValueError, match="add up to 5"):
        decode_runs((2, 3), 2, 2)
    assert encode_runs(np.ones((1, 3), dtype=bool)) == (0, 3)


def test_label_file_round_trip() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    mask[3:7, 4:9] = True
    label = ImageLabel(
        image_width=30,
        image_height=20,
        verdict=Verdict.NG,
        defect_type="crack",
        split=Split.VALIDATION,
        regions=(
            Region(Rectangle(1.5, 2.0, 10.25, 12.0), "crack", group_id=3, description="edge"),
            Region(Polygon(((1.0, 1.0), (5.0, 1.0), (3.0, 4.5))), "scratch", flags=(("checked", True),)),
            Region(PixelMask.from_array(mask), "crack", origin="assist"),
        ),
        comment="seen twice",
        flags=(("blurry", False),),
    )
    data = encode_label(label, "../images/a.png")
    decoded, image_ref = decode_label(data, "a.json")
    assert image_ref == "../images/a.png"
    assert decoded.revision == content_revision(data)
    assert replace(decoded, revision="") == label


def test_label_file_keeps_one_region_per_line() -> None:
    label = ImageLabel(10, 10, regions=(Region(Rectangle(1, 1, 2, 2)), Region(Rectangle(3, 3, 4, 4))))
    lines = encode_label(label, "a.png").decode("utf-8").splitlines()
    assert sum('"type": "rectangle"' in line for line in lines) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"[]", "JSON object"),
        (b'{"schema_version": 99, "image": {}}', "schema_version 99"),
        (b'{"schema_version": 1, "image": {"path": "a", "width": 0, "height": 5}}', "must be positive"),
        (
            b'{"schema_version": 1, "image": {"path": "a", "width": 5, "height": 5},'
            b' "regions": [{"type": "circle"}]}',
            "unknown type 'circle'",
        ),
    ],
)
def test_decode_label_rejects_invalid(data: bytes, message: str) -> None:
    with pytest.raises(LabelFileError, match=message) as caught:
        decode_label(data, "broken.json")
    assert "broken.json" in str(caught.value)


def test_clamp_points_reports_movement() -> None:
    points, moved = clamp_points([(-3.2, 10.0), (640.41, 50.0)], 640, 480)
    assert moved
    assert points == ((0.0, 10.0), (640.0, 50.0))
    _, moved_inside = clamp_points([(1.0, 2.0)], 640, 480)
    assert not moved_inside


def test_rectangle_mask_uses_pixel_centres() -> None:
    mask = shape_mask(Rectangle(3.0, 2.0, 6.0, 4.0), 8, 8)
    assert mask.sum() == 6
    assert mask[2:4, 3:6].all()


def test_mask_to_polygons_round_trip() -> None:
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:15, 4:20] = True
    mask[20:25, 22:28] = True
    polygons = mask_to_polygons(mask)
    assert len(polygons) == 2
    redrawn = np.zeros_like(mask)
    for polygon in polygons:
        redrawn |= shape_mask(polygon, 30, 30)
    assert np.array_equal(redrawn, mask)


def test_label_mask_filters_by_type() -> None:
    label = ImageLabel(
        10, 10, regions=(Region(Rectangle(0, 0, 2, 2), "crack"), Region(Rectangle(5, 5, 7, 7), "scratch"))
    )
    assert label_mask(label).sum() == 8
    assert label_mask(label, "crack").sum() == 4
