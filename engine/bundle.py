"""The bundle: the one directory that travels from the engineering station to a line PC.

A bundle holds ``manifest.json`` and the files it lists (ONNX graph, optional
OpenVINO IR, training state). The manifest records preprocessing, post-processing,
target, precision, training provenance, validation metrics and the SHA-256 of every
other file. :func:`load_manifest` checks schema and hashes before anything is loaded.
This module imports no torch, so the line runtime can use it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labeling.fileio import atomic_write_json

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
DAMAGED_MANIFEST_FIX = (
    "copy the bundle again, or build it again with 'inspect compile MODEL --out BUNDLE' "
    "(for a model directory: 'inspect train GOOD_IMAGES --out MODEL')"
)
"""The fix named by errors about a truncated or corrupt manifest. It covers bundles and model directories alike,
because a damaged manifest no longer shows which of the two the folder is."""


class BundleError(Exception):
    """A bundle is missing, malformed or has been modified; the message names the file and the reason."""


@dataclass(frozen=True)
class Preprocessing:
    """Preprocessing rules that turn an image into the graph's input (the graph itself normalizes 0..255 RGB)."""

    input_height: int
    input_width: int
    bit_depth: int
    resize: str = "stretch"
    colour: str = "rgb"
    gray_rule: str = "repeat-to-3-channels"
    alpha_rule: str = "dropped"
    depth_rule: str = "uint16 scaled by 255/(2**bit_depth-1), clipped"
    normalization: str = "(x - 127) / 128 inside the graph"


@dataclass(frozen=True)
class Postprocessing:
    """Post-processing rules that turn graph outputs into a verdict: threshold, its provenance and score normalization."""

    threshold: float
    normal_level: float
    threshold_method: str
    threshold_margin: float
    threshold_note: str
    sigma_px: float
    score_normalization: str = "linear: 0 at normal_level, 0.5 at threshold, clipped to 0..1"
    min_defect_area_px: int = 0


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json`` of a bundle."""

    bundle_id: str
    created: str
    task: dict[str, Any]
    preprocessing: Preprocessing
    postprocessing: Postprocessing
    target: str
    precision: str
    graphs: dict[str, str]
    head: dict[str, Any]
    training: dict[str, Any]
    validation: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def input_size(self) -> tuple[int, int]:
        """Model input (height, width)."""
        return self.preprocessing.input_height, self.preprocessing.input_width

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, schema version first."""
        data = asdict(self)
        return {"schema_version": data.pop("schema_version"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = MANIFEST_NAME) -> Manifest:
        """Parse a manifest dictionary.

        Raises:
            BundleError: wrong schema version or missing/invalid fields.
        """
        version = data.get("schema_version")
        if version is None:
            raise BundleError(f"{source}: manifest has no schema_version, so it is damaged; {DAMAGED_MANIFEST_FIX}")
        if version != SCHEMA_VERSION:
            raise BundleError(
                f"{source}: schema version {version!r} is not supported (this DefectSeek reads version "
                f"{SCHEMA_VERSION}); compile the model again with this version"
            )
        try:
            values = dict(data)
            values.pop("schema_version")
            values["preprocessing"] = Preprocessing(**values["preprocessing"])
            values["postprocessing"] = Postprocessing(**values["postprocessing"])
            return cls(**values)
        except (KeyError, TypeError) as error:
            raise BundleError(
                f"{source}: manifest is missing or has invalid fields ({error}), so it is damaged; {DAMAGED_MANIFEST_FIX}"
            ) from None


def new_bundle_id() -> str:
    """Return a fresh bundle id."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """Return the current UTC time in ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: str | os.PathLike[str], manifest: Manifest) -> Manifest:
    """Hash every file in ``directory`` except the manifest, then write the manifest atomically.

    Returns:
        The manifest with its ``files`` table filled in.
    """
    root = Path(directory)
    hashes = {
        path.relative_to(root).as_posix(): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
    }
    complete = Manifest(**{**manifest.__dict__, "files": hashes})
    atomic_write_json(root / MANIFEST_NAME, complete.to_dict())
    return complete


def load_manifest(bundle: str | os.PathLike[str], *, verify: bool = True) -> tuple[Path, Manifest]:
    """Locate, parse and verify a bundle.

    Args:
        bundle: a bundle directory, or a ``.zip`` of one (extracted next to it).
        verify: check that every listed file exists with its recorded SHA-256 and
            that no unlisted files were added.

    Returns:
        The bundle directory and its manifest.

    Raises:
        BundleError: the path is not a bundle, or a file is missing, extra or modified.
    """
    root = _bundle_root(Path(bundle))
    manifest_path = root / MANIFEST_NAME
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{root}: no {MANIFEST_NAME}; this is not a DefectSeek model or bundle") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(
            f"{manifest_path}: cannot be read as JSON ({error}), so the manifest is truncated or corrupt; "
            f"{DAMAGED_MANIFEST_FIX}"
        ) from None
    except OSError as error:
        raise BundleError(f"{manifest_path}: cannot be read ({error}); check the path and its permissions") from None
    if not isinstance(data, dict):
        raise BundleError(f"{manifest_path}: expected a JSON object, so the manifest is damaged; {DAMAGED_MANIFEST_FIX}")
    manifest = Manifest.from_dict(data, str(manifest_path))
    if verify:
        verify_files(root, manifest)
    return root, manifest


def verify_files(root: Path, manifest: Manifest) -> None:
    """Check every file against the manifest's SHA-256 table.

    Raises:
        BundleError: naming the first missing, modified or unlisted file.
    """
    for name, expected in manifest.files.items():
        path = root / name
        if not path.is_file():
            raise BundleError(f"{path}: listed in the manifest but missing; copy the whole bundle again")
        if sha256_file(path) != expected:
            raise BundleError(f"{path}: SHA-256 does not match the manifest; the file was modified or damaged")
    listed = set(manifest.files) | {MANIFEST_NAME}
    for path in root.rglob("*"):
        name = path.relative_to(root).as_posix()
        if path.is_file() and name not in listed:
            raise BundleError(f"{path}: not listed in the manifest; remove it or copy the bundle again")


def zip_bundle(directory: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write a bundle directory as a zip archive (written to a temporary name, then renamed)."""
    source = Path(directory)
    destination = Path(target)
    temporary = destination.with_name(f".{destination.name}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    os.replace(temporary, destination)
    return destination


def _bundle_root(path: Path) -> Path:
    if path.is_dir():
        return path
    if path.is_file() and zipfile.is_zipfile(path):
        extracted = path.with_name(path.stem + ".extracted")
        if not (extracted / MANIFEST_NAME).exists():
            staging = path.with_name(f".{path.stem}.staging")
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(path) as archive:
                archive.extractall(staging)
            shutil.rmtree(extracted, ignore_errors=True)
            os.replace(staging, extracted)
        return extracted
    if not path.exists():
        raise BundleError(f"{path}: no such model or bundle; check the path")
    raise BundleError(
        f"{path}: neither a bundle directory nor a bundle .zip; if it is a bundle .zip, it is truncated or corrupt: "
        "copy it again"
    )
