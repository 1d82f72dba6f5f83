// Exact nearest-distance search screened by INT8 dot products with a proven error bound.
//
// Stage 1 quantizes a tile of patches and every bank row per row to INT8 (value = scale * q)
// and computes approximate squared distances |x|^2 + |b|^2 - 2 x^.b^ with VNNI dot products.
// By Cauchy-Schwarz, x.b - x^.b^ = x.(b - b^) + (x - x^).b^, so the true squared distance lies
// within 2 (|x| |b - b^| + |x - x^| |b^|) of the approximation (plus a small slack for float
// rounding). Stage 1 runs with AMX tiles, with AVX-512 VNNI, with AVX2 (7-bit patches) or in plain
// C++. Stage 2 takes the smallest upper bound U over the bank and re-ranks, in exact fp32,
// every row whose lower bound is at most U. The nearest row always passes, because its squared
// distance is at most every row's upper bound, so the result equals a full fp32 scan.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <cpuid.h>
#include <immintrin.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "kernels.hpp"

namespace defectseek {
namespace {

constexpr int64_t kTilePatches = 32;    // patches per screening tile: two AMX tiles of 16 rows
constexpr int64_t kSubTilePatches = 8;  // patches broadcast per VNNI step
constexpr int64_t kGroupRows = 16;      // bank rows per VNNI register
constexpr int64_t kTileGroups = 2;      // row groups per screening step
constexpr float kRoundingSlack = 1e-4f; // relative slack on (|x| + |b|)^2 for float rounding
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// One tile of patches quantized to unsigned bytes (q + offset), channels contiguous per patch.
struct PatchTile {
    int64_t count = 0;
    int64_t byte_stride = 0;         // bytes per patch: the bank's packed_channels, or amx_channels for AMX
    std::vector<uint8_t> bytes;      // kTilePatches x byte_stride
    int64_t stride = 0;              // floats per patch in `values`: channels rounded up to 16, zero padded
    std::vector<float> values;       // kTilePatches x stride, fp32 copy for re-ranking
    float scale[kTilePatches] = {};
    float squared_norm[kTilePatches] = {};
    float norm[kTilePatches] = {};
    float error[kTilePatches] = {};  // |x - x^|
    float slack[kTilePatches] = {};  // kRoundingSlack (|x| + max |b|)^2, the float rounding allowance
    int32_t offset = 128;            // byte = q + offset: 128 for 8-bit patches, 64 for 7-bit ones (AVX2)
};

// Copies patches [start, start + count) of the channel-major features into the tile, one row each.
void gather_tile(const float* features, int64_t patches, int64_t channels, int64_t start, PatchTile* tile) {
    tile->count = std::min(kTilePatches, patches - start);
    std::fill(tile->values.begin(), tile->values.end(), 0.0f);
    for (int64_t c = 0; c < channels; ++c) {
        const float* source = features + c * patches + start;
        for (int64_t p = 0; p < tile->count; ++p) tile->values[p * tile->stride + c] = source[p];
    }
}

void quantize_tile_generic(int64_t channels, PatchTile* tile) {
    std::fill(tile->bytes.begin(), tile->bytes.end(), uint8_t(128));
    for (int64_t p = 0; p < kTilePatches; ++p) {
        const float* values = tile->values.data() + p * tile->stride;
        float peak = 0.0f;
        double squared = 0.0;
        for (int64_t c = 0; c < channels; ++c) {
            peak = std::max(peak, std::fabs(values[c]));
            squared += double(values[c]) * values[c];
        }
        const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
        uint8_t* bytes = tile->bytes.data() + p * tile->byte_stride;
        double error = 0.0;
        for (int64_t c = 0; c < channels; ++c) {
            const int quantized = std::clamp(static_cast<int>(std::lrintf(values[c] / scale)), -127, 127);
            bytes[c] = static_cast<uint8_t>(quantized + 128);
            const double residual = double(values[c]) - double(scale) * quantized;
            error += residual * residual;
        }
        tile->scale[p] = scale;
        tile->squared_norm[p] = float(squared);
        tile->norm[p] = float(std::sqrt(squared));
        tile->error[p] = float(std::sqrt(error));
    }
}

// Lower and upper bounds of 16 squared distances from integer dot products (u8 patch x s8 row).
struct Bounds {
    float lower[kGroupRows];
    float upper[kGroupRows];
};

void bounds_generic(const int32_t* dots, const PreparedBank& bank, int64_t first, const PatchTile& tile, int64_t p,
                    Bounds* out) {
    for (int64_t i = 0; i < kGroupRows; ++i) {
        const int64_t row = first + i;
        const int32_t centred = dots[i] - tile.offset * bank.row_sums[row];
        const float approximate =
            tile.squared_norm[p] + bank.norms[row] - 2.0f * tile.scale[p] * bank.row_scales[row] * float(centred);
        const float bound =
            2.0f * (tile.norm[p] * bank.row_errors[row] + tile.error[p] * bank.quantized_norms[row]) + tile.slack[p];
        out->lower[i] = approximate - bound;
        out->upper[i] = approximate + bound;
    }
}

// Stage 1 without VNNI: integer dot products in plain C++ (for CPUs without VNNI and for tests).
void screen_generic(const PatchTile& tile, const PreparedBank& bank, float* lower, float* smallest_upper) {
    const int64_t packed_channels = bank.packed_channels;
    for (int64_t group = 0; group < bank.padded_rows / kGroupRows; ++group) {
        const int8_t* packed = bank.packed.data() + group * packed_channels * kGroupRows;
        const int64_t first = group * kGroupRows;
        for (int64_t p = 0; p < tile.count; ++p) {
            int32_t dots[kGroupRows] = {};
            const uint8_t* bytes = tile.bytes.data() + p * tile.byte_stride;
            for (int64_t c4 = 0; c4 < packed_channels / 4; ++c4)
                for (int64_t i = 0; i < kGroupRows; ++i)
                    for (int64_t k = 0; k < 4; ++k)
                        dots[i] += int32_t(bytes[c4 * 4 + k]) * int32_t(packed[c4 * 64 + i * 4 + k]);
            Bounds bounds;
            bounds_generic(dots, bank, first, tile, p, &bounds);
            std::memcpy(lower + p * bank.padded_rows + first, bounds.lower, sizeof(bounds.lower));
            for (int64_t i = 0; i < kGroupRows; ++i) smallest_upper[p] = std::min(smallest_upper[p], bounds.upper[i]);
        }
    }
}

#define DEFECTSEEK_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))

// Same as quantize_tile_generic with 16 channels per step; rounding is to nearest even.
DEFECTSEEK_VNNI void quantize_tile_vnni(PatchTile* tile) {
    const int64_t vectors = tile->stride / 16;
    for (int64_t p = 0; p < kTilePatches; ++p) {
        const float* values = tile->values.data() + p * tile->stride;
        __m512 peak = _mm512_setzero_ps();
        __m512 squared = _mm512_setzero_ps();
        for (int64_t v = 0; v < vectors; ++v) {
            const __m512 x = _mm512_loadu_ps(values + v * 16);
            peak = _mm512_max_ps(peak, _mm512_abs_ps(x));
            squared = _mm512_fmadd_ps(x, x, squared);
        }
        const float largest = _mm512_reduce_max_ps(peak);
        const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
        const __m512 inverse = _mm512_set1_ps(1.0f / scale);
        const __m512 step = _mm512_set1_ps(scale);
        __m512 error = _mm512_setzero_ps();
        uint8_t* bytes = tile->bytes.data() + p * tile->byte_stride;
        for (int64_t v = 0; v < vectors; ++v) {
            const __m512 x = _mm512_loadu_ps(values + v * 16);
            __m512i quantized = _mm512_cvtps_epi32(_mm512_mul_ps(x, inverse));
            quantized = _mm512_max_epi32(_mm512_min_epi32(quantized, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
            const __m512 residual = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(quantized), step, x);
            error = _mm512_fmadd_ps(residual, residual, error);
            const __m128i packed = _mm512_cvtepi32_epi8(_mm512_add_epi32(quantized, _mm512_set1_epi32(128)));
            const int64_t left = std::min<int64_t>(16, tile->byte_stride - v * 16);
            if (left > 0) _mm_mask_storeu_epi8(bytes + v * 16, static_cast<__mmask16>((1u << left) - 1u), packed);
        }
        const float total = _mm512_reduce_add_ps(squared);
        tile->scale[p] = scale;
        tile->squared_norm[p] = total;
        tile->norm[p] = std::sqrt(total);
        tile->error[p] = std::sqrt(_mm512_reduce_add_ps(error));
    }
}

DEFECTSEEK_VNNI inline void bounds_vnni(__m512i dots, const PreparedBank& bank, int64_t first, const PatchTile& tile,
                                        int64_t p, float* lower, __m512* smallest_upper) {
    const __m512i sums = _mm512_loadu_si512(bank.row_sums.data() + first);
    const __m512 dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(dots, _mm512_slli_epi32(sums, 7)));
    const __m512 factor = _mm512_mul_ps(_mm512_set1_ps(-2.0f * tile.scale[p]), _mm512_loadu_ps(bank.row_scales.data() + first));
    const __m512 base = _mm512_add_ps(_mm512_set1_ps(tile.squared_norm[p]), _mm512_loadu_ps(bank.norms.data() + first));
    const __m512 approximate = _mm512_fmadd_ps(dot, factor, base);
    __m512 bound = _mm512_set1_ps(tile.slack[p]);
    bound = _mm512_fmadd_ps(_mm512_set1_ps(2.0f * tile.norm[p]), _mm512_loadu_ps(bank.row_errors.data() + first), bound);
    bound = _mm512_fmadd_ps(_mm512_set1_ps(2.0f * tile.error[p]), _mm512_loadu_ps(bank.quantized_norms.data() + first),
                            bound);
    _mm512_storeu_ps(lower + first, _mm512_sub_ps(approximate, bound));
    *smallest_upper = _mm512_min_ps(*smallest_upper, _mm512_add_ps(approximate, bound));
}

// Stage 1 with VNNI: kSubTilePatches broadcast patches x kTileGroups row groups of 16 per step.
DEFECTSEEK_VNNI void screen_vnni(const PatchTile& tile, const PreparedBank& bank, float* lower, float* smallest_upper) {
    const int64_t packed_channels = bank.packed_channels;
    const int64_t quads = packed_channels / 4;
    const int64_t group_bytes = packed_channels * kGroupRows;
    for (int64_t sub = 0; sub < tile.count; sub += kSubTilePatches) {
        __m512 upper[kSubTilePatches];
        for (int64_t p = 0; p < kSubTilePatches; ++p) upper[p] = _mm512_set1_ps(kInfinity);
        const uint8_t* patches = tile.bytes.data() + sub * tile.byte_stride;
        for (int64_t group = 0; group < bank.padded_rows / kGroupRows; group += kTileGroups) {
            const int8_t* packed = bank.packed.data() + group * group_bytes;
            __m512i acc[kSubTilePatches][kTileGroups];
            for (int64_t p = 0; p < kSubTilePatches; ++p)
                for (int64_t g = 0; g < kTileGroups; ++g) acc[p][g] = _mm512_setzero_si512();
            for (int64_t c4 = 0; c4 < quads; ++c4) {
                __m512i rows[kTileGroups];
                for (int64_t g = 0; g < kTileGroups; ++g) rows[g] = _mm512_loadu_si512(packed + g * group_bytes + c4 * 64);
#pragma GCC unroll 8
                for (int64_t p = 0; p < kSubTilePatches; ++p) {
                    int32_t four_bytes;
                    std::memcpy(&four_bytes, patches + p * tile.byte_stride + c4 * 4, sizeof(four_bytes));
                    const __m512i quad = _mm512_set1_epi32(four_bytes);
                    for (int64_t g = 0; g < kTileGroups; ++g) acc[p][g] = _mm512_dpbusd_epi32(acc[p][g], quad, rows[g]);
                }
            }
            for (int64_t p = 0; p < kSubTilePatches; ++p)
                for (int64_t g = 0; g < kTileGroups; ++g)
                    bounds_vnni(acc[p][g], bank, (group + g) * kGroupRows, tile, sub + p,
                                lower + (sub + p) * bank.padded_rows, &upper[p]);
        }
        for (int64_t p = 0; p < kSubTilePatches; ++p) smallest_upper[sub + p] = _mm512_reduce_min_ps(upper[p]);
    }
}

// AMX: TDPBUSD multiplies a 16 x 64 tile of unsigned patch bytes by a 64 x 16 tile of signed bank
// bytes. The bank copy for AMX (PreparedBank::packed_amx) has the VNNI layout with channels padded
// to 64, so one group of 16 rows and 64 channels is a contiguous 16 x 64-byte B tile.
#define DEFECTSEEK_AMX __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,amx-tile,amx-int8")))
constexpr int64_t kAmxRows = 16;   // rows of every tile
constexpr int64_t kAmxBytes = 64;  // bytes per tile row

struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t row_bytes[16] = {};
    uint8_t rows[16] = {};
};

// Tiles 0-3 accumulate 2 patch tiles x 2 row groups; 4-5 hold patches, 6-7 bank rows.
DEFECTSEEK_AMX void screen_amx(const PatchTile& tile, const PreparedBank& bank, float* lower, float* smallest_upper) {
    static_assert(kTilePatches == 2 * kAmxRows, "a screening tile is two AMX patch tiles");
    static_assert(kTileGroups == 2, "the accumulator tiles cover two groups of bank rows");
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
        config.rows[t] = kAmxRows;
        config.row_bytes[t] = kAmxBytes;
    }
    _tile_loadconfig(&config);
    const int64_t chunks = bank.amx_channels / kAmxBytes;
    const int64_t group_bytes = bank.amx_channels * kGroupRows;
    const int64_t stride = tile.byte_stride;
    const uint8_t* first_patches = tile.bytes.data();
    const uint8_t* second_patches = first_patches + kAmxRows * stride;
    alignas(64) int32_t dots[4][kAmxRows * kGroupRows];
    __m512 upper[kTilePatches];
    for (int64_t p = 0; p < kTilePatches; ++p) upper[p] = _mm512_set1_ps(kInfinity);
    for (int64_t group = 0; group < bank.padded_rows / kGroupRows; group += kTileGroups) {
        const int8_t* rows = bank.packed_amx.data() + group * group_bytes;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            _tile_loadd(4, first_patches + chunk * kAmxBytes, stride);
            _tile_loadd(5, second_patches + chunk * kAmxBytes, stride);
            _tile_loadd(6, rows + chunk * kAmxRows * kAmxBytes, kAmxBytes);
            _tile_loadd(7, rows + group_bytes + chunk * kAmxRows * kAmxBytes, kAmxBytes);
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            _tile_dpbusd(2, 5, 6);
            _tile_dpbusd(3, 5, 7);
        }
        _tile_stored(0, dots[0], kGroupRows * sizeof(int32_t));
        _tile_stored(1, dots[1], kGroupRows * sizeof(int32_t));
        _tile_stored(2, dots[2], kGroupRows * sizeof(int32_t));
        _tile_stored(3, dots[3], kGroupRows * sizeof(int32_t));
        for (int64_t half = 0; half < 2; ++half) {
            for (int64_t r = 0; r < kAmxRows && half * kAmxRows + r < tile.count; ++r) {
                const int64_t p = half * kAmxRows + r;
                for (int64_t g = 0; g < kTileGroups; ++g)
                    bounds_vnni(_mm512_load_si512(dots[half * kTileGroups + g] + r * kGroupRows), bank, (group + g) * kGroupRows,
                                tile, p, lower + p * bank.padded_rows, &upper[p]);
            }
        }
    }
    _tile_release();
    for (int64_t p = 0; p < tile.count; ++p) smallest_upper[p] = _mm512_reduce_min_ps(upper[p]);
}


