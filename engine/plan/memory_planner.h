// Memory planning: every runtime value of a plan lives in one activation arena. Values whose
// lifetimes (execution steps from definition to last use) do not overlap share memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"

namespace engine {

// One slot request. Steps are positions in the execution order; the value occupies its slot from
// first_step to last_step inclusive. offset is the planner's output, in bytes.
struct Lifetime {
    ValueId value = kNoValue;
    int first_step = 0;
    int last_step = 0;
    size_t bytes = 0;
    size_t offset = 0;
};

// Assigns offsets (multiples of `alignment`, a power of two) so that two values whose step ranges
// overlap never overlap in memory. Greedy best fit, largest first. Returns the arena size (a multiple
// of alignment). Throws engine::Error on a bad alignment or an empty step range.
size_t assign_offsets(std::vector<Lifetime>& lifetimes, size_t alignment);

// Where one runtime value lives. A value is either its own slot (root == value, root_offset 0,
// dense) or a view: a slice of an in-place Concat output (batch_stride = the output's sample numel)
// or an alias of the input of an Identity/Dropout/Reshape.
struct ValueLocation {
    bool valid = false;        // false for constants and values no node touches
    size_t offset = 0;         // bytes from the arena start
    int64_t batch_stride = 0;  // storage elements between samples (storage sample numel when dense)
    ValueId root = kNoValue;   // value owning the slot
    int64_t root_offset = 0;   // element offset of this view in the root
};

struct MemoryPlan {
    size_t arena_bytes = 0;
    size_t alignment = 64;
    std::vector<ValueLocation> values;  // indexed by ValueId
    std::vector<char> skip;             // indexed by NodeId: 1 = the node runs no kernel
};

// Plans memory for the graph executed in `order` (live nodes, topological). Sizes are at the shapes
// the values carry (the max batch), in storage elements (storage_numel of the value's layout, so
// Blocked16 counts its padding channels) of storage_dtype. Graph inputs and outputs get slots of
// their own that live for the whole run. In-place Concats (ConcatParams::in_place) become views when
// their layout allows (each input a contiguous slice per sample, every input produced by a node, not
// a graph input or output, used once by the Concat, the same layout as the output: Plain, or
// Blocked16 with every slice starting at a multiple of 16 channels; never NHWC); otherwise the
// Concat runs as a copy. Identity/Dropout/Reshape alias their input only between Plain values.
MemoryPlan plan_memory(const Graph& g, const std::vector<NodeId>& order, size_t alignment = 64);

// The number of storage elements a located value spans at max batch: (dim0 - 1) * batch_stride +
// storage sample numel for batched values, numel otherwise.
int64_t located_extent(const Value& v, const ValueLocation& loc);

}  // namespace engine
