// Standalone activations on oneDNN. oneDNN 2.6's eltwise has one descriptor for source and
// destination; when their memory differs (the output is a slice of an in-place Concat, or the
// input is), the activation runs as binary_add(x, 0) with the activation as a post-op instead.
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/ir/activation.h"

namespace engine::onednn {
namespace {

Act act_of_node(const Node& node) {
    const auto* up = std::get_if<UnaryParams>(&node.params);
    return activation_of(node.op, up ? *up : UnaryParams{});
}

}  // namespace

bool eltwise_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (!op_is_activation(node.op) || node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not an activation");
    if (!std::holds_alternative<UnaryParams>(node.params) &&
        !std::holds_alternative<std::monostate>(node.params))
        return reject(why, "params are not UnaryParams");
    if (!act_supported(act_of_node(node))) return reject(why, "no oneDNN algorithm for this activation");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    return true;
}

std::unique_ptr<Kernel> make_eltwise_kernel(const Graph& g, NodeId n) {
    const EltwiseAlg e = eltwise_of(act_of_node(g.node(n)));
    return make_fn_kernel(g, n, [e](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        if (ins[0] == outs[0]) {
            dnnl::eltwise_forward::primitive_desc pd(
                {dnnl::prop_kind::forward_inference, e.alg, ins[0], e.alpha, e.beta}, base_attr(),
                cpu_engine());
            add_step<dnnl::eltwise_forward>(plan, pd,
                                            {{DNNL_ARG_SRC, ArgSource::Input, 0, ins[0], nullptr},
                                             {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
            return plan;
        }
        const dnnl::memory::desc zero_md({1, 1, 1, 1}, ins[0].data_type(), dnnl::memory::format_tag::nchw);
        void* zero = own_buffer(plan, zero_md.get_size());
        dnnl::primitive_attr attr = base_attr();
        dnnl::post_ops po;
        po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
        attr.set_post_ops(po);
        dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_add, ins[0], zero_md, outs[0]}, attr,
                                        cpu_engine());
        add_step<dnnl::binary>(plan, pd,
                               {{DNNL_ARG_SRC_0, ArgSource::Input, 0, ins[0], nullptr},
                                {DNNL_ARG_SRC_1, ArgSource::Fixed, 0, zero_md, zero},
                                {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
