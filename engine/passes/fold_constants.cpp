// fold_constants
//
//   c0, c1 (constants) --Op--> y          ==>   y (constant) = Op(c0, c1) evaluated now
//
// Preconditions: the node is live and every input is a constant, an F32 one (the reference kernels,
// which evaluate the node, are F32; shape computations on integer tensors were already folded by the
// importer) except for the quantization ops, whose kernels read and write integers: quantized
// weights (DequantizeLinear of an int8 initializer, or QuantizeLinear -> DequantizeLinear of a float
// one) become float constants here. A folded value that is a graph output simply becomes a constant
// output.
// Nodes are visited in topological order, so a chain of constant nodes folds in one run.

#include <vector>

#include "engine/core/error.h"
#include "engine/passes/pass.h"
#include "engine/refmath/reference_executor.h"

namespace engine {

PassStats fold_constants(Graph& g) {
    PassStats stats;
    for (NodeId id : g.topo_order()) {
        const Node& node = g.node(id);
        bool all_constant = !node.inputs.empty();
        const bool any_dtype = op_is_quantization(node.op);
        for (ValueId in : node.inputs)
            all_constant =
                all_constant && g.is_constant(in) && (any_dtype || g.constant(in).dtype() == DataType::F32);
        if (!all_constant) continue;

        std::vector<const Tensor*> args;
        for (ValueId in : node.inputs) args.push_back(&g.constant(in));
        std::vector<Tensor> results = eval_node_reference(g, id, args);
        const std::vector<ValueId> outputs = node.outputs;
        ENGINE_CHECK(results.size() == outputs.size(), "fold_constants: node '", node.name, "' (",
                     op_type_name(node.op), ") evaluated to ", results.size(), " tensors, expected ",
                     outputs.size());
        for (size_t i = 0; i < outputs.size(); ++i) g.set_constant(outputs[i], std::move(results[i]));
        g.kill_node(id);
        ++stats.rewrites;
    }
    return stats;
}

}  // namespace engine
