"""Inference engines behind one small interface: ONNX Runtime and OpenVINO, with provider selection.

Targets map to ordered engine lists: ``cpu`` tries OpenVINO, then ONNX Runtime's CPU
provider; ``nvidia`` tries ONNX Runtime TensorRT, then CUDA; ``amd`` tries ONNX
Runtime MIGraphX, then ROCm (Linux) or DirectML (Windows). An explicit device that
cannot be used raises :class:`EngineUnavailableError`; ``auto`` falls back to the
CPU with a warning that callers show to the user.

Thread budget: each engine gets ``threads`` intra-op threads (default: all cores),
one inter-op thread and no spin-waiting, because spinning workers of several
runtimes in one process slow every call down on small machines. Run one engine per
process for inspection.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "nvidia", "amd")
ENGINES = ("auto", "openvino", "onnxruntime")

ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "nvidia": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
    "amd": ["MIGraphXExecutionProvider", "DmlExecutionProvider" if sys.platform == "win32" else "ROCMExecutionProvider"],
}


class EngineUnavailableError(RuntimeError):
    """The requested engine or device cannot be used here; the message says why."""


class Engine(Protocol):
    """A loaded graph that maps an N x 3 x H x W batch to (anomaly maps, scores)."""

    name: str
    provider: str

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run the graph and return its outputs by name."""


@dataclass(frozen=True)
class EngineChoice:
    """The engine that was loaded, and the warning to show when it is a fallback."""

    engine: Engine
    fallback_warning: str | None


def default_threads() -> int:
    """Return the intra-op thread count: ``DEFECTSEEK_THREADS`` or the CPU count."""
    configured = os.environ.get("DEFECTSEEK_THREADS")
    if configured:
        return max(1, int(configured))
    return max(1, os.cpu_count() or 1)


class OnnxRuntimeEngine:
    """An ONNX Runtime session on an explicit provider list."""

    name = "onnxruntime"

    def __init__(self, model_path: Path, providers: list[str], threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
        used = self.session.get_providers()
        if providers[0] not in used:
            raise EngineUnavailableError(
                f"ONNX Runtime could not start {providers[0]} (it loaded {', '.join(used)}); "
                "check the GPU driver and the onnxruntime GPU package"
            )
        self.provider = used[0]
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [output.name for output in self.session.get_outputs()]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run the session on one batch."""
        values = self.session.run(self.output_names, {self.input_name: batch})
        return dict(zip(self.output_names, values))


class OpenVinoEngine:
    """An OpenVINO compiled model on the CPU with an explicit f32 precision hint."""

    name = "openvino"

    def __init__(self, model_path: Path, threads: int, precision: str = "fp32") -> None:
        import openvino as ov

        core = ov.Core()
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        }
        if precision == "fp32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        model = core.read_model(str(model_path))
        self.compiled = core.compile_model(model, "CPU", config)
        self.provider = "CPU"
        self.precision_hint = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.request = self.compiled.create_infer_request()
        self.output_names = [output.get_any_name() for output in self.compiled.outputs]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one synchronous inference."""
        results = self.request.infer({0: batch})
        return {name: np.asarray(results[output]) for name, output in zip(self.output_names, self.compiled.outputs)}


def available_ort_providers() -> list[str]:
    """Return ONNX Runtime's available providers, or an empty list when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def openvino_installed() -> bool:
    """Return True when the OpenVINO runtime can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def open_engine(
    model_path: Path,
    *,
    engine: str = "auto",
    device: str = "auto",
    threads: int | None = None,
    precision: str = "fp32",
    openvino_model: Path | None = None,
) -> EngineChoice:
    """Load a graph on the engine and device requested.

    Raises:
        EngineUnavailableError: an explicit engine or device cannot be used; the
            message names what is missing.
        ValueError: an unknown engine or device name.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    count = threads or default_threads()
    if device == "auto":
        return _open_auto(model_path, engine, count, precision, openvino_model)
    return EngineChoice(_open_on(model_path, engine, device, count, precision, openvino_model), None)


def _open_auto(model_path: Path, engine: str, threads: int, precision: str, openvino_model: Path | None) -> EngineChoice:
    if engine != "openvino":
        for accelerator in ("nvidia", "amd"):
            if ORT_PROVIDERS[accelerator][0] in available_ort_providers() or ORT_PROVIDERS[accelerator][1] in available_ort_providers():
                try:
                    return EngineChoice(_open_on(model_path, "onnxruntime", accelerator, threads, precision, None), None)
                except EngineUnavailableError as error:
                    logger.warning("%s", error)
    loaded = _open_on(model_path, engine, "cpu", threads, precision, openvino_model)
    return EngineChoice(loaded, "no GPU provider is available: running on the CPU")


def _open_on(
    model_path: Path, engine: str, device: str, threads: int, precision: str, openvino_model: Path | None
) -> Engine:
    if device == "cpu":
        if engine in ("auto", "openvino") and openvino_installed():
            return OpenVinoEngine(openvino_model or model_path, threads, precision)
        if engine == "openvino":
            raise EngineUnavailableError("OpenVINO is not installed; install it with: pip install openvino")
        return _open_ort(model_path, ORT_PROVIDERS["cpu"], threads)
    if engine == "openvino":
        raise EngineUnavailableError(f"OpenVINO does not run on the {device} device here; use --engine onnxruntime")
    return _open_ort(model_path, _gpu_providers(device), threads)


def _gpu_providers(device: str) -> list[str]:
    available = available_ort_providers()
    wanted = [provider for provider in ORT_PROVIDERS[device] if provider in available]
    if not wanted:
        raise EngineUnavailableError(
            f"--device {device} needs one of the ONNX Runtime providers {', '.join(ORT_PROVIDERS[device])}, "
            f"but this installation has only {', '.join(available) or 'none'}; install the GPU build of "
            "onnxruntime for that card and its driver, or use --device cpu"
        )
    return wanted + ["CPUExecutionProvider"]


def _open_ort(model_path: Path, providers: list[str], threads: int) -> Engine:
    if not available_ort_providers():
        raise EngineUnavailableError("ONNX Runtime is not installed; install it with: pip install onnxruntime")
    return OnnxRuntimeEngine(model_path, providers, threads)
