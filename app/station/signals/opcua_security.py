"""Security of the station's OPC UA endpoint: settings, certificate loading and self-signed certificates.

The endpoint offers the Basic256Sha256 policy in one message security mode, ``Sign``
or ``SignAndEncrypt``, with the server certificate and private key from files.
``None`` (no signing, no encryption) is offered only when the config names it.
Client application certificates are accepted when they are in the trusted folder;
without one, any client certificate opens a secure channel. With a username set, each
session must log in with that username and password; otherwise sessions are
anonymous over the secure channel.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

SECURITY_MODES = ("Sign", "SignAndEncrypt", "None")
DEFAULT_APPLICATION_URI = "urn:defectseek:station"
CERTIFICATE_FILE = "opcua-server.der"
PRIVATE_KEY_FILE = "opcua-server-key.pem"
RSA_KEY_BITS = 2048
VALID_DAYS = 3650


class OpcUaSecurityError(RuntimeError):
    """The OPC UA security settings cannot be used; the message names the file or key and the fix."""


@dataclass(frozen=True)
class OpcUaSecurity:
    """Security settings of the OPC UA endpoint.

    Attributes:
        mode: ``Sign``, ``SignAndEncrypt`` (Basic256Sha256) or ``None`` (no security).
        certificate: the server's X.509 certificate, DER or PEM.
        private_key: the unencrypted private key of ``certificate``, PEM or DER.
        trusted_clients: a folder of trusted client certificates (DER or PEM); None
            accepts any client certificate.
        username: the one user allowed to log in; empty allows anonymous sessions.
        password: that user's password.
    """

    mode: str = "SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    trusted_clients: Path | None = None
    username: str = ""
    password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.mode not in SECURITY_MODES:
            raise OpcUaSecurityError(f"OPC UA security mode {self.mode!r} is not supported; "
                                     f"use one of {', '.join(SECURITY_MODES)}")

    @property
    def secured(self) -> bool:
        """True when the endpoint signs (and maybe encrypts) its messages."""
        return self.mode != "None"


@dataclass(frozen=True)
class ServerCredentials:
    """A loaded, matching server certificate and private key."""

    certificate_der: bytes
    private_key_pem: bytes = field(repr=False)
    application_uri: str


def load_server_credentials(security: OpcUaSecurity) -> ServerCredentials:
    """Read and check the server certificate and private key named in ``security``.

    Raises:
        OpcUaSecurityError: a file is not set, missing, unreadable or not a certificate or
            key, or the key does not belong to the certificate.
    """
    certificate = _load_certificate(_read("plc.opcua_certificate", security.certificate))
    if certificate is None:
        raise OpcUaSecurityError(f"plc.opcua_certificate {security.certificate} is not an X.509 certificate "
                                 "(DER or PEM); point it to the server certificate")
    key_bytes = _read("plc.opcua_private_key", security.private_key)
    try:
        key = _load_private_key(key_bytes)
    except (ValueError, TypeError) as error:
        raise OpcUaSecurityError(f"plc.opcua_private_key {security.private_key} cannot be loaded ({error}); "
                                 "it must be an unencrypted RSA key in PEM or DER") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise OpcUaSecurityError(f"plc.opcua_private_key {security.private_key} is not an RSA key; "
                                 "Basic256Sha256 needs RSA")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
        raise OpcUaSecurityError(f"plc.opcua_private_key {security.private_key} does not belong to "
                                 f"plc.opcua_certificate {security.certificate}; use the pair generated together")
    expires = certificate.not_valid_after_utc
    if expires < datetime.datetime.now(datetime.timezone.utc):
        raise OpcUaSecurityError(f"plc.opcua_certificate {security.certificate} expired on {expires:%Y-%m-%d}; "
                                 "generate a new pair and give the PLC the new certificate")
    return ServerCredentials(
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
        application_uri=application_uri_of(certificate) or DEFAULT_APPLICATION_URI,
    )


def load_trusted_certificates(folder: Path) -> list[x509.Certificate]:
    """Load every certificate in ``folder`` (files that are not certificates are skipped with a warning).

    Raises:
        OpcUaSecurityError: the folder is missing or contains no certificate.
    """
    if not folder.is_dir():
        raise OpcUaSecurityError(f"plc.opcua_trusted_clients {folder} is not a folder; create it and copy the "
                                 "PLC's client certificate into it, or leave the key empty")
    certificates = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        certificate = _load_certificate(_read("plc.opcua_trusted_clients", path))
        if certificate is None:
            logger.warning("OPC UA: %s in the trusted client folder is not a certificate; skipped", path)
            continue
        certificates.append(certificate)
    if not certificates:
        raise OpcUaSecurityError(f"plc.opcua_trusted_clients {folder} contains no certificate; copy the PLC's "
                                 "client certificate (DER or PEM) into it")
    return certificates


def application_uri_of(certificate: x509.Certificate) -> str | None:
    """Return the first URI in the certificate's subject alternative names, or None."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


