"""Basler driver through pypylon, including the pylon camera emulator for tests and demos.

With ``emulation_images`` set, ``PYLON_CAMEMU=1`` is exported before pylon starts and
the emulated camera replays the images of that folder.
"""

from __future__ import annotations

import logging
import os

from app.station.frames import RawFrame
from app.station.sources.base import CameraError

logger = logging.getLogger(__name__)


class PylonDriver:
    """Acquire from a Basler camera with pypylon.

    Args:
        serial: serial number of the camera; empty takes the first one found.
        software_trigger: use ``TriggerMode=On`` with ``TriggerSource=Software`` on FrameStart.
        timeout_ms: retrieve timeout; an idle triggered camera returns None after it.
        emulation_images: folder of images for the pylon camera emulator; empty for real cameras.
    """

    def __init__(self, serial: str = "", software_trigger: bool = False, timeout_ms: int = 1000,
                 emulation_images: str = "") -> None:
        self.serial = serial
        self.supports_software_trigger = software_trigger
        self.timeout_ms = timeout_ms
        self.emulation_images = emulation_images
        self.name = f"Basler {serial or 'first camera'}"
        self._camera = None

    def open(self) -> None:
        """Find the camera, configure trigger and emulation, and start grabbing."""
        if self.emulation_images:
            os.environ.setdefault("PYLON_CAMEMU", "1")
        from pypylon import genicam, pylon

        factory = pylon.TlFactory.GetInstance()
        devices = [device for device in factory.EnumerateDevices()
                   if not self.serial or device.GetSerialNumber() == self.serial]
        if not devices:
            raise CameraError(f"No Basler camera {'with serial ' + self.serial if self.serial else ''} found; "
                              "check cabling and that no other program holds it")
        camera = pylon.InstantCamera(factory.CreateDevice(devices[0]))
        try:
            camera.Open()
            if self.emulation_images:
                camera.ImageFilename.Value = self.emulation_images
                camera.ImageFileMode.Value = "On"
                camera.TestImageSelector.Value = "Off"
            if self.supports_software_trigger:
                camera.TriggerSelector.Value = "FrameStart"
                camera.TriggerMode.Value = "On"
                camera.TriggerSource.Value = "Software"
            camera.StartGrabbing(pylon.GrabStrategy_OneByOne)
        except genicam.GenericException as error:
            camera.Close()
            raise CameraError(f"{self.name}: configuration failed ({error})") from error
        self._camera = camera
        self.name = f"Basler {devices[0].GetModelName()} {devices[0].GetSerialNumber()}"

    def read(self) -> RawFrame | None:
        """Retrieve the next grab result; None when the retrieve timed out."""
        from pypylon import genicam, pylon

        camera = self._camera
        if camera is None:
            raise CameraError(f"{self.name}: read before open")
        try:
            result = camera.RetrieveResult(self.timeout_ms, pylon.TimeoutHandling_Return)
        except genicam.GenericException as error:
            raise CameraError(f"{self.name}: retrieve failed ({error})") from error
        if result is None or not result.IsValid():
            return None
        try:
            if not result.GrabSucceeded():
                raise CameraError(f"{self.name}: grab failed ({result.GetErrorDescription()})")
            pixels = result.GetArray().copy()
            stamp = int(result.GetTimeStamp()) or None
            frame_id = int(result.GetImageNumber())
        finally:
            result.Release()
        order = "GRAY" if pixels.ndim == 2 else "RGB"
        return RawFrame(pixels=pixels, channel_order=order, device_timestamp=stamp, device_frame_id=frame_id)

    def trigger(self) -> None:
        """Wait until the camera accepts a frame trigger (a trigger sent earlier is ignored), then fire it."""
        from pypylon import pylon

        camera = self._camera
        if camera is None:
            raise CameraError(f"{self.name}: trigger before open")
        if not camera.WaitForFrameTriggerReady(self.timeout_ms, pylon.TimeoutHandling_Return):
            raise CameraError(f"{self.name}: not ready for a frame trigger within {self.timeout_ms} ms")
        camera.ExecuteSoftwareTrigger()

    def close(self) -> None:
        """Stop grabbing and close the camera."""
        camera, self._camera = self._camera, None
        if camera is not None:
            camera.StopGrabbing()
            camera.Close()
