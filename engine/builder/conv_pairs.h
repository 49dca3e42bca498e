// The builder's ConvPair step (engine/passes/fuse_conv_pair.cpp): where a backend runs two Convs in a
// row as one kernel (Backend::fuses_conv_pair), they become one ConvPair node. finish_plan runs it on
// each plan's graph after backends and precisions are assigned and before assign_layouts, so the
// layouts, the memory plan, packing and the plan's layers see the pair as one node.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/ir/graph.h"

namespace engine {

// fuse_conv_pairs on `g` with the predicate "the backend named by first's Node::backend (one of
// `backends`) says fuses_conv_pair(g, first, second)", unless `disabled_passes` names
// "fuse_conv_pair" (BuildOptions::disabled_passes). After a rewrite the graph is verified and
// compacted (the fused nodes and the middle values go). Returns the number of pairs made.
int fuse_backend_conv_pairs(Graph& g, std::span<Backend* const> backends,
                            const std::vector<std::string>& disabled_passes);

}  // namespace engine
