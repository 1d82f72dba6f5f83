"""Bundles on the line PC: install beside the old one, verify, warm up, swap atomically, roll back.

Layout under the deploy root::

    bundles/<name>/        one installed bundle (exactly as built; the runtime verifies its hashes)
    bundles/<name>.sig     its Ed25519 signature over manifest.json, when one was sent
    staging/               archives being received or extracted (emptied at startup)
    state.json             {"current": name, "previous": name}

A new bundle is opened and warmed up before the swap, so the pipeline never judges
a frame with a half-loaded model, and the previous bundle stays installed for rollback.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.station.judge import Judge, JudgeOpener, JudgeSlot
from app.station.signing import MANIFEST_NAME, SignatureError, verify_manifest
from labeling.fileio import atomic_write_bytes, atomic_write_json

logger = logging.getLogger(__name__)

STATE_NAME = "state.json"
DEFAULT_MAX_BUNDLE_BYTES = 4 * 1024**3
DEFAULT_KEEP_BUNDLES = 3


class DeployError(RuntimeError):
    """A bundle was rejected or could not be installed; the station keeps its current model."""


@dataclass(frozen=True)
class InstalledBundle:
    """A bundle installed on this station."""

    name: str
    path: Path
    bundle_id: str
    description: str


class BundleManager:
    """Install, swap and roll back bundles for one :class:`JudgeSlot`.

    Args:
        root: the deploy directory (created if missing).
        slot: the judge slot the pipeline reads.
        opener: loads and verifies a bundle directory into a judge.
        public_key: trusted Ed25519 key; signatures are checked when it is set.
        require_signature: reject unsigned bundles (needs ``public_key``).
        keep: installed bundles to keep, current and previous included.
        on_swap: called after every swap (the pipeline refreshes READY).
    """

    def __init__(self, root: Path, slot: JudgeSlot, opener: JudgeOpener, *,
                 public_key: Ed25519PublicKey | None = None, require_signature: bool = False,
                 keep: int = DEFAULT_KEEP_BUNDLES, max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES,
                 on_swap: Callable[[], None] | None = None) -> None:
        if require_signature and public_key is None:
            raise ValueError("require_signature needs a trusted public key; set deploy.public_key in the config")
        self.root = Path(root)
        self.bundles_dir = self.root / "bundles"
        self.staging_dir = self.root / "staging"
        self.bundles_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.slot = slot
        self.opener = opener
        self.public_key = public_key
        self.require_signature = require_signature
        self.keep = max(2, keep)
        self.max_bundle_bytes = max_bundle_bytes
        self.on_swap = on_swap
        self._deploy_lock = threading.Lock()
        self._state = self._read_state()

    # -- public API ---------------------------------------------------------

    def install_archive(self, archive: Path, signature: bytes | None = None) -> InstalledBundle:
        """Install a zipped bundle and put it in service.

        Raises:
            DeployError: the archive is unsafe or too large, the signature fails,
                the runtime rejects the bundle, or another deploy is running.
        """
        staging = self.staging_dir / uuid.uuid4().hex
        try:
            self._extract(archive, staging)
            return self._install(_bundle_root(staging), signature)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def install_directory(self, source: Path, signature: bytes | None = None) -> InstalledBundle:
        """Copy a bundle directory in and put it in service (see :meth:`install_archive`)."""
        staging = self.staging_dir / uuid.uuid4().hex
        try:
            shutil.copytree(source, staging)
            return self._install(_bundle_root(staging), signature)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def rollback(self) -> InstalledBundle:
        """Put the previous bundle back in service; the current one becomes the previous.

        Raises:
            DeployError: there is no previous bundle, or it no longer loads.
        """
        if not self._deploy_lock.acquire(blocking=False):
            raise DeployError("Another deploy or rollback is in progress; try again when it finishes.")
        try:
            previous = self._state.get("previous")
            if not previous or not (self.bundles_dir / previous).is_dir():
                raise DeployError("No previous bundle is installed, so there is nothing to roll back to.")
            judge = self._open(self.bundles_dir / previous)
            self._swap(previous, judge)
            logger.info("Rolled back to bundle %s (%s)", judge.bundle_id, previous)
            return InstalledBundle(previous, self.bundles_dir / previous, judge.bundle_id, judge.description)
        finally:
            self._deploy_lock.release()

    def load_current(self) -> Judge | None:
        """Open the bundle recorded as current (or, if it fails, the previous one) at startup."""
        for key in ("current", "previous"):
            name = self._state.get(key)
            if not name:
                continue
            try:
                judge = self._open(self.bundles_dir / name)
            except DeployError as error:
                logger.error("Installed bundle %s could not be loaded: %s", name, error)
                continue
            self.slot.swap(judge)
            if key == "previous":
                self._state = {"current": name, "previous": None}
                atomic_write_json(self.root / STATE_NAME, self._state)
            if self.on_swap:
                self.on_swap()
            return judge
        return None

    def status(self) -> dict[str, object]:
        """Return the current and previous bundle names and the installed list."""
        installed = sorted(path.name for path in self.bundles_dir.iterdir() if path.is_dir())
        return {"current": self._state.get("current"), "previous": self._state.get("previous"),
                "installed": installed}

    # -- internals ----------------------------------------------------------

    def _install(self, bundle_dir: Path, signature: bytes | None) -> InstalledBundle:
        if not self._deploy_lock.acquire(blocking=False):
            raise DeployError("Another deploy or rollback is in progress; try again when it finishes.")
        try:
            self._check_signature(bundle_dir, signature)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
            target = self.bundles_dir / name
            bundle_dir.rename(target)
            if signature:
                atomic_write_bytes(self.bundles_dir / f"{name}.sig", signature)
            try:
                judge = self._open(target)
            except DeployError:
                shutil.rmtree(target, ignore_errors=True)
                (self.bundles_dir / f"{name}.sig").unlink(missing_ok=True)
                raise
            self._swap(name, judge)
            self._prune()
            logger.info("Deployed bundle %s as %s", judge.bundle_id, name)
            return InstalledBundle(name, target, judge.bundle_id, judge.description)
        finally:
            self._deploy_lock.release()

    def _check_signature(self, bundle_dir: Path, signature: bytes | None) -> None:
        if self.public_key is None:
            if signature:
                logger.warning("A signature came with the bundle but no trusted key is configured; not checked")
            return
        if not signature and not self.require_signature:
            logger.warning("Unsigned bundle accepted because deploy.require_signature is false")
            return
        try:
            verify_manifest(bundle_dir, signature, self.public_key)
        except SignatureError as error:
            raise DeployError(str(error)) from error

    def _open(self, bundle_dir: Path) -> Judge:
        try:
            judge = self.opener(bundle_dir)
            judge.warm_up()
        except Exception as error:  # noqa: BLE001 - any load failure rejects the bundle, keeping the old model
            raise DeployError(f"Bundle {bundle_dir.name} was rejected by the runtime: {error}") from error
        return judge

    def _swap(self, name: str, judge: Judge) -> None:
        current = self._state.get("current")
        self.slot.swap(judge)
        self._state = {"current": name, "previous": current if current != name else self._state.get("previous")}
        atomic_write_json(self.root / STATE_NAME, self._state)
        if self.on_swap:
            self.on_swap()

    def _prune(self) -> None:
        protected = {self._state.get("current"), self._state.get("previous")}
        installed = sorted((path for path in self.bundles_dir.iterdir() if path.is_dir()), key=lambda p: p.name)
        removable = [path for path in installed if path.name not in protected]
        for path in removable[: max(0, len(installed) - self.keep)]:
            shutil.rmtree(path, ignore_errors=True)
            (self.bundles_dir / f"{path.name}.sig").unlink(missing_ok=True)
            logger.info("Removed old bundle %s", path.name)

    def _extract(self, archive: Path, target: Path) -> None:
        try:
            with zipfile.ZipFile(archive) as bundle_zip:
                total = 0
                for info in bundle_zip.infolist():
                    parts = PurePosixPath(info.filename).parts
                    if info.filename.startswith("/") or ".." in parts or (info.external_attr >> 28) == 0o12:
                        raise DeployError(f"Archive entry {info.filename!r} points outside the bundle; rebuild the zip")
                    total += info.file_size
                if total > self.max_bundle_bytes:
                    raise DeployError(f"Bundle archive unpacks to {total} bytes, over the limit of "
                                      f"{self.max_bundle_bytes}; raise deploy.max_bundle_mb if this is expected")
                bundle_zip.extractall(target)
        except zipfile.BadZipFile as error:
            raise DeployError(f"The uploaded file is not a valid zip archive ({error}); send the bundle again") from error

    def _read_state(self) -> dict[str, str | None]:
        path = self.root / STATE_NAME
        if not path.exists():
            return {"current": None, "previous": None}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            logger.error("%s cannot be read (%s); starting without a current bundle", path, error)
            return {"current": None, "previous": None}
        return {"current": data.get("current"), "previous": data.get("previous")}


def _bundle_root(folder: Path) -> Path:
    if (folder / MANIFEST_NAME).is_file():
        return folder
    children = [child for child in folder.iterdir() if child.is_dir()]
    if len(children) == 1 and (children[0] / MANIFEST_NAME).is_file():
        return children[0]
    raise DeployError(f"No {MANIFEST_NAME} at the top of the bundle or in its single folder; "
                      "push the directory that `inspect train` or `inspect compile` wrote")
