// equalize_channels (INT8 builds; docs/int8.md): cross-layer equalization of consecutive convs, as in
// Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias Correction" (2019).
//
//   x --Conv1(W1, B1, act)--> y --Conv2(W2, ...)--> z      act positively homogeneous
//   ==>
//   W1'[i] = W1[i] / s[i], B1'[i] = B1[i] / s[i]   (output channel i of Conv1: y'[i] = y[i] / s[i])
//   W2'[:, i] = W2[:, i] * s[i]                      (input channel i of Conv2: z unchanged)
//   s[i] = sqrt(r1[i] / r2[i]), r1[i] = max |W1[i]|, r2[i] = max |W2[:, i]|
//
// so both layers' per-channel weight ranges become sqrt(r1 r2): channels of y whose ranges were far
// apart move together, and one per-tensor scale for y (an INT8 activation) loses less of the small
// ones. In float the result is the same up to rounding (act(v / s) = act(v) / s for none, ReLU and
// leaky). Conv2 is dense (group 1) or depthwise (one input channel per output channel). Conditions:
// y has exactly one consumer (Conv2, as its input), is not a graph output, Conv1 has no residual and
// a positively homogeneous activation, the weights and biases are float constants, and
// r1[i], r2[i] > 0. Runs over all pairs a few times (each pass changes the neighbours' ranges).
// New constants replace the old (they may be shared).

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

bool homogeneous(const Act& a) {
    return a.kind == ActKind::None || a.kind == ActKind::Relu || a.kind == ActKind::LeakyRelu;
}

bool float_constant(const Graph& g, ValueId v) {
    return g.is_constant(v) && g.constant(v).dtype() == DataType::F32;
}

// Equalizes the pair (c1 -> c2) when it qualifies; true when it did.
bool equalize_pair(Graph& g, NodeId c1, NodeId c2) {
    const Node& n1 = g.node(c1);
    const Node& n2 = g.node(c2);
    const auto& p1 = std::get<ConvParams>(n1.params);
    const auto& p2 = std::get<ConvParams>(n2.params);
    if (p1.residual || !homogeneous(p1.act) || n1.inputs.size() != 3 || !float_constant(g, n1.inputs[1]) ||
        !float_constant(g, n1.inputs[2]) || n2.inputs.size() < 2 || !float_constant(g, n2.inputs[1]))
        return false;
    const Tensor& w1 = g.constant(n1.inputs[1]);
    const Tensor& w2 = g.constant(n2.inputs[1]);
    const int64_t ch = w1.shape()[0];
    if (w2.shape().size() != 4 || w1.shape().size() != 4) return false;
    const bool depthwise = p2.group == ch && w2.shape()[0] == ch && w2.shape()[1] == 1;
    if (!(p2.group == 1 && w2.shape()[1] == ch) && !depthwise) return false;

    const int64_t per1 = w1.numel() / ch;
    const int64_t out2 = w2.shape()[0], per2 = w2.shape()[2] * w2.shape()[3];
    const float* a = w1.data_as<float>();
    const float* b = w2.data_as<float>();
    std::vector<float> s(static_cast<size_t>(ch), 1.0f);
    bool changes = false;
    for (int64_t i = 0; i < ch; ++i) {
        float r1 = 0, r2 = 0;
        for (int64_t k = 0; k < per1; ++k) r1 = std::max(r1, std::fabs(a[i * per1 + k]));
        if (depthwise) {
            for (int64_t k = 0; k < per2; ++k) r2 = std::max(r2, std::fabs(b[i * per2 + k]));
        } else {
            for (int64_t o = 0; o < out2; ++o)
                for (int64_t k = 0; k < per2; ++k) r2 = std::max(r2, std::fabs(b[(o * ch + i) * per2 + k]));
        }
        if (!(r1 > 0 && r2 > 0)) continue;
        s[static_cast<size_t>(i)] = std::sqrt(r1 / r2);
        changes = changes || std::fabs(s[static_cast<size_t>(i)] - 1.0f) > 1e-3f;
    }
    if (!changes) return false;

    Tensor nw1(DataType::F32, w1.shape()), nb1(DataType::F32, {ch}), nw2(DataType::F32, w2.shape());
    const float* bias1 = g.constant(n1.inputs[2]).data_as<float>();
    for (int64_t i = 0; i < ch; ++i) {
        const float si = s[static_cast<size_t>(i)];
        for (int64_t k = 0; k < per1; ++k) nw1.data_as<float>()[i * per1 + k] = a[i * per1 + k] / si;
        nb1.data_as<float>()[i] = bias1[i] / si;
    }
    for (int64_t o = 0; o < out2; ++o) {
        const int64_t cin = depthwise ? 1 : ch;
        for (int64_t j = 0; j < cin; ++j) {
            const float si = s[static_cast<size_t>(depthwise ? o : j)];
            for (int64_t k = 0; k < per2; ++k)
                nw2.data_as<float>()[(o * cin + j) * per2 + k] = b[(o * cin + j) * per2 + k] * si;
        }
    }
    const std::string base1 = n1.name, base2 = n2.name;
    const ValueId w1_id = g.add_constant(base1 + "/weight_eq", std::move(nw1));
    const ValueId b1_id = g.add_constant(base1 + "/bias_eq", std::move(nb1));
    const ValueId w2_id = g.add_constant(base2 + "/weight_eq_in", std::move(nw2));
    g.set_input(c1, 1, w1_id);
    g.set_input(c1, 2, b1_id);
    g.set_input(c2, 1, w2_id);
    return true;
}

}  // namespace

PassStats equalize_channels(Graph& g) {
    PassStats stats;
    for (int sweep = 0; sweep < 4; ++sweep) {
        int changed = 0;
        for (NodeId c1 : g.nodes_of(OpType::Conv)) {
            const ValueId y = g.node(c1).outputs[0];
            const Value& v = g.value(y);
            if (v.is_graph_output || v.consumers.size() != 1) continue;
            const NodeId c2 = v.consumers[0];
            const Node& n2 = g.node(c2);
            if (n2.dead || n2.op != OpType::Conv || n2.inputs[0] != y) continue;
            if (std::get<ConvParams>(n2.params).residual && n2.inputs.size() > 3 && n2.inputs[3] == y)
                continue;
            changed += equalize_pair(g, c1, c2) ? 1 : 0;
        }
        if (sweep == 0) stats.rewrites = changed;
        if (changed == 0) break;
    }
    return stats;
}

}  // namespace engine
