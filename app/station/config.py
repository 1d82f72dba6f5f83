"""The station config file (TOML or JSON) and its validation.

Every error names the file, the key and the fix, for example
``station.toml: pipeline.result_deadline_ms must be a number > 0, got -5``.
See docs/station.md for a complete example.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

CAMERA_KINDS = ("opencv", "genicam", "pylon", "folder", "fake")
PLC_PROTOCOLS = ("none", "modbus", "opcua")
CAMERA_MODES = ("free_run", "plc")
OPCUA_SECURITY_MODES = ("Sign", "SignAndEncrypt", "None")


class ConfigError(ValueError):
    """The station config is invalid; the message names the file, the key and the fix."""


Check = Callable[[Any], bool]


@dataclass(frozen=True)
class _Key:
    kind: tuple[type, ...]
    default: Any
    check: Check | None = None
    rule: str = ""


def _positive(value: Any) -> bool:
    return value > 0


def _non_negative(value: Any) -> bool:
    return value >= 0


NUMBER = (int, float)
SECTIONS: dict[str, dict[str, _Key]] = {
    "station": {
        "name": _Key((str,), "station"),
        "data_dir": _Key((str,), None),
        "log_level": _Key((str,), "INFO", lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
                          "one of DEBUG, INFO, WARNING, ERROR"),
    },
    "model": {
        "engine": _Key((str,), "auto", lambda v: v in ("auto", "openvino", "onnxruntime"),
                       "one of auto, openvino, onnxruntime"),
        "device": _Key((str,), "auto", lambda v: v in ("auto", "cpu", "nvidia", "amd"), "one of auto, cpu, nvidia, amd"),
        "bundle": _Key((str,), "", None, "a bundle directory or zip installed when none is deployed yet"),
    },
    "pipeline": {
        "result_deadline_ms": _Key(NUMBER, 500, _positive, "a number > 0"),
        "queue_size": _Key((int,), 16, _positive, "an integer > 0"),
        "max_batch": _Key((int,), 4, _positive, "an integer > 0"),
        "batch_window_ms": _Key(NUMBER, 5, _non_negative, "a number >= 0"),
    },
    "store": {
        "max_disk_mb": _Key(NUMBER, 0, _non_negative, "a number >= 0 (0 means no limit)"),
        "ok_sample_every": _Key((int,), 0, _non_negative, "an integer >= 0 (0 keeps no OK images)"),
        "image_format": _Key((str,), "png", lambda v: v in ("png", "jpg", "bmp", "tif"), "one of png, jpg, bmp, tif"),
        "sync": _Key((str,), "full", lambda v: v in ("full", "normal"),
                     "full (survives power loss) or normal (survives process crashes, faster)"),
    },
    "plc": {
        "protocol": _Key((str,), "none", lambda v: v in PLC_PROTOCOLS, "one of none, modbus, opcua"),
        "host": _Key((str,), "127.0.0.1"),
        "port": _Key((int,), 0, lambda v: 0 <= v <= 65535, "a TCP port 0..65535 (0: 502 for modbus, 4840 for opcua)"),
        "device_id": _Key((int,), 0, lambda v: 0 <= v <= 247, "a Modbus unit id 0..247 (0 answers every id)"),
        "heartbeat_ms": _Key(NUMBER, 500, _non_negative, "a number >= 0 (0 disables the heartbeat)"),
        "opcua_security_mode": _Key((str,), "SignAndEncrypt", lambda v: v in OPCUA_SECURITY_MODES,
                                    "one of Sign, SignAndEncrypt (Basic256Sha256) or None (no security)"),
        "opcua_certificate": _Key((str,), "", None, "the OPC UA server certificate file (DER or PEM)"),
        "opcua_private_key": _Key((str,), "", None, "the unencrypted private key file of the certificate"),
        "opcua_trusted_clients": _Key((str,), "", None, "a folder of trusted client certificates, or empty"),
        "opcua_username": _Key((str,), "", None, "the one user allowed to log in, or empty for anonymous"),
        "opcua_password_file": _Key((str,), "", None, "a file holding the password of opcua_username"),
    },
    "mes": {
        "webhook_url": _Key((str,), "", lambda v: v == "" or v.startswith(("http://", "https://")),
                            "an http:// or https:// URL, or empty"),
        "timeout_s": _Key(NUMBER, 5, _positive, "a number > 0"),
    },
    "deploy": {
        "enabled": _Key((bool,), False),
        "host": _Key((str,), "127.0.0.1"),
        "port": _Key((int,), 50051, lambda v: 0 <= v <= 65535, "a TCP port 0..65535"),
        "token_file": _Key((str,), ""),
        "tls_cert": _Key((str,), ""),
        "tls_key": _Key((str,), ""),
        "public_key": _Key((str,), ""),
        "require_signature": _Key((bool,), False),
        "max_bundle_mb": _Key(NUMBER, 4096, _positive, "a number > 0"),
    },
}

CAMERA_COMMON: dict[str, _Key] = {
    "id": _Key((str,), None, lambda v: v != "" and "/" not in v and "#" not in v, "a non-empty name without / or #"),
    "kind": _Key((str,), None, lambda v: v in CAMERA_KINDS, "one of " + ", ".join(CAMERA_KINDS)),
    "lane": _Key((int,), None, _non_negative, "an integer >= 0, unique per camera"),
    "mode": _Key((str,), "free_run", lambda v: v in CAMERA_MODES, "free_run or plc"),
    "hardware_trigger": _Key((bool,), False),
    "frozen_after_s": _Key(NUMBER, 1.0, _positive, "a number > 0"),
    "lost_after_s": _Key(NUMBER, 1.5, _positive, "a number > 0"),
    "reconnect_frozen_after_s": _Key(NUMBER, 3.0, _positive, "a number > 0"),
    "backoff_max_s": _Key(NUMBER, 30.0, _positive, "a number > 0"),
}

CAMERA_OPTIONS: dict[str, dict[str, _Key]] = {
    "opencv": {"uri": _Key((str, int), None, None, "a device index, a file path or an rtsp:// URL"),
               "width": _Key((int,), 0, _non_negative, "pixels, 0 keeps the camera's"),
               "height": _Key((int,), 0, _non_negative, "pixels, 0 keeps the camera's"),
               "loop": _Key((bool,), False)},
    "genicam": {"cti": _Key((str,), None, None, "the path of a GenTL producer .cti file"),
                "device": _Key((str, int), 0, None, "a device index, serial number or id"),
                "software_trigger": _Key((bool,), False),
                "timeout_ms": _Key((int,), 1000, _positive, "an integer > 0")},
    "pylon": {"serial": _Key((str,), ""),
              "software_trigger": _Key((bool,), False),
              "timeout_ms": _Key((int,), 1000, _positive, "an integer > 0"),
              "emulation_images": _Key((str,), "", None, "a folder of images the pylon camera emulator replays")},
    "folder": {"path": _Key((str,), None, None, "the folder to watch"),
               "poll_s": _Key(NUMBER, 0.2, _positive, "a number > 0"),
               "settle_s": _Key(NUMBER, 0.5, _non_negative, "a number >= 0"),
               "done_dir": _Key((str,), "", None, "where judged files are moved; empty leaves them")},
    "fake": {"distinct_frames": _Key((int,), 1_000_000, _positive, "an integer > 0"),
             "after": _Key((str,), "continue"),
             "fps": _Key(NUMBER, 10.0, _non_negative, "a number >= 0"),
             "width": _Key((int,), 320, _positive, "an integer > 0"),
             "height": _Key((int,), 240, _positive, "an integer > 0"),
             "seed": _Key((int,), 0),
             "software_trigger": _Key((bool,), False)},
}


@dataclass(frozen=True)
class CameraConfig:
    """One camera: common feed settings plus the options of its kind."""

    id: str
    kind: str
    lane: int
    mode: str
    hardware_trigger: bool
    frozen_after_s: float
    lost_after_s: float
    reconnect_frozen_after_s: float
    backoff_max_s: float
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StationConfig:
    """The validated station config; each section is a dict of its keys with defaults filled in."""

    path: Path
    station: dict[str, Any]
    model: dict[str, Any]
    pipeline: dict[str, Any]
    store: dict[str, Any]
    plc: dict[str, Any]
    mes: dict[str, Any]
    deploy: dict[str, Any]
    cameras: tuple[CameraConfig, ...]

    @property
    def data_dir(self) -> Path:
        """The station's data directory (results store and deploy root)."""
        return Path(self.station["data_dir"])

    def opcua_password(self) -> str:
        """Read the OPC UA password from ``plc.opcua_password_file`` (or ``DEFECTSEEK_OPCUA_PASSWORD``)."""
        password_file = self.plc["opcua_password_file"]
        if password_file:
            return Path(password_file).read_text(encoding="utf-8").strip()
        return os.environ.get("DEFECTSEEK_OPCUA_PASSWORD", "").strip()

    def deploy_token(self) -> str:
        """Read the deploy token from ``deploy.token_file`` (or ``DEFECTSEEK_DEPLOY_TOKEN``)."""
        token_file = self.deploy["token_file"]
        if token_file:
            return Path(token_file).read_text(encoding="utf-8").strip()
        return os.environ.get("DEFECTSEEK_DEPLOY_TOKEN", "").strip()


