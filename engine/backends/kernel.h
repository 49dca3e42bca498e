// A kernel runs one IR node on one backend. Lifecycle (XNNPACK create/setup/run, TensorRT
// build/enqueue): the backend creates it once per ExecutionContext from the node and its packed
// constants; run() is then called per inference with the tensors of that run.
#pragma once

#include <cstddef>

#include "engine/core/kernel_args.h"

namespace engine {

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
