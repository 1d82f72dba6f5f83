// Checks the CUDA nearest-distance kernel against a double-precision CPU reference and times it.
//
// Build and run on a machine with an NVIDIA GPU (bench/gpu/run_checks.sh does both):
//   nvcc -O3 -std=c++17 -arch=native -o nd_check engine/ops/gpu/nearest_distance.cu \
//        bench/gpu/nearest_distance_check.cu && ./nd_check
// Exit status 0 when every case is within the tolerance, 1 when one is not, 2 on a CUDA error.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

extern "C" int defectseek_nearest_distance(const float* features, int64_t batch, int64_t channels, int64_t patches,
                                           const float* bank, const float* norms, int64_t rows, float* distances,
                                           cudaStream_t stream);

namespace {

constexpr double kRelativeTolerance = 1e-4;

#define CHECK_CUDA(call)                                                                      \
    do {                                                                                      \
        const cudaError_t status = (call);                                                    \
        if (status != cudaSuccess) {                                                          \
            std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(status), __FILE__, __LINE__); \
            std::exit(2);                                                                     \
        }                                                                                     \
    } while (0)

struct Case {
    int64_t batch, channels, patches, rows;
};

// Device copies of one case's inputs and output.
struct DeviceCase {
    float *features = nullptr, *bank = nullptr, *norms = nullptr, *distances = nullptr;
    ~DeviceCase() {
        cudaFree(features);
        cudaFree(bank);
        cudaFree(norms);
        cudaFree(distances);
    }
};

float* to_device(const std::vector<float>& host) {
    float* device = nullptr;
    CHECK_CUDA(cudaMalloc(&device, std::max<size_t>(host.size(), 1) * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(device, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    return device;
}

// Exact distances in double: features are N x C x P, the bank M x C.
std::vector<double> reference(const Case& c, const std::vector<float>& features, const std::vector<float>& bank) {
    std::vector<double> result(c.batch * c.patches);
    for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t p = 0; p < c.patches; ++p) {
            double best = INFINITY;
            for (int64_t m = 0; m < c.rows; ++m) {
                double sum = 0.0;
                for (int64_t ch = 0; ch < c.channels; ++ch) {
                    const double d = double(features[(n * c.channels + ch) * c.patches + p]) - bank[m * c.channels + ch];
                    sum += d * d;
                }
                best = std::min(best, sum);
            }
            result[n * c.patches + p] = std::sqrt(best);
        }
    return result;
}

// Random inputs of one case: a bank and patches near its rows, as real features are.
struct HostCase {
    std::vector<float> features, bank, norms;
};

HostCase make_inputs(const Case& c, std::mt19937& random) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    HostCase host{std::vector<float>(c.batch * c.channels * c.patches), std::vector<float>(c.rows * c.channels),
                  std::vector<float>(c.rows)};
    for (auto& value : host.bank) value = normal(random);
    for (int64_t m = 0; m < c.rows; ++m) {
        double sum = 0.0;
        for (int64_t ch = 0; ch < c.channels; ++ch) sum += double(host.bank[m * c.channels + ch]) * host.bank[m * c.channels + ch];
        host.norms[m] = float(sum);
    }
    std::uniform_int_distribution<int64_t> pick(0, c.rows - 1);
    for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t p = 0; p < c.patches; ++p) {
            const int64_t row = pick(random);
            for (int64_t ch = 0; ch < c.channels; ++ch)
                host.features[(n * c.channels + ch) * c.patches + p] = host.bank[row * c.channels + ch] + 0.1f * normal(random);
        }
    return host;
}

void launch(const Case& c, const DeviceCase& device) {
    const int launched = defectseek_nearest_distance(device.features, c.batch, c.channels, c.patches, device.bank,
                                                     device.norms, c.rows, device.distances, nullptr);
    CHECK_CUDA(static_cast<cudaError_t>(launched));
}

void upload(const Case& c, const HostCase& host, DeviceCase* device) {
    device->features = to_device(host.features);
    device->bank = to_device(host.bank);
    device->norms = to_device(host.norms);
    CHECK_CUDA(cudaMalloc(&device->distances, c.batch * c.patches * sizeof(float)));
}

// Largest error of the kernel's distances relative to max(1, largest distance).
double check_case(const Case& c, std::mt19937& random) {
    const HostCase host = make_inputs(c, random);
    DeviceCase device;
    upload(c, host, &device);
    launch(c, device);
    CHECK_CUDA(cudaDeviceSynchronize());
    std::vector<float> distances(c.batch * c.patches);
    CHECK_CUDA(cudaMemcpy(distances.data(), device.distances, distances.size() * sizeof(float), cudaMemcpyDeviceToHost));
    const std::vector<double> expected = reference(c, host.features, host.bank);
    double scale = 1.0;
    for (double value : expected) scale = std::max(scale, value);
    double worst = 0.0;
    for (size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::fabs(distances[i] - expected[i]) / scale);
    return worst;
}

// Prints the kernel's time per call and per image, from CUDA events around 50 calls.
void time_case(const Case& c, std::mt19937& random) {
    constexpr int kRepeats = 50;
    const HostCase host = make_inputs(c, random);
    DeviceCase device;
    upload(c, host, &device);
    launch(c, device);
    cudaEvent_t start, stop;
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    CHECK_CUDA(cudaEventRecord(start));
    for (int r = 0; r < kRepeats; ++r) launch(c, device);
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0.0f;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    std::printf("  time: %.4f ms per call, %.4f ms per image (%d calls)\n", ms / kRepeats, ms / kRepeats / double(c.batch),
                kRepeats);
}

}  // namespace

int main() {
    cudaDeviceProp properties{};
    CHECK_CUDA(cudaGetDeviceProperties(&properties, 0));
    std::printf("device: %s, %d multiprocessors\n", properties.name, properties.multiProcessorCount);
    std::mt19937 random(20261205);
    // Shapes that are not multiples of the kernel's blocks (128 patches, 32 rows, 64 channels).
    const Case cases[] = {{1, 5, 9, 1}, {2, 19, 35, 17}, {3, 150, 143, 2048}, {1, 344, 1024, 2048}, {2, 37, 63, 10000}};
    bool passed = true;
    for (const Case& c : cases) {
        const double error = check_case(c, random);
        const bool ok = error <= kRelativeTolerance;
        passed = passed && ok;
        std::printf("batch %ld, channels %ld, patches %ld, bank rows %ld: max relative error %.2e %s\n", long(c.batch),
                    long(c.channels), long(c.patches), long(c.rows), error, ok ? "ok" : "FAILED");
    }
    std::printf("default model shape, 32 images of 1024 patches x 344 channels, bank 2048 rows:\n");
    time_case({32, 344, 1024, 2048}, random);
    std::printf("%s\n", passed ? "all cases within 1e-4" : "some cases FAILED");
    return passed ? 0 : 1;
}
