"""The PLC handshake shared by every transport: per-lane outputs, trigger edges, fault codes, heartbeat.

Handshake, per lane (one camera each):

1. The station sets READY while its camera is live and a model is loaded.
2. The PLC raises TRIGGER (and writes TRIGGER_ID). The station sets BUSY and
   clears RESULT_VALID.
3. The station writes PASS/FAIL, RESULT_CODE, the echoed TRIGGER_ID, SCORE and an
   incremented RESULT_COUNTER, then sets RESULT_VALID and clears BUSY. A transport
   makes these fields visible together (one Modbus block write) or VALID last (OPC UA).
4. The PLC raises RESULT_ACK; the station clears RESULT_VALID. The PLC lowers
   TRIGGER and ACK before the next part.

FAULT is set while any fault is active and FAULT_CODE names the lowest-numbered one.
Camera faults clear themselves when the feed is live again; the others stay until
the PLC raises FAULT_RESET. HEARTBEAT toggles every ``heartbeat_s`` so the PLC can
tell a running station from a hung one.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.station.results import PartResult, ResultCode

logger = logging.getLogger(__name__)

SCORE_SCALE = 1000
REGISTER_MAX = 0xFFFF
SELF_CLEARING_FAULTS = frozenset({"CAMERA_LOST", "CAMERA_FROZEN", "NO_MODEL"})


class FaultCode(enum.IntEnum):
    """Station faults; the number is the FAULT_CODE the PLC reads (lower wins)."""

    NONE = 0
    CAMERA_LOST = 1
    CAMERA_FROZEN = 2
    STORE_ERROR = 3
    MODEL_ERROR = 4
    NO_MODEL = 5


@dataclass(frozen=True)
class LaneOutputs:
    """Everything the station shows the PLC for one lane."""

    ready: bool = False
    busy: bool = False
    result_valid: bool = False
    passed: bool = False
    failed: bool = False
    fault: bool = False
    heartbeat: bool = False
    result_code: int = 0
    trigger_id: int = 0
    result_counter: int = 0
    score_permille: int = 0
    fault_code: int = 0
    score: float = 0.0
    defect_type: str = ""


TriggerHandler = Callable[[int, int], None]


class Signaller(ABC):
    """Base of the PLC transports; subclasses implement ``_start``, ``_stop`` and ``_write``.

    Args:
        lanes: number of lanes (cameras) to serve.
        heartbeat_s: heartbeat toggle period in seconds; 0 disables it.
    """

    def __init__(self, lanes: int, heartbeat_s: float = 0.5) -> None:
        if lanes < 1:
            raise ValueError(f"A signaller needs at least one lane, got {lanes}")
        self.lanes = lanes
        self.heartbeat_s = heartbeat_s
        self._outputs = [LaneOutputs() for _ in range(lanes)]
        self._faults: list[set[FaultCode]] = [set() for _ in range(lanes)]
        self._controls = [0] * lanes
        self._lock = threading.RLock()
        self._trigger_handler: TriggerHandler | None = None
        self._stopping = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._control_queue: queue.Queue[tuple[int, int, int] | None] = queue.Queue()
        self._control_thread: threading.Thread | None = None
        self.triggers_received = 0

    # -- lifecycle ----------------------------------------------------------

    def set_trigger_handler(self, handler: TriggerHandler) -> None:
        """Call ``handler(lane, trigger_id)`` on each rising edge of TRIGGER."""
        self._trigger_handler = handler

    def start(self) -> None:
        """Start the transport, publish the initial outputs and start the heartbeat."""
        self._control_thread = threading.Thread(target=self._handle_controls, name="plc-control", daemon=True)
        self._control_thread.start()
        self._start()
        for lane in range(self.lanes):
            self._flush(lane)
        if self.heartbeat_s > 0:
            self._heartbeat_thread = threading.Thread(target=self._beat, name="plc-heartbeat", daemon=True)
            self._heartbeat_thread.start()

    def stop(self) -> None:
        """Clear READY on every lane, then stop the transport."""
        self._stopping.set()
        for lane in range(self.lanes):
            self._update(lane, ready=False, busy=False)
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(2.0)
        self._control_queue.put(None)
        if self._control_thread is not None:
            self._control_thread.join(2.0)
        self._stop()

    # -- station side -------------------------------------------------------

    def outputs(self, lane: int) -> LaneOutputs:
        """Return the outputs last written for ``lane``."""
        with self._lock:
            return self._outputs[lane]

    def set_ready(self, lane: int, ready: bool) -> None:
        """Show whether ``lane`` accepts triggers."""
        self._update(lane, ready=ready)

    def set_busy(self, lane: int, busy: bool) -> None:
        """Show that an inspection is running on ``lane`` (and clear the previous result's VALID)."""
        if busy:
            self._update(lane, busy=True, result_valid=False)
        else:
            self._update(lane, busy=False)

    def publish(self, result: PartResult) -> None:
        """Show ``result`` on its lane: all result fields and RESULT_VALID together, BUSY cleared."""
        with self._lock:
            current = self._outputs[result.lane]
            score = result.normalized_score if result.normalized_score is not None else 0.0
            self._outputs[result.lane] = replace(
                current,
                busy=False,
                result_valid=True,
                passed=result.passed,
                failed=not result.passed,
                result_code=int(result.result_code),
                trigger_id=result.trigger_id & REGISTER_MAX,
                result_counter=(current.result_counter + 1) & REGISTER_MAX,
                score_permille=max(0, min(REGISTER_MAX, round(score * SCORE_SCALE))),
                score=float(score),
                defect_type=result.defect_type or "",
            )
            self._flush(result.lane)

    def set_fault(self, lane: int | None, code: FaultCode, active: bool) -> None:
        """Raise or clear ``code`` on ``lane`` (None: every lane)."""
        lanes = range(self.lanes) if lane is None else [lane]
        with self._lock:
            for index in lanes:
                faults = self._faults[index]
                changed = (code not in faults) if active else (code in faults)
                if not changed:
                    continue
                if active:
                    faults.add(code)
                    logger.warning("PLC lane %d: fault %s raised", index, code.name)
                else:
                    faults.discard(code)
                    logger.info("PLC lane %d: fault %s cleared", index, code.name)
                self._update(index, fault=bool(faults), fault_code=int(min(faults)) if faults else 0)

    def active_faults(self, lane: int) -> list[str]:
        """Return the names of the faults active on ``lane``."""
        with self._lock:
            return sorted(code.name for code in self._faults[lane])

    # -- transport side -----------------------------------------------------

    def _control_written(self, lane: int, control: int, trigger_id: int) -> None:
        """Queue a PLC write of the control word (bit 0 TRIGGER, bit 1 RESULT_ACK, bit 2 FAULT_RESET).

        Transports call this from their network thread. The edges are handled in
        order on the ``plc-control`` thread, so a slow trigger handler never
        stalls the transport.
        """
        if 0 <= lane < self.lanes:
            self._control_queue.put((lane, control, trigger_id))

    def _handle_controls(self) -> None:
        while True:
            item = self._control_queue.get()
            if item is None:
                return
            try:
                self._apply_control(*item)
            except Exception:  # noqa: BLE001 - a failing handler must not stop trigger handling
                logger.exception("PLC lane %d: handling control word %d failed", item[0], item[1])

    def _apply_control(self, lane: int, control: int, trigger_id: int) -> None:
        with self._lock:
            previous = self._controls[lane]
            self._controls[lane] = control
        rising = control & ~previous
        if rising & 0b010:
            self._update(lane, result_valid=False)
        if rising & 0b100:
            self._reset_faults(lane)
        if rising & 0b001:
            self.triggers_received += 1
            handler = self._trigger_handler
            if handler is None:
                logger.warning("PLC lane %d: trigger %d ignored because no pipeline is attached", lane, trigger_id)
                return
            handler(lane, trigger_id)

    def _reset_faults(self, lane: int) -> None:
        with self._lock:
            for code in list(self._faults[lane]):
                if code.name not in SELF_CLEARING_FAULTS:
                    self.set_fault(lane, code, False)

    def _update(self, lane: int, **changes: object) -> None:
        with self._lock:
            updated = replace(self._outputs[lane], **changes)
            if updated == self._outputs[lane]:
                return
            self._outputs[lane] = updated
            self._flush(lane)

    def _flush(self, lane: int) -> None:
        with self._lock:
            outputs = self._outputs[lane]
            try:
                self._write(lane, outputs)
            except Exception:  # noqa: BLE001 - a transport failure must not stop inspection; logged
                logger.exception("PLC lane %d: writing outputs failed", lane)

    def _beat(self) -> None:
        while not self._stopping.wait(self.heartbeat_s):
            for lane in range(self.lanes):
                with self._lock:
                    self._update(lane, heartbeat=not self._outputs[lane].heartbeat)

    @abstractmethod
    def _start(self) -> None:
        """Open the transport (bind the server or connect)."""

    @abstractmethod
    def _stop(self) -> None:
        """Close the transport."""

    @abstractmethod
    def _write(self, lane: int, outputs: LaneOutputs) -> None:
        """Make ``outputs`` visible to the PLC; must return quickly."""


class NullSignaller(Signaller):
    """A signaller without a PLC (demo, tests, MES-only lines); keeps the outputs in memory."""

    def __init__(self, lanes: int = 1, heartbeat_s: float = 0.0) -> None:
        super().__init__(lanes, heartbeat_s)
        self.published: list[PartResult] = []

    def publish(self, result: PartResult) -> None:
        """Keep ``result`` in ``published`` and update the outputs."""
        self.published.append(result)
        super().publish(result)

    def trigger(self, lane: int, trigger_id: int) -> None:
        """Simulate a PLC trigger edge (requires ``start``)."""
        self._control_written(lane, 0, trigger_id)
        self._control_written(lane, 1, trigger_id)

    def _start(self) -> None:
        return None

    def _stop(self) -> None:
        return None

    def _write(self, lane: int, outputs: LaneOutputs) -> None:
        return None


def fail_safe_code(code: ResultCode) -> bool:
    """Return True for codes that the station decided without a model verdict."""
    return code not in (ResultCode.OK, ResultCode.NG)
