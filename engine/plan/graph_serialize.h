// IR <-> plan metadata JSON. The layout of the "graph" object is described in plan_format.h; every
// OpParams alternative round-trips exactly (floats keep their bits, non-finite ones as strings).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/plan/json_util.h"

namespace engine {

nlohmann::json params_to_json(const OpParams& params);
// Throws engine::Error naming the key on a malformed or out-of-range field (zero strides, ...).
OpParams params_from_json(const JsonView& j);

// constant_blob[v]: blob index of constant value v (ignored for runtime values), kElidedBlob for a
// constant the plan leaves out (written as "elided": true, read back as a data-less constant);
// packed_blobs[n]: blob indices of node n's packed data. The graph must have no dead nodes.
inline constexpr size_t kElidedBlob = SIZE_MAX;
nlohmann::json graph_to_json(const Graph& g, const std::vector<size_t>& constant_blob,
                             const std::vector<std::vector<size_t>>& packed_blobs);

// Rebuilds the graph with constants taken from `blobs` (views of the plan) and node ids equal to
// their positions. packed_blobs receives each node's packed blob indices (checked against
// blobs.size()). Checks ids, ops, arity, params and constant descs; structural checks beyond that
// are verify()'s.
Graph graph_from_json(const JsonView& j, const std::vector<Tensor>& blobs,
                      std::vector<std::vector<size_t>>& packed_blobs);

}  // namespace engine
