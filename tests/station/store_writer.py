"""A writer process for the crash test: records verdicts and NG images in a loop until it is killed."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import numpy as np

from app.station.results import PartResult, ResultCode
from app.station.store import ResultStore


def main(root: str) -> None:
    store = ResultStore.open(Path(root))
    rng = np.random.default_rng(7)
    index = 0
    while True:
        ng = index % 2 == 0
        result = PartResult(
            job_id=uuid.uuid4().hex, lane=0, source_id="cam0", trigger_id=index,
            verdict="NG" if ng else "OK", result_code=ResultCode.NG if ng else ResultCode.OK, reason="",
            created_at=time.time(), latency_ms=1.0, score=float(index), bundle_id="crash-test",
        )
        row_id = store.record(result)
        if ng:
            pixels = rng.integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
            store.save_image(row_id, store.image_path_for(result), pixels)
        print(row_id, flush=True)
        index += 1


if __name__ == "__main__":
    main(sys.argv[1])
