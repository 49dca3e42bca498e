// eliminate_dead
//
//   x --A--> y --B--> z        (z has no consumers and is not a graph output)
//   ==>
//   x                          (B dies, then A, whose output lost its last consumer)
//
// A live node is dead when none of its outputs has a consumer or is a graph output. Killing a node
// unlinks it from its inputs, which can make their producers dead in turn: repeat to a fixed point
// (one sweep in reverse topological order usually gets there).

#include <algorithm>
#include <vector>

#include "engine/passes/pass.h"

namespace engine {
namespace {

bool is_unused(const Graph& g, const Node& node) {
    return std::all_of(node.outputs.begin(), node.outputs.end(), [&](ValueId v) {
        const Value& val = g.value(v);
        return val.consumers.empty() && !val.is_graph_output;
    });
}

}  // namespace

PassStats eliminate_dead(Graph& g) {
    PassStats stats;
    for (bool changed = true; changed;) {
        changed = false;
        std::vector<NodeId> order = g.topo_order();
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            if (!is_unused(g, g.node(*it))) continue;
            g.kill_node(*it);
            ++stats.rewrites;
            changed = true;
        }
    }
    return stats;
}

}  // namespace engine
