// BatchNorm (inference) on oneDNN as one binary primitive: y = x * scale + shift per channel,
//   scale = gamma / sqrt(var + eps),   shift = beta - mean * scale   (computed in F32 at build time)
// binary_mul with a [1, C, 1, 1] scale, then a binary_add post-op with the shift. Unlike oneDNN
// 2.6's batch_normalization primitive, binary takes different source and destination memory.
#include <cmath>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"

namespace engine::onednn {

bool batch_norm_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (!std::holds_alternative<BatchNormParams>(node.params) || node.inputs.size() != 5 ||
        node.outputs.size() != 1)
        return reject(why, "not a BatchNorm");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    const int64_t c = g.value(node.inputs[0]).desc.shape[1];
    for (size_t i = 1; i < 5; ++i) {
        const Value& v = g.value(node.inputs[i]);
        if (v.constant == nullptr || v.desc.dtype != DataType::F32 || shape_numel(v.desc.shape) != c)
            return reject(why, "parameters are not F32 constants of C elements");
    }
    return true;
}

std::vector<Tensor> batch_norm_pack(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    const float eps = std::get<BatchNormParams>(node.params).epsilon;
    const int64_t c = g.value(node.inputs[0]).desc.shape[1];
    const float* gamma = g.constant(node.inputs[1]).data_as<float>();
    const float* beta = g.constant(node.inputs[2]).data_as<float>();
    const float* mean = g.constant(node.inputs[3]).data_as<float>();
    const float* var = g.constant(node.inputs[4]).data_as<float>();
    Tensor scale(DataType::F32, {c}), shift(DataType::F32, {c});
    for (int64_t i = 0; i < c; ++i) {
        const float s = gamma[i] / std::sqrt(var[i] + eps);
        scale.data_as<float>()[i] = s;
        shift.data_as<float>()[i] = beta[i] - mean[i] * s;
    }
    return {std::move(scale), std::move(shift)};
}

std::unique_ptr<Kernel> make_batch_norm_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) {
    const int64_t c = g.value(g.node(n).inputs[0]).desc.shape[1];
    ENGINE_CHECK(packed.size() == 2 && packed[0].numel() == c && packed[1].numel() == c &&
                     packed[0].dtype() == DataType::F32 && packed[1].dtype() == DataType::F32,
                 "onednn: ", node_label(g, n), ": expected packed {scale, shift} F32 [", c, "]");
    void* scale = const_cast<void*>(packed[0].data());
    void* shift = const_cast<void*>(packed[1].data());
    return make_fn_kernel(g, n, [c, scale, shift](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        const dnnl::memory::desc per_channel({1, c, 1, 1}, dnnl::memory::data_type::f32,
                                             dnnl::memory::format_tag::nchw);
        dnnl::primitive_attr attr = base_attr();
        dnnl::post_ops po;
        po.append_binary(dnnl::algorithm::binary_add, per_channel);
        attr.set_post_ops(po);
        dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_mul, ins[0], per_channel, outs[0]}, attr,
                                        cpu_engine());
        add_step<dnnl::binary>(
            plan, pd,
            {{DNNL_ARG_SRC_0, ArgSource::Input, 0, ins[0], nullptr},
             {DNNL_ARG_SRC_1, ArgSource::Fixed, 0, per_channel, scale},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, ArgSource::Fixed, 0, per_channel, shift},
             {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
