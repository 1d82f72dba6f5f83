"""DefectSeek's custom ONNX operators for the anomaly head, their reference bodies and native kernels.

The operators live in the :data:`engine.ops.domain.DOMAIN` ONNX domain. Every
graph that uses them carries a model-local function body of standard ONNX ops, so
any engine can run it; the OpenVINO CPU extension in ``engine/ops/cpu`` replaces
those bodies with native kernels where it is built and loaded.
"""
