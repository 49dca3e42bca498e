// A kernel runs one IR node on one backend. Lifecycle (XNNPACK create/setup/run, TensorRT
// build/enqueue): the backend creates it once per ExecutionContext from the node and its packed
// constants; run() is then called per inference with the tensors of that run.
#pragma once

#include <cstddef>
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

class Kernel {
public:
    virtual ~Kernel() = default;
    // Scratch memory this kernel needs per run at the given batch; the arena reserves it.
    virtual size_t workspace_bytes(int max_batch) const {
        (void)max_batch;
        return 0;
    }
    // Per inference. No allocation; throws only on fatal device errors.
    virtual void run(const KernelArgs& args) = 0;
};

}  // namespace engine
