// Nearest distance of every patch to a memory bank, with a running minimum (CUDA and HIP from one source).
//
// One thread scores one patch; a block loads kRows bank rows at a time into shared
// memory in chunks of kChannelChunk channels and keeps the per-row dot products in
// registers, so the patches x bank matrix is never stored. Features are N x C x P
// (channel-major, as the backbone writes them), which makes the per-channel loads
// coalesced across the threads of a block.
#if defined(__HIPCC__)
#include <hip/hip_runtime.h>
#define DS_STREAM hipStream_t
#define DS_LAUNCH_ERROR() hipGetLastError()
#define DS_ERROR_TYPE hipError_t
#else
#include <cuda_runtime.h>
#define DS_STREAM cudaStream_t
#define DS_LAUNCH_ERROR() cudaGetLastError()
#define DS_ERROR_TYPE cudaError_t
#endif

#include <cstdint>

namespace {

constexpr int kThreads = 128;
constexpr int kRows = 32;
constexpr int kChannelChunk = 64;

__global__ void nearest_distance_kernel(const float* __restrict__ features, int64_t channels, int64_t patches,
                                        const float* __restrict__ bank, const float* __restrict__ norms,
                                        int64_t rows, float* __restrict__ distances) {
    __shared__ float tile[kRows][kChannelChunk + 1];
    const int64_t image = blockIdx.y;
    const int64_t patch = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    const bool active = patch < patches;
    const float* x = features + image * channels * patches;

    float patch_norm = 0.0f;
    for (int64_t c = 0; active && c < channels; ++c) {
        const float value = x[c * patches + patch];
        patch_norm += value * value;
    }

    float best = INFINITY;
    for (int64_t row0 = 0; row0 < rows; row0 += kRows) {
        float dots[kRows];
#pragma unroll
        for (int j = 0; j < kRows; ++j) dots[j] = 0.0f;
        for (int64_t c0 = 0; c0 < channels; c0 += kChannelChunk) {
            __syncthreads();
            for (int index = threadIdx.x; index < kRows * kChannelChunk; index += kThreads) {
                const int j = index / kChannelChunk;
                const int c = index % kChannelChunk;
                const bool inside = row0 + j < rows && c0 + c < channels;
                tile[j][c] = inside ? bank[(row0 + j) * channels + c0 + c] : 0.0f;
            }
            __syncthreads();
            const int64_t chunk = min(int64_t(kChannelChunk), channels - c0);
            for (int64_t c = 0; active && c < chunk; ++c) {
                const float value = x[(c0 + c) * patches + patch];
#pragma unroll
                for (int j = 0; j < kRows; ++j) dots[j] += value * tile[j][c];
            }
        }
#pragma unroll
        for (int j = 0; j < kRows; ++j) {
            if (row0 + j < rows) best = fminf(best, norms[row0 + j] - 2.0f * dots[j]);
        }
    }
    if (active) distances[image * patches + patch] = sqrtf(fmaxf(patch_norm + best, 0.0f));
}

}  // namespace

// Launches the kernel on `stream`; all pointers are device memory. Returns the launch status.
extern "C" int defectseek_nearest_distance(const float* features, int64_t batch, int64_t channels, int64_t patches,
                                           const float* bank, const float* norms, int64_t rows, float* distances,
                                           DS_STREAM stream) {
    const dim3 grid(static_cast<unsigned>((patches + kThreads - 1) / kThreads), static_cast<unsigned>(batch));
    nearest_distance_kernel<<<grid, kThreads, 0, stream>>>(features, channels, patches, bank, norms, rows, distances);
    const DS_ERROR_TYPE status = DS_LAUNCH_ERROR();
    return static_cast<int>(status);
}
