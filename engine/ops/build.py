"""Build the native head kernels: the OpenVINO CPU extension, and a compile check of the CUDA/HIP source.

Run ``python -m engine.ops.build`` on the engineering station. The extension is built
with CMake against the headers and CMake package inside the installed ``openvino``
wheel (``site-packages/openvino/include`` and ``.../cmake``). Without CMake or a C++
compiler the build fails with a message and bundles keep the function-body head.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from engine.ops.loader import LIBRARY_NAME, default_build_dir

logger = logging.getLogger(__name__)

SOURCE_DIR = Path(__file__).resolve().parent
CPU_SOURCE = SOURCE_DIR / "cpu"
GPU_SOURCE = SOURCE_DIR / "gpu" / "nearest_distance.cu"
BUILD_TIMEOUT_S = 600
GPU_CHECK_TEXT = {
    "ok": "the CUDA/HIP kernel source compiles (a compile check only; no GPU is needed or used)",
    "missing": "not installed, so this compile check was skipped (not needed for CPU bundles)",
}


class OpsBuildError(RuntimeError):
    """The native kernels could not be built; the message names the missing tool or the compiler error."""


def openvino_cmake_dir() -> Path:
    """Return the CMake package folder of the installed openvino wheel.

    Raises:
        OpsBuildError: openvino is not installed or its wheel has no CMake package.
    """
    try:
        import openvino
    except ImportError:
        raise OpsBuildError("openvino is not installed; install it with: pip install openvino") from None
    folder = Path(openvino.__file__).resolve().parent / "cmake"
    if not (folder / "OpenVINOConfig.cmake").is_file():
        raise OpsBuildError(f"{folder}: the openvino wheel ships no CMake package; install the OpenVINO archive instead")
    return folder


def build_openvino_extension(build_dir: Path | None = None) -> Path:
    """Configure and build the CPU extension; return the library path.

    Raises:
        OpsBuildError: CMake, a C++ compiler or the OpenVINO CMake package is missing,
            or compilation failed (the message ends with the compiler output).
    """
    cmake = shutil.which("cmake")
    if cmake is None:
        raise OpsBuildError("cmake was not found on PATH; install CMake 3.16 or newer to build the native head")
    package = openvino_cmake_dir()
    target = Path(build_dir) if build_dir else default_build_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="defectseek-ops-") as work:
        configure = [cmake, "-S", str(CPU_SOURCE), "-B", work, f"-DOpenVINO_DIR={package}", f"-DTBB_DIR={package}"]
        _run(configure, "CMake configuration")
        _run([cmake, "--build", work, "--config", "Release"], "compilation")
        built = next(Path(work).rglob(LIBRARY_NAME), None)
        if built is None:
            raise OpsBuildError(f"the build finished without producing {LIBRARY_NAME}")
        library = target / LIBRARY_NAME
        temporary = target / f".{LIBRARY_NAME}.tmp"
        shutil.copy2(built, temporary)
        temporary.replace(library)
    logger.info("Built the OpenVINO extension %s", library)
    return library


def check_gpu_kernels(build_dir: Path | None = None) -> dict[str, str]:
    """Compile the CUDA/HIP source with each toolchain found (nvcc, hipcc) to an object file.

    Returns:
        Per toolchain: ``"ok"``, ``"missing"`` or the first line of the compiler error.
    """
    target = Path(build_dir) if build_dir else default_build_dir()
    target.mkdir(parents=True, exist_ok=True)
    results = {}
    for tool, extra in (("nvcc", ["-O3", "-std=c++17"]), ("hipcc", ["-O3", "-std=c++17", "-x", "hip"])):
        path = shutil.which(tool)
        if path is None:
            results[tool] = "missing"
            continue
        command = [path, *extra, "-c", str(GPU_SOURCE), "-o", str(target / f"nearest_distance.{tool}.o")]
        try:
            _run(command, f"{tool} compilation")
            results[tool] = "ok"
        except OpsBuildError as error:
            results[tool] = str(error).splitlines()[0]
    return results


def _run(command: list[str], step: str) -> None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OpsBuildError(f"{step} failed to run ({error})") from None
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()[-4000:]
        raise OpsBuildError(f"{step} failed (exit status {completed.returncode}):\n{output}")


def main(argv: list[str] | None = None) -> int:
    """Build the extension and compile-check the GPU kernels; print where the library went."""
    parser = argparse.ArgumentParser(prog="python -m engine.ops.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help=f"build folder (default: {default_build_dir()})")
    parser.add_argument("--skip-gpu", action="store_true", help="skip the nvcc/hipcc compile check")
    args = parser.parse_args(argv)
    try:
        library = build_openvino_extension(args.out)
    except OpsBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"openvino extension: {library}")
    if not args.skip_gpu:
        for tool, result in check_gpu_kernels(args.out).items():
            print(f"{tool}: {GPU_CHECK_TEXT.get(result, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
