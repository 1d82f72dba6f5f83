"""Inference engines behind one small interface: ONNX Runtime and OpenVINO, with provider selection.

Targets map to ordered engine lists: ``cpu`` tries OpenVINO, then ONNX Runtime's CPU
provider; ``nvidia`` tries ONNX Runtime TensorRT, then CUDA; ``amd`` tries ONNX
Runtime MIGraphX, then ROCm (Linux) or DirectML (Windows). An explicit device that
cannot be used raises :class:`EngineUnavailableError`; ``auto`` falls back to the
CPU. The fallback is logged as a warning only when the bundle was compiled for a GPU
target, because a cpu bundle on a PC without a GPU runs where it was meant to run.

Thread budget: each engine gets ``threads`` intra-op threads (default: all cores),
one inter-op thread and no spin-waiting, because spinning workers of several
runtimes in one process slow every call down on small machines. Run one engine per
process for inspection. The native head kernels run on the OpenVINO thread pool of
the call, so they stay inside the same budget. OpenVINO's throughput model (folder
inspection) splits the same budget into one single-thread stream per thread.

Precision: fp32 and int8 bundles pin OpenVINO's inference precision to f32, so a CPU
with bf16 or fp16 units does not lower the float parts (the head and the quantization
boundaries) on its own; the INT8 parts of an int8 bundle run in INT8 either way. fp16
bundles ask for f16.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.ops.domain import HEAD_NATIVE_OPENVINO, HEAD_STANDARD
from engine.ops.loader import add_openvino_extension

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "nvidia", "amd")
ENGINES = ("auto", "openvino", "onnxruntime")

ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "nvidia": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
    "amd": ["MIGraphXExecutionProvider", "DmlExecutionProvider" if sys.platform == "win32" else "ROCMExecutionProvider"],
}

GPU_PACKAGES = {
    "nvidia": "the onnxruntime-gpu package",
    "amd": "the onnxruntime-directml package"
    if sys.platform == "win32"
    else "AMD's ROCm or MIGraphX build of onnxruntime (from AMD's ROCm packages)",
}
"""The ONNX Runtime build that each --device needs, named in the error for a missing provider."""


class EngineUnavailableError(RuntimeError):
    """The requested engine or device cannot be used here; the message names the reason."""


class Engine(Protocol):
    """A loaded graph that maps an N x 3 x H x W batch to (anomaly maps, scores)."""

    name: str
    provider: str
    head_path: str | None

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
    head_path: str | None = None

    def __init__(self, model_path: Path, providers: list[str | tuple[str, dict[str, str]]], threads: int) -> None:
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
        first = providers[0] if isinstance(providers[0], str) else providers[0][0]
        if first not in used:
            raise EngineUnavailableError(
                f"ONNX Runtime could not start {first} (it loaded {', '.join(used)}); "
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
    """An OpenVINO compiled model on the CPU with an explicit precision hint.

    With ``extension`` the native head library is loaded first; its failure raises
    :class:`EngineUnavailableError` so the caller can fall back to the standard graph.
    """

    name = "openvino"

    def __init__(
        self, model_path: Path, threads: int, precision: str = "fp32", extension: Path | None = None
    ) -> None:
        import openvino as ov

        core = ov.Core()
        if extension is not None:
            reason = add_openvino_extension(core, extension)
            if reason:
                raise EngineUnavailableError(reason)
        self.head_path = HEAD_NATIVE_OPENVINO if extension is not None else HEAD_STANDARD
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f16" if precision == "fp16" else "f32",
        }
        try:
            model = core.read_model(str(model_path))
        except RuntimeError as error:
            if extension is None:
                raise
            raise EngineUnavailableError(f"{model_path}: the native head graph could not be read ({error})") from None
        self.compiled = core.compile_model(model, "CPU", config)
        self.core = core
        self.model = model
        self.threads = threads
        self._precision_setting = config["INFERENCE_PRECISION_HINT"]
        self._throughput_compiled = None
        self.provider = "CPU"
        self.precision_hint = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.request = self.compiled.create_infer_request()
        self.output_names = [output.get_any_name() for output in self.compiled.outputs]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one synchronous inference."""
        results = self.request.infer({0: batch})
        return {name: np.asarray(results[output]) for name, output in zip(self.output_names, self.compiled.outputs)}

    def throughput_model(self):
        """Return the graph compiled for several requests in flight (compiled on first use, then kept).

        The thread budget stays ``threads``: one stream per thread and one thread per
        stream, because the small convolutions of this backbone split badly over
        threads, while independent images on separate streams keep every core busy.
        The precision hint is the latency model's.
        """
        if self._throughput_compiled is None:
            config = {
                "INFERENCE_NUM_THREADS": self.threads,
                "NUM_STREAMS": self.threads,
                "PERFORMANCE_HINT": "THROUGHPUT",
                "INFERENCE_PRECISION_HINT": self._precision_setting,
            }
            self._throughput_compiled = self.core.compile_model(self.model, "CPU", config)
            logger.info("Compiled the OpenVINO graph for throughput: %d streams of 1 thread", self.threads)
        return self._throughput_compiled


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
    openvino_native: tuple[Path, Path] | None = None,
    target: str | None = None,
) -> EngineChoice:
    """Load a graph on the engine and device requested.

    Raises:
        EngineUnavailableError: an explicit engine or device cannot be used; the
            message names what is missing.
        ValueError: an unknown engine or device name.

    ``openvino_native`` is (graph, extension library) of a native-head OpenVINO graph;
    when it cannot be loaded, OpenVINO runs ``openvino_model`` with a warning.
    ``target`` is the target the bundle was compiled for (``cpu``, ``nvidia``, ``amd``),
    or None when unknown. When ``device`` is ``auto`` and no GPU provider is usable,
    the CPU fallback is logged as a warning and returned as ``fallback_warning``
    unless ``target`` is ``cpu``, in which case it is only logged at info level.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    count = threads or default_threads()
    graphs = _Graphs(model_path, openvino_model, openvino_native)
    if device == "auto":
        return _open_auto(graphs, engine, count, precision, target)
    engine_loaded, warning = _open_on(graphs, engine, device, count, precision)
    return EngineChoice(engine_loaded, warning)


@dataclass(frozen=True)
class _Graphs:
    onnx: Path
    openvino: Path | None
    openvino_native: tuple[Path, Path] | None


def _open_auto(graphs: _Graphs, engine: str, threads: int, precision: str, target: str | None) -> EngineChoice:
    failures = []
    if engine != "openvino":
        available = available_ort_providers()
        for accelerator in ("nvidia", "amd"):
            if any(provider in available for provider in ORT_PROVIDERS[accelerator]):
                try:
                    loaded, _ = _open_on(graphs, "onnxruntime", accelerator, threads, precision)
                    return EngineChoice(loaded, None)
                except EngineUnavailableError as error:
                    logger.info("--device auto skips %s: %s", accelerator, error)
                    failures.append(str(error))
    loaded, warning = _open_on(graphs, engine, "cpu", threads, precision)
    if target == "cpu":
        logger.info("--device auto: the cpu bundle runs on %s (%s)", loaded.name, loaded.provider)
        return EngineChoice(loaded, warning)
    message = _cpu_fallback_message(engine, target, failures)
    logger.warning("%s", message)
    return EngineChoice(loaded, f"{message}; {warning}" if warning else message)


def _cpu_fallback_message(engine: str, target: str | None, failures: list[str]) -> str:
    """Return the warning for ``--device auto`` running a GPU (or unknown) target's bundle on the CPU."""
    if failures:
        reason = failures[0]
    elif engine == "openvino":
        reason = "--engine openvino runs on the CPU only"
    elif target is None:
        reason = "no GPU provider is available"
    else:
        reason = f"this ONNX Runtime has no {target} provider (--device {target} shows what is missing)"
    if target is None:
        return f"running on the CPU: {reason}"
    return f"running on the CPU: the bundle was compiled for {target}, but {reason}"


