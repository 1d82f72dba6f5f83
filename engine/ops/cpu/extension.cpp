// OpenVINO operators for the DefectSeek head and their ONNX front-end mapping.
//
// Loading this library into an ov::Core (core.add_extension) makes the ONNX reader turn
// ai.defectseek::NearestDistance and ai.defectseek::MapPostprocess nodes into these
// operators instead of their model-local function bodies.
#include <memory>
#include <mutex>
#include <string>

#include <openvino/core/extension.hpp>
#include <openvino/core/op_extension.hpp>
#include <openvino/frontend/onnx/extension/op.hpp>
#include <openvino/op/op.hpp>

#include "kernels.hpp"

namespace defectseek {

class NearestDistance : public ov::op::Op {
public:
    OPENVINO_OP("NearestDistance", "defectseek");

    NearestDistance() = default;

    NearestDistance(const ov::OutputVector& inputs, std::string search) : Op(inputs), m_search_name(std::move(search)) {
        constructor_validate_and_infer_types();
    }

    void validate_and_infer_types() override {
        NODE_VALIDATION_CHECK(this, parse_search(m_search_name.c_str(), &m_search), "invalid search '", m_search_name,
                              "'; use screened, fp32, screened-avx2 or screened-portable");
        const auto& features = get_input_partial_shape(0);
        ov::PartialShape output = ov::PartialShape::dynamic(4);
        if (features.rank().is_static() && features.rank().get_length() == 4)
            output = ov::PartialShape{features[0], 1, features[2], features[3]};
        set_output_type(0, ov::element::f32, output);
    }

    std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& inputs) const override {
        return std::make_shared<NearestDistance>(inputs, m_search_name);
    }

    bool visit_attributes(ov::AttributeVisitor& visitor) override {
        visitor.on_attribute("search", m_search_name);
        return true;
    }

    bool has_evaluate() const override { return true; }

    bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override {
        const auto& features = inputs[0];
        const auto& bank = inputs[1];
        const auto shape = features.get_shape();
        const int64_t batch = shape[0], channels = shape[1], patches = shape[2] * shape[3];
        const auto& prepared = prepared_bank(bank.data<const float>(), inputs[2].data<const float>(),
                                             bank.get_shape()[0], bank.get_shape()[1]);
        outputs[0].set_shape({shape[0], 1, shape[2], shape[3]});
        const float* input = features.data<const float>();
        float* output = outputs[0].data<float>();
        for (int64_t image = 0; image < batch; ++image) {
            const float* block = input + image * channels * patches;
            nearest_distance(block, patches, prepared, m_search, output + image * patches);
        }
        return true;
    }

private:
    const PreparedBank& prepared_bank(const float* bank, const float* norms, int64_t rows, int64_t channels) const {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_prepared || m_source != bank || m_prepared->rows != rows) {
            m_prepared = std::make_shared<PreparedBank>(
                prepare_bank(bank, norms, rows, channels, m_search != Search::kFp32));
            m_source = bank;
        }
        return *m_prepared;
    }

    std::string m_search_name = "screened";
    Search m_search = Search::kScreened;
    mutable std::mutex m_mutex;
    mutable std::shared_ptr<PreparedBank> m_prepared;
    mutable const float* m_source = nullptr;
};

class MapPostprocess : public ov::op::Op {
public:
    OPENVINO_OP("MapPostprocess", "defectseek");

    MapPostprocess() = default;

    MapPostprocess(const ov::OutputVector& inputs, std::vector<int64_t> output_size, std::vector<int64_t> top_count)
        : Op(inputs), m_output_size(std::move(output_size)), m_top_count(std::move(top_count)) {
        constructor_validate_and_infer_types();
    }

    void validate_and_infer_types() override {
        const auto& patch_map = get_input_partial_shape(0);
        ov::Dimension batch = patch_map.rank().is_static() ? patch_map[0] : ov::Dimension::dynamic();
        const int64_t height = m_output_size.size() == 2 ? m_output_size[0] : -1;
        const int64_t width = m_output_size.size() == 2 ? m_output_size[1] : -1;
        set_output_type(0, ov::element::f32, ov::PartialShape{batch, 1, height, width});
        set_output_type(1, ov::element::f32, ov::PartialShape{batch});
    }

    std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& inputs) const override {
        return std::make_shared<MapPostprocess>(inputs, m_output_size, m_top_count);
    }

    bool visit_attributes(ov::AttributeVisitor& visitor) override {
        visitor.on_attribute("output_size", m_output_size);
        visitor.on_attribute("top_count", m_top_count);
        return true;
    }

    bool has_evaluate() const override { return true; }

    bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override {
        const auto shape = inputs[0].get_shape();
        const int64_t batch = shape[0], height = shape[2], width = shape[3];
        const int64_t out_height = m_output_size[0], out_width = m_output_size[1];
        const auto& kernel = inputs[1];
        const int64_t taps = static_cast<int64_t>(kernel.get_size());
        outputs[0].set_shape({shape[0], 1, size_t(out_height), size_t(out_width)});
        outputs[1].set_shape({shape[0]});
        struct Context {
            const float* input;
            const float* kernel;
            float* maps;
            float* scores;
            int64_t height, width, taps, out_height, out_width, top_count;
        } context{inputs[0].data<const float>(), kernel.data<const float>(), outputs[0].data<float>(),
                  outputs[1].data<float>(), height, width, taps, out_height, out_width,
                  m_top_count.empty() ? 1 : m_top_count[0]};
        parallel_ranges(batch, 1, [](void* raw, int64_t begin, int64_t end) {
            auto* c = static_cast<Context*>(raw);
            for (int64_t image = begin; image < end; ++image)
                c->scores[image] = map_postprocess(c->input + image * c->height * c->width, c->height, c->width,
                                                   c->kernel, c->taps, c->out_height, c->out_width, c->top_count,
                                                   c->maps + image * c->out_height * c->out_width);
        }, &context);
        return true;
    }

private:
    std::vector<int64_t> m_output_size;
    std::vector<int64_t> m_top_count{1};
};

}  // namespace defectseek

// Name of the kernel that a `search` value runs on this CPU (read by the compile step through ctypes).
extern "C" __attribute__((visibility("default"))) const char* defectseek_search_kernel(const char* search) {
    defectseek::Search parsed;
    if (!defectseek::parse_search(search, &parsed)) return "unknown";
    return defectseek::search_kernel_name(parsed);
}

OPENVINO_CREATE_EXTENSIONS(std::vector<ov::Extension::Ptr>({
    std::make_shared<ov::OpExtension<defectseek::NearestDistance>>(),
    std::make_shared<ov::OpExtension<defectseek::MapPostprocess>>(),
    std::make_shared<ov::frontend::onnx::OpExtension<defectseek::NearestDistance>>(
        "NearestDistance", "ai.defectseek", std::map<std::string, std::string>{{"search", "search"}}),
    std::make_shared<ov::frontend::onnx::OpExtension<defectseek::MapPostprocess>>(
        "MapPostprocess", "ai.defectseek",
        std::map<std::string, std::string>{{"output_size", "output_size"}, {"top_count", "top_count"}}),
}));
