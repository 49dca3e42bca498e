// Precision assignment (TensorRT's "allowed precision" meaning): not part of the default pipeline;
// the builder runs it after backends are assigned, with `supports` asking the node's backend.
#pragma once

#include <functional>

#include "engine/core/dtype.h"
#include "engine/passes/pass.h"

namespace engine {

// Whether node `n` of `g` has a kernel computing in `dtype` on its backend.
using PrecisionSupport = std::function<bool(const Graph& g, NodeId n, DataType dtype)>;

// Sets Node::precision of every live node to `reduced` where supports(g, n, reduced) says yes, else
// F32 (with reduced == F32 every node is F32 and supports() is not asked). Then sets
// Value::storage_dtype:
//   - graph inputs and outputs: F32 (the producer of a graph output converts on write);
//   - constants: left as they are (the backend repacks weights for the node's precision);
//   - other float values: their producer's precision; non-float values: their own dtype.
// The inputs of an in_place Concat share its output buffer, so the Concat and the producers of its
// inputs form a group that gets one precision: `reduced` only when every member supports it.
// Returns the number of nodes set to `reduced`.
PassStats assign_precision(Graph& g, DataType reduced, const PrecisionSupport& supports);

}  // namespace engine
