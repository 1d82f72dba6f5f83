"""Trimming of a PyInstaller folder: stripping, unlinked libraries and OpenCV's BLAS."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "installer"))

import trim_build  # noqa: E402

LIBRARY_SOURCE = "int {name}_value(void) {{ return {value}; }}\n"


def _need_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install gcc binutils)")


def _compile_library(folder: Path, name: str, links: tuple[str, ...] = (), debug: bool = False) -> Path:
    source = folder / f"{name}.c"
    source.write_text(LIBRARY_SOURCE.format(name=name, value=len(name)), encoding="utf-8")
    target = folder / f"lib{name}.so"
    command = ["gcc", "-shared", "-fPIC", "-o", str(target), str(source), f"-Wl,-soname,lib{name}.so"]
    if debug:
        command.append("-g")
    if links:
        command += [f"-L{folder}", "-Wl,--no-as-needed", *[f"-l{link}" for link in links]]
    subprocess.run(command, check=True, capture_output=True)
    source.unlink()
    return target


def _elf_with_load_segment(path: Path, offset: int, address: int) -> Path:
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<HH", header, 0x36, 56, 1)
    segment = struct.pack("<IIQQQQQQ", trim_build.PT_LOAD, 5, offset, address, address, 0, 0, 4096)
    path.write_bytes(bytes(header) + segment)
    return path


def test_aligned_segments_accepted(tmp_path: Path) -> None:
    path = _elf_with_load_segment(tmp_path / "aligned.so", offset=0x1000, address=0x5000)

    assert trim_build.load_segments_aligned(path)


def test_misaligned_segment_rejected(tmp_path: Path) -> None:
    path = _elf_with_load_segment(tmp_path / "misaligned.so", offset=0x1098, address=0x5000)

    assert not trim_build.load_segments_aligned(path)


def test_non_elf_not_a_library(tmp_path: Path) -> None:
    path = tmp_path / "libnotes.so"
    path.write_text("not a library", encoding="utf-8")

    assert not trim_build.is_shared_library(path)


def test_strip_shrinks_loadable_library(tmp_path: Path) -> None:
    _need_tools("gcc", "strip")
    library = _compile_library(tmp_path, "probe", debug=True)
    before = library.stat().st_size

    saved = trim_build.strip_library(library)

    assert saved > 0
    assert library.stat().st_size == before - saved
    assert ctypes.CDLL(str(library)).probe_value() == len("probe")


def test_strip_skips_executables(tmp_path: Path) -> None:
    _need_tools("gcc", "strip")
    folder = tmp_path / "_internal"
    folder.mkdir()
    _compile_library(folder, "probe", debug=True)
    program = tmp_path / "program"
    shutil.copy(folder / "libprobe.so", program)
    before = program.stat().st_size

    trim_build.strip_libraries(tmp_path)

    assert program.stat().st_size == before


def test_unlinked_libraries_removed(tmp_path: Path) -> None:
    _need_tools("gcc", "objdump")
    libs = tmp_path / "pkg.libs"
    libs.mkdir()
    _compile_library(libs, "base")
    _compile_library(libs, "middle", links=("base",))
    _compile_library(libs, "orphan")
    _compile_library(libs, "orphandependency")
    _compile_library(libs, "orphanuser", links=("orphandependency",))
    extension = tmp_path / "ext"
    extension.mkdir()
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(extension / "module.so"), "-x", "c", "/dev/null",
         f"-L{libs}", "-Wl,--no-as-needed", "-lmiddle"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (tmp_path / "liborphan.so").symlink_to("pkg.libs/liborphan.so")
    (tmp_path / "libbase.so").symlink_to("pkg.libs/libbase.so")

    removed = trim_build.remove_unlinked_libraries(tmp_path, libs)

    assert sorted(removed) == ["liborphan.so", "liborphandependency.so", "liborphanuser.so"]
    assert sorted(path.name for path in libs.iterdir()) == ["libbase.so", "libmiddle.so"]
    assert not (tmp_path / "liborphan.so").is_symlink()
    assert (tmp_path / "libbase.so").is_symlink()


def test_trim_rejects_folder_without_internal(tmp_path: Path) -> None:
    with pytest.raises(trim_build.TrimError, match="no _internal folder"):
        trim_build.trim(tmp_path)


def _opencv_with_openblas() -> Path:
    spec = importlib.util.find_spec("cv2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("opencv-python-headless is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    if not sorted((package.parent / trim_build.OPENCV_LIBS_FOLDER).glob("libopenblas*")):
        pytest.skip("this OpenCV wheel bundles no OpenBLAS")
    missing = [str(path) for path in trim_build.REFERENCE_BLAS_LIBRARIES if not path.is_file()]
    if missing or shutil.which("gcc") is None or shutil.which("objdump") is None:
        pytest.skip(
            f"needs gcc, objdump and the reference BLAS: apt-get install {trim_build.REFERENCE_BLAS_PACKAGES}"
        )
    return package


MATRIX_CHECK = """
import cv2, numpy as np
rng = np.random.default_rng(7)
a = rng.normal(size=(200, 200))
b = rng.normal(size=(200, 3))
ok, x = cv2.solve(a, b, flags=cv2.DECOMP_LU)
assert ok and np.allclose(a @ x, b, atol=1e-8), "solve"
w, u, vt = cv2.SVDecomp(a)
assert np.allclose(w.ravel(), np.linalg.svd(a, compute_uv=False), rtol=1e-9), "svd"
assert np.allclose(cv2.gemm(a, b, 1.0, None, 0.0), a @ b, atol=1e-9), "gemm"
s = a @ a.T
ok, values, vectors = cv2.eigen(s)
assert ok and np.allclose(np.sort(values.ravel()), np.linalg.eigvalsh(s), rtol=1e-7), "eigen"
maps = open("/proc/self/maps").read()
print("cv2", cv2.__file__)
print("lapack", [line.split()[-1] for line in maps.splitlines() if "liblapack.so.3" in line][:1])
"""


def test_reference_blas_keeps_opencv_matrix_routines(tmp_path: Path) -> None:
    package = _opencv_with_openblas()
    internal = tmp_path / "_internal"
    shutil.copytree(package, internal / "cv2")
    shutil.copytree(package.parent / trim_build.OPENCV_LIBS_FOLDER, internal / trim_build.OPENCV_LIBS_FOLDER)

    cut = trim_build.replace_opencv_blas(internal)
    result = subprocess.run(
        [sys.executable, "-c", MATRIX_CHECK], capture_output=True, text=True, env={"PYTHONPATH": str(internal)}
    )

    libs = internal / trim_build.OPENCV_LIBS_FOLDER
    assert cut.saved_bytes > 20 * 2**20
    assert not list(libs.glob("libgfortran-*"))
    assert (libs / "liblapack.so.3").is_file()
    assert (internal / trim_build.LICENSES_FOLDER / "liblapack3-copyright").is_file()
    assert result.returncode == 0, result.stderr
    assert f"cv2 {internal}" in result.stdout
    assert str(libs / "liblapack.so.3") in result.stdout