// AVX2 without VNNI: vpmaddubsw adds two u8 x s8 products into int16, which cannot overflow when
// the patch bytes stay below 128, so patches use 7 bits (q in [-63, 63], byte = q + 64). The
// coarser patch quantization widens the bounds, which costs re-ranked rows but not exactness.
#define DEFECTSEEK_AVX2 __attribute__((target("avx2,fma")))
constexpr int kAvx2Levels = 63;
constexpr int64_t kAvx2SubTile = 4;  // patches per register tile: 8 accumulators fit in 16 ymm registers

DEFECTSEEK_AVX2 inline float horizontal_sum(__m256 v) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    return _mm_cvtss_f32(_mm_add_ss(sum, _mm_movehdup_ps(sum)));
}

DEFECTSEEK_AVX2 inline float horizontal_max(__m256 v) {
    __m128 top = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    top = _mm_max_ps(top, _mm_movehl_ps(top, top));
    return _mm_cvtss_f32(_mm_max_ss(top, _mm_movehdup_ps(top)));
}

DEFECTSEEK_AVX2 inline float horizontal_min(__m256 v) {
    __m128 low = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    low = _mm_min_ps(low, _mm_movehl_ps(low, low));
    return _mm_cvtss_f32(_mm_min_ss(low, _mm_movehdup_ps(low)));
}

