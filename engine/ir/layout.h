// Memory layouts of activations. The IR is logical (NCHW shapes); a value's Layout says how its
// elements sit in memory. The builder picks a layout for the 4-D values of backends that keep
// their own (engine/builder/assign_layout.h) and inserts Reorder nodes where a consumer needs another.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/core/shape.h"

namespace engine {

//   Plain      row-major in the logical dims (NCHW for 4-D). Graph inputs/outputs and every
//              reference kernel use it.
//   Blocked16  oneDNN nChw16c, 4-D only: [N][ceil(C/16)][H][W][16]. Channels are padded with
//              zeros up to a multiple of 16; those zeros are part of the storage.
//   NHWC       channels last, 4-D only: [N][H][W][C].
enum class Layout : uint8_t { Plain, Blocked16, NHWC };

inline constexpr int64_t kBlockedChannels = 16;

std::string_view layout_name(Layout l);  // "plain", "blocked16", "nhwc"
// Parses layout_name() output; throws engine::Error on an unknown name.
Layout layout_from_name(std::string_view name);

// Elements one sample (dims after 0) occupies: numel(shape[1:]), with dim 1 rounded up to a
// multiple of 16 for Blocked16. Rank-0 shapes count 1.
int64_t storage_sample_numel(const Shape& shape, Layout layout);
// Elements the whole tensor occupies (dim 0 times storage_sample_numel; numel for rank 0).
int64_t storage_numel(const Shape& shape, Layout layout);

}  // namespace engine
