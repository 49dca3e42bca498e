// Page-locked ("pinned") host memory for frames the Detector's GPU path uploads. A frame whose pixels
// lie in such memory is copied straight to the device; one in ordinary memory goes through a pinned
// staging buffer first (a CPU copy of the whole frame, detector/cuda/gpu_path.h).
#pragma once

#include <cstddef>

namespace detector {

// `bytes` of pinned host memory, or nullptr when there is none to give: a build without CUDA, no
// usable CUDA device, or the allocation failed. The caller then uses ordinary memory. Never throws.
void* allocate_pinned(size_t bytes) noexcept;
// Frees what allocate_pinned returned (nullptr: nothing).
void free_pinned(void* p) noexcept;

}  // namespace detector