DEFECTSEEK_AVX2 void quantize_tile_avx2(PatchTile* tile) {
    const int64_t vectors = tile->stride / 8;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    tile->offset = kAvx2Levels + 1;
    for (int64_t p = 0; p < kTilePatches; ++p) {
        const float* values = tile->values.data() + p * tile->stride;
        __m256 peak = _mm256_setzero_ps();
        __m256 squared = _mm256_setzero_ps();
        for (int64_t v = 0; v < vectors; ++v) {
            const __m256 x = _mm256_loadu_ps(values + v * 8);
            peak = _mm256_max_ps(peak, _mm256_andnot_ps(sign, x));
            squared = _mm256_fmadd_ps(x, x, squared);
        }
        const float largest = horizontal_max(peak);
        const float scale = largest > 0.0f ? largest / float(kAvx2Levels) : 1.0f;
        const __m256 inverse = _mm256_set1_ps(1.0f / scale);
        const __m256 step = _mm256_set1_ps(scale);
        __m256 error = _mm256_setzero_ps();
        uint8_t* bytes = tile->bytes.data() + p * tile->byte_stride;
        for (int64_t v = 0; v < vectors; ++v) {
            const __m256 x = _mm256_loadu_ps(values + v * 8);
            __m256i quantized = _mm256_cvtps_epi32(_mm256_mul_ps(x, inverse));
            quantized = _mm256_max_epi32(_mm256_min_epi32(quantized, _mm256_set1_epi32(kAvx2Levels)),
                                         _mm256_set1_epi32(-kAvx2Levels));
            const __m256 residual = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(quantized), step, x);
            error = _mm256_fmadd_ps(residual, residual, error);
            int32_t lanes[8];
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi32(quantized, _mm256_set1_epi32(tile->offset)));
            for (int64_t k = 0; k < 8 && v * 8 + k < tile->byte_stride; ++k) bytes[v * 8 + k] = static_cast<uint8_t>(lanes[k]);
        }
        const float total = horizontal_sum(squared);
        tile->scale[p] = scale;
        tile->squared_norm[p] = total;
        tile->norm[p] = std::sqrt(total);
        tile->error[p] = std::sqrt(horizontal_sum(error));
    }
}

