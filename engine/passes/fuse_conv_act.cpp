// fuse_conv_act
//
//   x --Conv--> y --Act--> z        ==>   x --Conv(act = Act)--> z
//   x --Conv(residual r)--> y --Act--> z  ==>   x --Conv(residual r, post_act = Act)--> z
//
// Act is any elementwise activation op (Relu, LeakyRelu, Sigmoid, Tanh, Softplus, Mish, Silu, Clip;
// LeakyRelu's alpha and Clip's bounds travel in Act). The pipeline runs this pass twice: before
// fuse_conv_add (act), and after it (post_act, an activation that follows a residual add).
// Preconditions: y has exactly one consumer (the activation) and is not a graph output; the slot
// the activation would go into is free (act is None without a residual, post_act is None with one).

#include <variant>

#include "engine/passes/pass.h"

namespace engine {
namespace {

// The ActKind of an activation op (engine/ir/op_list.h), None for other ops.
ActKind act_kind_of(OpType op) { return op < OpType::Count ? op_desc(op).act : ActKind::None; }

}  // namespace

PassStats fuse_conv_act(Graph& g) {
    PassStats stats;
    for (NodeId act_id : g.topo_order()) {
        const Node& act_node = g.node(act_id);
        const ActKind kind = act_kind_of(act_node.op);
        if (kind == ActKind::None || act_node.inputs.size() != 1 || act_node.outputs.size() != 1) continue;
        const Value& y = g.value(act_node.inputs[0]);
        if (y.producer == kNoNode || y.consumers.size() != 1 || y.is_graph_output) continue;
        const NodeId conv_id = y.producer;
        Node& conv = g.node(conv_id);
        auto* cp = std::get_if<ConvParams>(&conv.params);
        if (conv.op != OpType::Conv || cp == nullptr || conv.outputs.size() != 1) continue;
        Act* slot = cp->residual ? &cp->post_act : &cp->act;
        if (slot->kind != ActKind::None) continue;

        const auto* up = std::get_if<UnaryParams>(&act_node.params);
        *slot = op_activation(act_node.op, up ? *up : UnaryParams{});
        const ValueId z = act_node.outputs[0];
        g.kill_node(act_id);
        g.set_output(conv_id, 0, z);
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
