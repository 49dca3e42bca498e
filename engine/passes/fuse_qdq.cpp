// fuse_qdq
//
//   x --QuantizeLinear(s, z)--> q --DequantizeLinear(s', z')--> y      ==>   x --FakeQuant(s, z, s', z')--> y
//                                 \-DequantizeLinear(s'', z'')--> y2           x --FakeQuant(s, z, s'',
//                                 z'')--> y2
//
// Run-time tensors are f32 only, so the int8 / uint8 value q of an ONNX QDQ model cannot flow: each
// DequantizeLinear that reads q becomes one FakeQuant, the pair computed in float (the same numbers:
// engine/refmath/ref_quant.h), and the QuantizeLinear goes once nothing else reads q. The zero points
// become f32 constants (FakeQuant is a float op).
//
// Preconditions: the scales and zero points are constants; when both the Q's and the DQ's are per
// axis, they use the same axis. Pairs on constants never get here (fold_constants made quantized
// weights float constants). What is not fused (a q read by anything but a DequantizeLinear, or a
// graph output) keeps integer tensors at run time, which the builder refuses naming the node.

#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/passes/pass.h"

namespace engine {
namespace {

bool per_axis(const Graph& g, ValueId scale) { return shape_numel(g.value(scale).desc.shape) > 1; }

// A zero point as an f32 constant (integers up to 2^24 are exact in f32; they are in [-128, 255]).
ValueId f32_zero_point(Graph& g, ValueId z) {
    const Tensor& t = g.constant(z);
    if (t.dtype() == DataType::F32) return z;
    const std::vector<float> values = t.to_f32();
    return g.add_constant(g.value(z).name + "_f32", Tensor::from_f32(t.shape(), values));
}

}  // namespace

PassStats fuse_qdq(Graph& g) {
    PassStats stats;
    for (NodeId qid : g.nodes_of(OpType::QuantizeLinear)) {
        // Copies: adding nodes and values below may move the graph's storage.
        const Node qn = g.node(qid);
        const auto* qp = std::get_if<QuantParams>(&qn.params);
        if (qp == nullptr || qn.inputs.size() != 3 || qn.outputs.size() != 1) continue;
        const ValueId x = qn.inputs[0], q_scale = qn.inputs[1], q_zero = qn.inputs[2], q = qn.outputs[0];
        if (!g.is_constant(q_scale) || !g.is_constant(q_zero)) continue;
        ValueId q_zero_f32 = kNoValue;
        const std::vector<NodeId> consumers = g.value(q).consumers;
        for (NodeId c : consumers) {
            const Node dn = g.node(c);
            const auto* dp = std::get_if<QuantParams>(&dn.params);
            if (dn.dead || dn.op != OpType::DequantizeLinear || dp == nullptr || dn.inputs.size() != 3 ||
                dn.inputs[0] != q || dn.outputs.size() != 1)
                continue;
            const ValueId dq_scale = dn.inputs[1], dq_zero = dn.inputs[2];
            if (!g.is_constant(dq_scale) || !g.is_constant(dq_zero)) continue;
            const bool q_axis = per_axis(g, q_scale), dq_axis = per_axis(g, dq_scale);
            if (q_axis && dq_axis && qp->axis != dp->axis) continue;
            if (q_zero_f32 == kNoValue) q_zero_f32 = f32_zero_point(g, q_zero);
            const ValueId dq_zero_f32 = f32_zero_point(g, dq_zero);
            const ValueId y = dn.outputs[0];
            g.kill_node(c);
            g.add_node(OpType::FakeQuant, concat(qn.name, "+", dn.name),
                       {x, q_scale, q_zero_f32, dq_scale, dq_zero_f32}, {y},
                       QuantParams{q_axis ? qp->axis : dp->axis, qp->qtype});
            ++stats.rewrites;
        }
        if (g.value(q).consumers.empty() && !g.value(q).is_graph_output) g.kill_node(qid);
    }
    return stats;
}

}  // namespace engine
