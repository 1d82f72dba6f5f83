// Native CPU kernels of the DefectSeek head operators; no OpenVINO types, so they stay testable alone.
#pragma once

#include <cstdint>
#include <vector>

namespace defectseek {

// A memory bank prepared for the nearest-distance kernels: fp32 transposed to
// C x M (padded to a multiple of the block), plus an INT8 copy packed for VNNI.
struct PreparedBank {
    int64_t rows = 0;      // M, bank entries
    int64_t channels = 0;  // C
    int64_t padded_rows = 0;
    std::vector<float> transposed;  // channels x padded_rows, padding rows are +inf away
    std::vector<float> norms;       // padded_rows squared norms (padding: +inf)
    std::vector<float> rows_fp32;   // M x C copy for exact re-ranking
    // INT8: groups of 16 rows x 4 channels, channels padded to a multiple of 4.
    int64_t packed_channels = 0;
    std::vector<int8_t> packed;
    std::vector<float> row_scales;  // per row: value = scale * int8
    std::vector<int32_t> row_sums;  // per row: sum of int8 values, for the unsigned-offset correction
    float largest_row_norm = 0.0f;       // max over rows of |b|
    std::vector<float> row_errors;       // per row: |b - scale * int8|, the quantization error
    std::vector<float> quantized_norms;  // per row: |scale * int8|
    // The same INT8 rows for AMX tiles: the VNNI layout with channels padded to a multiple of 64.
    int64_t amx_channels = 0;
    std::vector<int8_t> packed_amx;
    bool has_int8 = false;
};

PreparedBank prepare_bank(const float* bank, const float* norms, int64_t rows, int64_t channels, bool with_int8);

// distances[p] = min over bank rows of the Euclidean distance to patch p. Features are
// one image's C x P block (channel-major, as in N x C x h x w).
void nearest_distance_fp32(const float* features, int64_t patches, const PreparedBank& bank, float* distances);

// Instruction sets of the screened search's first stage.
enum class ScreenIsa { kAmx, kVnni, kAvx2, kPortable };

// The fastest screen this CPU runs: AMX (where the OS grants the tile state), else AVX-512 VNNI,
// else AVX2 with FMA, else plain C++.
ScreenIsa best_screen_isa();

// Exact search screened by INT8 dot products (needs a bank prepared with_int8): rows whose
// proven lower bound is not above the smallest proven upper bound are re-ranked in fp32, so the
// result equals nearest_distance_fp32 up to float rounding. An `isa` the CPU lacks is replaced
// by the best one it has.
void nearest_distance_screened(const float* features, int64_t patches, const PreparedBank& bank, ScreenIsa isa,
                               float* distances);

// Search strategies of the NearestDistance operator (its `search` attribute).
enum class Search { kScreened, kFp32, kScreenedVnni, kScreenedAvx2, kScreenedPortable };

// Parses a `search` attribute value ("screened", "fp32", "screened-vnni", "screened-avx2",
// "screened-portable"); returns false if the value is unknown.
bool parse_search(const char* name, Search* search);

// Runs the strategy on one image. kScreened runs the fastest screen of this CPU (AMX, VNNI, then
// AVX2), and the fp32 scan on CPUs with none. kScreenedVnni, kScreenedAvx2 and kScreenedPortable
// force that screen; a CPU without the instructions runs its best screen instead.
void nearest_distance(const float* features, int64_t patches, const PreparedBank& bank, Search search, float* distances);

// Name of the kernel that `search` runs on this CPU, e.g. "int8-screened-amx" or "fp32-scan-avx512".
const char* search_kernel_name(Search search);

// Bilinear upsampling (half-pixel centres, edge clamped) of an h x w map to H x W,
// separable smoothing with an odd kernel and edge padding; returns the mean of the
// top_count highest pixels (the maximum for 1).
float map_postprocess(const float* patch_map, int64_t height, int64_t width, const float* kernel, int64_t taps,
                      int64_t out_height, int64_t out_width, int64_t top_count, float* out_map);

// Runs body(begin, end) over [0, count) on the calling runtime's thread pool.
void parallel_ranges(int64_t count, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context);

}  // namespace defectseek
