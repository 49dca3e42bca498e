// assign_precision: see the contract in assign_precision.h.
//
//   supports(n, reduced) ? n.precision = reduced : F32
//   value.storage_dtype = graph I/O ? F32 : producer's precision   (float values)
//   in_place Concat + producers of its inputs: all reduced, or all F32

#include "engine/passes/assign_precision.h"

#include <algorithm>
#include <numeric>
#include <variant>
#include <vector>

namespace engine {

namespace {

// Value::storage_dtype from the nodes' precisions (the rule in assign_precision.h).
void set_storage_dtypes(Graph& g) {
    for (ValueId v = 0; v < g.num_values(); ++v) {
        Value& val = g.value(v);
        if (val.constant != nullptr) continue;
        if (!is_float(val.desc.dtype)) {
            val.storage_dtype = val.desc.dtype;
        } else if (val.is_graph_input || val.is_graph_output) {
            val.storage_dtype = DataType::F32;
        } else if (val.producer != kNoNode && !g.node(val.producer).dead) {
            val.storage_dtype = written_dtype(g, val.producer, v);
        } else {
            val.storage_dtype = DataType::F32;
        }
    }
}

}  // namespace

PassStats assign_precision(Graph& g, DataType reduced, const PrecisionSupport& supports) {
    PassStats stats;
    const std::vector<NodeId> order = g.topo_order();
    for (NodeId id : order)
        g.node(id).precision = reduced != DataType::F32 && supports(g, id, reduced) ? reduced : DataType::F32;

    // One precision per in-place Concat group (a producer feeds at most one in-place Concat).
    for (NodeId id : order) {
        Node& concat = g.node(id);
        const auto* cp = std::get_if<ConcatParams>(&concat.params);
        if (concat.op != OpType::Concat || cp == nullptr || !cp->in_place) continue;
        bool all_reduced = concat.precision == reduced;
        for (ValueId in : concat.inputs) {
            const NodeId p = g.value(in).producer;
            all_reduced = all_reduced && p != kNoNode && g.node(p).precision == reduced;
        }
        if (all_reduced) continue;
        concat.precision = DataType::F32;
        for (ValueId in : concat.inputs)
            if (g.value(in).producer != kNoNode) g.node(g.value(in).producer).precision = DataType::F32;
    }

    for (NodeId id : order)
        if (g.node(id).precision != DataType::F32) ++stats.rewrites;

    set_storage_dtypes(g);
    return stats;
}

DataType written_dtype(const Graph& g, NodeId p, ValueId v) {
    const Node& node = g.node(p);
    if (node.precision != DataType::I8 || (node.op != OpType::Conv && node.op != OpType::ConvPair))
        return node.precision;
    for (NodeId c : g.value(v).consumers)
        if (!g.node(c).dead && g.node(c).precision == DataType::I8) return DataType::I8;
    return DataType::F32;
}

namespace {

// Union-find over value ids: the scale groups of I8 scale-keeping nodes.
struct ScaleGroups {
    std::vector<ValueId> parent;
    explicit ScaleGroups(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), ValueId{0}); }
    ValueId find(ValueId v) {
        while (parent[v] != v) v = parent[v] = parent[parent[v]];
        return v;
    }
    void unite(ValueId a, ValueId b) { parent[find(a)] = find(b); }
};

}  // namespace

PassStats assign_int8(Graph& g, const PrecisionSupport& supports) {
    PassStats stats;
    const std::vector<NodeId> order = g.topo_order();
    auto produced_by_i8 = [&](ValueId v) {
        const Value& val = g.value(v);
        return val.constant != nullptr ||
               (val.producer != kNoNode && g.node(val.producer).precision == DataType::I8);
    };
    ScaleGroups groups(g.num_values());
    for (NodeId id : order) {
        Node& node = g.node(id);
        if (node.op == OpType::Conv) {
            if (supports(g, id, DataType::I8)) node.precision = DataType::I8;
            continue;
        }
        if (!std::all_of(node.inputs.begin(), node.inputs.end(), produced_by_i8) ||
            !supports(g, id, DataType::I8))
            continue;
        node.precision = DataType::I8;
        for (ValueId in : node.inputs)
            if (g.value(in).constant == nullptr) groups.unite(in, node.outputs[0]);
    }
    // One scale per group: the largest range of its members.
    std::vector<float> group_amax(g.num_values(), 0.0f);
    for (ValueId v = 0; v < g.num_values(); ++v)
        group_amax[groups.find(v)] = std::max(group_amax[groups.find(v)], g.value(v).amax);
    for (ValueId v = 0; v < g.num_values(); ++v) g.value(v).amax = group_amax[groups.find(v)];

    for (NodeId id : order)
        if (g.node(id).precision == DataType::I8) ++stats.rewrites;
    set_storage_dtypes(g);
    return stats;
}

}  // namespace engine
