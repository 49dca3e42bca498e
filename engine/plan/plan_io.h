// Plan serialization: the builder's decisions (PlanContents) <-> plan file bytes (plan_format.h).
// Internal to the engine: the builder writes, Plan::from_bytes and Engine::load read.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/plan/memory_planner.h"
#include "engine/plan/plan.h"

namespace engine {

struct BackendRecord {
    std::string name;
    std::string device_signature;
};

struct PlanContents {
    // Writer: model_name, model_sha256, device, precision, max_batch, fixed_batch, metadata,
    // build_options_json and tactics are read from here; the rest of PlanInfo is derived. Reader:
    // everything filled in.
    PlanInfo info;
    std::vector<BackendRecord> backends;  // backends the nodes use, in priority order
    Graph graph;                          // no dead nodes; constants are plan views after reading
    std::vector<NodeId> order;            // execution order (reader: graph.topo_order())
    MemoryPlan memory;
    std::vector<std::vector<Tensor>> packed;  // per node: Backend::pack output
};

// A constant whose data the plan leaves out: every node reading it runs from its packed copy
// (Backend::packed_inputs). It keeps its dtype and shape; its data pointer is null.
inline Tensor elided_constant(DataType dtype, Shape shape) {
    return Tensor::wrap(dtype, std::move(shape), nullptr, nullptr);
}
inline bool is_elided(const Tensor& t) { return t.data() == nullptr && t.numel() > 0; }

// Serializes contents into a complete plan file (checksum included). The metadata's "build_options"
// is contents.info.build_options_json (a JSON object; empty: {}).
std::vector<std::byte> write_plan(const PlanContents& contents);

// Parses and validates a plan file: header, checksum (when verify_checksum), metadata keys and
// types, graph structure (ids, ops, params, verify(), shapes recomputed by shape inference must match
// the recorded ones), blob ranges and types, memory locations within the arena. Constants and packed
// tensors are zero-copy views of `bytes`; `owner` keeps that memory alive. Throws engine::Error
// "plan '<source>': ...".
PlanContents read_plan(std::span<const std::byte> bytes, std::shared_ptr<const void> owner,
                       const std::string& source, bool verify_checksum = true);

}  // namespace engine
