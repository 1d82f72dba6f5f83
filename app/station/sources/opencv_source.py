"""OpenCV camera driver: USB cameras (device index), RTSP/HTTP streams and video files."""

from __future__ import annotations

import logging

import cv2

from app.station.frames import RawFrame
from app.station.sources.base import CameraError

logger = logging.getLogger(__name__)


class OpenCvDriver:
    """Read frames with ``cv2.VideoCapture``.

    Args:
        uri: a device index (``0``), a file path or a stream URL (``rtsp://...``).
        width: requested width in pixels; 0 keeps the camera's.
        height: requested height in pixels; 0 keeps the camera's.
        loop: restart a video file at its end instead of reporting the end as a failed read.
    """

    supports_software_trigger = False

    def __init__(self, uri: str | int, width: int = 0, height: int = 0, loop: bool = False) -> None:
        self.uri = int(uri) if isinstance(uri, str) and uri.isdigit() else uri
        self.width = width
        self.height = height
        self.loop = loop
        self.name = f"OpenCV {self.uri}"
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        """Open the capture and apply the requested size."""
        capture = cv2.VideoCapture(self.uri)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"OpenCV could not open {self.uri!r}; check the device index, path or URL")
        if self.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._capture = capture

    def read(self) -> RawFrame:
        """Grab and decode the next frame (BGR)."""
        capture = self._capture
        if capture is None:
            raise CameraError(f"{self.name}: read before open")
        ok, pixels = capture.read()
        if not ok and self.loop:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, pixels = capture.read()
        if not ok or pixels is None:
            raise CameraError(f"{self.name}: no frame (end of file, unplugged camera or broken stream)")
        position = capture.get(cv2.CAP_PROP_POS_MSEC)
        frame_number = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        # Files and streams give a position; a USB camera gives 0, so no device timestamp then.
        stamp = int(position * 1000) if position > 0 and not self.loop else None
        return RawFrame(pixels=pixels, channel_order="BGR", device_timestamp=stamp,
                        device_frame_id=frame_number if frame_number > 0 else None)

    def trigger(self) -> None:
        """OpenCV captures have no software trigger."""
        raise CameraError(f"{self.name}: OpenCV sources do not support a software trigger")

    def close(self) -> None:
        """Release the capture."""
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
