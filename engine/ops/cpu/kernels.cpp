// Bank preparation and the fp32 nearest-distance scan with a running minimum over the bank.
//
// The fp32 kernel computes |x|^2 + |b|^2 - 2 x.b for tiles of 32 patches x 8 bank rows
// in registers and keeps only the running minimum per patch, so the patches x bank
// matrix is never stored. The INT8-screened exact search is in screened.cpp and the map
// post-processing in postprocess.cpp.
#include "kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <immintrin.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace defectseek {
namespace {

constexpr int64_t kRowBlock = 8;         // bank rows per fp32 tile
constexpr int64_t kPatchBlock = 32;      // patches per fp32 tile
constexpr int64_t kBankChunk = 512;      // bank rows kept hot in cache per pass
constexpr int64_t kInt8RowBlock = 16;    // bank rows per VNNI register
constexpr int64_t kBankPadding = 32;     // padded bank rows: a multiple of every kernel's row block
constexpr int64_t kAmxChannelBlock = 64; // channels per AMX tile row (bytes)
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

}  // namespace

PreparedBank prepare_bank(const float* bank, const float* norms, int64_t rows, int64_t channels, bool with_int8) {
    PreparedBank prepared;
    prepared.rows = rows;
    prepared.channels = channels;
    prepared.padded_rows = round_up(std::max<int64_t>(rows, 1), kBankPadding);
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
    prepared.row_errors.assign(prepared.padded_rows, 0.0f);
    prepared.quantized_norms.assign(prepared.padded_rows, 0.0f);
    prepared.amx_channels = round_up(channels, kAmxChannelBlock);
    prepared.packed_amx.assign(prepared.padded_rows * prepared.amx_channels, 0);
    for (int64_t row = 0; row < rows; ++row) {
        float peak = 0.0f;
        for (int64_t c = 0; c < channels; ++c) peak = std::max(peak, std::fabs(bank[row * channels + c]));
        const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
        prepared.row_scales[row] = scale;
        const int64_t block = row / kInt8RowBlock;
        const int64_t lane = row % kInt8RowBlock;
        double error = 0.0;
        double quantized_squared = 0.0;
        for (int64_t c = 0; c < channels; ++c) {
            const int quantized = std::clamp(static_cast<int>(std::lrintf(bank[row * channels + c] / scale)), -127, 127);
            // Both copies use the same layout and differ only in how far the channels are padded.
            const int64_t within_block = (c / 4) * 64 + lane * 4 + c % 4;
            prepared.packed[block * prepared.packed_channels * kInt8RowBlock + within_block] = static_cast<int8_t>(quantized);
            prepared.packed_amx[block * prepared.amx_channels * kInt8RowBlock + within_block] = static_cast<int8_t>(quantized);
            prepared.row_sums[row] += quantized;
            const double restored = double(scale) * quantized;
            const double residual = double(bank[row * channels + c]) - restored;
            error += residual * residual;
            quantized_squared += restored * restored;
        }
        prepared.largest_row_norm = std::max(prepared.largest_row_norm, std::sqrt(std::max(norms[row], 0.0f)));
        prepared.row_errors[row] = float(std::sqrt(error));
        prepared.quantized_norms[row] = float(std::sqrt(quantized_squared));
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

bool parse_search(const char* name, Search* search) {
    const std::string value(name);
    if (value == "screened")
        *search = Search::kScreened;
    else if (value == "fp32")
        *search = Search::kFp32;
    else if (value == "screened-vnni")
        *search = Search::kScreenedVnni;
    else if (value == "screened-avx2")
        *search = Search::kScreenedAvx2;
    else if (value == "screened-portable")
        *search = Search::kScreenedPortable;
    else
        return false;
    return true;
}

namespace {

// The screen that `search` runs here, or false when it runs the fp32 scan.
bool screen_for(Search search, ScreenIsa* isa) {
    const ScreenIsa best = best_screen_isa();
    if (search == Search::kScreenedPortable)
        *isa = ScreenIsa::kPortable;
    else if (search == Search::kScreenedAvx2)
        *isa = best == ScreenIsa::kPortable ? ScreenIsa::kPortable : ScreenIsa::kAvx2;
    else if (search == Search::kScreenedVnni)
        *isa = best == ScreenIsa::kAmx ? ScreenIsa::kVnni : best;
    else if (search == Search::kScreened && best != ScreenIsa::kPortable)
        *isa = best;
    else
        return false;
    return true;
}

}  // namespace

void nearest_distance(const float* features, int64_t patches, const PreparedBank& bank, Search search, float* distances) {
    ScreenIsa isa;
    if (screen_for(search, &isa))
        nearest_distance_screened(features, patches, bank, isa, distances);
    else
        nearest_distance_fp32(features, patches, bank, distances);
}

const char* search_kernel_name(Search search) {
    ScreenIsa isa;
    if (screen_for(search, &isa)) {
        if (isa == ScreenIsa::kAmx) return "int8-screened-amx";
        if (isa == ScreenIsa::kVnni) return "int8-screened-avx512-vnni";
        if (isa == ScreenIsa::kAvx2) return "int8-screened-avx2";
        return "int8-screened-portable";
    }
    if (__builtin_cpu_supports("avx512f")) return "fp32-scan-avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "fp32-scan-avx2";
    return "fp32-scan-generic";
}

void parallel_ranges(int64_t count, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context) {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, std::max<int64_t>(grain, 1)),
                      [&](const tbb::blocked_range<int64_t>& range) { body(context, range.begin(), range.end()); });
}

}  // namespace defectseek
