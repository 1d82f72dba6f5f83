"""The deploy service: a token-protected gRPC endpoint for bundles, rollback, status and results.

Service ``defectseek.station.Deploy`` uses gRPC's generic handlers with JSON bodies,
so no generated code is needed:

* ``PushBundle`` (client stream): the first message is a JSON header
  ``{"signature": base64 | null}``, the following messages are the bundle zip in chunks.
  Returns ``{"name", "bundle_id", "description"}``.
* ``Rollback`` (unary): returns the same fields for the bundle now in service.
* ``Status`` (unary): feeds, faults, latencies, bundles and store counters.
* ``RecentResults`` (unary): ``{"limit": n}`` returns ``{"results": [...]}``, newest first.
* ``AckResults`` (unary): ``{"up_to_id": n}`` marks rows as synced (exported).

Every call needs the metadata ``authorization: Bearer <token>``. A call with a missing
or wrong token fails with UNAUTHENTICATED before any data is read. TLS is optional.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from app.station.bundles import BundleManager, DeployError
from app.station.store import ResultStore

logger = logging.getLogger(__name__)

SERVICE_NAME = "defectseek.station.Deploy"
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
MAX_RECENT_RESULTS = 1000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class DeployService:
    """Serve bundle deployment and station queries over gRPC.

    Args:
        bundles: installs and swaps bundles.
        store: the results store (for recent results and acknowledgements).
        status: returns the station status as a JSON-ready dict.
        token: the shared secret clients send as a bearer token; must not be empty.
        host: address to bind.
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        tls_cert: PEM certificate chain for TLS, or None for plaintext.
        tls_key: PEM private key for ``tls_cert``.
    """

    def __init__(self, bundles: BundleManager, store: ResultStore, status: Callable[[], dict[str, Any]], token: str,
                 host: str = "127.0.0.1", port: int = 50051, tls_cert: bytes | None = None,
                 tls_key: bytes | None = None) -> None:
        if not token:
            raise ValueError("The deploy service needs a token; set deploy.token_file in the station config")
        self.bundles = bundles
        self.store = store
        self.status = status
        self._token = token.encode("utf-8")
        self.host = host
        self.port = port
        self._tls = (tls_key, tls_cert) if tls_cert and tls_key else None
        self._server: grpc.Server | None = None
        self.rejected_calls = 0

    def start(self) -> int:
        """Bind and start serving; returns the bound port."""
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="deploy"),
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)],
        )
        handlers = {
            "PushBundle": grpc.stream_unary_rpc_method_handler(self._push_bundle),
            "Rollback": grpc.unary_unary_rpc_method_handler(self._rollback),
            "Status": grpc.unary_unary_rpc_method_handler(self._status),
            "RecentResults": grpc.unary_unary_rpc_method_handler(self._recent_results),
            "AckResults": grpc.unary_unary_rpc_method_handler(self._ack_results),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
        address = f"{self.host}:{self.port}"
        if self._tls:
            bound = server.add_secure_port(address, grpc.ssl_server_credentials([self._tls]))
        else:
            bound = server.add_insecure_port(address)
            if self.host not in LOOPBACK_HOSTS:
                logger.warning("Deploy service on %s runs without TLS; the token travels in clear text. "
                               "Set deploy.tls_cert and deploy.tls_key.", address)
        if bound == 0:
            raise RuntimeError(f"Deploy service could not bind {address}; pick a free port in deploy.port")
        server.start()
        self._server = server
        self.port = bound
        logger.info("Deploy service listening on %s:%d (%s)", self.host, bound, "TLS" if self._tls else "plaintext")
        return bound

    def stop(self, grace_s: float = 2.0) -> None:
        """Stop serving; calls in progress get ``grace_s`` to finish."""
        if self._server is not None:
            self._server.stop(grace_s).wait(grace_s + 1.0)
            self._server = None

    # -- handlers -----------------------------------------------------------

    def _authorize(self, context: grpc.ServicerContext) -> None:
        metadata = dict(context.invocation_metadata())
        header = metadata.get("authorization", "")
        presented = header[len("Bearer "):].encode("utf-8") if header.startswith("Bearer ") else b""
        if not hmac.compare_digest(presented, self._token):
            self.rejected_calls += 1
            logger.warning("Deploy service: rejected a call from %s without a valid token", context.peer())
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid token; send 'authorization: Bearer <token>'")

    def _push_bundle(self, chunks: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        self._authorize(context)
        try:
            header = json.loads(next(chunks))
        except (StopIteration, ValueError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the first message must be a JSON header ({error})")
        signature = base64.b64decode(header["signature"]) if header.get("signature") else None
        with tempfile.NamedTemporaryFile(dir=self.bundles.staging_dir, suffix=".zip", delete=False) as archive:
            received = 0
            for chunk in chunks:
                received += len(chunk)
                if received > self.bundles.max_bundle_bytes:
                    Path(archive.name).unlink(missing_ok=True)
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"bundle larger than {self.bundles.max_bundle_bytes} bytes")
                archive.write(chunk)
        path = Path(archive.name)
        try:
            installed = self.bundles.install_archive(path, signature)
        except DeployError as error:
            logger.error("Deploy rejected from %s: %s", context.peer(), error)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        finally:
            path.unlink(missing_ok=True)
        return _json({"name": installed.name, "bundle_id": installed.bundle_id, "description": installed.description})

    def _rollback(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._authorize(context)
        try:
            installed = self.bundles.rollback()
        except DeployError as error:
            logger.error("Rollback failed: %s", error)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return _json({"name": installed.name, "bundle_id": installed.bundle_id, "description": installed.description})

    def _status(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._authorize(context)
        return _json(self.status())

    def _recent_results(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._authorize(context)
        limit = int(_parse(request, context).get("limit", 50))
        return _json({"results": self.store.recent(max(1, min(limit, MAX_RECENT_RESULTS)))})

    def _ack_results(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._authorize(context)
        up_to = _parse(request, context).get("up_to_id")
        if not isinstance(up_to, int):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "up_to_id must be an integer row id")
        return _json({"acknowledged": self.store.acknowledge_up_to(up_to)})


def _parse(request: bytes, context: grpc.ServicerContext) -> dict[str, Any]:
    try:
        value = json.loads(request or b"{}")
    except ValueError as error:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request body is not JSON ({error})")
    if not isinstance(value, dict):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the request body must be a JSON object")
    return value


def _json(value: Any) -> bytes:
    return json.dumps(value, default=str).encode("utf-8")
