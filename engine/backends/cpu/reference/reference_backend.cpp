// The "reference" backend: every IR op on the naive math of engine/refmath (ref_ops.h), which this
// only wraps. Last in the builder's backend order, so anything no fast backend claims still runs.
#include <string>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/refmath/ref_ops.h"

namespace engine {
namespace {

// Whether `params` is the alternative the reference kernel for `op` reads.
bool params_fit(OpType op, const OpParams& params) {
    switch (op) {
        case OpType::Conv:
            return std::holds_alternative<ConvParams>(params);
        case OpType::BatchNorm:
            return std::holds_alternative<BatchNormParams>(params);
        case OpType::Relu:
        case OpType::LeakyRelu:
        case OpType::Sigmoid:
        case OpType::Tanh:
        case OpType::Softplus:
        case OpType::Mish:
        case OpType::Silu:
        case OpType::Clip:
            return std::holds_alternative<UnaryParams>(params) ||
                   std::holds_alternative<std::monostate>(params);
        case OpType::Concat:
            return std::holds_alternative<ConcatParams>(params);
        case OpType::Resize:
            return std::holds_alternative<ResizeParams>(params);
        case OpType::MaxPool:
            return std::holds_alternative<MaxPoolParams>(params);
        case OpType::Transpose:
            return std::holds_alternative<TransposeParams>(params);
        case OpType::Slice:
            return std::holds_alternative<SliceParams>(params);
        case OpType::Split:
            return std::holds_alternative<SplitParams>(params);
        case OpType::Softmax:
            return std::holds_alternative<SoftmaxParams>(params);
        case OpType::Pad:
            return std::holds_alternative<PadParams>(params);
        case OpType::Add:
        case OpType::Sub:
        case OpType::Mul:
        case OpType::Div:
        case OpType::Reshape:
        case OpType::Identity:
        case OpType::Dropout:
            return true;
        case OpType::Reorder:  // layout conversion: run by the backend that keeps the layouts
        case OpType::Count:
            break;
    }
    return false;
}

class ReferenceKernel final : public Kernel {
  public:
    ReferenceKernel(OpType op, OpParams params, size_t workspace)
        : op_(op), params_(std::move(params)), workspace_(workspace) {}
    size_t workspace_bytes(int max_batch) const override {
        (void)max_batch;  // the Conv scratch is per sample
        return workspace_;
    }
    void run(const KernelArgs& args) override { ref_run(op_, params_, args); }

  private:
    OpType op_;
    OpParams params_;
    size_t workspace_;
};

class ReferenceBackend final : public Backend {
  public:
    std::string_view name() const override { return "reference"; }
    std::string device_signature() const override { return "cpu reference"; }

    bool supports(const Graph& g, NodeId n, std::string* why) const override {
        const Node& node = g.node(n);
        auto no = [&](std::string reason) {
            if (why) *why = std::move(reason);
            return false;
        };
        if (node.op == OpType::Count) return no("unknown op");
        if (node.op == OpType::Reorder) return no("Reorder (layout conversion) has no reference kernel");
        if (!params_fit(node.op, node.params)) return no("params do not match the op");
        const bool any_dtype = ref_op_is_data_movement(node.op);
        for (ValueId v : node.inputs) {
            const DataType dt = g.value(v).desc.dtype;
            if (!any_dtype && dt != DataType::F32)
                return no(concat("input dtype ", dtype_name(dt), " (f32 only)"));
        }
        for (size_t i = 0; i < node.outputs.size(); ++i) {
            const DataType dt = g.value(node.outputs[i]).desc.dtype;
            if (node.op == OpType::Dropout && i > 0) continue;  // the mask
            if (!any_dtype && dt != DataType::F32)
                return no(concat("output dtype ", dtype_name(dt), " (f32 only)"));
        }
        if ((node.op == OpType::Conv || node.op == OpType::MaxPool) &&
            g.value(node.inputs[0]).desc.shape.size() != 4)
            return no("input is not 4-D NCHW");
        return true;
    }

    std::unique_ptr<Kernel> create_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) override {
        (void)packed;
        const Node& node = g.node(n);
        size_t workspace = 0;
        if (node.op == OpType::Conv) {
            const auto* conv = std::get_if<ConvParams>(&node.params);
            ENGINE_CHECK(conv && node.inputs.size() >= 2 && !node.outputs.empty(), "reference: Conv node '",
                         node.name, "' needs ConvParams, inputs {x, W, ...} and an output");
            workspace = ref_conv_workspace_bytes(*conv, g.value(node.inputs[0]).desc.shape,
                                                 g.value(node.inputs[1]).desc.shape,
                                                 g.value(node.outputs[0]).desc.shape);
        }
        return std::make_unique<ReferenceKernel>(node.op, node.params, workspace);
    }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace engine
