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

// INT8 (docs/int8.md), after assign_precision: in topological order, a Conv runs in I8 where
// supports(g, n, I8) says yes (its backend checks the calibrated ranges it needs); any other op
// (MaxPool, Resize, Concat: they move values without rescaling them) runs in I8 where supports()
// says yes and every runtime input is produced by an I8 node. The inputs and outputs of such
// scale-keeping nodes share one scale: their Value::amax is set to the largest of the group (the
// producing convs then write with it). Then sets Value::storage_dtype by written_dtype(). Returns
// the number of I8 nodes.
PassStats assign_int8(Graph& g, const PrecisionSupport& supports);

// The storage node `p` writes its output `v` in: its precision, except that an I8 Conv writes F32
// when no consumer of `v` runs in I8 (oneDNN converts on write, cheaper than a Reorder after it). An
// I8 ConvPair writes as its second conv did (assign_layouts asks again after the builder pairs convs).
DataType written_dtype(const Graph& g, NodeId p, ValueId v);

}  // namespace engine
