"""OPC UA transport: the station runs an OPC UA server whose variables carry the handshake.

Address space, namespace ``urn:defectseek:station``, one object per lane under
``Objects/Station/Lane<n>``:

* Written by the station: ``Ready``, ``Busy``, ``ResultValid``, ``Pass``, ``Fail``,
  ``Fault`` and ``Heartbeat`` (Boolean). ``ResultCode``, ``TriggerIdEcho``,
  ``ResultCounter`` and ``FaultCode`` (UInt16). ``Score`` (Double, normalized, 0.5 at
  the threshold) and ``DefectType`` (String).
* client writes: ``Trigger``, ``ResultAck``, ``FaultReset`` (Boolean, rising edges) and
  ``TriggerId`` (UInt16, written before ``Trigger``).

The station writes the result fields first and ``ResultValid`` last. The server polls
the client-writable variables every ``POLL_S`` seconds.

Security (see :mod:`app.station.signals.opcua_security`): Basic256Sha256 in the
configured mode with the server certificate from a file, optionally a trusted-client
folder and one username. The ``None`` mode is served only when configured, with a
warning in the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.server import binary_server_asyncio
from asyncua.server.uaprocessor import UaProcessor

from app.station.signals.base import LaneOutputs, Signaller
from app.station.signals.opcua_security import (
    OpcUaSecurity,
    ServerCredentials,
    StationUserManager,
    load_server_credentials,
    load_trusted_certificates,
)

logger = logging.getLogger(__name__)

NAMESPACE_URI = "urn:defectseek:station"
POLL_S = 0.002
START_TIMEOUT_S = 15.0

BOOLEAN_OUTPUTS = {"Ready": "ready", "Busy": "busy", "Pass": "passed", "Fail": "failed", "Fault": "fault",
                   "Heartbeat": "heartbeat"}
UINT16_OUTPUTS = {"ResultCode": "result_code", "TriggerIdEcho": "trigger_id", "ResultCounter": "result_counter",
                  "FaultCode": "fault_code"}
INPUTS = {"Trigger": (False, ua.VariantType.Boolean), "ResultAck": (False, ua.VariantType.Boolean),
          "FaultReset": (False, ua.VariantType.Boolean), "TriggerId": (0, ua.VariantType.UInt16)}
DISCOVERY_REQUESTS = (ua.NodeId(ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary),
                      ua.NodeId(ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary))
SECURE_CHANNEL_FLAG = "defectseek_require_secure_channel"
POLICIES = {"Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
            "SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
            "None": ua.SecurityPolicyType.NoSecurity}


class SecureChannelProcessor(UaProcessor):
    """An asyncua request processor that serves only discovery on unsecured channels of a secured server.

    asyncua 2.1.0 opens every channel with the None policy so that clients can
    discover endpoints, and it then serves sessions, reads and writes on that channel
    even when no None endpoint is offered. A client that skips the endpoint check
    could trigger parts without a certificate. This processor rejects every request
    but GetEndpoints and FindServers on such a channel, for servers that carry
    ``SECURE_CHANNEL_FLAG``. Other asyncua servers in the process are unaffected.
    """

    async def _process_message(self, typeid, requesthdr, seqhdr, body):  # type: ignore[no-untyped-def]
        unsecured = self._connection.security_policy.Mode == ua.MessageSecurityMode.None_
        if unsecured and getattr(self.iserver, SECURE_CHANNEL_FLAG, False) and typeid not in DISCOVERY_REQUESTS:
            logger.warning("OPC UA: request %s on an unsecured channel from %s rejected; the endpoint requires "
                           "Basic256Sha256", typeid.Identifier, self.name)
            raise ServiceError(ua.StatusCodes.BadSecurityModeRejected)
        return await super()._process_message(typeid, requesthdr, seqhdr, body)


# asyncua's binary server creates one processor per connection from this module-level name.
binary_server_asyncio.UaProcessor = SecureChannelProcessor  # type: ignore[misc]


class OpcUaSignaller(Signaller):
    """Serve the handshake on ``opc.tcp://host:port/defectseek/station``.

    Args:
        lanes: number of lanes.
        host: address to bind.
        port: TCP port (4840 is the OPC UA default).
        heartbeat_s: HEARTBEAT toggle period.
        security: the endpoint's security; the default, SignAndEncrypt without
            certificate files, fails at :meth:`start` until the files are set.
    """

    def __init__(self, lanes: int, host: str = "127.0.0.1", port: int = 4840, heartbeat_s: float = 0.5,
                 security: OpcUaSecurity | None = None) -> None:
        super().__init__(lanes, heartbeat_s)
        self.endpoint = f"opc.tcp://{host}:{port}/defectseek/station"
        self.security = security or OpcUaSecurity()
        self.user_manager = StationUserManager(self.security.username, self.security.password)
        self._credentials: ServerCredentials | None = None
        self._trusted: list[object] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._nodes: list[dict[str, object]] = []
        self._writes: asyncio.Queue[tuple[int, LaneOutputs] | None] | None = None
        self._stopped: asyncio.Event | None = None

    def _start(self) -> None:
        security = self.security
        if security.secured:
            self._credentials = load_server_credentials(security)
            if security.trusted_clients is not None:
                self._trusted = load_trusted_certificates(security.trusted_clients)
        else:
            logger.warning("OPC UA endpoint %s has no security (mode None, set by plc.opcua_security_mode): any "
                           "host that reaches it can read results and write triggers", self.endpoint)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="opcua-server", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"OPC UA server {self.endpoint} did not start within {START_TIMEOUT_S} s")
        if failure:
            raise RuntimeError(f"OPC UA server {self.endpoint} could not start: {failure[0]}") from failure[0]
        logger.info("OPC UA server listening on %s for %d lane(s), security %s, %s", self.endpoint, self.lanes,
                    "Basic256Sha256 " + security.mode if security.secured else "None",
                    f"user {security.username!r}" if security.username else "anonymous sessions")

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except Exception as error:  # noqa: BLE001 - handed to the starting thread or logged
            if not ready.is_set():
                failure.append(error)
                ready.set()
            else:
                logger.exception("OPC UA server stopped with an error")
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        server = Server(user_manager=self.user_manager)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("DefectSeek station")
        await self._secure(server)
        namespace = await server.register_namespace(NAMESPACE_URI)
        root = await server.nodes.objects.add_object(namespace, "Station")
        for lane in range(self.lanes):
            self._nodes.append(await self._add_lane(root, namespace, lane))
        self._writes = asyncio.Queue()
        self._stopped = asyncio.Event()
        self._server = server
        async with server:
            ready.set()
            await asyncio.gather(self._write_loop(), self._poll_loop())

    async def _secure(self, server: Server) -> None:
        security = self.security
        server.set_security_policy([POLICIES[security.mode]])
        tokens: list[type] = [ua.UserNameIdentityToken] if security.username else [ua.AnonymousIdentityToken]
        server.set_identity_tokens(tokens)
        credentials = self._credentials
        if credentials is None:
            return
        setattr(server.iserver, SECURE_CHANNEL_FLAG, True)
        await server.set_application_uri(credentials.application_uri)
        await server.load_certificate(credentials.certificate_der, "der")
        await server.load_private_key(credentials.private_key_pem, None, "pem")
        if self._trusted:
            server.set_certificate_validator(self._validate_client)

    async def _validate_client(self, certificate: object, description: ua.ApplicationDescription) -> None:
        """Reject a client whose application certificate is not in the trusted folder."""
        if certificate in self._trusted:
            return
        logger.warning("OPC UA: client %s rejected because its certificate (%s) is not in "
                       "plc.opcua_trusted_clients", description.ApplicationUri,
                       certificate.subject.rfc4514_string())  # type: ignore[attr-defined]
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    async def _add_lane(self, root: object, namespace: int, lane: int) -> dict[str, object]:
        folder = await root.add_object(namespace, f"Lane{lane}")  # type: ignore[attr-defined]
        nodes: dict[str, object] = {}
        for name in [*BOOLEAN_OUTPUTS, "ResultValid"]:
            nodes[name] = await folder.add_variable(namespace, name, False, ua.VariantType.Boolean)
        for name in UINT16_OUTPUTS:
            nodes[name] = await folder.add_variable(namespace, name, 0, ua.VariantType.UInt16)
        nodes["Score"] = await folder.add_variable(namespace, "Score", 0.0, ua.VariantType.Double)
        nodes["DefectType"] = await folder.add_variable(namespace, "DefectType", "", ua.VariantType.String)
        for name, (initial, variant) in INPUTS.items():
            node = await folder.add_variable(namespace, name, initial, variant)
            await node.set_writable()
            nodes[name] = node
        return nodes

    async def _write_loop(self) -> None:
        assert self._writes is not None
        while True:
            item = await self._writes.get()
            if item is None:
                return
            lane, outputs = item
            nodes = self._nodes[lane]
            if not outputs.result_valid:
                await nodes["ResultValid"].write_value(False, ua.VariantType.Boolean)
            for name, field in BOOLEAN_OUTPUTS.items():
                await nodes[name].write_value(bool(getattr(outputs, field)), ua.VariantType.Boolean)
            for name, field in UINT16_OUTPUTS.items():
                await nodes[name].write_value(int(getattr(outputs, field)), ua.VariantType.UInt16)
            await nodes["Score"].write_value(float(outputs.score), ua.VariantType.Double)
            await nodes["DefectType"].write_value(outputs.defect_type, ua.VariantType.String)
            if outputs.result_valid:
                await nodes["ResultValid"].write_value(True, ua.VariantType.Boolean)

    async def _poll_loop(self) -> None:
        assert self._stopped is not None
        previous = [0] * self.lanes
        while not self._stopped.is_set():
            for lane, nodes in enumerate(self._nodes):
                control = 0
                for bit, name in enumerate(("Trigger", "ResultAck", "FaultReset")):
                    if await nodes[name].read_value():
                        control |= 1 << bit
                if control != previous[lane]:
                    trigger_id = int(await nodes["TriggerId"].read_value())
                    self._control_written(lane, control, trigger_id)
                    previous[lane] = control
            await asyncio.sleep(POLL_S)

    def _write(self, lane: int, outputs: LaneOutputs) -> None:
        loop, writes = self._loop, self._writes
        if loop is None or writes is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(writes.put_nowait, (lane, outputs))

    def _stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self._writes is None or self._stopped is None:
            return
        loop.call_soon_threadsafe(self._writes.put_nowait, None)
        loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
