"""A supervised camera feed: reads in a worker thread, detects frozen and lost feeds, reconnects with back-off.

Rules the feed enforces:

* Only fresh frames leave the feed. A frame is fresh when its pixel digest or its
  file reference differs from the previous frame, and, where the camera stamps its
  frames, its timestamp is newer. A repeated buffer is counted as stale and dropped.
* ``LOST``: no read returned for ``lost_after_s`` (the driver blocks or keeps failing),
  or ``max_consecutive_errors`` reads failed in a row. A driver of a triggered camera
  returns None from ``read`` when its own poll timed out, which counts as a read.
* ``LIVE`` for a camera that delivers frames only when triggered: when its driver
  has a software trigger, the feed fires one probe trigger per connection (again every
  ``probe_retry_s`` while none answers) and turns LIVE on the probe frame, which is
  not passed on. Without a software trigger (hardware trigger, watched folder) the
  first idle read that returns turns the feed LIVE. So READY on the PLC never rises
  for a connection that has not shown it can deliver a frame, where the driver lets
  the station ask for one.
* ``FROZEN``: reads keep returning but no fresh frame arrived for ``frozen_after_s``
  (free-running cameras only). A read that has not returned is judged by the LOST
  rule, so a hung driver is reported as lost, not frozen.
* A lost feed, or one frozen for ``reconnect_frozen_after_s``, is reconnected. The old
  driver is closed from a helper thread and a new one is opened. Failed opens are
  retried after a delay that doubles from ``backoff_initial_s`` up to ``backoff_max_s``
  and resets on the next fresh frame. A read that returns after its connection was
  abandoned is discarded.
* ``stop`` waits at most its ``timeout_s`` for the feed's threads and never for the
  driver. Reader threads are daemons, and a read blocked in the driver is left behind.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.station.frames import Frame, RawFrame, frame_digest
from app.station.sources.base import CameraDriver, DriverFactory

logger = logging.getLogger(__name__)

ERROR_LOG_EVERY = 100


class FeedState(str, enum.Enum):
    """Health of a camera feed."""

    STARTING = "starting"
    LIVE = "live"
    FROZEN = "frozen"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass(frozen=True)
class FeedSettings:
    """Timing rules of a feed; all durations in seconds.

    ``expect_continuous_frames`` is True for free-running cameras. Set it False for
    cameras that deliver frames only when triggered: their drivers return None from
    ``read`` while idle, and a gap between frames is then not a frozen feed.
    ``probe_retry_s`` is the wait before a probe trigger that got no frame is fired
    again (triggered cameras with a software trigger only).
    """

    frozen_after_s: float = 1.0
    lost_after_s: float = 1.5
    reconnect_frozen_after_s: float = 3.0
    open_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_consecutive_errors: int = 5
    error_retry_s: float = 0.05
    supervise_interval_s: float = 0.05
    expect_continuous_frames: bool = True
    probe_retry_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("frozen_after_s", "lost_after_s", "reconnect_frozen_after_s", "open_timeout_s",
                     "backoff_initial_s", "backoff_max_s", "supervise_interval_s", "probe_retry_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"FeedSettings.{name} must be > 0, got {getattr(self, name)}")
        if self.max_consecutive_errors < 1:
            raise ValueError(f"FeedSettings.max_consecutive_errors must be >= 1, got {self.max_consecutive_errors}")


@dataclass(frozen=True)
class FeedStatus:
    """A snapshot of a feed's health and counters."""

    source_id: str
    state: FeedState
    fresh_frames: int
    stale_frames: int
    read_errors: int
    reconnects: int
    seconds_since_fresh: float | None
    last_error: str | None


class _Connection:
    """One opened driver and the thread that reads from it."""

    def __init__(self, driver: CameraDriver, opened_at: float) -> None:
        self.driver = driver
        self.opened_at = opened_at
        self.last_read_ok_at: float | None = None
        self.consecutive_errors = 0
        self.broken = False
        self.probe_fired_at: float | None = None
        self.abandoned = threading.Event()
        self.thread: threading.Thread | None = None


