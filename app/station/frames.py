"""Frame records that travel from a camera feed to the inspection pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

DIGEST_SAMPLE_VALUES = 65_536


@dataclass(frozen=True)
class RawFrame:
    """One image as a camera driver returns it, before freshness checks.

    Attributes:
        pixels: H x W or H x W x C array, ``uint8`` or ``uint16``.
        channel_order: ``BGR`` (OpenCV), ``RGB`` or ``GRAY``.
        device_timestamp: the camera's own timestamp (ticks), or None when the driver has none.
        device_frame_id: the camera's frame counter, or None.
        frame_ref: a stable reference to the image, such as a file path; None for live cameras.
    """

    pixels: np.ndarray
    channel_order: str = "BGR"
    device_timestamp: int | None = None
    device_frame_id: int | None = None
    frame_ref: str | None = None


@dataclass(frozen=True)
class Frame:
    """A fresh frame accepted by a feed: new content and, where the camera has one, a newer timestamp.

    Attributes:
        source_id: the camera id from the station config.
        sequence: the feed's count of fresh frames, starting at 1.
        received_at: ``time.monotonic()`` when the read returned.
        wall_time: ``time.time()`` when the read returned.
        digest: BLAKE2b digest of a strided sample of the pixels (see :func:`frame_digest`).
    """

    source_id: str
    sequence: int
    pixels: np.ndarray = field(repr=False)
    channel_order: str
    received_at: float
    wall_time: float
    digest: bytes
    device_timestamp: int | None = None
    device_frame_id: int | None = None
    frame_ref: str | None = None

    @property
    def reference(self) -> str:
        """A human-readable reference: the file path, else ``source#device_frame_id`` or ``source#sequence``."""
        if self.frame_ref:
            return self.frame_ref
        number = self.device_frame_id if self.device_frame_id is not None else self.sequence
        return f"{self.source_id}#{number}"


def frame_digest(pixels: np.ndarray) -> bytes:
    """Hash a strided sample of at most ``DIGEST_SAMPLE_VALUES`` values plus the shape and dtype.

    A live sensor never returns two identical frames because of noise, so an equal
    digest means the driver handed back the same buffer again (a frozen feed). The
    sample keeps hashing below a millisecond for multi-megapixel frames.
    """
    flat = np.ascontiguousarray(pixels).reshape(-1)
    step = max(1, flat.size // DIGEST_SAMPLE_VALUES)
    sample = np.ascontiguousarray(flat[::step])
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr((pixels.shape, str(pixels.dtype))).encode("ascii"))
    hasher.update(sample.tobytes())
    return hasher.digest()
