// Runs graphs and single nodes on the reference kernels, with no planning: the test oracle for every
// optimized path, and the evaluator fold_constants uses for float constant subgraphs.
#pragma once

#include <functional>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/ir/graph.h"

namespace engine {

// Sees every graph input and every value a node computes, in topological order (INT8 calibration
// gathers activation ranges through it).
using ValueObserver = std::function<void(ValueId, const Tensor&)>;

// Inputs in graph-input order (shapes as the graph says, dim 0 may be any batch for batched inputs);
// returns the graph outputs in order. Throws engine::Error on shape mismatch. `observe`, when given,
// is called with each input and each computed value before it is freed.
std::vector<Tensor> run_reference(const Graph& g, const std::vector<Tensor>& inputs,
                                  const ValueObserver& observe = nullptr);
// Evaluates node n on the given input tensors (one per node input); returns one tensor per output.
std::vector<Tensor> eval_node_reference(const Graph& g, NodeId n, const std::vector<const Tensor*>& inputs);

}  // namespace engine