class CameraFeed:
    """Turn a camera driver into a supervised stream of fresh frames.

    Args:
        source_id: the camera id, used in logs, frame references and the store.
        driver_factory: creates a new, unopened driver; called again for each reconnect.
        settings: timing rules.
        on_frame: called in the reader thread with every fresh frame; must not block.
        on_state: called as ``on_state(source_id, old, new)`` on every state change.
    """

    def __init__(
        self,
        source_id: str,
        driver_factory: DriverFactory,
        settings: FeedSettings | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        on_state: Callable[[str, FeedState, FeedState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source_id = source_id
        self.settings = settings or FeedSettings()
        self._factory = driver_factory
        self._on_frame = on_frame
        self._on_state = on_state
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._state = FeedState.STARTING
        self._state_since = clock()
        self._connection: _Connection | None = None
        self._supervisor: threading.Thread | None = None
        self._last_digest: bytes | None = None
        self._last_ref: str | None = None
        self._last_device_timestamp: int | None = None
        self._last_fresh_at: float | None = None
        self._sequence = 0
        self._stale = 0
        self._errors = 0
        self._reconnects = 0
        self._backoff_attempt = 0
        self._last_error: str | None = None
        self.supports_software_trigger = False

    # -- public API -------------------------------------------------------

    def set_listeners(
        self,
        on_frame: Callable[[Frame], None] | None,
        on_state: Callable[[str, FeedState, FeedState], None] | None,
    ) -> None:
        """Replace the frame and state callbacks; call before :meth:`start`."""
        self._on_frame = on_frame
        self._on_state = on_state

    @property
    def state(self) -> FeedState:
        """The current state."""
        return self._state

    def start(self) -> None:
        """Start the supervisor, which opens the driver; returns at once."""
        if self._supervisor is not None:
            raise RuntimeError(f"Camera feed {self.source_id!r} was already started; create a new feed to restart it.")
        self._supervisor = threading.Thread(target=self._supervise, name=f"feed-{self.source_id}", daemon=True)
        self._supervisor.start()

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Stop reading and close the driver without waiting on a blocked read.

        Returns:
            True when the supervisor and the reader ended within ``timeout_s``; a
            reader blocked inside the driver is left behind as a daemon thread.
        """
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            self._abandon(connection)
        deadline = self._clock() + timeout_s
        ended = True
        for thread in (self._supervisor, connection.thread if connection else None):
            if thread is None or thread.ident is None:
                continue
            thread.join(max(0.0, deadline - self._clock()))
            ended = ended and not thread.is_alive()
        self._set_state(FeedState.STOPPED, "stopped")
        if not ended:
            logger.warning("Camera %s: a driver call is still blocked after stop; left to end on its own", self.source_id)
        return ended

    def trigger(self) -> bool:
        """Fire a software trigger on the open driver; returns False when none is open or it failed."""
        connection = self._connection
        if connection is None or not self.supports_software_trigger:
            return False
        try:
            connection.driver.trigger()
        except Exception as error:  # noqa: BLE001 - any driver failure is a failed trigger
            self._note_error(f"software trigger failed: {error}")
            return False
        return True

    def status(self) -> FeedStatus:
        """Return a snapshot of the state and counters."""
        with self._lock:
            since = None if self._last_fresh_at is None else self._clock() - self._last_fresh_at
            return FeedStatus(
                source_id=self.source_id,
                state=self._state,
                fresh_frames=self._sequence,
                stale_frames=self._stale,
                read_errors=self._errors,
                reconnects=self._reconnects,
                seconds_since_fresh=since,
                last_error=self._last_error,
            )

    # -- reading ------------------------------------------------------------

    def _read_loop(self, connection: _Connection) -> None:
        settings = self.settings
        while not connection.abandoned.is_set():
            try:
                raw = connection.driver.read()
            except Exception as error:  # noqa: BLE001 - drivers raise many types; all count as a failed read
                if connection.abandoned.is_set():
                    return
                connection.consecutive_errors += 1
                self._note_error(f"read failed: {error}")
                if connection.consecutive_errors >= settings.max_consecutive_errors:
                    connection.broken = True
                    return
                connection.abandoned.wait(settings.error_retry_s)
                continue
            if connection.abandoned.is_set():
                return
            connection.consecutive_errors = 0
            connection.last_read_ok_at = self._clock()
            if raw is not None and connection.probe_fired_at is not None:
                connection.probe_fired_at = None
                self._backoff_attempt = 0
                self._set_state(FeedState.LIVE, "the camera delivered a frame on a software trigger")
            elif raw is not None:
                self._accept(raw)
            elif self._state != FeedState.LIVE and not settings.expect_continuous_frames:
                self._idle_before_live(connection)

    def _idle_before_live(self, connection: _Connection) -> None:
        """Bring an idle triggered camera to LIVE: by a probe frame when it has a software trigger."""
        if not self.supports_software_trigger:
            self._backoff_attempt = 0
            self._set_state(FeedState.LIVE, "camera responds and waits for triggers")
            return
        now = self._clock()
        if connection.probe_fired_at is not None and now - connection.probe_fired_at < self.settings.probe_retry_s:
            return
        if connection.probe_fired_at is not None:
            logger.info("Camera %s: no frame %.1f s after the probe trigger; firing it again",
                        self.source_id, now - connection.probe_fired_at)
        connection.probe_fired_at = now
        try:
            connection.driver.trigger()
        except Exception as error:  # noqa: BLE001 - any driver failure is a failed probe, retried
            self._note_error(f"probe trigger failed: {error}")

    def _accept(self, raw: RawFrame) -> None:
        now = self._clock()
        digest = frame_digest(raw.pixels)
        with self._lock:
            same_content = digest == self._last_digest and (raw.frame_ref is None or raw.frame_ref == self._last_ref)
            old_stamp = (
                raw.device_timestamp is not None
                and self._last_device_timestamp is not None
                and raw.device_timestamp <= self._last_device_timestamp
            )
            if same_content or old_stamp:
                self._stale += 1
                return
            self._last_digest = digest
            self._last_ref = raw.frame_ref
            self._last_device_timestamp = raw.device_timestamp
            self._last_fresh_at = now
            self._backoff_attempt = 0
            self._sequence += 1
            frame = Frame(
                source_id=self.source_id,
                sequence=self._sequence,
                pixels=raw.pixels,
                channel_order=raw.channel_order,
                received_at=now,
                wall_time=time.time(),
                digest=digest,
                device_timestamp=raw.device_timestamp,
                device_frame_id=raw.device_frame_id,
                frame_ref=raw.frame_ref,
            )
        self._set_state(FeedState.LIVE, "fresh frame")
        if self._on_frame is None:
            return
        try:
            self._on_frame(frame)
        except Exception:  # noqa: BLE001 - a consumer bug must not stop the reader thread
            logger.exception("Camera %s: frame consumer failed on frame %d", self.source_id, frame.sequence)

    # -- supervision --------------------------------------------------------

    def _supervise(self) -> None:
        settings = self.settings
        while not self._stopping.is_set():
            connection = self._connection
            if connection is None:
                self._reconnect("opening")
                continue
            now = self._clock()
            last_read = connection.last_read_ok_at or connection.opened_at
            last_fresh = max(self._last_fresh_at or 0.0, connection.opened_at)
            if connection.broken:
                self._set_state(FeedState.LOST, f"{settings.max_consecutive_errors} reads failed in a row")
                self._reconnect("read errors")
            elif now - last_read > settings.lost_after_s:
                self._set_state(FeedState.LOST, f"no frame read for {now - last_read:.1f} s")
                self._reconnect("read timed out")
            elif (
                settings.expect_continuous_frames
                and now - last_fresh > settings.frozen_after_s
                and now - last_read <= settings.frozen_after_s
            ):
                self._set_state(FeedState.FROZEN, f"no new frame content for {now - last_fresh:.1f} s")
                if now - self._state_since > settings.reconnect_frozen_after_s:
                    self._reconnect("frozen")
            self._stopping.wait(settings.supervise_interval_s)

    def _reconnect(self, reason: str) -> None:
        old = self._connection
        if old is not None:
            self._abandon(old)
            self._connection = None
            with self._lock:
                self._reconnects += 1
                self._last_device_timestamp = None
        failed = False
        while not self._stopping.is_set():
            if old is not None or failed:
                delay_s = min(self.settings.backoff_initial_s * (2 ** self._backoff_attempt),
                              self.settings.backoff_max_s)
                self._backoff_attempt += 1
                logger.info("Camera %s: reconnecting in %.2f s (%s)", self.source_id, delay_s, reason)
                if self._stopping.wait(delay_s):
                    return
            connection = self._open()
            if connection is not None:
                # Publish the connection before its reader runs, so that a feed that turns
                # LIVE can already take software triggers.
                self._connection = connection
                connection.thread = threading.Thread(target=self._read_loop, args=(connection,), daemon=True,
                                                     name=f"read-{self.source_id}")
                connection.thread.start()
                return
            failed = True

    def _open(self) -> _Connection | None:
        try:
            driver = self._factory()
        except Exception as error:  # noqa: BLE001 - a factory failure is a failed open, retried with back-off
            self._note_error(f"could not create the driver: {error}")
            return None
        outcome: list[BaseException | None] = []
        opener = threading.Thread(target=_call_into, args=(driver.open, outcome), daemon=True,
                                  name=f"open-{self.source_id}")
        opener.start()
        opener.join(self.settings.open_timeout_s)
        if opener.is_alive() or not outcome or outcome[0] is not None:
            cause = outcome[0] if outcome else f"timed out after {self.settings.open_timeout_s} s"
            self._note_error(f"open failed: {cause}")
            _close_in_background(driver, self.source_id)
            return None
        if self._stopping.is_set():
            _close_in_background(driver, self.source_id)
            return None
        self.supports_software_trigger = bool(getattr(driver, "supports_software_trigger", False))
        connection = _Connection(driver, opened_at=self._clock())
        logger.info("Camera %s: opened %s", self.source_id, getattr(driver, "name", type(driver).__name__))
        return connection

    def _abandon(self, connection: _Connection) -> None:
        if connection.abandoned.is_set():
            return
        connection.abandoned.set()
        _close_in_background(connection.driver, self.source_id)

    def _set_state(self, state: FeedState, reason: str) -> None:
        with self._lock:
            old = self._state
            if old == state or old == FeedState.STOPPED:
                return
            self._state = state
            self._state_since = self._clock()
        level = logging.INFO if state in (FeedState.LIVE, FeedState.STOPPED) else logging.WARNING
        logger.log(level, "Camera %s: %s -> %s (%s)", self.source_id, old.value, state.value, reason)
        if self._on_state is not None:
            try:
                self._on_state(self.source_id, old, state)
            except Exception:  # noqa: BLE001 - a listener bug must not stop supervision
                logger.exception("Camera %s: state listener failed", self.source_id)

    def _note_error(self, message: str) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = message
            count = self._errors
        if count == 1 or count % ERROR_LOG_EVERY == 0:
            logger.warning("Camera %s: %s (error %d)", self.source_id, message, count)


def _call_into(function: Callable[[], object], outcome: list[BaseException | None]) -> None:
    try:
        function()
    except BaseException as error:  # noqa: BLE001 - handed back to the waiting thread
        outcome.append(error)
        return
    outcome.append(None)


def _close_in_background(driver: CameraDriver, source_id: str) -> None:
    def close() -> None:
        try:
            driver.close()
        except Exception:  # noqa: BLE001 - closing a broken driver may fail; nothing else to do
            logger.debug("Camera %s: close raised", source_id, exc_info=True)

    threading.Thread(target=close, daemon=True, name=f"close-{source_id}").start()
