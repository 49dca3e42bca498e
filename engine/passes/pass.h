// Graph passes. Each pass is a free function in its own file: it rewrites the graph, tombstones what
// it replaces, and returns how many rewrites it made ("no match" is not an error). The default order
// is in engine/passes/pipeline.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/graph.h"

namespace engine {

struct PassStats {
    int rewrites = 0;
};
using PassFn = PassStats (*)(Graph&);

struct Pass {
    std::string_view name;
    PassFn fn;
};

PassStats fold_constants(Graph& g);      // nodes whose inputs are all constant -> constants
PassStats eliminate_identity(Graph& g);  // Identity, Dropout, no-op Reshape -> rewired
PassStats fuse_conv_bn(Graph& g);        // Conv -> BatchNorm  => Conv with folded weights
PassStats fuse_activation(Graph& g);     // x*sigmoid(x) -> Silu, x*tanh(softplus(x)) -> Mish
PassStats fuse_conv_act(Graph& g);       // Conv -> activation => Conv(act)
PassStats fuse_conv_add(Graph& g);       // Conv + residual (-> activation) => Conv(residual, post_act)
PassStats eliminate_concat(Graph& g);    // producers write into their slice of the Concat output
PassStats eliminate_dead(Graph& g);      // nodes whose outputs nobody uses
// Not in the default pipeline: INT8 builds whose calibration asked for it (CalibrationTable::equalize).
PassStats equalize_channels(Graph& g);  // Conv -> Conv: per-channel weight ranges balanced across the pair

// The default pipeline, in order.
std::span<const Pass> default_pipeline();
// Runs the default pipeline, skipping passes named in `disabled` (unknown names are an error),
// re-running shape inference and verify() after each, and compacting at the end. Logs each pass's
// rewrite count at debug level.
void run_passes(Graph& g, const std::vector<std::string>& disabled = {});

}  // namespace engine
