// fuse_backend_conv_pairs: see the contract in conv_pairs.h.
#include "engine/builder/conv_pairs.h"

#include <algorithm>

#include "engine/core/log.h"
#include "engine/passes/pass.h"

namespace engine {

int fuse_backend_conv_pairs(Graph& g, std::span<Backend* const> backends,
                            const std::vector<std::string>& disabled_passes) {
    if (std::find(disabled_passes.begin(), disabled_passes.end(), kFuseConvPairPass) !=
        disabled_passes.end()) {
        engine::logger().debug("pass {}: disabled", kFuseConvPairPass);
        return 0;
    }
    const auto fusable = [&](const Graph& gr, NodeId first, NodeId second) {
        for (Backend* b : backends)
            if (b->name() == gr.node(first).backend) return b->fuses_conv_pair(gr, first, second);
        return false;
    };
    const int pairs = fuse_conv_pairs(g, fusable).rewrites;
    engine::logger().debug("pass {}: {} rewrites", kFuseConvPairPass, pairs);
    if (pairs > 0) {
        verify(g);
        g.compact();
    }
    return pairs;
}

}  // namespace engine
