"""Shrink a PyInstaller one-folder build after PyInstaller has run (Linux only).

Three steps, each of which keeps every feature (the studio runs only the last):

1. OpenCV's wheel bundles OpenBLAS with libgfortran and libquadmath (about 50 MB)
   for its matrix routines (``cv2.gemm``, ``cv2.solve``, SVD, eigenvectors), which
   the runtime never calls. They are replaced by the build machine's reference BLAS
   and LAPACK (Debian's libblas3 and liblapack3, about 11 MB with libgfortran).
   A small library under OpenBLAS's file name links them, so ``cv2`` loads
   unchanged and its matrix routines still work, only slower on large matrices.
2. The libraries in OpenCV's ``*.libs`` folder that nothing links to any more (the
   wheel's libgfortran and libquadmath) are removed, with PyInstaller's links to them.
3. Shared libraries lose their symbol tables and debug sections (``strip
   --strip-unneeded``). torch's symbol tables and the debug sections of some Python
   builds (pyenv's libpython and extension modules) are the largest. A stripped
   copy replaces the original only when its loadable segments stay page-aligned,
   because ``strip`` breaks some libraries that ``patchelf`` has edited (NumPy's
   OpenBLAS, for one).

Usage: ``python installer/trim_build.py dist/defectseek-runtime`` (the build
script runs it on both packages). ``--keep-opencv-blas`` skips the first two steps.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

OPENCV_LIBS_FOLDER = "opencv_python_headless.libs"
OPENBLAS_NAME_PATTERN = re.compile(r"^libopenblas.*\.so(\.\d+)*$")
MULTIARCH_LIB_DIR = Path("/usr/lib") / (sysconfig.get_config_var("MULTIARCH") or f"{platform.machine()}-linux-gnu")
# The reference libraries in load order: each one links only to those before it and
# to the C and GCC runtime libraries that every system has. Debian installs BLAS and
# LAPACK in subfolders that its alternatives system links to, so these paths name the
# reference build even where OpenBLAS or another implementation is the system default.
REFERENCE_BLAS_LIBRARIES = (
    MULTIARCH_LIB_DIR / "libquadmath.so.0",
    MULTIARCH_LIB_DIR / "libgfortran.so.5",
    MULTIARCH_LIB_DIR / "blas" / "libblas.so.3",
    MULTIARCH_LIB_DIR / "lapack" / "liblapack.so.3",
)
REFERENCE_BLAS_PACKAGES = "gcc libblas3 liblapack3 libgfortran5"
# Debian's copyright files of the copied libraries, packed beside them (BSD-3-Clause for
# BLAS and LAPACK, GPL-3 with the GCC Runtime Library Exception for libgfortran and libquadmath).
REFERENCE_BLAS_COPYRIGHTS = tuple(
    Path("/usr/share/doc") / package / "copyright"
    for package in ("libblas3", "liblapack3", "libgfortran5", "libquadmath0")
)
LICENSES_FOLDER = "reference-blas-licenses"
ELF_MAGIC = b"\x7fELF"
PT_LOAD = 1
PAGE_SIZE_BYTES = 4096


class TrimError(RuntimeError):
    """A trimming step cannot run on this build machine; the message names the fix."""


@dataclass(frozen=True)
class Cut:
    """One thing removed or shrunk, with the bytes it saved."""

    description: str
    saved_bytes: int


def is_elf(path: Path) -> bool:
    """Return whether ``path`` is a regular file that starts with the ELF magic number."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == ELF_MAGIC


def is_shared_library(path: Path) -> bool:
    """Return whether ``path`` is named like a shared library (``.so`` or ``.so.N``) and is an ELF file."""
    return (path.suffix == ".so" or ".so." in path.name) and is_elf(path)


def needed_libraries(path: Path) -> list[str]:
    """Return the DT_NEEDED entries of an ELF file, in link order, read with ``objdump -p``."""
    result = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=True)
    return [line.split()[1] for line in result.stdout.splitlines() if line.split()[:1] == ["NEEDED"]]


def load_segments_aligned(path: Path) -> bool:
    """Return whether each PT_LOAD segment of a 64-bit little-endian ELF file has offset = address modulo 4096.

    The dynamic loader rejects a library whose segments break this rule with
    "ELF load command address/offset not page-aligned".
    """
    with path.open("rb") as handle:
        header = handle.read(64)
        if header[:4] != ELF_MAGIC or header[4] != 2 or header[5] != 1:
            return False
        (table_offset,) = struct.unpack_from("<Q", header, 0x20)
        entry_size, entry_count = struct.unpack_from("<HH", header, 0x36)
        handle.seek(table_offset)
        table = handle.read(entry_size * entry_count)
    for index in range(entry_count):
        segment_type, _, offset, address = struct.unpack_from("<IIQQ", table, index * entry_size)
        if segment_type == PT_LOAD and (address - offset) % PAGE_SIZE_BYTES:
            return False
    return True


def strip_library(path: Path) -> int:
    """Strip symbols and debug sections from one shared library in place when that is safe.

    Returns:
        The bytes saved; 0 when ``strip`` failed, saved nothing or broke the segment alignment.
    """
    before = path.stat().st_size
    with tempfile.TemporaryDirectory() as scratch:
        stripped = Path(scratch) / path.name
        result = subprocess.run(
            ["strip", "--strip-unneeded", "-o", str(stripped), str(path)], capture_output=True, text=True
        )
        if result.returncode != 0:
            logger.warning("strip failed on %s, kept as it is: %s", path, result.stderr.strip())
            return 0
        if not load_segments_aligned(stripped):
            logger.info("kept %s unstripped: stripping misaligns its segments", path.name)
            return 0
        saved = before - stripped.stat().st_size
        if saved <= 0:
            return 0
        mode = path.stat().st_mode
        shutil.copyfile(stripped, path)
        os.chmod(path, mode)
    return saved


