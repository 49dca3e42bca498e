// fuse_conv_pairs (not in the default pipeline: the builder runs it, engine/builder/conv_pairs.h)
//
//   x --Conv first(W0, B0)--> mid --Conv second(W1, B1[, residual r])--> y
//     ==>   x --ConvPair first+second(W0, B0, W1, B1[, r])--> y
//
// ConvPairParams{first's ConvParams, second's ConvParams, mid's amax, mid's name}; the node is named
// "<first>+<second>" and keeps second's backend and precision (the same as first's). A conv without a
// bias first gets a zero one (ensure_conv_bias), so the pair always has five inputs, and a sixth, r,
// when second has a residual (its input 3; second's residual flag and post_act carry over in its
// ConvParams). r may be x itself (YOLO's residual blocks: 1x1 then 3x3 + x) or any other value.
//
// Preconditions, for each live Conv `second` in topological order: its input 0 is the output of a
// live Conv `first`; mid has exactly one consumer (second, reading it once: as input 0, never as its
// residual) and is not a graph output; first has one output; first has no residual (second may have
// one); both have the same backend and precision; and fusable(g, first, second) says yes (the builder
// asks the backend). A Conv already made part of a pair is dead, so a chain of three pairs only its
// first two. mid is left with no producer and no consumer; compact() drops it.
//
// No cycle can appear: mid feeds only second, so whatever second reads besides mid (its constants and
// its residual r) does not depend on first. For r: a path from mid to r would pass through a reader of
// mid, which is second alone, and second reads r, so the old graph would have had a cycle; r == x is
// first's own input. The pair reads only first's inputs, the constants and r, none of which depends on
// first or second.

#include <functional>
#include <variant>

#include "engine/passes/conv_bias.h"
#include "engine/passes/pass.h"

namespace engine {
namespace {

// The ConvParams of `n` when it is a live Conv with one output and inputs {x, W, ...}, with no
// residual unless `residual_ok` (then one at input 3 when its flag says so), else null.
const ConvParams* pairable_conv(const Graph& g, NodeId n, bool residual_ok) {
    if (n == kNoNode) return nullptr;
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvParams>(&node.params);
    if (node.dead || node.op != OpType::Conv || p == nullptr || node.outputs.size() != 1 ||
        node.inputs.size() < 2)
        return nullptr;
    if (p->residual && (!residual_ok || node.inputs.size() != 4)) return nullptr;
    return p;
}

// The Conv whose output second reads as its input 0, when the two may form a pair (the preconditions
// above, except `fusable`); kNoNode otherwise.
NodeId pair_first(const Graph& g, NodeId second) {
    const ConvParams* p = pairable_conv(g, second, /*residual_ok=*/true);
    if (p == nullptr) return kNoNode;
    const Node& b = g.node(second);
    const ValueId mid_id = b.inputs[0];
    const Value& mid = g.value(mid_id);
    // mid as second's residual too would make two consumer entries; refused here in its own right.
    if (p->residual && b.inputs[3] == mid_id) return kNoNode;
    if (mid.consumers.size() != 1 || mid.is_graph_output || pairable_conv(g, mid.producer, false) == nullptr)
        return kNoNode;
    const Node& a = g.node(mid.producer);
    return a.backend == b.backend && a.precision == b.precision ? mid.producer : kNoNode;
}

}  // namespace

PassStats fuse_conv_pairs(Graph& g, const std::function<bool(const Graph&, NodeId, NodeId)>& fusable) {
    PassStats stats;
    for (NodeId second : g.topo_order()) {
        const NodeId first = pair_first(g, second);
        if (first == kNoNode || !fusable || !fusable(g, first, second)) continue;
        const ValueId b0 = ensure_conv_bias(g, first);
        const ValueId b1 = ensure_conv_bias(g, second);
        if (b0 == kNoValue || b1 == kNoValue) continue;
        const Node& a = g.node(first);
        const Node& b = g.node(second);
        const Value& mid = g.value(b.inputs[0]);
        ConvPairParams p{std::get<ConvParams>(a.params), std::get<ConvParams>(b.params), mid.amax, mid.name};
        std::vector<ValueId> inputs{a.inputs[0], a.inputs[1], b0, b.inputs[1], b1};
        if (p.second.residual) inputs.push_back(b.inputs[3]);  // second's residual: the pair's input 5
        const ValueId y = b.outputs[0];
        std::string name = a.name + "+" + b.name;
        const std::string backend = b.backend;
        const DataType precision = b.precision;
        g.kill_node(second);
        g.kill_node(first);
        const NodeId pair =
            g.add_node(OpType::ConvPair, std::move(name), std::move(inputs), {y}, std::move(p));
        g.node(pair).backend = backend;
        g.node(pair).precision = precision;
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
