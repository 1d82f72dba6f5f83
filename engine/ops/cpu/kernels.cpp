// Nearest-distance and map post-processing kernels with a running minimum over the bank.
//
// The fp32 kernel computes |x|^2 + |b|^2 - 2 x.b for tiles of 32 patches x 8 bank rows
// in registers and keeps only the running minimum per patch, so the patches x bank
// matrix is never stored. The INT8 kernel uses VNNI dot products (u8 x s8) to select
// candidate rows and re-ranks them with exact fp32 distances.
#include "kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include <immintrin.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace defectseek {
namespace {

constexpr int64_t kRowBlock = 8;         // bank rows per fp32 tile
constexpr int64_t kPatchBlock = 32;      // patches per fp32 tile
constexpr int64_t kBankChunk = 512;      // bank rows kept hot in cache per pass
constexpr int64_t kInt8RowBlock = 16;    // bank rows per VNNI register
constexpr int64_t kInt8PatchBlock = 4;   // patches per VNNI tile
constexpr int64_t kMaxCandidates = 32;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// ---------------------------------------------------------------- fp32

template <int Lanes>
struct Vec {
    typedef float type __attribute__((vector_size(Lanes * 4)));
};

// One tile: kPatchBlock patches (block, C x kPatchBlock) against bank rows [row, row + kRowBlock).
template <int Lanes>
__attribute__((always_inline)) inline void fp32_tile(const float* block, int64_t channels, const float* packed_rows, const float* norms,
                      typename Vec<Lanes>::type* best) {
    using V = typename Vec<Lanes>::type;
    constexpr int kVectors = kPatchBlock / Lanes;
    V acc[kRowBlock][kVectors];
    for (int j = 0; j < kRowBlock; ++j)
        for (int v = 0; v < kVectors; ++v) acc[j][v] = V{} + 0.0f;
    for (int64_t c = 0; c < channels; ++c) {
        V x[kVectors];
        std::memcpy(x, block + c * kPatchBlock, sizeof(x));
        const float* b = packed_rows + c * kRowBlock;
#pragma GCC unroll 8
        for (int j = 0; j < kRowBlock; ++j) {
            const V bj = V{} + b[j];
            for (int v = 0; v < kVectors; ++v) acc[j][v] += x[v] * bj;
        }
    }
    for (int j = 0; j < kRowBlock; ++j) {
        const V norm = V{} + norms[j];
        for (int v = 0; v < kVectors; ++v) {
            const V candidate = norm - 2.0f * acc[j][v];
            best[v] = candidate < best[v] ? candidate : best[v];
        }
    }
}

template <int Lanes>
__attribute__((always_inline)) inline void fp32_patch_range(const float* features, int64_t patches, const PreparedBank& bank, int64_t begin, int64_t end,
                      float* distances) {
    using V = typename Vec<Lanes>::type;
    constexpr int kVectors = kPatchBlock / Lanes;
    const int64_t channels = bank.channels;
    std::vector<float> block(channels * kPatchBlock);
    for (int64_t start = begin * kPatchBlock; start < std::min(end * kPatchBlock, patches); start += kPatchBlock) {
        const int64_t count = std::min(kPatchBlock, patches - start);
        std::fill(block.begin(), block.end(), 0.0f);
        for (int64_t c = 0; c < channels; ++c)
            std::memcpy(block.data() + c * kPatchBlock, features + c * patches + start, count * sizeof(float));
        V best[kVectors];
        for (int v = 0; v < kVectors; ++v) best[v] = V{} + kInfinity;
        for (int64_t chunk = 0; chunk < bank.padded_rows; chunk += kBankChunk) {
            const int64_t chunk_end = std::min(chunk + kBankChunk, bank.padded_rows);
            for (int64_t row = chunk; row < chunk_end; row += kRowBlock)
                fp32_tile<Lanes>(block.data(), channels, bank.transposed.data() + row * channels,
                                 bank.norms.data() + row, best);
        }
        float nearest[kPatchBlock];
        std::memcpy(nearest, best, sizeof(nearest));
        for (int64_t p = 0; p < count; ++p) {
            float norm = 0.0f;
            for (int64_t c = 0; c < channels; ++c) norm += block[c * kPatchBlock + p] * block[c * kPatchBlock + p];
            distances[start + p] = std::sqrt(std::max(norm + nearest[p], 0.0f));
        }
    }
}

__attribute__((target("avx512f,fma"))) void fp32_range_avx512(const float* f, int64_t n, const PreparedBank& b,
                                                                int64_t s, int64_t e, float* d) {
    fp32_patch_range<16>(f, n, b, s, e, d);
}

__attribute__((target("avx2,fma"))) void fp32_range_avx2(const float* f, int64_t n, const PreparedBank& b, int64_t s,
                                                          int64_t e, float* d) {
    fp32_patch_range<8>(f, n, b, s, e, d);
}

void fp32_range_generic(const float* f, int64_t n, const PreparedBank& b, int64_t s, int64_t e, float* d) {
    fp32_patch_range<4>(f, n, b, s, e, d);
}

// ---------------------------------------------------------------- INT8

struct Candidates {
    float value[kMaxCandidates];
    int32_t row[kMaxCandidates];
    int64_t size = 0;
    int64_t capacity = 0;

