"""The compile side of the engine: export trained models to ONNX and write bundles (imports torch)."""

from engine.compile.export import export_onnx, write_model_bundle
from engine.compile.predictor import TorchPredictor

__all__ = ["TorchPredictor", "export_onnx", "write_model_bundle"]
