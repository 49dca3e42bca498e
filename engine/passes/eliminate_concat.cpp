// eliminate_concat
//
//   P0 --> a [N,C0,H,W] --+
//   P1 --> b [N,C1,H,W] --Concat(axis 1)--> y [N,C0+C1,H,W]
//   ==>
//   P0 writes y[:, 0:C0], P1 writes y[:, C0:C0+C1]; the Concat stays as a no-op (in_place = true)
//
// The memory planner places each input as a channel slice of the output: same base plus the channel
// offset, batch_stride = the output's sample numel. Every kernel honours batch_stride, so values
// with several consumers (YOLO route layers) qualify too.
//
// The rule, kept simple on purpose. The Concat: axis 1, a batched 4-D output that is not a graph
// output, not in_place already. Each input value:
//   - is batched and 4-D, appears once in this Concat's inputs, and is not a graph input, graph
//     output or constant (those live in buffers of their own);
//   - has a live producer that is not a Concat, Split, Reshape, Identity or Dropout (a nested
//     in-place concat or a view would need a place of its own as well);
//   - is not an input of another Concat already in_place, and is not read by a Reshape, Identity or
//     Dropout (which could alias it as if it were dense).

#include <algorithm>
#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

bool is_aliasing_op(OpType op) {
    return op == OpType::Concat || op == OpType::Split || op == OpType::Reshape || op == OpType::Identity ||
           op == OpType::Dropout;
}

bool input_qualifies(const Graph& g, NodeId concat_id, ValueId v) {
    const Value& val = g.value(v);
    if (!val.batched || val.desc.shape.size() != 4) return false;
    if (val.is_graph_input || val.is_graph_output || val.constant != nullptr) return false;
    if (val.producer == kNoNode || g.node(val.producer).dead || is_aliasing_op(g.node(val.producer).op))
        return false;
    for (NodeId c : val.consumers) {
        if (c == concat_id) continue;
        const Node& consumer = g.node(c);
        if (consumer.op == OpType::Reshape || consumer.op == OpType::Identity ||
            consumer.op == OpType::Dropout)
            return false;
        const auto* cp = std::get_if<ConcatParams>(&consumer.params);
        if (consumer.op == OpType::Concat && cp != nullptr && cp->in_place) return false;
    }
    return true;
}

}  // namespace

PassStats eliminate_concat(Graph& g) {
    PassStats stats;
    for (NodeId id : g.nodes_of(OpType::Concat)) {
        const Node& node = g.node(id);
        const auto* cp = std::get_if<ConcatParams>(&node.params);
        if (cp == nullptr || cp->in_place || cp->axis != 1 || node.outputs.size() != 1) continue;
        const Value& out = g.value(node.outputs[0]);
        if (!out.batched || out.desc.shape.size() != 4 || out.is_graph_output) continue;
        bool ok = true;
        for (size_t i = 0; ok && i < node.inputs.size(); ++i) {
            const ValueId v = node.inputs[i];
            ok = std::count(node.inputs.begin(), node.inputs.end(), v) == 1 && input_qualifies(g, id, v);
        }
        if (!ok) continue;
        std::get<ConcatParams>(g.node(id).params).in_place = true;
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
