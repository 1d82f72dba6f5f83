"""Names shared by the compile side and the line runtime: the operator domain and head paths.

This module imports nothing heavy, so the torch- and onnx-free runtime can use it.
"""

DOMAIN = "ai.defectseek"
DOMAIN_VERSION = 1

NEAREST_DISTANCE = "NearestDistance"
MAP_POSTPROCESS = "MapPostprocess"

HEAD_STANDARD = "standard-onnx-ops"
HEAD_FUNCTION_BODY = "fused-function-body"
HEAD_NATIVE_OPENVINO = "fused-native-openvino"

HEAD_PATHS = (HEAD_STANDARD, HEAD_FUNCTION_BODY, HEAD_NATIVE_OPENVINO)

INT8_CANDIDATES_DEFAULT = 8
"""Bank entries per patch that the native INT8 search re-ranks with exact fp32 distances."""
