"""Find and load the native OpenVINO extension of the head operators (line-runtime safe: no torch, no onnx).

A compiled bundle that uses the native head carries its own copy of the library
(``ops/<library>``, hashed in the manifest). ``inspect compile`` takes the library from
``DEFECTSEEK_OV_EXTENSION`` when that variable names a file, else from the default
build folder that ``python -m engine.ops.build`` writes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

EXTENSION_ENV = "DEFECTSEEK_OV_EXTENSION"
BUILD_DIR_ENV = "DEFECTSEEK_OPS_BUILD_DIR"

if sys.platform == "win32":
    LIBRARY_NAME = "defectseek_openvino.dll"
elif sys.platform == "darwin":
    LIBRARY_NAME = "libdefectseek_openvino.dylib"
else:
    LIBRARY_NAME = "libdefectseek_openvino.so"


def default_build_dir() -> Path:
    """Return the folder the build script writes to: ``DEFECTSEEK_OPS_BUILD_DIR`` or ``~/.cache/defectseek/ops``."""
    configured = os.environ.get(BUILD_DIR_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "defectseek" / "ops"


def find_extension() -> Path | None:
    """Return the built extension library, or None when it has not been built here."""
    configured = os.environ.get(EXTENSION_ENV)
    if configured:
        path = Path(configured)
        if path.is_file():
            return path
        logger.warning("%s=%s is not a file; looking in the default build folder", EXTENSION_ENV, configured)
    candidate = default_build_dir() / LIBRARY_NAME
    return candidate if candidate.is_file() else None


def add_openvino_extension(core: object, library: Path) -> str | None:
    """Load ``library`` into an ``openvino.Core``; return None on success, else the reason it failed."""
    try:
        core.add_extension(str(library))
    except (RuntimeError, OSError) as error:
        reason = f"the OpenVINO extension {library} could not be loaded ({error})"
        logger.warning("%s", reason)
        return reason
    return None


def search_kernel(library: Path, search: str) -> str | None:
    """Return the kernel that the ``search`` strategy of ``library`` runs on this CPU, or None if unknown.

    Examples: ``int8-screened-avx512-vnni``, ``int8-screened-avx2``, ``fp32-scan-avx512``. The library is loaded through
    ctypes; import ``openvino`` first so that the OpenVINO libraries it links to are found.
    """
    try:
        handle = ctypes.CDLL(str(library))
        function = handle.defectseek_search_kernel
    except (OSError, AttributeError) as error:
        logger.warning("Cannot read the search kernel of %s (%s)", library, error)
        return None
    function.restype = ctypes.c_char_p
    function.argtypes = [ctypes.c_char_p]
    name = function(search.encode("ascii"))
    return name.decode("ascii") if name and name != b"unknown" else None