def load_config(path: str | os.PathLike[str]) -> StationConfig:
    """Read and validate a ``.toml`` or ``.json`` station config.

    Raises:
        ConfigError: the file is missing, unparsable, or a key is unknown, missing or invalid.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read ({error.strerror}); check the --config path") from None
    try:
        data = json.loads(raw) if file.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: invalid {'JSON' if file.suffix.lower() == '.json' else 'TOML'} ({error})") from None
    return parse_config(data, file)


def parse_config(data: dict[str, Any], path: Path) -> StationConfig:
    """Validate a parsed config (see :func:`load_config`)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table of sections")
    unknown = sorted(set(data) - set(SECTIONS) - {"cameras"})
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r}; allowed: {', '.join([*SECTIONS, 'cameras'])}")
    sections = {name: _section(path, name, data.get(name, {}), keys) for name, keys in SECTIONS.items()}
    if not sections["station"]["data_dir"]:
        raise ConfigError(f"{path}: station.data_dir is missing; set it to a writable folder for results and bundles")
    cameras = _cameras(path, data.get("cameras", []))
    _check_deploy(path, sections["deploy"])
    _check_opcua(path, sections["plc"])
    return StationConfig(path=path, cameras=cameras, **sections)


def _section(path: Path, name: str, values: Any, keys: dict[str, _Key]) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [{name}] must be a table of keys")
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key {name}.{unknown[0]}; allowed keys: {', '.join(keys)}")
    result = {}
    for key, spec in keys.items():
        result[key] = _value(path, f"{name}.{key}", values.get(key, spec.default), spec, key in values)
    return result


