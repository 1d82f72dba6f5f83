// Map post-processing: bilinear upsampling, separable smoothing and the top-pixel score.
//
// Rows are split over the calling runtime's TBB arena in two phases (upsample, then smooth),
// and the inner loops run over contiguous pixels so that they vectorize. The mean of the
// top_count highest pixels finds the top_count-th value by a radix select on the float bits,
// which is linear in the pixel count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include "kernels.hpp"

namespace defectseek {
namespace {

constexpr int64_t kRowGrain = 8;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Bilinear source positions with half-pixel centres, clamped to the edge like ONNX Resize.
void source_position(int64_t out, int64_t in_size, int64_t out_size, int64_t* low, int64_t* high, float* weight) {
    float position = (float(out) + 0.5f) * float(in_size) / float(out_size) - 0.5f;
    position = std::clamp(position, 0.0f, float(in_size - 1));
    *low = static_cast<int64_t>(position);
    *high = std::min(*low + 1, in_size - 1);
    *weight = position - float(*low);
}

struct Geometry {
    const float* patch_map;
    int64_t height, width, out_height, out_width;
    const float* kernel;
    int64_t taps, radius;
};

// The template parameter only gives each instruction-set wrapper below its own copy, which
// the compiler then vectorizes for that wrapper's target.
template <int Copy>
inline void upsample_rows(const Geometry& g, const int64_t* x_low, const int64_t* x_high, const float* x_weight,
                          int64_t begin, int64_t end, float* upsampled) {
    std::vector<float> top(g.out_width), bottom(g.out_width);
    for (int64_t y = begin; y < end; ++y) {
        int64_t y_low, y_high;
        float y_weight;
        source_position(y, g.height, g.out_height, &y_low, &y_high, &y_weight);
        const float* upper_row = g.patch_map + y_low * g.width;
        const float* lower_row = g.patch_map + y_high * g.width;
        for (int64_t x = 0; x < g.out_width; ++x) {
            top[x] = upper_row[x_low[x]] + (upper_row[x_high[x]] - upper_row[x_low[x]]) * x_weight[x];
            bottom[x] = lower_row[x_low[x]] + (lower_row[x_high[x]] - lower_row[x_low[x]]) * x_weight[x];
        }
        float* row = upsampled + y * g.out_width;
        for (int64_t x = 0; x < g.out_width; ++x) row[x] = top[x] + (bottom[x] - top[x]) * y_weight;
    }
}

// Vertical then horizontal smoothing of rows [begin, end); returns the largest output pixel.
template <int Copy>
inline float smooth_rows(const Geometry& g, const float* upsampled, int64_t begin, int64_t end, float* out_map) {
    const int64_t width = g.out_width;
    std::vector<float> padded(width + 2 * g.radius);
    float peak = -kInfinity;
    for (int64_t y = begin; y < end; ++y) {
        float* vertical = padded.data() + g.radius;
        std::fill(vertical, vertical + width, 0.0f);
        for (int64_t t = 0; t < g.taps; ++t) {
            const int64_t source_row = std::clamp<int64_t>(y + t - g.radius, 0, g.out_height - 1);
            const float* input = upsampled + source_row * width;
            const float weight = g.kernel[t];
            for (int64_t x = 0; x < width; ++x) vertical[x] += weight * input[x];
        }
        for (int64_t x = 0; x < g.radius; ++x) {
            padded[x] = vertical[0];
            vertical[width + x] = vertical[width - 1];
        }
        float* output = out_map + y * width;
        std::fill(output, output + width, 0.0f);
        for (int64_t t = 0; t < g.taps; ++t) {
            const float weight = g.kernel[t];
            const float* input = padded.data() + t;
            for (int64_t x = 0; x < width; ++x) output[x] += weight * input[x];
        }
        for (int64_t x = 0; x < width; ++x) peak = std::max(peak, output[x]);
    }
    return peak;
}

__attribute__((target("avx512f,fma"))) void upsample_avx512(const Geometry& g, const int64_t* lo, const int64_t* hi,
                                                             const float* w, int64_t b, int64_t e, float* up) {
    upsample_rows<0>(g, lo, hi, w, b, e, up);
}
__attribute__((target("avx2,fma"))) void upsample_avx2(const Geometry& g, const int64_t* lo, const int64_t* hi,
                                                        const float* w, int64_t b, int64_t e, float* up) {
    upsample_rows<1>(g, lo, hi, w, b, e, up);
}
void upsample_generic(const Geometry& g, const int64_t* lo, const int64_t* hi, const float* w, int64_t b, int64_t e,
                      float* up) {
    upsample_rows<2>(g, lo, hi, w, b, e, up);
}

__attribute__((target("avx512f,fma"))) float smooth_avx512(const Geometry& g, const float* up, int64_t b, int64_t e,
                                                            float* out) {
    return smooth_rows<0>(g, up, b, e, out);
}
__attribute__((target("avx2,fma"))) float smooth_avx2(const Geometry& g, const float* up, int64_t b, int64_t e, float* out) {
    return smooth_rows<1>(g, up, b, e, out);
}
float smooth_generic(const Geometry& g, const float* up, int64_t b, int64_t e, float* out) {
    return smooth_rows<2>(g, up, b, e, out);
}

enum class Isa { kAvx512, kAvx2, kGeneric };

Isa detect_isa() {
    static const Isa isa = __builtin_cpu_supports("avx512f")                                      ? Isa::kAvx512
                           : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? Isa::kAvx2
                                                                                                : Isa::kGeneric;
    return isa;
}

// Order-preserving unsigned key of a float (larger float, larger key).
inline uint32_t float_key(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Mean of the `count` largest values: a radix select finds the count-th largest key in three
// passes of 11, 11 and 10 bits, then one pass sums every value above it.
float top_mean(const float* values, int64_t size, int64_t count) {
    uint32_t prefix = 0;
    uint32_t prefix_mask = 0;
    int64_t remaining = count;
    const int shifts[3] = {21, 10, 0};
    const int widths[3] = {11, 11, 10};
    std::vector<int64_t> histogram(1 << 11);

    for (int pass = 0; pass < 3; ++pass) {
        const int shift = shifts[pass];
        const uint32_t buckets = 1u << widths[pass];
        std::fill(histogram.begin(), histogram.begin() + buckets, 0);
        for (int64_t index = 0; index < size; ++index) {
            const uint32_t key = float_key(values[index]);
            if ((key & prefix_mask) == prefix) ++histogram[(key >> shift) & (buckets - 1)];
        }
        uint32_t bucket = buckets - 1;
        while (histogram[bucket] < remaining) remaining -= histogram[bucket--];
        prefix |= bucket << shift;
        prefix_mask |= (buckets - 1) << shift;
    }

    // `prefix` is now the key of the count-th largest value; `remaining` copies of it are in the top.
    double total = 0.0;
    float threshold = 0.0f;
    for (int64_t index = 0; index < size; ++index) {
        const uint32_t key = float_key(values[index]);
        if (key > prefix)
            total += values[index];
        else if (key == prefix)
            threshold = values[index];
    }
    total += double(remaining) * threshold;
    return static_cast<float>(total / double(count));
}

}  // namespace

float map_postprocess(const float* patch_map, int64_t height, int64_t width, const float* kernel, int64_t taps,
                      int64_t out_height, int64_t out_width, int64_t top_count, float* out_map) {
    const Geometry geometry{patch_map, height, width, out_height, out_width, kernel, taps, (taps - 1) / 2};
    std::vector<int64_t> x_low(out_width), x_high(out_width);
    std::vector<float> x_weight(out_width);
    for (int64_t x = 0; x < out_width; ++x) source_position(x, width, out_width, &x_low[x], &x_high[x], &x_weight[x]);
    std::vector<float> upsampled(out_height * out_width);
    const Isa isa = detect_isa();
    auto* upsample = upsample_generic;
    auto* smooth = smooth_generic;
    if (isa == Isa::kAvx512) {
        upsample = upsample_avx512;
        smooth = smooth_avx512;
    } else if (isa == Isa::kAvx2) {
        upsample = upsample_avx2;
        smooth = smooth_avx2;
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, out_height, kRowGrain), [&](const tbb::blocked_range<int64_t>& r) {
        upsample(geometry, x_low.data(), x_high.data(), x_weight.data(), r.begin(), r.end(), upsampled.data());
    });
    const float peak = tbb::parallel_reduce(
        tbb::blocked_range<int64_t>(0, out_height, kRowGrain), -kInfinity,
        [&](const tbb::blocked_range<int64_t>& r, float running) {
            return std::max(running, smooth(geometry, upsampled.data(), r.begin(), r.end(), out_map));
        },
        [](float left, float right) { return std::max(left, right); });
    const int64_t pixels = out_height * out_width;
    const int64_t count = std::clamp<int64_t>(top_count, 1, pixels);
    if (count == 1) return peak;
    return top_mean(out_map, pixels, count);
}

}  // namespace defectseek
