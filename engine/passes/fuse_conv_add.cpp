// fuse_conv_add
//
//   x --Conv(W, B)--> y --+
//   r -------------------Add--> z     ==>    x, r --Conv(W, B, residual r)--> z
//
//   z = post_act(act(conv(x, W) + B) + r), post_act None until fuse_conv_act runs again.
//
// Either operand order. Preconditions: the Conv has no residual yet and inputs {x, W, B} (a missing
// B becomes a zero constant, as the residual must be input 3); y has exactly one consumer (the Add)
// and is not a graph output; r is not y, and r has y's exact desc and `batched` flag (no
// broadcasting). When both operands qualify, the Conv later in topological order takes the other
// operand as its residual, so the earlier one is computed first.
//
// No cycle can appear: the Conv's only output y feeds only the Add, so nothing upstream of the Add
// (r included) depends on the Conv; giving the Conv the extra input r keeps the graph acyclic.

#include <string>
#include <vector>

#include "engine/passes/conv_bias.h"
#include "engine/passes/pass.h"

namespace engine {
namespace {

// The Conv producing `y` when it can take `r` as its residual.
NodeId fusable_conv(const Graph& g, ValueId y, ValueId r) {
    if (y == r) return kNoNode;
    const Value& yv = g.value(y);
    const Value& rv = g.value(r);
    if (yv.producer == kNoNode || yv.consumers.size() != 1 || yv.is_graph_output) return kNoNode;
    const Node& conv = g.node(yv.producer);
    const auto* cp = std::get_if<ConvParams>(&conv.params);
    if (conv.dead || conv.op != OpType::Conv || cp == nullptr || cp->residual) return kNoNode;
    if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1) return kNoNode;
    if (!(yv.desc == rv.desc) || yv.batched != rv.batched) return kNoNode;
    return yv.producer;
}

}  // namespace

PassStats fuse_conv_add(Graph& g) {
    PassStats stats;
    const std::vector<NodeId> order = g.topo_order();
    std::vector<size_t> position(g.num_nodes(), 0);
    for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;

    for (NodeId add_id : order) {
        const Node& add = g.node(add_id);
        if (add.op != OpType::Add || add.inputs.size() != 2) continue;
        const ValueId a = add.inputs[0];
        const ValueId b = add.inputs[1];
        const NodeId conv_a = fusable_conv(g, a, b);
        const NodeId conv_b = fusable_conv(g, b, a);
        if (conv_a == kNoNode && conv_b == kNoNode) continue;
        bool use_a = conv_a != kNoNode;
        if (conv_a != kNoNode && conv_b != kNoNode) use_a = position[conv_a] > position[conv_b];
        const NodeId conv_id = use_a ? conv_a : conv_b;
        const ValueId r = use_a ? b : a;
        const ValueId z = add.outputs[0];

        if (ensure_conv_bias(g, conv_id) == kNoValue) continue;
        g.kill_node(add_id);
        g.add_input(conv_id, r);
        std::get<ConvParams>(g.node(conv_id).params).residual = true;
        g.set_output(conv_id, 0, z);
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
