"""The pixel budget is checked from the header, before any pixel is decoded."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from labeling.imageio import MAX_PIXELS_VARIABLE, ImageReadError, read_image, read_image_info
from tests.cases.images import save_png, textured


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """Write a PNG whose header claims width x height but whose data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


def test_huge_header_is_rejected_before_decoding(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "bomb.png", 40000, 30000)
    assert path.stat().st_size < 200
    info = read_image_info(path)
    assert (info.width, info.height) == (40000, 30000)
    with pytest.raises(ImageReadError) as raised:
        read_image(path)
    assert raised.value.kind == "too_large"
    assert "40000x30000" in raised.value.reason
    assert "200,000,000" in raised.value.reason


def test_configured_budget_applies_to_the_cli(tmp_path: Path, sample_model: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_PIXELS_VARIABLE, raising=False)
    path = save_png(tmp_path / "big.png", textured(rng, 1200, 1000))
    report = tmp_path / "r.json"
    assert main(["--max-megapixels", "1", "run", str(sample_model), str(path), "--report", str(report)]) == 3
    row = json.loads(report.read_text(encoding="utf-8"))[0]
    assert row["verdict"] == "ERROR"
    assert "1000x1200" in row["error"] and "1,000,000" in row["error"]
    monkeypatch.delenv(MAX_PIXELS_VARIABLE, raising=False)
    assert main(["run", str(sample_model), str(path)]) == 0
