// Layout assignment: a builder step after backend assignment and precision (engine/ir/layout.h).
//
//   For an activation layout L (NHWC, Blocked16, or Plain):
//   1. Every value gets the storage its producer writes: the 4-D runtime outputs of a node whose
//      backend lists L in activation_layouts() are L, everything else Plain; the storage dtype is
//      the producer's precision for float values. Graph inputs are Plain F32.
//   2. A graph output written in anything but Plain F32 becomes the output of a Reorder from a new
//      value its producer writes instead, unless it is F32 in another layout and the producer's
//      backend writes it Plain F32 itself (Backend::writes_plain_f32_output): then it is Plain F32.
//   3. An in-place Concat keeps in_place only when every input is written in the output's layout and
//      storage dtype and the layout allows slices (Plain; Blocked16 at multiples of 16 channels;
//      never NHWC). Otherwise in_place is cleared and the Concat copies.
//   4. Wherever a node reads an input in another (layout, dtype) than the value is stored in (the
//      node's backend says which layout through Backend::input_layout; the dtype is the node's
//      precision; reference nodes read Plain F32), a Reorder converts it. One Reorder per value and
//      target is shared by all consumers that need that target. A graph input read by a node whose
//      backend converts it itself (Backend::reads_plain_f32_input) gets none for that node.
// Reorder nodes go to the first backend (in priority order) that supports them.
#pragma once

#include <span>

#include "engine/backends/backend.h"
#include "engine/ir/graph.h"

namespace engine {

// Returns the number of Reorder nodes inserted. `backends`: the plan's backends in priority order
// (each node's Node::backend names one of them). Throws engine::Error when a Reorder is needed and
// no backend runs it. Shapes and verify() hold afterwards.
int assign_layouts(Graph& g, Layout layout, std::span<Backend* const> backends);

}  // namespace engine