DEFECTSEEK_AVX2 inline void bounds_avx2(__m256i dots, const PreparedBank& bank, int64_t first, const PatchTile& tile,
                                        int64_t p, float* lower, __m256* smallest_upper) {
    const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bank.row_sums.data() + first));
    const __m256 dot = _mm256_cvtepi32_ps(_mm256_sub_epi32(dots, _mm256_mullo_epi32(sums, _mm256_set1_epi32(tile.offset))));
    const __m256 factor = _mm256_mul_ps(_mm256_set1_ps(-2.0f * tile.scale[p]), _mm256_loadu_ps(bank.row_scales.data() + first));
    const __m256 base = _mm256_add_ps(_mm256_set1_ps(tile.squared_norm[p]), _mm256_loadu_ps(bank.norms.data() + first));
    const __m256 approximate = _mm256_fmadd_ps(dot, factor, base);
    __m256 bound = _mm256_set1_ps(tile.slack[p]);
    bound = _mm256_fmadd_ps(_mm256_set1_ps(2.0f * tile.norm[p]), _mm256_loadu_ps(bank.row_errors.data() + first), bound);
    bound = _mm256_fmadd_ps(_mm256_set1_ps(2.0f * tile.error[p]), _mm256_loadu_ps(bank.quantized_norms.data() + first),
                            bound);
    _mm256_storeu_ps(lower + first, _mm256_sub_ps(approximate, bound));
    *smallest_upper = _mm256_min_ps(*smallest_upper, _mm256_add_ps(approximate, bound));
}

