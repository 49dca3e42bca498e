// Standalone activation ops (op_is_activation; engine/ir/op_list.h) as the Act a fused Conv or a kernel
// computes (engine/ir/params.h).
#pragma once

#include "engine/ir/op_type.h"
#include "engine/ir/params.h"

namespace engine {

// The Act a standalone activation op computes (LeakyRelu: alpha; Clip: alpha=min, beta=max). Throws
// engine::Error for an op that is not an activation.
Act activation_of(OpType op, const UnaryParams& p);

}  // namespace engine
