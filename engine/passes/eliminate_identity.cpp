// eliminate_identity
//
//   x --Identity | Dropout | Reshape(to x's own shape)--> y --> consumers
//   ==>
//   x --> consumers
//
// When y is a graph output its name and slot must survive, so instead of rewiring the consumers the
// producer of x is made to write y:
//
//   P --> x --Identity--> y (graph output)   ==>   P --> y (graph output)
//
// Preconditions: the node has one input and one output that is used (a Dropout mask output must be
// unused); a Reshape only when its output desc and `batched` flag equal its input's. For a graph
// output y: x has a live producer (it is not a graph input or a constant), x is not itself a graph
// output, and this node is x's only consumer; otherwise the node is kept.

#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

bool is_candidate(const Graph& g, const Node& node) {
    if (node.op != OpType::Identity && node.op != OpType::Dropout && node.op != OpType::Reshape) return false;
    if (node.inputs.size() != 1 || node.outputs.empty()) return false;
    for (size_t i = 1; i < node.outputs.size(); ++i) {
        const Value& extra = g.value(node.outputs[i]);
        if (!extra.consumers.empty() || extra.is_graph_output) return false;
    }
    const Value& in = g.value(node.inputs[0]);
    const Value& out = g.value(node.outputs[0]);
    if (node.op == OpType::Reshape) return in.desc == out.desc && in.batched == out.batched;
    return true;
}

}  // namespace

PassStats eliminate_identity(Graph& g) {
    PassStats stats;
    for (NodeId id : g.topo_order()) {
        const Node& node = g.node(id);
        if (!is_candidate(g, node)) continue;
        const ValueId x = node.inputs[0];
        const ValueId y = node.outputs[0];
        if (!g.value(y).is_graph_output) {
            g.replace_all_uses(y, x);
            g.kill_node(id);
            ++stats.rewrites;
            continue;
        }
        const Value& xv = g.value(x);
        if (xv.producer == kNoNode || xv.is_graph_output || xv.consumers.size() != 1) continue;
        const NodeId producer = xv.producer;
        const std::vector<ValueId>& pout = g.node(producer).outputs;
        size_t slot = 0;
        while (slot < pout.size() && pout[slot] != x) ++slot;
        if (slot == pout.size()) continue;
        g.kill_node(id);
        g.set_output(producer, slot, y);
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