    float worst() const { return size < capacity ? kInfinity : value[size - 1]; }

    void offer(float candidate, int32_t index) {
        if (candidate >= worst()) return;
        int64_t position = size < capacity ? size++ : size - 1;
        while (position > 0 && value[position - 1] > candidate) {
            value[position] = value[position - 1];
            row[position] = row[position - 1];
            --position;
        }
        value[position] = candidate;
        row[position] = index;
    }
};

struct QuantizedPatch {
    float scale = 0.0f;
    float norm = 0.0f;
};

// Quantizes patches [start, start + count) to unsigned bytes (int8 + 128), channels contiguous.
void quantize_patches(const float* features, int64_t patches, int64_t channels, int64_t packed_channels,
                      int64_t start, int64_t count, uint8_t* bytes, QuantizedPatch* info) {
    for (int64_t p = 0; p < count; ++p) {
        float peak = 0.0f;
        float norm = 0.0f;
        for (int64_t c = 0; c < channels; ++c) {
            const float value = features[c * patches + start + p];
            peak = std::max(peak, std::fabs(value));
            norm += value * value;
        }
        const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
        uint8_t* row = bytes + p * packed_channels;
        for (int64_t c = 0; c < packed_channels; ++c) {
            const float value = c < channels ? features[c * patches + start + p] : 0.0f;
            const int quantized = static_cast<int>(std::lrintf(value / scale));
            row[c] = static_cast<uint8_t>(std::clamp(quantized, -127, 127) + 128);
        }
        info[p] = {scale, norm};
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void int8_dots_vnni(const uint8_t* patch_bytes,
                                                                           int64_t packed_channels,
                                                                           const int8_t* packed_block,
                                                                           int32_t* dots /* kInt8PatchBlock x 16 */) {
    __m512i acc[kInt8PatchBlock];
    for (int p = 0; p < kInt8PatchBlock; ++p) acc[p] = _mm512_setzero_si512();
    for (int64_t c4 = 0; c4 < packed_channels / 4; ++c4) {
        const __m512i rows = _mm512_loadu_si512(packed_block + c4 * 64);
        for (int p = 0; p < kInt8PatchBlock; ++p) {
            int32_t quad;
            std::memcpy(&quad, patch_bytes + p * packed_channels + c4 * 4, 4);
            acc[p] = _mm512_dpbusd_epi32(acc[p], _mm512_set1_epi32(quad), rows);
        }
    }
    for (int p = 0; p < kInt8PatchBlock; ++p) _mm512_storeu_si512(dots + p * 16, acc[p]);
}

void int8_dots_generic(const uint8_t* patch_bytes, int64_t packed_channels, const int8_t* packed_block,
                       int32_t* dots) {
    for (int p = 0; p < kInt8PatchBlock; ++p) {
        int32_t acc[16] = {};
        for (int64_t c4 = 0; c4 < packed_channels / 4; ++c4)
            for (int i = 0; i < 16; ++i)
                for (int k = 0; k < 4; ++k)
                    acc[i] += int32_t(patch_bytes[p * packed_channels + c4 * 4 + k]) *
                              int32_t(packed_block[c4 * 64 + i * 4 + k]);
        std::memcpy(dots + p * 16, acc, sizeof(acc));
    }
}

bool cpu_has_vnni() {
    static const bool has = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    return has;
}

float exact_squared(const float* features, int64_t patches, int64_t channels, int64_t patch, const float* row) {
    float sum = 0.0f;
    for (int64_t c = 0; c < channels; ++c) {
        const float difference = features[c * patches + patch] - row[c];
        sum += difference * difference;
    }
    return sum;
}

void int8_patch_range(const float* features, int64_t patches, const PreparedBank& bank, int64_t candidates,
                      int64_t begin, int64_t end, float* distances) {
    const int64_t channels = bank.channels;
    const int64_t packed_channels = bank.packed_channels;
    const bool vnni = cpu_has_vnni();
    std::vector<uint8_t> bytes(kInt8PatchBlock * packed_channels);
    QuantizedPatch info[kInt8PatchBlock];
    int32_t dots[kInt8PatchBlock * 16];
    for (int64_t start = begin * kInt8PatchBlock; start < std::min(end * kInt8PatchBlock, patches);
         start += kInt8PatchBlock) {
        const int64_t count = std::min(kInt8PatchBlock, patches - start);
        std::fill(bytes.begin(), bytes.end(), uint8_t(128));
        quantize_patches(features, patches, channels, packed_channels, start, count, bytes.data(), info);
        Candidates lists[kInt8PatchBlock];
        for (auto& list : lists) list.capacity = candidates;
        for (int64_t block = 0; block < bank.padded_rows / kInt8RowBlock; ++block) {
            const int8_t* packed = bank.packed.data() + block * packed_channels * kInt8RowBlock;
            if (vnni)
                int8_dots_vnni(bytes.data(), packed_channels, packed, dots);
            else
                int8_dots_generic(bytes.data(), packed_channels, packed, dots);
            const int64_t first = block * kInt8RowBlock;
            for (int64_t p = 0; p < count; ++p) {
                float approximate[16];
                float lowest = kInfinity;
                for (int i = 0; i < 16; ++i) {
                    const int32_t centred = dots[p * 16 + i] - 128 * bank.row_sums[first + i];
                    const float dot = info[p].scale * bank.row_scales[first + i] * float(centred);
                    approximate[i] = info[p].norm + bank.norms[first + i] - 2.0f * dot;
                    lowest = std::min(lowest, approximate[i]);
                }
                if (lowest >= lists[p].worst()) continue;
                for (int i = 0; i < 16; ++i) lists[p].offer(approximate[i], int32_t(first + i));
            }
        }
        for (int64_t p = 0; p < count; ++p) {
            float nearest = kInfinity;
            for (int64_t k = 0; k < lists[p].size; ++k) {
                const int32_t row = lists[p].row[k];
                if (row >= bank.rows) continue;
                nearest = std::min(nearest, exact_squared(features, patches, channels, start + p,
                                                          bank.rows_fp32.data() + int64_t(row) * channels));
            }
            distances[start + p] = std::sqrt(std::max(nearest, 0.0f));
        }
    }
}

}  // namespace

PreparedBank prepare_bank(const float* bank, const float* norms, int64_t rows, int64_t channels, bool with_int8) {
    PreparedBank prepared;
    prepared.rows = rows;
    prepared.channels = channels;
    prepared.padded_rows = round_up(std::max<int64_t>(rows, 1), kInt8RowBlock);
    prepared.rows_fp32.assign(bank, bank + rows * channels);
    prepared.norms.assign(prepared.padded_rows, kInfinity);
    std::copy(norms, norms + rows, prepared.norms.begin());
    // Row blocks of kRowBlock rows, each stored channel-major: [block][c][j].
    prepared.transposed.assign(prepared.padded_rows * channels, 0.0f);
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t c = 0; c < channels; ++c)
            prepared.transposed[(row / kRowBlock) * kRowBlock * channels + c * kRowBlock + row % kRowBlock] =
                bank[row * channels + c];
    if (!with_int8) return prepared;
    prepared.has_int8 = true;
    prepared.packed_channels = round_up(channels, 4);
    prepared.packed.assign(prepared.padded_rows * prepared.packed_channels, 0);
    prepared.row_scales.assign(prepared.padded_rows, 0.0f);
    prepared.row_sums.assign(prepared.padded_rows, 0);
    for (int64_t row = 0; row < rows; ++row) {
        float peak = 0.0f;
        for (int64_t c = 0; c < channels; ++c) peak = std::max(peak, std::fabs(bank[row * channels + c]));
        const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
        prepared.row_scales[row] = scale;
        const int64_t block = row / kInt8RowBlock;
        const int64_t lane = row % kInt8RowBlock;
        for (int64_t c = 0; c < channels; ++c) {
            const int quantized = std::clamp(static_cast<int>(std::lrintf(bank[row * channels + c] / scale)), -127, 127);
            prepared.packed[block * prepared.packed_channels * kInt8RowBlock + (c / 4) * 64 + lane * 4 + c % 4] =
                static_cast<int8_t>(quantized);
            prepared.row_sums[row] += quantized;
        }
    }
    return prepared;
}

void nearest_distance_fp32(const float* features, int64_t patches, const PreparedBank& bank, float* distances) {
    const int64_t blocks = (patches + kPatchBlock - 1) / kPatchBlock;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, blocks), [&](const tbb::blocked_range<int64_t>& range) {
        if (__builtin_cpu_supports("avx512f"))
            fp32_range_avx512(features, patches, bank, range.begin(), range.end(), distances);
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            fp32_range_avx2(features, patches, bank, range.begin(), range.end(), distances);
        else
            fp32_range_generic(features, patches, bank, range.begin(), range.end(), distances);
    });
}

