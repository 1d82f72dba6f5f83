"""Assemble a running station from its config: feeds, pipeline, PLC, store, MES sink, deploy service."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.station.bundles import BundleManager, DeployError
from app.station.config import CameraConfig, StationConfig
from app.station.judge import JudgeOpener, JudgeSlot, inspector_opener
from app.station.pipeline import InspectionPipeline, PipelineSettings
from app.station.signals.base import NullSignaller, Signaller
from app.station.sources.base import DriverFactory
from app.station.sources.feed import CameraFeed, FeedSettings
from app.station.store import ResultStore, StoreSettings

if TYPE_CHECKING:
    from app.station.signals.opcua_security import OpcUaSecurity

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"modbus": 502, "opcua": 4840}


def driver_factory(camera: CameraConfig) -> DriverFactory:
    """Return a factory that creates a new driver for ``camera`` (imports the camera SDK lazily)."""
    options = camera.options
    if camera.kind == "opencv":
        from app.station.sources.opencv_source import OpenCvDriver

        return partial(OpenCvDriver, options["uri"], options["width"], options["height"], options["loop"])
    if camera.kind == "genicam":
        from app.station.sources.genicam_source import GenicamDriver

        return partial(GenicamDriver, options["cti"], options["device"], options["software_trigger"],
                       options["timeout_ms"])
    if camera.kind == "pylon":
        from app.station.sources.pylon_source import PylonDriver

        return partial(PylonDriver, options["serial"], options["software_trigger"], options["timeout_ms"],
                       options["emulation_images"])
    if camera.kind == "folder":
        from app.station.sources.folder_source import FolderDriver

        return partial(FolderDriver, options["path"], options["poll_s"], options["settle_s"], options["done_dir"])
    from app.station.sources.fake import FakeCamera

    device = FakeCamera(options["distinct_frames"], options["after"], fps=options["fps"], width=options["width"],
                        height=options["height"], seed=options["seed"], software_trigger=options["software_trigger"])
    return device.driver


def feed_settings(camera: CameraConfig) -> FeedSettings:
    """Return the feed timing rules of ``camera``; triggered cameras and folders are not expected to stream."""
    triggered = camera.hardware_trigger or camera.options.get("software_trigger", False)
    continuous = camera.mode == "free_run" and not triggered and camera.kind != "folder"
    return FeedSettings(
        frozen_after_s=camera.frozen_after_s,
        lost_after_s=camera.lost_after_s,
        reconnect_frozen_after_s=camera.reconnect_frozen_after_s,
        backoff_max_s=camera.backoff_max_s,
        expect_continuous_frames=continuous,
    )


def make_signaller(config: StationConfig, lanes: int) -> Signaller:
    """Create the PLC transport named by ``plc.protocol``."""
    plc = config.plc
    heartbeat_s = plc["heartbeat_ms"] / 1000.0
    port = plc["port"] or DEFAULT_PORTS.get(plc["protocol"], 0)
    if plc["protocol"] == "modbus":
        from app.station.signals.modbus import ModbusSignaller

        return ModbusSignaller(lanes, plc["host"], port, plc["device_id"], heartbeat_s)
    if plc["protocol"] == "opcua":
        from app.station.signals.opcua import OpcUaSignaller

        return OpcUaSignaller(lanes, plc["host"], port, heartbeat_s, opcua_security(config))
    return NullSignaller(lanes, heartbeat_s)


def opcua_security(config: StationConfig) -> OpcUaSecurity:
    """Build the OPC UA security settings from the ``plc.opcua_*`` keys (reads the password file).

    Raises:
        OpcUaSecurityError: the password file cannot be read.
    """
    from app.station.signals.opcua_security import OpcUaSecurity, OpcUaSecurityError

    plc = config.plc
    password = ""
    if plc["opcua_username"]:
        try:
            password = config.opcua_password()
        except OSError as error:
            raise OpcUaSecurityError(f"plc.opcua_password_file {plc['opcua_password_file']} cannot be read "
                                     f"({error.strerror}); fix the path or let the station's user read it") from None
    return OpcUaSecurity(
        mode=plc["opcua_security_mode"],
        certificate=Path(plc["opcua_certificate"]) if plc["opcua_certificate"] else None,
        private_key=Path(plc["opcua_private_key"]) if plc["opcua_private_key"] else None,
        trusted_clients=Path(plc["opcua_trusted_clients"]) if plc["opcua_trusted_clients"] else None,
        username=plc["opcua_username"],
        password=password,
    )


class Station:
    """A configured line station; :meth:`start` runs it, :meth:`stop` shuts it down in order.

    Args:
        config: the validated config.
        opener: loads bundles; defaults to the line runtime with the configured engine and device.
    """

    def __init__(self, config: StationConfig, opener: JudgeOpener | None = None) -> None:
        self.config = config
        data_dir = config.data_dir
        lanes = max(camera.lane for camera in config.cameras) + 1
        store_options = config.store
        self.store = ResultStore.open(data_dir / "results", StoreSettings(
            max_disk_bytes=int(store_options["max_disk_mb"] * 1024 * 1024),
            ok_sample_every=store_options["ok_sample_every"],
            image_suffix="." + store_options["image_format"],
            synchronous=store_options["sync"].upper(),
        ))
        self.slot = JudgeSlot()
        self.signaller = make_signaller(config, lanes)
        pipeline_options = config.pipeline
        self.pipeline = InspectionPipeline(self.slot, self.store, self.signaller, PipelineSettings(
            result_deadline_s=pipeline_options["result_deadline_ms"] / 1000.0,
            queue_size=pipeline_options["queue_size"],
            max_batch=pipeline_options["max_batch"],
            batch_window_s=pipeline_options["batch_window_ms"] / 1000.0,
        ))
        for camera in config.cameras:
            feed = CameraFeed(camera.id, driver_factory(camera), feed_settings(camera))
            self.pipeline.add_feed(feed, camera.lane, camera.mode)
        self.bundles = self._make_bundles(opener)
        self.webhook = None
        if config.mes["webhook_url"]:
            from app.station.signals.webhook import WebhookSink

            self.webhook = WebhookSink(self.store, config.mes["webhook_url"], config.station["name"],
                                       config.mes["timeout_s"])
        self.deploy_service = None

    def _make_bundles(self, opener: JudgeOpener | None) -> BundleManager:
        deploy = self.config.deploy
        public_key = None
        if deploy["public_key"]:
            from app.station.signing import load_public_key

            public_key = load_public_key(deploy["public_key"])
        opener = opener or inspector_opener(self.config.model["engine"], self.config.model["device"])
        return BundleManager(self.config.data_dir / "deploy", self.slot, opener, public_key=public_key,
                             require_signature=deploy["require_signature"],
                             max_bundle_bytes=int(deploy["max_bundle_mb"] * 1024 * 1024),
                             on_swap=self.pipeline.refresh_ready)

    def start(self) -> None:
        """Load the model, start the PLC transport, the pipeline, the MES sink and the deploy service."""
        self._load_model()
        self.signaller.start()
        self.pipeline.refresh_ready()
        self.pipeline.start()
        if self.webhook is not None:
            self.webhook.start()
        if self.config.deploy["enabled"]:
            self._start_deploy_service()
        logger.info("Station %s started with %d camera(s)", self.config.station["name"], len(self.config.cameras))

    def _load_model(self) -> None:
        if self.bundles.load_current() is not None:
            return
        initial = self.config.model["bundle"]
        if not initial:
            logger.warning("No bundle deployed yet: every part is NG (NG_NO_MODEL) until one is pushed")
            return
        path = Path(initial)
        try:
            if path.is_dir():
                self.bundles.install_directory(path)
            else:
                self.bundles.install_archive(path)
        except DeployError as error:
            logger.error("The configured model.bundle %s was rejected: %s", path, error)

    def _start_deploy_service(self) -> None:
        from app.station.deploy_service import DeployService

        deploy = self.config.deploy
        tls_cert = Path(deploy["tls_cert"]).read_bytes() if deploy["tls_cert"] else None
        tls_key = Path(deploy["tls_key"]).read_bytes() if deploy["tls_key"] else None
        self.deploy_service = DeployService(self.bundles, self.store, self.status, self.config.deploy_token(),
                                            deploy["host"], deploy["port"], tls_cert, tls_key)
        self.deploy_service.start()

    def stop(self) -> None:
        """Stop in reverse order; pending parts are decided NG before the PLC transport closes."""
        if self.deploy_service is not None:
            self.deploy_service.stop()
        self.pipeline.stop()
        if self.webhook is not None:
            self.webhook.stop()
        self.signaller.stop()
        self.store.close()
        logger.info("Station %s stopped", self.config.station["name"])

    def status(self) -> dict[str, Any]:
        """Return the pipeline status plus bundles, store counters and MES delivery counters."""
        status = self.pipeline.status()
        status["station"] = self.config.station["name"]
        status["bundles"] = self.bundles.status()
        status["store"] = {
            "rows": self.store.count(),
            "disk_usage_bytes": self.store.disk_usage_bytes(),
            "cleanup_blocked": self.store.cleanup_blocked,
            "dropped_images": self.store.dropped_images,
        }
        if self.webhook is not None:
            status["mes"] = {"delivered": self.webhook.delivered, "failures": self.webhook.failures}
        return status