def strip_libraries(folder: Path) -> Cut:
    """Strip every shared library under ``folder``; executables keep their appended PyInstaller archive."""
    saved = sum(strip_library(path) for path in sorted(folder.rglob("*")) if is_shared_library(path))
    return Cut("symbol tables and debug sections of the shared libraries", saved)


def _opencv_extension(internal: Path) -> Path | None:
    found = sorted((internal / "cv2").glob("cv2*.so"))
    return found[0] if found else None


def _write_blas_link_library(target: Path, soname: str) -> None:
    """Link an empty library named ``soname`` that loads the reference libraries from its own folder."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "empty.c"
        source.write_text("/* Links the reference BLAS and LAPACK under OpenBLAS's name. */\n", encoding="utf-8")
        command = [
            "gcc", "-shared", "-fPIC", "-o", str(target), str(source),
            f"-Wl,-soname,{soname}", "-Wl,-rpath,$ORIGIN", "-Wl,--no-as-needed",
            *[str(library) for library in REFERENCE_BLAS_LIBRARIES],
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise TrimError(f"linking {target.name} failed: {result.stderr.strip()}")


def replace_opencv_blas(internal: Path) -> Cut:
    """Replace OpenCV's bundled OpenBLAS with the reference BLAS and LAPACK (steps 1 and 2 of the module docstring).

    Args:
        internal: the ``_internal`` folder of the PyInstaller build.

    Raises:
        TrimError: gcc or a reference library is missing on the build machine.
    """
    extension = _opencv_extension(internal)
    libs = internal / OPENCV_LIBS_FOLDER
    linked = needed_libraries(extension) if extension else []
    openblas_names = [name for name in linked if OPENBLAS_NAME_PATTERN.match(name)]
    if not openblas_names or not (libs / openblas_names[0]).is_file():
        logger.info("OpenCV links no bundled OpenBLAS here; nothing to replace")
        return Cut("OpenCV's OpenBLAS (not bundled by this OpenCV)", 0)
    missing = [str(path) for path in REFERENCE_BLAS_LIBRARIES if not path.is_file()]
    if shutil.which("gcc") is None:
        missing.insert(0, "gcc")
    if missing:
        raise TrimError(
            f"replacing OpenCV's OpenBLAS needs {', '.join(missing)}, which are missing; install them with "
            f"apt-get install {REFERENCE_BLAS_PACKAGES}, or build with DEFECTSEEK_OPENCV_BLAS=bundled"
        )
    openblas = libs / openblas_names[0]
    before = _folder_bytes(libs)
    openblas.unlink()
    _write_blas_link_library(openblas, openblas.name)
    for library in REFERENCE_BLAS_LIBRARIES:
        shutil.copyfile(library.resolve(), libs / library.name)
    _copy_copyrights(internal / LICENSES_FOLDER)
    removed = remove_unlinked_libraries(internal, libs)
    logger.info("replaced %s; removed %s", openblas.name, ", ".join(removed) or "nothing else")
    return Cut(
        "OpenCV's OpenBLAS, libgfortran and libquadmath, replaced by the reference BLAS and LAPACK",
        before - _folder_bytes(libs),
    )


def _copy_copyrights(target: Path) -> None:
    target.mkdir(exist_ok=True)
    for path in REFERENCE_BLAS_COPYRIGHTS:
        if path.is_file():
            shutil.copyfile(path, target / f"{path.parent.name}-copyright")
        else:
            logger.warning("%s is missing; add the license of %s to the package by hand", path, path.parent.name)


def remove_unlinked_libraries(root: Path, folder: Path) -> list[str]:
    """Delete the libraries in ``folder`` that no ELF file under ``root`` links to, until none is left.

    Symbolic links under ``root`` to a deleted library go too: PyInstaller links
    libraries of package folders into the top of ``_internal``.

    Returns:
        The names of the deleted files.
    """
    removed: list[Path] = []
    while True:
        linked = {name for path in root.rglob("*") if is_elf(path) for name in needed_libraries(path)}
        unlinked = [path for path in sorted(folder.iterdir()) if is_shared_library(path) and path.name not in linked]
        if not unlinked:
            break
        for path in unlinked:
            path.unlink()
            removed.append(path.resolve())
    for link in sorted(root.rglob("*")):
        if link.is_symlink() and (link.parent / os.readlink(link)).resolve() in removed:
            link.unlink()
    return [path.name for path in removed]


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def trim(folder: Path, replace_blas: bool = True) -> list[Cut]:
    """Run the trimming steps on a PyInstaller one-folder build and return what each saved."""
    internal = folder / "_internal"
    if not internal.is_dir():
        raise TrimError(
            f"{folder} has no _internal folder; pass the PyInstaller output folder, such as dist/defectseek-runtime"
        )
    cuts = []
    if replace_blas:
        cuts.append(replace_opencv_blas(internal))
    cuts.append(strip_libraries(internal))
    return cuts


def main(argv: list[str] | None = None) -> int:
    """Trim the folder given on the command line and print the bytes each step saved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="PyInstaller one-folder build, such as dist/defectseek-runtime")
    parser.add_argument(
        "--keep-opencv-blas", action="store_true", help="keep the OpenBLAS that the OpenCV wheel bundles"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[trim_build] %(message)s")
    try:
        cuts = trim(arguments.folder, replace_blas=not arguments.keep_opencv_blas)
    except TrimError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for cut in cuts:
        print(f"saved {cut.saved_bytes / 2**20:6.1f} MB: {cut.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
