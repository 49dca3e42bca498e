// A helper shared by the passes that need a Conv's bias as an input of its own (fuse_conv_add puts the
// residual at input 3; fuse_conv_pairs gives the ConvPair both convs' biases).
#pragma once

#include "engine/ir/graph.h"

namespace engine {

// The bias input of Conv `conv` (input 2). A Conv without one (inputs {x, W}) first gets a zero F32
// constant of its output channels, named "<conv name>/bias_zero", as input 2. kNoValue (and nothing
// added) when its weight has no shape to take the channels from.
inline ValueId ensure_conv_bias(Graph& g, NodeId conv) {
    if (g.node(conv).inputs.size() >= 3) return g.node(conv).inputs[2];
    const Shape& ws = g.value(g.node(conv).inputs.at(1)).desc.shape;
    if (ws.empty()) return kNoValue;
    const ValueId zero = g.add_constant(g.node(conv).name + "/bias_zero", Tensor(DataType::F32, {ws[0]}));
    g.add_input(conv, zero);
    return zero;
}

}  // namespace engine