def _open_on(graphs: _Graphs, engine: str, device: str, threads: int, precision: str) -> tuple[Engine, str | None]:
    if device == "cpu":
        return _open_cpu(graphs, engine, threads, precision)
    if engine == "openvino":
        raise EngineUnavailableError(f"OpenVINO does not run on the {device} device here; use --engine onnxruntime")
    return _open_ort(graphs.onnx, _gpu_providers(device, precision), threads), None


def _open_cpu(graphs: _Graphs, engine: str, threads: int, precision: str) -> tuple[Engine, str | None]:
    """Open OpenVINO (engine ``auto`` or ``openvino``) or ONNX Runtime on the CPU.

    A bundle compiled for a GPU target has no OpenVINO graph, and OpenVINO cannot read its
    ONNX graph when the head is fused into functions of the ``ai.defectseek`` domain.
    Engine ``auto`` then runs the graph on ONNX Runtime.
    """
    if engine in ("auto", "openvino") and openvino_installed():
        try:
            return _open_openvino(graphs, threads, precision)
        except RuntimeError as error:
            if graphs.openvino is not None or isinstance(error, EngineUnavailableError):
                raise
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            detail = lines[-1].lstrip("- ") if lines else type(error).__name__
            if engine == "openvino":
                raise EngineUnavailableError(
                    f"OpenVINO cannot read {graphs.onnx} ({detail}); this bundle has no OpenVINO graph, so use "
                    "--engine onnxruntime, or compile the model with --target cpu"
                ) from None
            logger.info("OpenVINO cannot read %s (%s), so ONNX Runtime runs it", graphs.onnx, detail)
    if engine == "openvino":
        raise EngineUnavailableError("OpenVINO is not installed; install it with: pip install openvino")
    return _open_ort(graphs.onnx, ORT_PROVIDERS["cpu"], threads), None


