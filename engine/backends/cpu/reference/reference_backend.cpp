// The "reference" backend: every IR op on the naive math of engine/refmath (ref_ops.h), which this
// only wraps. Last in the builder's backend order, so anything no fast backend claims still runs.
#include <string>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/refmath/ref_ops.h"

namespace engine {
namespace {

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
        if (!op_params_match(node.op, node.params)) return no("params do not match the op");
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
        if ((node.op == OpType::Conv || node.op == OpType::ConvPair || node.op == OpType::MaxPool) &&
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