void nearest_distance_int8(const float* features, int64_t patches, const PreparedBank& bank, int64_t candidates,
                           float* distances) {
    const int64_t kept = std::clamp<int64_t>(candidates, 1, kMaxCandidates);
    const int64_t blocks = (patches + kInt8PatchBlock - 1) / kInt8PatchBlock;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, blocks, 4), [&](const tbb::blocked_range<int64_t>& range) {
        int8_patch_range(features, patches, bank, kept, range.begin(), range.end(), distances);
    });
}

float map_postprocess(const float* patch_map, int64_t height, int64_t width, const float* kernel, int64_t taps,
                      int64_t out_height, int64_t out_width, int64_t top_count, float* out_map) {
    const int64_t radius = (taps - 1) / 2;
    // Bilinear source positions with half-pixel centres, clamped to the edge like ONNX Resize.
    auto source = [](int64_t out, int64_t in_size, int64_t out_size, int64_t* low, int64_t* high, float* weight) {
        float position = (float(out) + 0.5f) * float(in_size) / float(out_size) - 0.5f;
        position = std::clamp(position, 0.0f, float(in_size - 1));
        *low = static_cast<int64_t>(position);
        *high = std::min(*low + 1, in_size - 1);
        *weight = position - float(*low);
    };
    std::vector<float> upsampled(out_height * out_width);
    std::vector<int64_t> x_low(out_width), x_high(out_width);
    std::vector<float> x_weight(out_width);
    for (int64_t x = 0; x < out_width; ++x) source(x, width, out_width, &x_low[x], &x_high[x], &x_weight[x]);
    for (int64_t y = 0; y < out_height; ++y) {
        int64_t y_low, y_high;
        float y_weight;
        source(y, height, out_height, &y_low, &y_high, &y_weight);
        const float* top = patch_map + y_low * width;
        const float* bottom = patch_map + y_high * width;
        float* row = upsampled.data() + y * out_width;
        for (int64_t x = 0; x < out_width; ++x) {
            const float upper = top[x_low[x]] + (top[x_high[x]] - top[x_low[x]]) * x_weight[x];
            const float lower = bottom[x_low[x]] + (bottom[x_high[x]] - bottom[x_low[x]]) * x_weight[x];
            row[x] = upper + (lower - upper) * y_weight;
        }
    }
    std::vector<float> vertical(out_height * out_width, 0.0f);
    for (int64_t y = 0; y < out_height; ++y) {
        float* row = vertical.data() + y * out_width;
        for (int64_t t = 0; t < taps; ++t) {
            const int64_t source_row = std::clamp<int64_t>(y + t - radius, 0, out_height - 1);
            const float* input = upsampled.data() + source_row * out_width;
            const float weight = kernel[t];
            for (int64_t x = 0; x < out_width; ++x) row[x] += weight * input[x];
        }
    }
    float peak = -kInfinity;
    std::vector<float> padded(out_width + 2 * radius);
    for (int64_t y = 0; y < out_height; ++y) {
        const float* input = vertical.data() + y * out_width;
        for (int64_t x = 0; x < out_width + 2 * radius; ++x)
            padded[x] = input[std::clamp<int64_t>(x - radius, 0, out_width - 1)];
        float* output = out_map + y * out_width;
        for (int64_t x = 0; x < out_width; ++x) {
            float sum = 0.0f;
            for (int64_t t = 0; t < taps; ++t) sum += kernel[t] * padded[x + t];
            output[x] = sum;
            peak = std::max(peak, sum);
        }
    }
    const int64_t pixels = out_height * out_width;
    const int64_t count = std::clamp<int64_t>(top_count, 1, pixels);
    if (count == 1) return peak;
    std::vector<float> values(out_map, out_map + pixels);
    std::nth_element(values.begin(), values.begin() + (count - 1), values.end(), std::greater<float>());
    double total = 0.0;
    for (int64_t index = 0; index < count; ++index) total += values[index];
    return static_cast<float>(total / double(count));
}

void parallel_ranges(int64_t count, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context) {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, std::max<int64_t>(grain, 1)),
                      [&](const tbb::blocked_range<int64_t>& range) { body(context, range.begin(), range.end()); });
}

}  // namespace defectseek
