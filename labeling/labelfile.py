"""Reading and writing DefectSeek label files: one human-readable JSON file per image.

The format is described in ``docs/labels-format.md``. A label's revision is a hash of
the file's bytes, so any change to the file, by any program, changes the revision.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from labeling.errors import LabelFileError
from labeling.fileio import atomic_write_text
from labeling.model import (
    LABEL_SCHEMA_VERSION,
    ImageLabel,
    PixelMask,
    Polygon,
    Rectangle,
    Region,
    Shape,
    Split,
    Verdict,
    new_region_id,
)

REVISION_HEX_DIGITS = 16


def content_revision(data: bytes) -> str:
    """Return the revision of a label file's bytes (first 16 hex digits of their SHA-256)."""
    return hashlib.sha256(data).hexdigest()[:REVISION_HEX_DIGITS]


def encode_label(label: ImageLabel, image_ref: str) -> bytes:
    """Serialize a label as indented UTF-8 JSON bytes; ``image_ref`` is the image path relative to the label file."""
    document = {
        "schema_version": LABEL_SCHEMA_VERSION,
        "image": {"path": image_ref, "width": label.image_width, "height": label.image_height},
        "verdict": label.verdict.value,
        "defect_type": label.defect_type,
        "split": label.split.value,
        "comment": label.comment,
        "flags": dict(label.flags),
    }
    return _dump_document(document, [_region_to_json(region) for region in label.regions]).encode("utf-8")


def _dump_document(document: dict[str, Any], regions: list[dict[str, Any]]) -> str:
    """Indent the top level but keep each region on one line, so version-control diffs show one line per region."""
    head = json.dumps(document, indent=2, ensure_ascii=False)
    if not regions:
        return head[:-2] + ',\n  "regions": []\n}\n'
    lines = ",\n".join("    " + json.dumps(region, ensure_ascii=False) for region in regions)
    return head[:-2] + ',\n  "regions": [\n' + lines + "\n  ]\n}\n"


def decode_label(data: bytes, source: str | os.PathLike[str]) -> tuple[ImageLabel, str]:
    """Parse label file bytes.

    Returns:
        The label (with ``revision`` set from the bytes) and the image path as written
        in the file, relative to the label file's folder.

    Raises:
        LabelFileError: the bytes are not JSON or do not follow the label schema; the
            message names ``source`` and the field.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LabelFileError(f"{source}: not valid UTF-8 JSON ({error}); restore it from a backup or delete it") from None
    if not isinstance(document, dict):
        raise LabelFileError(f"{source}: expected a JSON object at the top level; restore it from a backup")
    version = document.get("schema_version")
    if not isinstance(version, int) or version > LABEL_SCHEMA_VERSION:
        raise LabelFileError(
            f"{source}: schema_version {version!r} is not supported (this version reads up to "
            f"{LABEL_SCHEMA_VERSION}); update DefectSeek"
        )
    try:
        label, image_ref = _label_from_json(document)
    except (KeyError, TypeError, ValueError) as error:
        raise LabelFileError(f"{source}: invalid label file ({error}); fix the field or restore it from a backup") from None
    return replace(label, revision=content_revision(data)), image_ref


def read_label_file(path: str | os.PathLike[str]) -> tuple[ImageLabel, str]:
    """Read and parse one label file; see :func:`decode_label` for what is returned.

    Raises:
        LabelFileError: the file is missing, unreadable or invalid.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise LabelFileError(f"{path}: cannot read the label file ({error.strerror})") from None
    return decode_label(data, path)


def write_label_file(path: str | os.PathLike[str], label: ImageLabel, image_ref: str) -> str:
    """Write a label file atomically and return its new revision."""
    data = encode_label(label, image_ref)
    atomic_write_text(path, data.decode("utf-8"))
    return content_revision(data)


def _label_from_json(document: dict[str, Any]) -> tuple[ImageLabel, str]:
    image = document["image"]
    width, height = int(image["width"]), int(image["height"])
    if width <= 0 or height <= 0:
        raise ValueError(f"image size {width}x{height} must be positive")
    regions = tuple(_region_from_json(item, index) for index, item in enumerate(document.get("regions") or []))
    label = ImageLabel(
        image_width=width,
        image_height=height,
        verdict=Verdict(document.get("verdict", Verdict.UNLABELLED.value)),
        defect_type=document.get("defect_type") or None,
        split=Split(document.get("split", Split.NONE.value)),
        regions=regions,
        comment=str(document.get("comment") or ""),
        flags=_flags_from_json(document.get("flags")),
    )
    return label, str(image["path"])


def _region_to_json(region: Region) -> dict[str, Any]:
    item: dict[str, Any] = {"id": region.region_id, "type": region.shape.kind, "defect_type": region.defect_type}
    item.update(_shape_to_json(region.shape))
    if region.group_id is not None:
        item["group_id"] = region.group_id
    if region.description:
        item["description"] = region.description
    if region.flags:
        item["flags"] = dict(region.flags)
    item["origin"] = region.origin
    return item


def _shape_to_json(shape: Shape) -> dict[str, Any]:
    if isinstance(shape, Rectangle):
        return {"points": [[shape.x0, shape.y0], [shape.x1, shape.y1]]}
    if isinstance(shape, Polygon):
        return {"points": [[x, y] for x, y in shape.points]}
    return {"box": [shape.left, shape.top, shape.width, shape.height], "rle": list(shape.counts)}


def _region_from_json(item: dict[str, Any], index: int) -> Region:
    kind = item.get("type")
    shape: Shape
    if kind == "rectangle":
        (x_a, y_a), (x_b, y_b) = item["points"]
        shape = Rectangle(min(x_a, x_b), min(y_a, y_b), max(x_a, x_b), max(y_a, y_b))
    elif kind == "polygon":
        points = tuple((float(x), float(y)) for x, y in item["points"])
        if len(points) < 3:
            raise ValueError(f"region {index} is a polygon with {len(points)} points; a polygon needs at least 3")
        shape = Polygon(points=points)
    elif kind == "mask":
        left, top, width, height = (int(value) for value in item["box"])
        shape = PixelMask(left=left, top=top, width=width, height=height, counts=tuple(int(c) for c in item["rle"]))
        shape.crop_array()
    else:
        raise ValueError(f"region {index} has unknown type {kind!r}; expected rectangle, polygon or mask")
    group_id = item.get("group_id")
    return Region(
        shape=shape,
        defect_type=item.get("defect_type") or None,
        region_id=str(item.get("id") or new_region_id()),
        group_id=int(group_id) if group_id is not None else None,
        description=str(item.get("description") or ""),
        flags=_flags_from_json(item.get("flags")),
        origin=str(item.get("origin") or "manual"),
    )


def _flags_from_json(value: Any) -> tuple[tuple[str, bool], ...]:
    if not value:
        return ()
    if not isinstance(value, dict):
        raise ValueError(f"flags must be an object of name: true/false, got {type(value).__name__}")
    return tuple((str(name), bool(flag)) for name, flag in value.items())
