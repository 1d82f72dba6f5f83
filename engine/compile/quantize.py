"""INT8 post-training static quantization of the backbone: ONNX Runtime QDQ and NNCF for OpenVINO.

Both quantizers calibrate activation ranges on preprocessed training images and leave
the patch aggregation and the head in float (see
:func:`engine.compile.fuse.nodes_after_aggregation` for why).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx

logger = logging.getLogger(__name__)

INPUT_NAME = "image"


def quantize_onnx_qdq(model: onnx.ModelProto, calibration: np.ndarray, exclude: Sequence[str]) -> onnx.ModelProto:
    """Return ``model`` with its convolutions quantized to INT8 in QDQ form by ONNX Runtime.

    Args:
        model: the exported fp32 graph with standard ops.
        calibration: N x 3 x H x W float32 batch of preprocessed training images.
        exclude: node names to keep in float.

    Weights are per-channel signed INT8, activations unsigned INT8 with ranges from
    min/max calibration.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter([{INPUT_NAME: calibration[index : index + 1]} for index in range(len(calibration))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    with tempfile.TemporaryDirectory(prefix="defectseek-qdq-") as folder:
        source = Path(folder) / "float.onnx"
        target = Path(folder) / "int8.onnx"
        onnx.save_model(model, str(source))
        quantize_static(
            str(source),
            str(target),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=list(exclude),
        )
        quantized = onnx.load_model(str(target))
    logger.info("ONNX Runtime QDQ quantization done (%d calibration images, %d nodes kept in float)", len(calibration), len(exclude))
    return quantized


def quantize_openvino_nncf(model_path: str | os.PathLike[str], calibration: np.ndarray, exclude: Sequence[str]):
    """Return an OpenVINO model of the fp32 ONNX graph at ``model_path`` quantized to INT8 by NNCF.

    ``exclude`` lists the ONNX node names to keep in float; OpenVINO keeps those names
    on the converted operations, and names it drops are skipped. Every ``AvgPool`` is
    excluded as well: with OpenVINO 2026.4 an INT8 3x3 average pooling corrupts the
    one-pixel border of the feature map.
    """
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(model_path))
    present = {operation.get_friendly_name() for operation in model.get_ops()}
    names = [name for name in exclude if name in present]
    dataset = nncf.Dataset([calibration[index : index + 1] for index in range(len(calibration))])
    quantized = nncf.quantize(
        model,
        dataset,
        subset_size=len(calibration),
        fast_bias_correction=True,
        ignored_scope=nncf.IgnoredScope(names=names, types=["AvgPool"], validate=False),
    )
    logger.info("NNCF quantization done (%d calibration images, %d operations kept in float)", len(calibration), len(names))
    return quantized