// Stage 1 with AVX2: sub-tiles of kAvx2SubTile patches x one group of 16 rows (two registers).
DEFECTSEEK_AVX2 void screen_avx2(const PatchTile& tile, const PreparedBank& bank, float* lower, float* smallest_upper) {
    const int64_t packed_channels = bank.packed_channels;
    const int64_t quads = packed_channels / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t sub = 0; sub < tile.count; sub += kAvx2SubTile) {
        __m256 upper[kAvx2SubTile];
        for (int64_t p = 0; p < kAvx2SubTile; ++p) upper[p] = _mm256_set1_ps(kInfinity);
        for (int64_t group = 0; group < bank.padded_rows / kGroupRows; ++group) {
            const int8_t* packed = bank.packed.data() + group * packed_channels * kGroupRows;
            __m256i acc[kAvx2SubTile][2];
            for (int64_t p = 0; p < kAvx2SubTile; ++p) acc[p][0] = acc[p][1] = _mm256_setzero_si256();
            for (int64_t c4 = 0; c4 < quads; ++c4) {
                const __m256i low_rows = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + c4 * 64));
                const __m256i high_rows = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + c4 * 64 + 32));
                for (int64_t p = 0; p < kAvx2SubTile; ++p) {
                    int32_t four_bytes;
                    std::memcpy(&four_bytes, tile.bytes.data() + (sub + p) * tile.byte_stride + c4 * 4, sizeof(four_bytes));
                    const __m256i quad = _mm256_set1_epi32(four_bytes);
                    const __m256i low = _mm256_madd_epi16(_mm256_maddubs_epi16(quad, low_rows), ones);
                    const __m256i high = _mm256_madd_epi16(_mm256_maddubs_epi16(quad, high_rows), ones);
                    acc[p][0] = _mm256_add_epi32(acc[p][0], low);
                    acc[p][1] = _mm256_add_epi32(acc[p][1], high);
                }
            }
            const int64_t first = group * kGroupRows;
            for (int64_t p = 0; p < kAvx2SubTile; ++p) {
                float* bounds = lower + (sub + p) * bank.padded_rows;
                bounds_avx2(acc[p][0], bank, first, tile, sub + p, bounds, &upper[p]);
                bounds_avx2(acc[p][1], bank, first + 8, tile, sub + p, bounds, &upper[p]);
            }
        }
        for (int64_t p = 0; p < kAvx2SubTile; ++p) smallest_upper[sub + p] = horizontal_min(upper[p]);
    }
}

