// fuse_conv_bn
//
//   x --Conv(W, B)--> y --BatchNorm(gamma, beta, mean, var, eps)--> z
//   ==>
//   x --Conv(W', B')--> z
//
//   s[o]  = gamma[o] / sqrt(var[o] + eps)
//   W'[o] = W[o] * s[o]                        (every weight of output channel o)
//   B'[o] = (B[o] - mean[o]) * s[o] + beta[o]  (B = 0 when the Conv has no bias input)
//
// Preconditions: y has exactly one consumer (the BatchNorm) and is not a graph output; the Conv has
// no fused activation or residual yet; W, B and all four BatchNorm parameters are float constants
// with one entry per output channel. W' and B' are new constants: the old tensors may be shared by
// other nodes (and by copies of the graph) and are never modified.

#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

bool is_float_constant(const Graph& g, ValueId v) {
    return g.is_constant(v) && is_float(g.constant(v).dtype());
}

}  // namespace

PassStats fuse_conv_bn(Graph& g) {
    PassStats stats;
    for (NodeId bn_id : g.nodes_of(OpType::BatchNorm)) {
        const Node& bn = g.node(bn_id);
        const auto* bnp = std::get_if<BatchNormParams>(&bn.params);
        if (bnp == nullptr || bn.inputs.size() != 5 || bn.outputs.size() != 1) continue;
        const Value& y = g.value(bn.inputs[0]);
        if (y.producer == kNoNode || y.consumers.size() != 1 || y.is_graph_output) continue;
        const NodeId conv_id = y.producer;
        const Node& conv = g.node(conv_id);
        const auto* cp = std::get_if<ConvParams>(&conv.params);
        if (conv.op != OpType::Conv || cp == nullptr || cp->residual || cp->act.kind != ActKind::None)
            continue;
        if (conv.inputs.size() < 2 || conv.inputs.size() > 3) continue;
        bool constant_params = is_float_constant(g, conv.inputs[1]);
        if (conv.inputs.size() == 3)
            constant_params = constant_params && is_float_constant(g, conv.inputs[2]);
        for (size_t i = 1; i < 5; ++i)
            constant_params = constant_params && is_float_constant(g, bn.inputs[i]);
        if (!constant_params) continue;

        const Tensor& w = g.constant(conv.inputs[1]);
        if (w.shape().empty() || w.shape()[0] <= 0) continue;
        const int64_t out_ch = w.shape()[0];
        bool sizes_ok = conv.inputs.size() < 3 || g.constant(conv.inputs[2]).numel() == out_ch;
        for (size_t i = 1; i < 5; ++i) sizes_ok = sizes_ok && g.constant(bn.inputs[i]).numel() == out_ch;
        if (!sizes_ok) continue;

        const std::vector<float> gamma = g.constant(bn.inputs[1]).to_f32();
        const std::vector<float> beta = g.constant(bn.inputs[2]).to_f32();
        const std::vector<float> mean = g.constant(bn.inputs[3]).to_f32();
        const std::vector<float> var = g.constant(bn.inputs[4]).to_f32();
        const std::vector<float> bias =
            conv.inputs.size() == 3 ? g.constant(conv.inputs[2]).to_f32() : std::vector<float>(out_ch, 0.f);
        const float eps = bnp->epsilon;
        std::vector<float> weights = w.to_f32();
        const int64_t per_out = static_cast<int64_t>(weights.size()) / out_ch;

        Tensor new_w(DataType::F32, w.shape());
        Tensor new_b(DataType::F32, {out_ch});
        float* pw = new_w.data_as<float>();
        float* pb = new_b.data_as<float>();
        for (int64_t o = 0; o < out_ch; ++o) {
            const float s = gamma[o] / std::sqrt(var[o] + eps);
            for (int64_t k = 0; k < per_out; ++k) pw[o * per_out + k] = weights[o * per_out + k] * s;
            pb[o] = (bias[o] - mean[o]) * s + beta[o];
        }

        const std::string base = conv.name.empty() ? g.value(conv.inputs[1]).name : conv.name;
        const ValueId z = bn.outputs[0];
        const ValueId w_id = g.add_constant(base + "/weight_bn", std::move(new_w));
        const ValueId b_id = g.add_constant(base + "/bias_bn", std::move(new_b));
        g.kill_node(bn_id);
        g.set_input(conv_id, 1, w_id);
        if (g.node(conv_id).inputs.size() == 3)
            g.set_input(conv_id, 2, b_id);
        else
            g.add_input(conv_id, b_id);
        g.set_output(conv_id, 0, z);
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
