// fuse_activation
//
//   x --Sigmoid--> s --+                      x --Softplus--> p --Tanh--> t --+
//   x --------------Mul--> y                  x --------------------------Mul--> y
//   ==>                                       ==>
//   x --Silu--> y                             x --Mish--> y
//
// Either operand order. Preconditions: the intermediate values (s; t and Softplus's output) have
// exactly one consumer each (the next node of the pattern) and are not graph outputs, and the
// other Mul operand is the very value x the chain started from. The Mul node becomes the Silu/Mish
// node (same id and name), the intermediate nodes die.

#include <optional>
#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

// The live node of op `op` producing v when v feeds exactly one use and is not a graph output.
std::optional<NodeId> single_use_producer(const Graph& g, ValueId v, OpType op) {
    const Value& val = g.value(v);
    if (val.producer == kNoNode || val.consumers.size() != 1 || val.is_graph_output) return std::nullopt;
    const Node& p = g.node(val.producer);
    if (p.dead || p.op != op || p.inputs.size() != 1 || p.outputs.size() != 1) return std::nullopt;
    return val.producer;
}

struct Match {
    OpType fused = OpType::Silu;
    ValueId x = kNoValue;
    std::vector<NodeId> chain;  // nodes that die
};

// Matches gate = f(x) for the Silu or Mish chain, where x is `other`.
std::optional<Match> match_gate(const Graph& g, ValueId gate, ValueId other) {
    if (auto sig = single_use_producer(g, gate, OpType::Sigmoid)) {
        if (g.node(*sig).inputs[0] == other) return Match{OpType::Silu, other, {*sig}};
        return std::nullopt;
    }
    if (auto tanh = single_use_producer(g, gate, OpType::Tanh)) {
        auto softplus = single_use_producer(g, g.node(*tanh).inputs[0], OpType::Softplus);
        if (softplus && g.node(*softplus).inputs[0] == other)
            return Match{OpType::Mish, other, {*tanh, *softplus}};
    }
    return std::nullopt;
}

}  // namespace

PassStats fuse_activation(Graph& g) {
    PassStats stats;
    for (NodeId mul_id : g.nodes_of(OpType::Mul)) {
        const Node& mul = g.node(mul_id);
        if (mul.dead || mul.inputs.size() != 2) continue;
        const ValueId a = mul.inputs[0];
        const ValueId b = mul.inputs[1];
        std::optional<Match> m = match_gate(g, b, a);
        if (!m) m = match_gate(g, a, b);
        if (!m) continue;

        // The Mul keeps its id, name and output; its gate input goes away.
        const ValueId gate = mul.inputs[0] == m->x ? mul.inputs[1] : mul.inputs[0];
        for (NodeId n : m->chain) g.kill_node(n);
        Node& fused = g.node(mul_id);
        auto& gate_uses = g.value(gate).consumers;
        for (auto it = gate_uses.begin(); it != gate_uses.end(); ++it)
            if (*it == mul_id) {
                gate_uses.erase(it);
                break;
            }
        fused.inputs = {m->x};
        fused.op = m->fused;
        fused.params = UnaryParams{};
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