DEFECTSEEK_AVX2 float exact_squared_avx2(const float* patch, const float* row, int64_t channels) {
    __m256 sum = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        const __m256 difference = _mm256_sub_ps(_mm256_loadu_ps(patch + c), _mm256_loadu_ps(row + c));
        sum = _mm256_fmadd_ps(difference, difference, sum);
    }
    float total = horizontal_sum(sum);
    for (; c < channels; ++c) total += (patch[c] - row[c]) * (patch[c] - row[c]);
    return total;
}

DEFECTSEEK_AVX2 float rerank_avx2(const float* patch, const float* lower, float smallest_upper, const PreparedBank& bank) {
    float nearest = kInfinity;
    const __m256 limit = _mm256_set1_ps(smallest_upper);
    for (int64_t first = 0; first < bank.padded_rows; first += 8) {
        uint32_t mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(lower + first), limit, _CMP_LE_OQ)));
        while (mask != 0) {
            const int64_t row = first + __builtin_ctz(mask);
            mask &= mask - 1;
            nearest = std::min(nearest, exact_squared_avx2(patch, bank.rows_fp32.data() + row * bank.channels, bank.channels));
        }
    }
    return nearest;
}

float exact_squared_generic(const float* patch, const float* row, int64_t channels) {
    float sum = 0.0f;
    for (int64_t c = 0; c < channels; ++c) {
        const float difference = patch[c] - row[c];
        sum += difference * difference;
    }
    return sum;
}

