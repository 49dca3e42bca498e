// The default pass order and the runner.
//
// fuse_conv_act runs twice: first to fold the activation that follows a Conv (Conv -> act), then,
// after fuse_conv_add has made residual Convs, to fold an activation that follows the residual add
// (Conv(residual) -> act => post_act). eliminate_concat runs after every fusion, since fusions change
// which node produces a Concat input, and eliminate_dead last. fuse_qdq runs after fold_constants
// (which makes the quantized weights of QDQ models float constants) and before every fusion, as does
// fold_qdq (only where INT8 is allowed): a fake quantization it removes no longer stands between a
// Conv and what it fuses. assign_precision is not here: the builder runs it once backends are known.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/passes/pass.h"

namespace engine {
namespace {

// clang-format off
constexpr Pass kDefaultPipeline[] = {
    {"fold_constants",     fold_constants},
    {"fuse_qdq",           fuse_qdq},
    {"fold_qdq",           fold_qdq,         /*int8_only=*/true},
    {"eliminate_identity", eliminate_identity},
    {"fuse_conv_bn",       fuse_conv_bn},
    {"fuse_activation",    fuse_activation},
    {"fuse_conv_act",      fuse_conv_act},
    {"fuse_conv_add",      fuse_conv_add},
    {"fuse_conv_act",      fuse_conv_act},
    {"eliminate_concat",   eliminate_concat},
    {"eliminate_dead",     eliminate_dead},
};
// clang-format on

// Passes the builder runs later, outside the pipeline, that `disabled` may name too (the builder reads
// the same list).
constexpr std::string_view kBuilderPasses[] = {kFuseConvPairPass};

bool is_pass_name(std::string_view name) {
    return std::any_of(std::begin(kDefaultPipeline), std::end(kDefaultPipeline),
                       [&](const Pass& p) { return p.name == name; }) ||
           std::find(std::begin(kBuilderPasses), std::end(kBuilderPasses), name) != std::end(kBuilderPasses);
}

// "fold_constants, eliminate_identity, ..., fuse_conv_pair" (each name once).
std::string valid_pass_names() {
    std::vector<std::string_view> seen;
    std::string names;
    const auto add = [&](std::string_view name) {
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) return;
        seen.push_back(name);
        names += concat(names.empty() ? "" : ", ", name);
    };
    for (const Pass& p : kDefaultPipeline) add(p.name);
    for (std::string_view name : kBuilderPasses) add(name);
    return names;
}

}  // namespace

std::span<const Pass> default_pipeline() { return kDefaultPipeline; }

void run_passes(Graph& g, const std::vector<std::string>& disabled, const PipelineOptions& options) {
    for (const std::string& name : disabled) {
        ENGINE_CHECK(is_pass_name(name), "unknown pass '", name,
                     "' in disabled passes; valid names: ", valid_pass_names());
    }
    for (const Pass& pass : kDefaultPipeline) {
        if (std::find(disabled.begin(), disabled.end(), pass.name) != disabled.end()) {
            engine::logger().debug("pass {}: disabled", pass.name);
            continue;
        }
        if (pass.int8_only && !options.int8) continue;
        const PassStats stats = pass.fn(g);
        engine::logger().debug("pass {}: {} rewrites, {} live nodes", pass.name, stats.rewrites,
                               g.num_live_nodes());
        infer_shapes(g);
        verify(g);
    }
    g.compact();
}

}  // namespace engine