def _open_openvino(graphs: _Graphs, threads: int, precision: str) -> tuple[Engine, str | None]:
    warning = None
    if graphs.openvino_native is not None:
        native_model, library = graphs.openvino_native
        try:
            return OpenVinoEngine(native_model, threads, precision, extension=library), None
        except EngineUnavailableError as error:
            warning = f"native head unavailable ({error}): running the standard-op head"
            logger.warning("%s", warning)
    return OpenVinoEngine(graphs.openvino or graphs.onnx, threads, precision), warning


def _gpu_providers(device: str, precision: str = "fp32") -> list[str | tuple[str, dict[str, str]]]:
    available = available_ort_providers()
    usable = [provider for provider in ORT_PROVIDERS[device] if provider in available]
    if not usable:
        raise EngineUnavailableError(
            f"--device {device} needs one of the ONNX Runtime providers {', '.join(ORT_PROVIDERS[device])}, "
            f"but this installation has only {', '.join(available) or 'none'}; on a PC with that GPU, install "
            f"{GPU_PACKAGES[device]} in place of onnxruntime, with the GPU's driver, or use --device cpu"
        )
    chosen: list[str | tuple[str, dict[str, str]]] = list(usable)
    if precision == "fp16" and chosen[0] == "TensorrtExecutionProvider":
        chosen[0] = ("TensorrtExecutionProvider", {"trt_fp16_enable": "True"})
    return chosen + ["CPUExecutionProvider"]


def _open_ort(model_path: Path, providers: list[str | tuple[str, dict[str, str]]], threads: int) -> Engine:
    if not available_ort_providers():
        raise EngineUnavailableError("ONNX Runtime is not installed; install it with: pip install onnxruntime")
    return OnnxRuntimeEngine(model_path, providers, threads)
