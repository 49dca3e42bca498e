// Fills device memory with deterministic pseudo-random values (builder timing runs: realistic data,
// since all-zero operands run measurably faster on tensor cores; tests).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/backends/cuda/kernels/reorder.cuh"

namespace engine::cuda {

// p[i] = uniform [lo, hi) from a hash of (seed, i), for i < n elements of type t (S8: lo and hi in
// stored units, the values rounded half to even and saturated to [-128, 127]).
void launch_fill_uniform(void* p, ElemType t, int64_t n, uint32_t seed, float lo, float hi,
                         cudaStream_t stream);

}  // namespace engine::cuda