def _value(path: Path, label: str, value: Any, spec: _Key, given: bool) -> Any:
    if value is None:
        if spec.default is None and not given:
            return None
        raise ConfigError(f"{path}: {label} is missing; set it to {spec.rule or _type_name(spec.kind)}")
    wrong_type = not isinstance(value, spec.kind) or (isinstance(value, bool) and bool not in spec.kind)
    if wrong_type:
        raise ConfigError(f"{path}: {label} must be {_type_name(spec.kind)}, got {value!r}")
    if spec.check is not None and not spec.check(value):
        raise ConfigError(f"{path}: {label} must be {spec.rule}, got {value!r}")
    return value


def _cameras(path: Path, entries: Any) -> tuple[CameraConfig, ...]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no cameras; add at least one [[cameras]] table with id, kind and lane")
    cameras = []
    for index, entry in enumerate(entries):
        label = f"cameras[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {label} must be a table")
        kind = entry.get("kind")
        if kind not in CAMERA_KINDS:
            raise ConfigError(f"{path}: {label}.kind must be one of {', '.join(CAMERA_KINDS)}, got {kind!r}")
        keys = {**CAMERA_COMMON, **CAMERA_OPTIONS[kind]}
        values = _section(path, label, entry, keys)
        for key, spec in keys.items():
            if spec.default is None and values[key] is None:
                raise ConfigError(f"{path}: {label}.{key} is missing; set it to {spec.rule or _type_name(spec.kind)}")
        common = {key: values[key] for key in CAMERA_COMMON}
        cameras.append(CameraConfig(**common, options={key: values[key] for key in CAMERA_OPTIONS[kind]}))
    for attribute in ("id", "lane"):
        seen = [getattr(camera, attribute) for camera in cameras]
        duplicates = sorted({value for value in seen if seen.count(value) > 1}, key=str)
        if duplicates:
            raise ConfigError(f"{path}: cameras share {attribute} {duplicates[0]!r}; give each camera its own {attribute}")
    return tuple(cameras)


def _check_deploy(path: Path, deploy: dict[str, Any]) -> None:
    if not deploy["enabled"]:
        return
    if not deploy["token_file"] and not os.environ.get("DEFECTSEEK_DEPLOY_TOKEN"):
        raise ConfigError(f"{path}: deploy.enabled is true but deploy.token_file is empty; point it to a file "
                          "holding a long random token (or set DEFECTSEEK_DEPLOY_TOKEN)")
    if bool(deploy["tls_cert"]) != bool(deploy["tls_key"]):
        raise ConfigError(f"{path}: set both deploy.tls_cert and deploy.tls_key, or neither")
    if deploy["require_signature"] and not deploy["public_key"]:
        raise ConfigError(f"{path}: deploy.require_signature is true but deploy.public_key is empty; "
                          "set it to the PEM public key that signs bundles")


def _check_opcua(path: Path, plc: dict[str, Any]) -> None:
    if plc["protocol"] != "opcua":
        return
    if plc["opcua_security_mode"] != "None" and not (plc["opcua_certificate"] and plc["opcua_private_key"]):
        raise ConfigError(f"{path}: plc.opcua_security_mode is {plc['opcua_security_mode']} but "
                          "plc.opcua_certificate or plc.opcua_private_key is empty; generate a pair with "
                          "`defectseek-station --make-opcua-certificate DIR` and set both, or set "
                          'plc.opcua_security_mode = "None" to run without security')
    if plc["opcua_username"] and not plc["opcua_password_file"] and not os.environ.get("DEFECTSEEK_OPCUA_PASSWORD"):
        raise ConfigError(f"{path}: plc.opcua_username is set but plc.opcua_password_file is empty; point it to "
                          "a file holding the password (or set DEFECTSEEK_OPCUA_PASSWORD)")


def _type_name(kinds: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if kinds == NUMBER:
        return "a number"
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)