DEFECTSEEK_VNNI float exact_squared_avx512(const float* patch, const float* row, int64_t channels) {
    __m512 sum = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= channels; c += 16) {
        const __m512 difference = _mm512_sub_ps(_mm512_loadu_ps(patch + c), _mm512_loadu_ps(row + c));
        sum = _mm512_fmadd_ps(difference, difference, sum);
    }
    if (c < channels) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (channels - c)) - 1u);
        const __m512 difference = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, patch + c), _mm512_maskz_loadu_ps(mask, row + c));
        sum = _mm512_fmadd_ps(difference, difference, sum);
    }
    return _mm512_reduce_add_ps(sum);
}

// Stage 2: exact squared distances of the rows whose lower bound is at most the smallest upper bound.
float rerank_generic(const float* patch, const float* lower, float smallest_upper, const PreparedBank& bank) {
    float nearest = kInfinity;
    for (int64_t row = 0; row < bank.rows; ++row) {
        if (lower[row] > smallest_upper) continue;
        nearest = std::min(nearest, exact_squared_generic(patch, bank.rows_fp32.data() + row * bank.channels, bank.channels));
    }
    return nearest;
}

// Padding rows have a lower bound of +inf, so scanning all padded rows never selects them.
DEFECTSEEK_VNNI float rerank_avx512(const float* patch, const float* lower, float smallest_upper, const PreparedBank& bank) {
    float nearest = kInfinity;
    const __m512 limit = _mm512_set1_ps(smallest_upper);
    for (int64_t first = 0; first < bank.padded_rows; first += kGroupRows) {
        uint32_t mask = _mm512_cmp_ps_mask(_mm512_loadu_ps(lower + first), limit, _CMP_LE_OQ);
        while (mask != 0) {
            const int64_t row = first + __builtin_ctz(mask);
            mask &= mask - 1;
            nearest = std::min(nearest, exact_squared_avx512(patch, bank.rows_fp32.data() + row * bank.channels, bank.channels));
        }
    }
    return nearest;
}

bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}

bool cpu_has_vnni() {
    static const bool has = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512dq") &&
                            __builtin_cpu_supports("avx512vl");
    return has;
}

// Linux hands out the AMX tile state only to processes that ask for it (arch_prctl); other
// systems keep the VNNI screen.
bool amx_state_granted() {
#if defined(__linux__) && defined(SYS_arch_prctl)
    constexpr int kRequestPermission = 0x1023;  // ARCH_REQ_XCOMP_PERM
    constexpr int kTileData = 18;               // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
#else
    return false;
#endif
}

bool cpu_has_amx() {
    static const bool has = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        if (!cpu_has_vnni() || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
        const bool tiles = (edx >> 24) & 1u;  // AMX-TILE
        const bool int8 = (edx >> 25) & 1u;   // AMX-INT8
        return tiles && int8 && amx_state_granted();
    }();
    return has;
}

