// Backend-independent checks of one node's operands, for the backends' `*_supported` functions: what
// the IR node must look like before any backend can claim it. Each backend adds its own limits
// (activation kinds, dtypes, descriptor sizes) after these.
#pragma once

#include <string>

#include "engine/ir/graph.h"

namespace engine {

// Sets *why (when non-null) to `reason` and returns false.
bool reject(std::string* why, std::string reason);

// v is a runtime (non-constant) 4-D F32 tensor.
bool is_runtime_4d(const Graph& g, ValueId v);

// Conv node n: ConvParams; inputs {x, W[, B[, residual]]} and one output; x and y runtime 4-D
// tensors; W (and B) F32 constants; W [O, C/group, kh, kw] matching x's channels and the group; B of
// [O]; a residual input (ConvParams::residual) of the output's shape.
bool check_conv_operands(const Graph& g, NodeId n, std::string* why);

// ConvPair node n: ConvPairParams with no residual in the first conv; inputs {x, W0, B0, W1, B1}, plus
// the second conv's residual when it has one (ConvParams::residual), and one output; x and y runtime
// 4-D tensors; each conv's W and B as for a Conv, W1 matching W0's output channels (the middle
// value's); the residual, as a Conv's, a runtime 4-D tensor of the output's shape.
bool check_conv_pair_operands(const Graph& g, NodeId n, std::string* why);

// Concat node n joining runtime 4-D tensors along the channels (axis 1 or -3) into one output.
bool check_channel_concat(const Graph& g, NodeId n, std::string* why);

}  // namespace engine
