// assign_precision: see the contract in assign_precision.h.
//
//   supports(n, reduced) ? n.precision = reduced : F32
//   value.storage_dtype = graph I/O ? F32 : producer's precision   (float values)
//   in_place Concat + producers of its inputs: all reduced, or all F32

#include "engine/passes/assign_precision.h"

#include <variant>
#include <vector>

namespace engine {

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

    for (ValueId v = 0; v < g.num_values(); ++v) {
        Value& val = g.value(v);
        if (val.constant != nullptr) continue;
        if (!is_float(val.desc.dtype)) {
            val.storage_dtype = val.desc.dtype;
        } else if (val.is_graph_input || val.is_graph_output) {
            val.storage_dtype = DataType::F32;
        } else if (val.producer != kNoNode && !g.node(val.producer).dead) {
            val.storage_dtype = g.node(val.producer).precision;
        } else {
            val.storage_dtype = DataType::F32;
        }
    }
    return stats;
}

}  // namespace engine
