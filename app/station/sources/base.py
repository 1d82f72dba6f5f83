"""The driver interface that every camera source implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from app.station.frames import RawFrame


class CameraError(RuntimeError):
    """A camera could not be opened or read; the message names the camera and the cause."""


@runtime_checkable
class CameraDriver(Protocol):
    """One connection to one camera.

    A feed calls ``open`` once, then ``read`` in a dedicated thread, and ``close``
    from another thread when it gives up on the connection. ``read`` may block
    (the feed applies its own timeout) and raises :class:`CameraError` when a
    frame could not be read. After ``close`` the driver is never used again: the
    feed creates a new one to reconnect.
    """

    name: str
    supports_software_trigger: bool

    def open(self) -> None:
        """Connect to the camera and start acquisition."""

    def read(self) -> RawFrame | None:
        """Block until the next frame and return it; None when the driver's own poll timed out while idle."""

    def trigger(self) -> None:
        """Fire a software trigger (only called when ``supports_software_trigger``)."""

    def close(self) -> None:
        """Stop acquisition and release the device; must not raise."""


DriverFactory = Callable[[], CameraDriver]
