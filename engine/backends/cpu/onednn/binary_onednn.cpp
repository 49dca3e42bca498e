// Add / Mul of two tensors of the same shape on oneDNN's binary primitive (no broadcasting: the
// YOLO graphs only add/multiply equal shapes; broadcasts stay on the reference backend).
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"

namespace engine::onednn {

bool binary_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if ((node.op != OpType::Add && node.op != OpType::Mul) || node.inputs.size() != 2 ||
        node.outputs.size() != 1)
        return reject(why, "not Add/Mul");
    for (ValueId v : {node.inputs[0], node.inputs[1], node.outputs[0]})
        if (!is_runtime_4d(g, v)) return reject(why, "an operand is not a runtime 4-D tensor");
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    if (g.value(node.inputs[0]).desc.shape != y || g.value(node.inputs[1]).desc.shape != y)
        return reject(why, "broadcasting");
    return true;
}

std::unique_ptr<Kernel> make_binary_kernel(const Graph& g, NodeId n) {
    const auto alg = g.node(n).op == OpType::Add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
    return make_fn_kernel(g, n, [alg](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        dnnl::binary::primitive_desc pd({alg, ins[0], ins[1], outs[0]}, base_attr(), cpu_engine());
        add_step<dnnl::binary>(plan, pd,
                               {{DNNL_ARG_SRC_0, ArgSource::Input, 0, ins[0], nullptr},
                                {DNNL_ARG_SRC_1, ArgSource::Input, 1, ins[1], nullptr},
                                {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
