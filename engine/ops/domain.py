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

SEARCH_SCREENED = "screened"
SEARCH_FP32 = "fp32"
SEARCH_SCREENED_VNNI = "screened-vnni"
SEARCH_SCREENED_AVX2 = "screened-avx2"
SEARCH_SCREENED_PORTABLE = "screened-portable"
NATIVE_SEARCHES = (SEARCH_SCREENED, SEARCH_FP32, SEARCH_SCREENED_VNNI, SEARCH_SCREENED_AVX2, SEARCH_SCREENED_PORTABLE)
"""Values of the ``search`` attribute of ``NearestDistance`` for the native CPU kernels.

``screened``: INT8 dot products with a proven error bound select the rows that can be nearest,
and those are re-ranked in fp32, so the result is exact. It runs with AMX tiles where the CPU
has them and the operating system grants their state (Linux), else with AVX-512 VNNI, else with
AVX2, else as the fp32 scan. ``fp32``: a full fp32 scan of the bank. ``screened-vnni``,
``screened-avx2`` and ``screened-portable`` force the AVX-512 VNNI, AVX2 or plain C++ screen
(for tests and benchmarks; a CPU without the instructions runs its best screen instead). Every
value returns the same distances.
"""
