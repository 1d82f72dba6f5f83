"""Test doubles for the model: a judge whose verdicts and speed the test controls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from app.station.judge import Judgement
from labeling.imageio import LoadedImage


class FakeJudge:
    """Judges by a rule on the frame reference; records every batch it saw.

    Args:
        bundle_id: reported in every judgement.
        delay_s: sleep per batch, to simulate a slow model.
        is_ng: rule on the image's source name (``cam#<frame id>``); default: all OK.
        record_batches: keep the source names of every batch in ``batches`` (off for long runs).
    """

    def __init__(self, bundle_id: str = "fake-1", delay_s: float = 0.0,
                 is_ng: Callable[[str], bool] | None = None, record_batches: bool = True) -> None:
        self.bundle_id = bundle_id
        self.description = f"{bundle_id} on fake"
        self.delay_s = delay_s
        self.is_ng = is_ng or (lambda source: False)
        self.batches: list[list[str]] = []
        self.record_batches = record_batches
        self.ready = True
        self.fail = False
        self._lock = threading.Lock()

    def judge(self, images: Sequence[LoadedImage]) -> list[Judgement]:
        if not self.ready:
            raise RuntimeError(f"judge {self.bundle_id} used before it finished loading")
        if self.fail:
            raise RuntimeError("fake model failure")
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.record_batches:
            with self._lock:
                self.batches.append([image.source for image in images])
        results = []
        for image in images:
            ng = self.is_ng(image.source)
            results.append(Judgement(verdict="NG" if ng else "OK", score=0.9 if ng else 0.1,
                                     normalized_score=1.8 if ng else 0.2, threshold=0.5, bundle_id=self.bundle_id))
        return results

    def warm_up(self) -> None:
        return None


def write_fake_bundle(folder, bundle_id: str, load_s: float = 0.0, fail: bool = False):
    """Write a directory that :func:`open_fake_bundle` loads (a stand-in for a real bundle)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"bundle_id": bundle_id, "load_s": load_s, "fail": fail}))
    (folder / "model.bin").write_bytes(bytes(range(256)) * 16)
    return folder


def open_fake_bundle(bundle_dir) -> FakeJudge:
    """Load a fake bundle slowly; the judge refuses to judge until ``warm_up`` ran."""
    import json
    from pathlib import Path

    manifest = json.loads((Path(bundle_dir) / "manifest.json").read_text())
    if manifest["fail"]:
        raise ValueError(f"{bundle_dir}: SHA-256 of model.bin does not match the manifest")
    judge = FakeJudge(bundle_id=manifest["bundle_id"])
    judge.ready = False
    time.sleep(manifest["load_s"])

    def warm_up() -> None:
        time.sleep(manifest["load_s"])
        judge.ready = True

    judge.warm_up = warm_up
    return judge
