#include <type_traits>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/fill.cuh"

namespace engine::cuda {
namespace {

// A 32-bit integer hash (lowbias32 by C. Wellons' constants).
__device__ __forceinline__ uint32_t hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

// The stored element for a uniform value v: s8 is v in stored units, rounded and saturated.
template <typename T>
__device__ __forceinline__ T fill_value(float v) {
    if constexpr (std::is_same_v<T, int8_t>)
        return quantize_s8_dev(v, 1.f);
    else
        return from_f32<T>(v);
}

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, uint32_t seed, float lo, float hi) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const uint32_t h = hash32(static_cast<uint32_t>(i) ^ hash32(seed ^ static_cast<uint32_t>(i >> 32)));
        const float u = static_cast<float>(h >> 8) * (1.f / 16777216.f);
        p[i] = fill_value<T>(lo + (hi - lo) * u);
    }
}

}  // namespace

void launch_fill_uniform(void* p, ElemType t, int64_t n, uint32_t seed, float lo, float hi,
                         cudaStream_t stream) {
    if (n <= 0) return;
    const unsigned int blocks = grid_1d(n, kThreads, 8192);
    if (t == ElemType::F16)
        fill_kernel<__half><<<blocks, kThreads, 0, stream>>>(static_cast<__half*>(p), n, seed, lo, hi);
    else if (t == ElemType::S8)
        fill_kernel<int8_t><<<blocks, kThreads, 0, stream>>>(static_cast<int8_t*>(p), n, seed, lo, hi);
    else
        fill_kernel<float><<<blocks, kThreads, 0, stream>>>(static_cast<float*>(p), n, seed, lo, hi);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace engine::cuda
