#!/usr/bin/env bash
# GPU checks for a machine with an NVIDIA GPU and CUDA's compiler (nvcc). It checks the CUDA
# nearest-distance kernel against a double-precision CPU reference on shapes that are not
# multiples of its blocks, times it on the default model's shape, and lists the ONNX Runtime
# providers that the machine's Python offers. The log and the check program go to $OUT
# (default: ./gpu-check). Exit status: that of the kernel check.
#
# NOTE: the nvidia target's ONNX Runtime CUDA and TensorRT providers need the onnxruntime-gpu
# wheel, which is not on the lent GPU machines and is too large to carry there, so this script
# only reports which providers exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-gpu-check}"
mkdir -p "$out"
{
    nvidia-smi -L || echo "nvidia-smi: not found"
    nvcc --version | tail -n 1
    nvcc -O3 -std=c++17 -arch=native -o "$out/nd_check" \
        engine/ops/gpu/nearest_distance.cu bench/gpu/nearest_distance_check.cu
    python3 -c "import onnxruntime as ort; print('onnxruntime', ort.__version__, ort.get_available_providers())" \
        || echo "onnxruntime: not importable"
    "$out/nd_check"
} 2>&1 | tee "$out/gpu-check.log"