class StationUserManager:
    """Grant sessions the asyncua ``User`` role: any session, or only the configured user.

    Args:
        username: the user allowed to log in; empty grants anonymous sessions.
        password: that user's password, compared in constant time.
    """

    def __init__(self, username: str = "", password: str = "") -> None:
        self._username = username
        self._password = password.encode("utf-8")
        self.rejected = 0

    def get_user(self, iserver: Any, username: str | None = None, password: str | bytes | None = None,
                 certificate: Any = None) -> Any:
        """Return the session's user, or None to reject it (asyncua's user manager interface)."""
        from asyncua.crypto.permission_rules import User, UserRole

        if not self._username:
            return User(role=UserRole.User)
        given = password.encode("utf-8") if isinstance(password, str) else (password or b"")
        if username == self._username and hmac.compare_digest(given, self._password):
            return User(role=UserRole.User, name=username)
        self.rejected += 1
        logger.warning("OPC UA: login as %r rejected (wrong username or password; %d rejected so far)",
                       username, self.rejected)
        return None


def make_self_signed_certificate(common_name: str, application_uri: str, hostnames: list[str],
                                 valid_days: int = VALID_DAYS) -> tuple[bytes, bytes]:
    """Create an OPC UA application certificate signed by its own key.

    The subject alternative names are the application URI and the host names (or IP
    addresses). The certificate has the key usages OPC UA requires and both the server
    and the client extended key usage, so the station and a test client can both use it.

    Returns:
        The certificate as DER and the unencrypted private key as PEM.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DefectSeek")])
    alternative_names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for host in hostnames:
        try:
            alternative_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternative_names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                     data_encipherment=True, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.DER), key_pem


def write_server_certificate(folder: Path, hostnames: list[str] | None = None) -> tuple[Path, Path]:
    """Write a self-signed station certificate and its key into ``folder`` (no network access).

    The key file is created readable by its owner only. Existing files are not replaced.

    Returns:
        The certificate path (DER) and the private key path (PEM).

    Raises:
        FileExistsError: the folder already contains a certificate or key of that name.
    """
    hostnames = hostnames or [socket.gethostname()]
    certificate_path, key_path = folder / CERTIFICATE_FILE, folder / PRIVATE_KEY_FILE
    for path in (certificate_path, key_path):
        if path.exists():
            raise FileExistsError(f"{path} already exists; move it away or pick another folder")
    application_uri = f"{DEFAULT_APPLICATION_URI}:{hostnames[0]}"
    certificate_der, key_pem = make_self_signed_certificate(f"DefectSeek station {hostnames[0]}", application_uri,
                                                            hostnames)
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_pem)
    certificate_path.write_bytes(certificate_der)
    return certificate_path, key_path


def _read(key: str, path: Path | None) -> bytes:
    if path is None or str(path) == "":
        raise OpcUaSecurityError(f"{key} is not set; OPC UA security needs the server certificate and key "
                                 "(generate them with `defectseek-station --make-opcua-certificate DIR`)")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise OpcUaSecurityError(f"{key} {path} not found; generate a pair with "
                                 "`defectseek-station --make-opcua-certificate DIR` or fix the path") from None
    except OSError as error:
        raise OpcUaSecurityError(f"{key} {path} cannot be read ({error.strerror}); let the station's user "
                                 "read it") from None


def _load_certificate(data: bytes) -> x509.Certificate | None:
    for loader in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
        try:
            return loader(data)
        except ValueError:
            continue
    return None


def _load_private_key(data: bytes) -> Any:
    if data.lstrip().startswith(b"-----BEGIN"):
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_der_private_key(data, password=None)
