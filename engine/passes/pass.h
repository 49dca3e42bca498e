// Graph passes. Each pass is a free function in its own file: it rewrites the graph, tombstones what
// it replaces, and returns how many rewrites it made ("no match" is not an error). The default order
// is in engine/passes/pipeline.cpp.
#pragma once

#include <functional>
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
    bool int8_only = false;  // runs only in builds that allow INT8 (PipelineOptions::int8)
};

// What the build asks of the pipeline beyond the graph.
struct PipelineOptions {
    // The build allows INT8 (precision int8 or best): the int8_only passes run (fold_qdq turns the
    // model's own fake quantizations into the INT8 ranges the builder quantizes with).
    bool int8 = false;
};

PassStats fold_constants(Graph& g);      // nodes whose inputs are all constant -> constants
PassStats fuse_qdq(Graph& g);            // QuantizeLinear -> DequantizeLinear => FakeQuant (float)
PassStats fold_qdq(Graph& g);            // INT8: symmetric FakeQuant => removed, Value::amax = 127 s
PassStats eliminate_identity(Graph& g);  // Identity, Dropout, no-op Reshape -> rewired
PassStats fuse_conv_bn(Graph& g);        // Conv -> BatchNorm  => Conv with folded weights
PassStats fuse_activation(Graph& g);     // x*sigmoid(x) -> Silu, x*tanh(softplus(x)) -> Mish
PassStats fuse_conv_act(Graph& g);       // Conv -> activation => Conv(act)
PassStats fuse_conv_add(Graph& g);       // Conv + residual (-> activation) => Conv(residual, post_act)
PassStats eliminate_concat(Graph& g);    // producers write into their slice of the Concat output
PassStats eliminate_dead(Graph& g);      // nodes whose outputs nobody uses
// Not in the default pipeline: INT8 builds whose calibration asked for it (CalibrationTable::equalize).
PassStats equalize_channels(Graph& g);  // Conv -> Conv: per-channel weight ranges balanced across the pair

// Not in the default pipeline: the builder runs it once backends and precisions are assigned, with
// `fusable` asking the convs' backend (Backend::fuses_conv_pair; engine/builder/conv_pairs.h).
// Conv -> Conv => one ConvPair node (engine/passes/fuse_conv_pair.cpp has the preconditions).
PassStats fuse_conv_pairs(Graph& g,
                          const std::function<bool(const Graph&, NodeId first, NodeId second)>& fusable);
// Its name in BuildOptions::disabled_passes (`rtdet build --disable-pass fuse_conv_pair`), which
// run_passes accepts alongside the pipeline's names.
inline constexpr std::string_view kFuseConvPairPass = "fuse_conv_pair";

// The default pipeline, in order.
std::span<const Pass> default_pipeline();
// Runs the default pipeline, skipping passes named in `disabled` (names neither of the pipeline nor
// kFuseConvPairPass are an error) and,
// unless options.int8, the int8_only ones, re-running shape inference and verify() after each, and
// compacting at the end. Logs each pass's rewrite count at debug level.
void run_passes(Graph& g, const std::vector<std::string>& disabled = {}, const PipelineOptions& options = {});

}  // namespace engine
