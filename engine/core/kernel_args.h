// The tensors of one kernel call: what a backend's Kernel::run (engine/backends/kernel.h) and the
// naive math (engine/refmath/ref_ops.h) are given. Here, below both, so the naive math needs no
// backend.
#pragma once

#include <span>

#include "engine/core/tensor.h"

namespace engine {

struct KernelArgs {
    // One entry per node input, in node order. Constant inputs are dense, unbatched views of plan
    // memory. Batched tensors have shape[0] == batch and may be strided (TensorRef::batch_stride).
    std::span<const TensorRef> inputs;
    std::span<const TensorRef> outputs;
    void* workspace = nullptr;  // workspace_bytes(max_batch) bytes, 64-byte aligned
    int batch = 1;
};

}  // namespace engine
