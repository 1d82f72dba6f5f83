"""Ed25519 signatures over a bundle's ``manifest.json``.

The manifest lists the SHA-256 of every other bundle file and the runtime checks
those hashes on open, so a valid signature over the manifest bytes vouches for the
whole bundle. The signature travels beside the bundle (never inside it, because the
runtime rejects files the manifest does not list).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST_NAME = "manifest.json"


class SignatureError(ValueError):
    """A bundle signature is missing, malformed or does not match the trusted key."""


def generate_key_pair(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str]) -> None:
    """Write a new Ed25519 key pair as PEM files (the private key unencrypted, mode 0600)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    private_file = Path(private_path)
    private_file.write_bytes(private_pem)
    private_file.chmod(0o600)
    Path(public_path).write_bytes(public_pem)


def sign_manifest(bundle_dir: str | os.PathLike[str], private_key_path: str | os.PathLike[str]) -> bytes:
    """Return the 64-byte Ed25519 signature of ``bundle_dir/manifest.json``."""
    key = serialization.load_pem_private_key(Path(private_key_path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{private_key_path}: not an Ed25519 private key; create one with generate_key_pair")
    return key.sign((Path(bundle_dir) / MANIFEST_NAME).read_bytes())


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key.

    Raises:
        SignatureError: the file is not an Ed25519 public key.
    """
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as error:
        raise SignatureError(f"{path}: cannot be read as a PEM public key ({error})") from error
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{path}: not an Ed25519 public key; export the deploy key's public half as PEM")
    return key


def verify_manifest(bundle_dir: Path, signature: bytes | None, public_key: Ed25519PublicKey) -> None:
    """Check ``signature`` against ``bundle_dir/manifest.json``.

    Raises:
        SignatureError: no signature, or it does not match the manifest and key.
    """
    if not signature:
        raise SignatureError(f"{bundle_dir}: the bundle is not signed, but this station requires signed bundles; "
                             "sign it with the deploy key and push it again")
    try:
        public_key.verify(signature, (bundle_dir / MANIFEST_NAME).read_bytes())
    except InvalidSignature:
        raise SignatureError(f"{bundle_dir}: the signature does not match the manifest and the station's trusted "
                             "key; the bundle was modified or signed with another key") from None
