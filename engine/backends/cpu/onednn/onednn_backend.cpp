// The "onednn" backend: the nodes oneDNN runs faster than the reference kernels (Conv with fused
// activations and residual, MaxPool, nearest Resize, channel Concat, activations, Add/Mul,
// BatchNorm, Reorder), in FP32, in BF16 where the CPU has AVX512-BF16 or AMX, and in INT8 (Conv,
// MaxPool, Resize, Concat; docs/int8.md) where it has VNNI or AMX. Its 4-D
// activations stay in one layout between its nodes (NHWC or Blocked16, chosen by the builder);
// Reorder nodes convert at the edges. Everything else stays on the reference backend.
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"

namespace engine {
namespace onednn {

namespace {

class OneDnnBackend final : public Backend {
  public:
    std::string_view name() const override { return "onednn"; }
    std::string device_signature() const override { return "cpu x86_64 onednn " + cpu_isa_name(); }

    bool supports(const Graph& g, NodeId n, std::string* why) const override {
        const OpType op = g.node(n).op;
        if (op == OpType::Conv) return conv_supported(g, n, why);
        if (op == OpType::MaxPool) return pool_supported(g, n, why);
        if (op == OpType::Resize) return resize_supported(g, n, why);
        if (op == OpType::Concat) return concat_supported(g, n, why);
        if (op == OpType::Add || op == OpType::Mul) return binary_supported(g, n, why);
        if (op == OpType::BatchNorm) return batch_norm_supported(g, n, why);
        if (op == OpType::Reorder) return reorder_supported(g, n, why);
        if (op_is_activation(op)) return eltwise_supported(g, n, why);
        if (op == OpType::FakeQuant) return fake_quant_supported(g, n, why);
        return reject(why, concat(op_type_name(op), " has no oneDNN kernel"));
    }

    bool supports_precision(const Graph& g, NodeId n, DataType dt) const override {
        if (dt == DataType::F32) return true;
        if (dt == DataType::I8) {
            // INT8 convs; MaxPool, nearest Resize and Concat move I8 values as they are.
            const OpType op = g.node(n).op;
            if (op == OpType::Conv) return conv_int8_supported(g, n);
            return (op == OpType::MaxPool || op == OpType::Resize || op == OpType::Concat) &&
                   cpu_has_int8() && supports(g, n, nullptr);
        }
        // FakeQuant computes in F32 (its rounding is the model's quantization).
        return dt == DataType::BF16 && g.node(n).op != OpType::FakeQuant && cpu_has_bf16() &&
               supports(g, n, nullptr);
    }

    std::vector<Layout> activation_layouts() const override { return {Layout::NHWC, Layout::Blocked16}; }
    // Blocked16 is timed only where oneDNN has AVX-512 kernels: on an AVX2-only CPU (AMD EPYC,
    // 2026-12-03) YOLOv3-tiny-416 ran in 55 ms as NHWC and 87 s as Blocked16 (generic code), and timing
    // that candidate made `rtdet build` take 6 minutes. Nor in INT8 plans: oneDNN 2.6 has no optimized
    // int8 convolution on nChw16c (Yolo-Fastest-1.1-XL INT8, AMD EPYC 2026-12-04: NHWC 2.9 ms,
    // Blocked16 17 s). A forced `layout = blocked16` still builds.
    std::vector<Layout> auto_layouts(const Graph& g) const override {
        bool int8 = false;
        for (NodeId n = 0; n < g.num_nodes() && !int8; ++n)
            int8 = !g.node(n).dead && g.node(n).backend == name() && g.node(n).precision == DataType::I8;
        if (cpu_has_avx512_core() && !int8) return activation_layouts();
        return {Layout::NHWC};
    }

    Layout input_layout(const Graph& g, NodeId n, size_t slot, Layout act) const override {
        const Node& node = g.node(n);
        if (slot >= node.inputs.size() || !is_runtime_4d(g, node.inputs[slot])) return Layout::Plain;
        // A conv on few input channels (the image) reads NCHW directly in Blocked16 plans: padding 3
        // channels to 16 would do 5x the work, and oneDNN's direct conv takes an nchw source there.
        if (node.op == OpType::Conv && slot == 0 && act == Layout::Blocked16 &&
            g.value(node.inputs[0]).desc.shape[1] < kBlockedChannels)
            return Layout::Plain;
        return act;
    }

    std::vector<Tensor> pack(const Graph& g, NodeId n, const PackContext& ctx) override {
        const OpType op = g.node(n).op;
        try {
            if (op == OpType::Conv) return onednn::conv_pack(g, n, ctx);
            if (op == OpType::BatchNorm) return onednn::batch_norm_pack(g, n);
        } catch (const dnnl::error& e) {
            ENGINE_THROW("onednn: ", node_label(g, n), ": ", e.what());
        }
        return {};
    }

    std::vector<size_t> packed_inputs(const Graph& g, NodeId n) const override {
        const Node& node = g.node(n);
        if (node.op == OpType::Conv) return {1, 2};             // weights, bias
        if (node.op == OpType::BatchNorm) return {1, 2, 3, 4};  // folded into scale, shift
        return {};
    }

    std::unique_ptr<Kernel> create_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) override {
        const OpType op = g.node(n).op;
        try {
            if (op == OpType::Conv) return make_conv_kernel(g, n, packed);
            if (op == OpType::MaxPool) return make_pool_kernel(g, n);
            if (op == OpType::Resize) return make_resize_kernel(g, n);
            if (op == OpType::Concat) return make_concat_kernel(g, n);
            if (op == OpType::Add || op == OpType::Mul) return make_binary_kernel(g, n);
            if (op == OpType::BatchNorm) return make_batch_norm_kernel(g, n, packed);
            if (op == OpType::Reorder) return make_reorder_kernel(g, n);
            if (op_is_activation(op)) return make_eltwise_kernel(g, n);
            if (op == OpType::FakeQuant) return make_fake_quant_kernel(g, n);
        } catch (const dnnl::error& e) {
            ENGINE_THROW("onednn: ", node_label(g, n), ": ", e.what());
        }
        ENGINE_THROW("onednn: ", node_label(g, n), ": no oneDNN kernel for ", op_type_name(op));
    }

    void set_threads(int threads) override { onednn::set_threads(threads); }
};

}  // namespace
}  // namespace onednn

std::unique_ptr<Backend> make_onednn_backend() { return std::make_unique<onednn::OneDnnBackend>(); }
std::string onednn_cpu_isa() { return onednn::cpu_isa_name(); }
bool onednn_cpu_has_bf16() { return onednn::cpu_has_bf16(); }
bool onednn_cpu_has_int8() { return onednn::cpu_has_int8(); }

}  // namespace engine
