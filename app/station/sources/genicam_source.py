"""GenICam driver through harvesters: any camera with a GenTL producer (.cti) from its vendor."""

from __future__ import annotations

import logging
import os

import numpy as np

from app.station.frames import RawFrame
from app.station.sources.base import CameraError

logger = logging.getLogger(__name__)

CHANNEL_ORDERS = {"RGB8": "RGB", "BGR8": "BGR", "RGBa8": "RGB", "BGRa8": "BGR"}
SOFTWARE_TRIGGER_FEATURES = ("TriggerMode", "TriggerSource", "TriggerSoftware")


class GenicamDriver:
    """Acquire through a GenTL producer with harvesters.

    Args:
        cti: path of the GenTL producer (``.cti``).
        device: device index, or a serial number or id string to match.
        software_trigger: put the camera in ``TriggerMode=On`` with ``TriggerSource=Software``.
        timeout_ms: fetch timeout; an idle triggered camera returns None after it.
    """

    def __init__(self, cti: str | os.PathLike[str], device: int | str = 0, software_trigger: bool = False,
                 timeout_ms: int = 1000) -> None:
        self.cti = str(cti)
        self.device = device
        self.supports_software_trigger = software_trigger
        self.timeout_s = timeout_ms / 1000.0
        self.name = f"GenICam {device} via {os.path.basename(self.cti)}"
        self._harvester = None
        self._acquirer = None

    def open(self) -> None:
        """Load the producer, create the image acquirer and start acquisition."""
        from harvesters.core import Harvester

        if not os.path.isfile(self.cti):
            raise CameraError(f"GenTL producer {self.cti} not found; install the camera vendor's SDK or fix the path")
        harvester = Harvester()
        harvester.add_file(self.cti)
        harvester.update()
        if not harvester.device_info_list:
            harvester.reset()
            raise CameraError(f"No camera found through {self.cti}; check cabling, power and network settings")
        try:
            acquirer = harvester.create(_selector(harvester, self.device))
        except (ValueError, IndexError) as error:
            harvester.reset()
            raise CameraError(f"Camera {self.device!r} not found through {self.cti} ({error})") from error
        if self.supports_software_trigger:
            try:
                enable_software_trigger(acquirer.remote_device.node_map, self.device)
            except CameraError:
                acquirer.destroy()
                harvester.reset()
                raise
        acquirer.start()
        self._harvester, self._acquirer = harvester, acquirer

    def read(self) -> RawFrame | None:
        """Fetch the next buffer; None when the fetch timed out (idle triggered camera)."""
        from genicam.gentl import TimeoutException

        acquirer = self._acquirer
        if acquirer is None:
            raise CameraError(f"{self.name}: read before open")
        try:
            with acquirer.fetch(timeout=self.timeout_s) as buffer:
                component = buffer.payload.components[0]
                pixels = _component_pixels(component)
                stamp = int(buffer.timestamp) if buffer.timestamp else None
                frame_id = getattr(buffer, "frame_id", None)
        except TimeoutException:
            return None
        except Exception as error:  # noqa: BLE001 - GenTL raises many types; all mean a failed read
            raise CameraError(f"{self.name}: fetch failed ({error})") from error
        order = CHANNEL_ORDERS.get(component.data_format, "GRAY" if pixels.ndim == 2 else "RGB")
        return RawFrame(pixels=pixels, channel_order=order, device_timestamp=stamp, device_frame_id=frame_id)

    def trigger(self) -> None:
        """Execute ``TriggerSoftware``."""
        if self._acquirer is None:
            raise CameraError(f"{self.name}: trigger before open")
        fire_software_trigger(self._acquirer.remote_device.node_map)

    def close(self) -> None:
        """Stop acquisition and release the producer."""
        acquirer, harvester = self._acquirer, self._harvester
        self._acquirer = self._harvester = None
        if acquirer is not None:
            acquirer.stop()
            acquirer.destroy()
        if harvester is not None:
            harvester.reset()


def enable_software_trigger(node_map: object, device: int | str) -> None:
    """Put a GenICam camera in software-triggered frame acquisition (SFNC feature names).

    Selects the ``FrameStart`` trigger where the camera has ``TriggerSelector``, then
    sets ``TriggerMode=On`` and ``TriggerSource=Software``.

    Raises:
        CameraError: the camera lacks ``TriggerMode``, ``TriggerSource`` or ``TriggerSoftware``.
    """
    # NOTE: tested on the reference GenApi with registers in memory only. The virtual GenTL
    # producer of the genicam package has no trigger features, so no software-triggered
    # frame has been acquired through GenTL in the tests.
    missing = [name for name in SOFTWARE_TRIGGER_FEATURES if not node_map.has_node(name)]  # type: ignore[attr-defined]
    if missing:
        raise CameraError(f"Camera {device!r} has no software trigger (missing {', '.join(missing)}); "
                          "set software_trigger = false and run it free")
    if node_map.has_node("TriggerSelector"):  # type: ignore[attr-defined]
        selector = node_map.TriggerSelector  # type: ignore[attr-defined]
        if "FrameStart" in selector.symbolics:
            selector.value = "FrameStart"
    node_map.TriggerMode.value = "On"  # type: ignore[attr-defined]
    node_map.TriggerSource.value = "Software"  # type: ignore[attr-defined]


def fire_software_trigger(node_map: object) -> None:
    """Execute the camera's ``TriggerSoftware`` command."""
    node_map.TriggerSoftware.execute()  # type: ignore[attr-defined]


def _selector(harvester: object, device: int | str) -> int | dict[str, str]:
    """Return the harvesters search key: an index, or the serial number or id that matches ``device``."""
    if isinstance(device, int):
        return device
    for info in harvester.device_info_list:  # type: ignore[attr-defined]
        if device == info.serial_number:
            return {"serial_number": device}
        if device == info.id_:
            return {"id_": device}
    raise ValueError(f"no device has serial number or id {device!r}")


def _component_pixels(component: object) -> np.ndarray:
    """Copy a buffer component into an H x W or H x W x C array (the buffer is requeued after the ``with``)."""
    width, height = component.width, component.height  # type: ignore[attr-defined]
    data = np.asarray(component.data)  # type: ignore[attr-defined]
    channels = data.size // (width * height)
    if channels == 1:
        return data.reshape(height, width).copy()
    return data.reshape(height, width, channels).copy()
