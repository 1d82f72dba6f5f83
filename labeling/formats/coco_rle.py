"""COCO run-length encoding of binary masks, uncompressed (a list of runs) and compressed (a string).

COCO runs scan the full image column by column (Fortran order) and start with a
background run. The compressed form writes each run, minus the run two places before
it from the fourth run on, as a variable-length signed number in 5-bit groups, each
group stored as one character from ASCII 48 on. Bit 0x20 of a character says that
another group follows, and bit 0x10 of the last group is the sign. This is the string
form used in the ``counts`` field of COCO annotation files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_GROUP_BITS = 5
_GROUP_MASK = 0x1F
_SIGN_BIT = 0x10
_MORE_BIT = 0x20
_CHARACTER_OFFSET = 48


def mask_to_counts(mask: np.ndarray) -> list[int]:
    """Return the column-major runs of a boolean H x W mask, starting with background."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size]))).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return [int(run) for run in runs]


def counts_to_mask(counts: list[int], height: int, width: int) -> np.ndarray:
    """Decode column-major runs into a boolean ``height`` x ``width`` mask.

    Raises:
        ValueError: the runs do not add up to ``height * width`` or one is negative.
    """
    values = np.asarray(counts, dtype=np.int64)
    if values.size and values.min() < 0:
        raise ValueError(f"RLE run lengths must not be negative; got {int(values.min())}")
    if int(values.sum()) != height * width:
        raise ValueError(
            f"RLE runs add up to {int(values.sum())} pixels but size {height}x{width} needs {height * width}"
        )
    states = np.arange(values.size) % 2 == 1
    return np.repeat(states, values).reshape((height, width), order="F")


def compress_counts(counts: list[int]) -> str:
    """Encode runs as a COCO compressed RLE string."""
    characters: list[str] = []
    for index, run in enumerate(counts):
        value = run - counts[index - 2] if index > 2 else run
        more = True
        while more:
            group = value & _GROUP_MASK
            value >>= _GROUP_BITS
            more = value != -1 if group & _SIGN_BIT else value != 0
            if more:
                group |= _MORE_BIT
            characters.append(chr(group + _CHARACTER_OFFSET))
    return "".join(characters)


def decompress_counts(text: str) -> list[int]:
    """Decode a COCO compressed RLE string into runs.

    Raises:
        ValueError: the string ends in the middle of a number or has characters below ``0``.
    """
    counts: list[int] = []
    position = 0
    while position < len(text):
        value = 0
        shift = 0
        more = True
        while more:
            if position >= len(text):
                raise ValueError("compressed RLE string ends in the middle of a run; the annotation is damaged")
            group = ord(text[position]) - _CHARACTER_OFFSET
            if group < 0:
                raise ValueError(f"invalid character {text[position]!r} in compressed RLE string")
            value |= (group & _GROUP_MASK) << shift
            more = bool(group & _MORE_BIT)
            position += 1
            shift += _GROUP_BITS
            if not more and group & _SIGN_BIT:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def encode_rle(mask: np.ndarray, *, compressed: bool = False) -> dict[str, Any]:
    """Return a COCO RLE object ``{"size": [h, w], "counts": ...}`` for a boolean mask."""
    counts = mask_to_counts(mask)
    height, width = np.asarray(mask).shape[:2]
    return {"size": [int(height), int(width)], "counts": compress_counts(counts) if compressed else counts}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode a COCO RLE object (compressed or not) into a boolean mask.

    Raises:
        ValueError: ``size`` or ``counts`` is missing or invalid.
    """
    try:
        height, width = (int(value) for value in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"RLE object needs 'size' [height, width] and 'counts' ({error})") from None
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = decompress_counts(counts) if isinstance(counts, str) else [int(value) for value in counts]
    return counts_to_mask(runs, height, width)
