// Map post-processing: bilinear upsampling, separable smoothing and the top-pixel score.
//
// Upsampling and edge-padded smoothing are both linear along each axis, so together they are one
// small matrix per axis (output pixels x patch-map cells), banded because every output pixel only
// reaches the cells under its kernel. The map is computed as rows_map . patch_map . columns_map^T:
// first the columns (patch-map rows widened to the output width), then every output row as a
// weighted sum of a few widened rows. That is about 10x fewer multiply-adds than upsampling the
// map and then smoothing it, and the inner loops run over contiguous pixels so that they
// vectorize. The mean of the top_count highest pixels comes from a histogram of the top 11 bits
// of the order-preserving float keys and a selection within one bucket.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include "kernels.hpp"

namespace defectseek {
namespace {

constexpr int64_t kRowGrain = 16;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Bilinear source positions with half-pixel centres, clamped to the edge like ONNX Resize.
void source_position(int64_t out, int64_t in_size, int64_t out_size, int64_t* low, int64_t* high, float* weight) {
    float position = (float(out) + 0.5f) * float(in_size) / float(out_size) - 0.5f;
    position = std::clamp(position, 0.0f, float(in_size - 1));
    *low = static_cast<int64_t>(position);
    *high = std::min(*low + 1, in_size - 1);
    *weight = position - float(*low);
}

// Upsampling from in_size to out_size, then smoothing with an odd kernel and edge padding, along
// one axis: out[o] = sum over i of by_output[o * in_size + i] * in[i].
struct AxisMap {
    int64_t in_size = 0;
    int64_t out_size = 0;
    std::vector<float> by_output;  // out_size x in_size
    std::vector<float> by_input;   // in_size x out_size, the same weights transposed
    std::vector<int64_t> first_input, last_input;    // per output: the inputs it reads
    std::vector<int64_t> first_output, last_output;  // per input: the outputs that read it
};

AxisMap axis_map(int64_t in_size, int64_t out_size, const float* kernel, int64_t taps) {
    AxisMap map;
    map.in_size = in_size;
    map.out_size = out_size;
    map.by_output.assign(out_size * in_size, 0.0f);
    map.by_input.assign(in_size * out_size, 0.0f);
    map.first_input.assign(out_size, in_size);
    map.last_input.assign(out_size, -1);
    map.first_output.assign(in_size, out_size);
    map.last_output.assign(in_size, -1);

    const int64_t radius = (taps - 1) / 2;
    std::vector<double> row(in_size);
    for (int64_t o = 0; o < out_size; ++o) {
        // Output o smooths the upsampled pixels o - radius .. o + radius (clamped to the edge).
        std::fill(row.begin(), row.end(), 0.0);
        for (int64_t t = 0; t < taps; ++t) {
            const int64_t smoothed = std::clamp<int64_t>(o + t - radius, 0, out_size - 1);
            int64_t low, high;
            float weight;
            source_position(smoothed, in_size, out_size, &low, &high, &weight);
            row[low] += double(kernel[t]) * (1.0 - double(weight));
            row[high] += double(kernel[t]) * double(weight);
        }

        for (int64_t i = 0; i < in_size; ++i) {
            if (row[i] == 0.0) continue;
            map.by_output[o * in_size + i] = float(row[i]);
            map.by_input[i * out_size + o] = float(row[i]);
            map.first_input[o] = std::min(map.first_input[o], i);
            map.last_input[o] = std::max(map.last_input[o], i);
            map.first_output[i] = std::min(map.first_output[i], o);
            map.last_output[i] = std::max(map.last_output[i], o);
        }
    }
    return map;
}

// Both axis maps of one geometry and kernel.
struct Plan {
    int64_t height, width, out_height, out_width;
    std::vector<float> kernel;
    AxisMap rows, columns;
};

// Building the maps costs about as much as applying them, so each thread keeps the last plan.
// The caller holds its own reference, so a nested call with another geometry cannot free it.
std::shared_ptr<const Plan> plan_for(int64_t height, int64_t width, int64_t out_height, int64_t out_width,
                                     const float* kernel, int64_t taps) {
    thread_local std::shared_ptr<const Plan> last;
    std::shared_ptr<const Plan> plan = last;
    const bool same = plan && plan->height == height && plan->width == width && plan->out_height == out_height &&
                      plan->out_width == out_width && int64_t(plan->kernel.size()) == taps &&
                      std::equal(plan->kernel.begin(), plan->kernel.end(), kernel);
    if (!same) {
        plan = std::make_shared<const Plan>(Plan{height, width, out_height, out_width,
                                                 std::vector<float>(kernel, kernel + taps),
                                                 axis_map(height, out_height, kernel, taps),
                                                 axis_map(width, out_width, kernel, taps)});
        last = plan;
    }
    return plan;
}

// widened[i * out_width + x] = sum over j of patch_map[i * width + j] * columns(x, j).
// The template parameter only gives each instruction-set wrapper below its own copy, which
// the compiler then vectorizes for that wrapper's target.
template <int Copy>
inline void widen_rows(const float* patch_map, int64_t height, const AxisMap& columns, float* widened) {
    const int64_t width = columns.in_size, out_width = columns.out_size;
    std::fill(widened, widened + height * out_width, 0.0f);
    for (int64_t i = 0; i < height; ++i) {
        float* out = widened + i * out_width;
        for (int64_t j = 0; j < width; ++j) {
            const float value = patch_map[i * width + j];
            const float* weights = columns.by_input.data() + j * out_width;
            for (int64_t x = columns.first_output[j]; x <= columns.last_output[j]; ++x) out[x] += value * weights[x];
        }
    }
}

// Output rows [begin, end) as weighted sums of widened rows; returns the largest output pixel.
template <int Copy>
inline float combine_rows(const AxisMap& rows, const float* widened, int64_t out_width, int64_t begin, int64_t end,
                          float* out_map) {
    float peak = -kInfinity;
    for (int64_t y = begin; y < end; ++y) {
        float* out = out_map + y * out_width;
        std::fill(out, out + out_width, 0.0f);
        for (int64_t i = rows.first_input[y]; i <= rows.last_input[y]; ++i) {
            const float weight = rows.by_output[y * rows.in_size + i];
            const float* source = widened + i * out_width;
            for (int64_t x = 0; x < out_width; ++x) out[x] += weight * source[x];
        }
        for (int64_t x = 0; x < out_width; ++x) peak = std::max(peak, out[x]);
    }
    return peak;
}

__attribute__((target("avx512f,fma"))) void widen_avx512(const float* m, int64_t h, const AxisMap& c, float* w) {
    widen_rows<0>(m, h, c, w);
}
__attribute__((target("avx2,fma"))) void widen_avx2(const float* m, int64_t h, const AxisMap& c, float* w) {
    widen_rows<1>(m, h, c, w);
}
void widen_generic(const float* m, int64_t h, const AxisMap& c, float* w) { widen_rows<2>(m, h, c, w); }

__attribute__((target("avx512f,fma"))) float combine_avx512(const AxisMap& r, const float* w, int64_t width, int64_t b,
                                                             int64_t e, float* out) {
    return combine_rows<0>(r, w, width, b, e, out);
}
__attribute__((target("avx2,fma"))) float combine_avx2(const AxisMap& r, const float* w, int64_t width, int64_t b,
                                                        int64_t e, float* out) {
    return combine_rows<1>(r, w, width, b, e, out);
}
float combine_generic(const AxisMap& r, const float* w, int64_t width, int64_t b, int64_t e, float* out) {
    return combine_rows<2>(r, w, width, b, e, out);
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

// Mean of the `count` largest values. One pass counts the values per bucket of the top 11 key bits
// (in four interleaved histograms, because neighbouring pixels of a smooth map share a bucket and
// one histogram would serialize on it). The buckets above the one holding the count-th largest
// value are wholly in the top. A second pass sums them and collects the values of that bucket,
// and the rest of the top is selected among those.
float top_mean(const float* values, int64_t size, int64_t count) {
    constexpr int kShift = 21;
    constexpr int64_t kBuckets = int64_t(1) << (32 - kShift);
    constexpr int64_t kCopies = 4;
    std::vector<int32_t> counts(kCopies * kBuckets, 0);
    int64_t index = 0;
    for (; index + kCopies <= size; index += kCopies)
        for (int64_t copy = 0; copy < kCopies; ++copy)
            ++counts[copy * kBuckets + (float_key(values[index + copy]) >> kShift)];
    for (; index < size; ++index) ++counts[float_key(values[index]) >> kShift];
    for (int64_t copy = 1; copy < kCopies; ++copy)
        for (int64_t bucket = 0; bucket < kBuckets; ++bucket) counts[bucket] += counts[copy * kBuckets + bucket];
    int64_t remaining = count;
    uint32_t bucket = kBuckets - 1;
    while (counts[bucket] < remaining) remaining -= counts[bucket--];
    double total = 0.0;
    std::vector<float> candidates;
    candidates.reserve(counts[bucket]);
    for (index = 0; index < size; ++index) {
        const uint32_t key_bucket = float_key(values[index]) >> kShift;
        if (key_bucket > bucket)
            total += values[index];
        else if (key_bucket == bucket)
            candidates.push_back(values[index]);
    }
    const auto larger = [](float left, float right) { return float_key(left) > float_key(right); };
    std::nth_element(candidates.begin(), candidates.begin() + (remaining - 1), candidates.end(), larger);
    for (int64_t k = 0; k < remaining; ++k) total += candidates[k];
    return static_cast<float>(total / double(count));
}

}  // namespace

float map_postprocess(const float* patch_map, int64_t height, int64_t width, const float* kernel, int64_t taps,
                      int64_t out_height, int64_t out_width, int64_t top_count, float* out_map) {
    const std::shared_ptr<const Plan> plan = plan_for(height, width, out_height, out_width, kernel, taps);
    const AxisMap& rows = plan->rows;
    const AxisMap& columns = plan->columns;
    std::vector<float> widened(height * out_width);
    const Isa isa = detect_isa();
    auto* widen = widen_generic;
    auto* combine = combine_generic;
    if (isa == Isa::kAvx512) {
        widen = widen_avx512;
        combine = combine_avx512;
    } else if (isa == Isa::kAvx2) {
        widen = widen_avx2;
        combine = combine_avx2;
    }
    widen(patch_map, height, columns, widened.data());
    const float peak = tbb::parallel_reduce(
        tbb::blocked_range<int64_t>(0, out_height, kRowGrain), -kInfinity,
        [&](const tbb::blocked_range<int64_t>& r, float running) {
            return std::max(running, combine(rows, widened.data(), out_width, r.begin(), r.end(), out_map));
        },
        [](float left, float right) { return std::max(left, right); });
    const int64_t pixels = out_height * out_width;
    const int64_t count = std::clamp<int64_t>(top_count, 1, pixels);
    if (count == 1) return peak;
    return top_mean(out_map, pixels, count);
}

}  // namespace defectseek