void screened_range(const float* features, int64_t patches, const PreparedBank& bank, ScreenIsa isa, int64_t begin,
                    int64_t end, float* distances) {
    // Buffers reused per thread: allocating the bounds (256 KiB for 2,048 rows) per call costs
    // page faults. This function calls no TBB function, so no other range can run on this
    // thread while it uses them.
    thread_local PatchTile tile;
    thread_local std::vector<float> lower;
    tile.byte_stride = isa == ScreenIsa::kAmx ? bank.amx_channels : bank.packed_channels;
    tile.offset = 128;  // The AVX2 quantizer sets its own offset; the other screens expect 128.
    tile.bytes.assign(kTilePatches * tile.byte_stride, uint8_t(128));
    tile.stride = (bank.channels + 15) / 16 * 16;
    tile.values.resize(kTilePatches * tile.stride);
    lower.resize(kTilePatches * bank.padded_rows);
    for (int64_t index = begin; index < end; ++index) {
        const int64_t start = index * kTilePatches;
        gather_tile(features, patches, bank.channels, start, &tile);
        float smallest_upper[kTilePatches];
        std::fill(smallest_upper, smallest_upper + kTilePatches, kInfinity);
        if (isa == ScreenIsa::kAmx || isa == ScreenIsa::kVnni)
            quantize_tile_vnni(&tile);
        else if (isa == ScreenIsa::kAvx2)
            quantize_tile_avx2(&tile);
        else
            quantize_tile_generic(bank.channels, &tile);
        for (int64_t p = 0; p < kTilePatches; ++p) {
            const float reach = tile.norm[p] + bank.largest_row_norm;
            tile.slack[p] = kRoundingSlack * reach * reach;
        }
        if (isa == ScreenIsa::kAmx)
            screen_amx(tile, bank, lower.data(), smallest_upper);
        else if (isa == ScreenIsa::kVnni)
            screen_vnni(tile, bank, lower.data(), smallest_upper);
        else if (isa == ScreenIsa::kAvx2)
            screen_avx2(tile, bank, lower.data(), smallest_upper);
        else
            screen_generic(tile, bank, lower.data(), smallest_upper);
        for (int64_t p = 0; p < tile.count; ++p) {
            const float* patch = tile.values.data() + p * tile.stride;
            const float* bounds = lower.data() + p * bank.padded_rows;
            float nearest;
            if (isa == ScreenIsa::kAmx || isa == ScreenIsa::kVnni)
                nearest = rerank_avx512(patch, bounds, smallest_upper[p], bank);
            else if (isa == ScreenIsa::kAvx2)
                nearest = rerank_avx2(patch, bounds, smallest_upper[p], bank);
            else
                nearest = rerank_generic(patch, bounds, smallest_upper[p], bank);
            distances[start + p] = std::sqrt(std::max(nearest, 0.0f));
        }
    }
}

}  // namespace

ScreenIsa best_screen_isa() {
    if (cpu_has_amx()) return ScreenIsa::kAmx;
    if (cpu_has_vnni()) return ScreenIsa::kVnni;
    if (cpu_has_avx2()) return ScreenIsa::kAvx2;
    return ScreenIsa::kPortable;
}

void nearest_distance_screened(const float* features, int64_t patches, const PreparedBank& bank, ScreenIsa isa,
                               float* distances) {
    if (isa == ScreenIsa::kAmx && !cpu_has_amx()) isa = best_screen_isa();
    if (isa == ScreenIsa::kVnni && !cpu_has_vnni()) isa = best_screen_isa();
    if (isa == ScreenIsa::kAvx2 && !cpu_has_avx2()) isa = ScreenIsa::kPortable;
    const int64_t tiles = (patches + kTilePatches - 1) / kTilePatches;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, tiles, 1), [&](const tbb::blocked_range<int64_t>& range) {
        screened_range(features, patches, bank, isa, range.begin(), range.end(), distances);
    });
}

}  // namespace defectseek
