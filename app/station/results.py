"""The record of one inspected part, shared by the pipeline, the store, the PLC signals and MES sinks."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any


class ResultCode(enum.IntEnum):
    """Reason for a part's verdict; the value is what the PLC reads in the result-code register."""

    NONE = 0
    OK = 1
    NG = 2
    NG_TIMEOUT = 3
    NG_CAMERA = 4
    NG_ERROR = 5
    NG_OVERLOAD = 6
    NG_NO_MODEL = 7
    NG_STORE = 8


@dataclass(frozen=True)
class PartResult:
    """The decided verdict of one part, as stored and signalled.

    Attributes:
        job_id: unique id of the inspection (hex UUID).
        lane: the PLC lane (register block) of the camera.
        source_id: the camera id.
        trigger_id: the PLC's trigger id, or the frame sequence in free-run.
        verdict: ``OK`` or ``NG``; every code except ``OK`` is ``NG`` (fail-safe).
        result_code: see :class:`ResultCode`.
        reason: a short sentence for NG codes other than ``NG``.
        created_at: wall-clock time of the trigger (or of the frame in free-run), Unix seconds.
        latency_ms: trigger (or frame arrival) to decision, in milliseconds.
    """

    job_id: str
    lane: int
    source_id: str
    trigger_id: int
    verdict: str
    result_code: ResultCode
    reason: str
    created_at: float
    latency_ms: float
    frame_ref: str | None = None
    frame_sequence: int | None = None
    score: float | None = None
    normalized_score: float | None = None
    threshold: float | None = None
    defect_type: str | None = None
    defect_confidence: float | None = None
    bundle_id: str | None = None

    def __post_init__(self) -> None:
        expected = "OK" if self.result_code == ResultCode.OK else "NG"
        if self.verdict != expected:
            raise ValueError(f"PartResult {self.job_id}: verdict {self.verdict!r} contradicts code {self.result_code!r}")

    @property
    def passed(self) -> bool:
        """True for an OK part."""
        return self.result_code == ResultCode.OK

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the result code as its name)."""
        values = asdict(self)
        values["result_code"] = self.result_code.name
        return values
