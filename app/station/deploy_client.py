"""Client functions for the station's deploy service (used by the studio and by scripts)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import grpc

SERVICE_NAME = "defectseek.station.Deploy"
CHUNK_BYTES = 1024 * 1024
SPOOL_BYTES = 64 * 1024 * 1024


class DeployClientError(RuntimeError):
    """A call to the station failed; ``code`` is the gRPC status code name."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


def push_bundle(host: str, port: int, token: str, bundle_path: str | os.PathLike[str], *,
                signature: bytes | None = None, root_certificates: bytes | None = None,
                timeout_s: float = 300.0) -> dict[str, Any]:
    """Send a bundle (directory or zip) to a station, which verifies, warms up and swaps it in.

    Args:
        host: station address.
        port: deploy service port.
        token: the station's deploy token.
        bundle_path: a bundle directory or a zip of one.
        signature: Ed25519 signature of the bundle's manifest.json (see ``app.station.signing``).
        root_certificates: PEM CA certificates; set to use TLS.
        timeout_s: deadline of the whole upload and installation.

    Returns:
        ``{"name", "bundle_id", "description"}`` of the bundle now in service.

    Raises:
        DeployClientError: rejected token, signature or bundle, or the station is unreachable.
    """
    header = json.dumps({"signature": base64.b64encode(signature).decode("ascii") if signature else None})
    with _open_archive(Path(bundle_path)) as archive:

        def messages() -> Iterator[bytes]:
            yield header.encode("utf-8")
            while chunk := archive.read(CHUNK_BYTES):
                yield chunk

        with _channel(host, port, root_certificates) as channel:
            call = channel.stream_unary(f"/{SERVICE_NAME}/PushBundle")
            return _invoke(call, messages(), token, timeout_s)


def station_status(host: str, port: int, token: str, *, root_certificates: bytes | None = None,
                   timeout_s: float = 10.0) -> dict[str, Any]:
    """Return the station's status: feeds, faults, latencies, bundles and store counters."""
    return _unary(host, port, token, "Status", {}, root_certificates, timeout_s)


def recent_results(host: str, port: int, token: str, limit: int = 50, *, root_certificates: bytes | None = None,
                   timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Return the newest ``limit`` results stored on the station, newest first."""
    reply = _unary(host, port, token, "RecentResults", {"limit": limit}, root_certificates, timeout_s)
    return list(reply["results"])


def rollback(host: str, port: int, token: str, *, root_certificates: bytes | None = None,
             timeout_s: float = 120.0) -> dict[str, Any]:
    """Put the station's previous bundle back in service and return it."""
    return _unary(host, port, token, "Rollback", {}, root_certificates, timeout_s)


def acknowledge_results(host: str, port: int, token: str, up_to_id: int, *,
                        root_certificates: bytes | None = None, timeout_s: float = 10.0) -> int:
    """Mark results up to ``up_to_id`` as exported, so the disk limit may delete them; returns the count."""
    reply = _unary(host, port, token, "AckResults", {"up_to_id": up_to_id}, root_certificates, timeout_s)
    return int(reply["acknowledged"])


def _unary(host: str, port: int, token: str, method: str, body: dict[str, Any], root_certificates: bytes | None,
           timeout_s: float) -> dict[str, Any]:
    with _channel(host, port, root_certificates) as channel:
        call = channel.unary_unary(f"/{SERVICE_NAME}/{method}")
        return _invoke(call, json.dumps(body).encode("utf-8"), token, timeout_s)


def _invoke(call: Any, request: Any, token: str, timeout_s: float) -> dict[str, Any]:
    try:
        reply = call(request, timeout=timeout_s, metadata=(("authorization", f"Bearer {token}"),))
    except grpc.RpcError as error:
        raise DeployClientError(error.code().name, error.details() or "no details") from None
    return json.loads(reply)


def _channel(host: str, port: int, root_certificates: bytes | None) -> grpc.Channel:
    target = f"{host}:{port}"
    options = [("grpc.max_send_message_length", 8 * 1024 * 1024), ("grpc.max_receive_message_length", 8 * 1024 * 1024)]
    if root_certificates is not None:
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates), options=options)
    return grpc.insecure_channel(target, options=options)


def _open_archive(path: Path) -> BinaryIO:
    """Open a bundle zip, or zip a bundle directory into a temporary file (kept in memory up to 64 MiB)."""
    if path.is_file():
        return path.open("rb")
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such bundle directory or zip; check the path")
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned to the caller
    with zipfile.ZipFile(spooled, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(path.rglob("*")):
            if item.is_file():
                archive.write(item, item.relative_to(path).as_posix())
    spooled.seek(0)
    return spooled  # type: ignore[return-value]
