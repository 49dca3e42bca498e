// Device-side helpers shared by the .cu files of engine/backends/cuda/kernels (never included by
// plain C++): element conversion, 16-byte vectors, activations with the IR's formulas (params.h).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/ir/params.h"

namespace engine::cuda {

inline constexpr int kThreads = 256;

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }

template <typename T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) {
    return v;
}
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) {
    return __float2half_rn(v);
}

// N elements of T loaded and stored as one access (16 bytes for 8 halves or 4 floats).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
    T v[N];
};

template <typename T, int N>
__device__ __forceinline__ Vec<T, N> load_vec(const T* p) {
    return *reinterpret_cast<const Vec<T, N>*>(p);
}
template <typename T, int N>
__device__ __forceinline__ void store_vec(T* p, const Vec<T, N>& v) {
    *reinterpret_cast<Vec<T, N>*>(p) = v;
}

// ln(1 + e^x) with the reference's cut-off (params.h softplus_f32).
__device__ __forceinline__ float softplus_dev(float x) { return x > 20.f ? x : log1pf(expf(x)); }

// apply_act (params.h) with the kind fixed at compile time.
template <ActKind K>
__device__ __forceinline__ float act_dev(float x, float alpha, float beta) {
    if constexpr (K == ActKind::None) {
        return x;
    } else if constexpr (K == ActKind::Relu) {
        return x > 0.f ? x : 0.f;
    } else if constexpr (K == ActKind::LeakyRelu) {
        return x >= 0.f ? x : alpha * x;
    } else if constexpr (K == ActKind::Sigmoid) {
        return 1.f / (1.f + expf(-x));
    } else if constexpr (K == ActKind::Tanh) {
        return tanhf(x);
    } else if constexpr (K == ActKind::Softplus) {
        return softplus_dev(x);
    } else if constexpr (K == ActKind::Mish) {
        return x * tanhf(softplus_dev(x));
    } else if constexpr (K == ActKind::Silu) {
        return x / (1.f + expf(-x));
    } else {  // Clip
        return x < alpha ? alpha : (x > beta ? beta : x);
    }
}

// apply_act with the kind known only at run time (the rare post-residual activation).
__device__ __forceinline__ float act_dev_any(const Act& a, float x) {
    switch (a.kind) {
        case ActKind::None:
            return x;
        case ActKind::Relu:
            return act_dev<ActKind::Relu>(x, a.alpha, a.beta);
        case ActKind::LeakyRelu:
            return act_dev<ActKind::LeakyRelu>(x, a.alpha, a.beta);
        case ActKind::Sigmoid:
            return act_dev<ActKind::Sigmoid>(x, a.alpha, a.beta);
        case ActKind::Tanh:
            return act_dev<ActKind::Tanh>(x, a.alpha, a.beta);
        case ActKind::Softplus:
            return act_dev<ActKind::Softplus>(x, a.alpha, a.beta);
        case ActKind::Mish:
            return act_dev<ActKind::Mish>(x, a.alpha, a.beta);
        case ActKind::Silu:
            return act_dev<ActKind::Silu>(x, a.alpha, a.beta);
        case ActKind::Clip:
            return act_dev<ActKind::Clip>(x, a.alpha, a.beta);
    }
    return x;
}

// Calls f.template operator()<K>() with K = kind (turns a run-time ActKind into a template argument).
template <typename F>
void dispatch_act(ActKind kind, F&& f) {
    switch (kind) {
        case ActKind::None:
            return f.template operator()<ActKind::None>();
        case ActKind::Relu:
            return f.template operator()<ActKind::Relu>();
        case ActKind::LeakyRelu:
            return f.template operator()<ActKind::LeakyRelu>();
        case ActKind::Sigmoid:
            return f.template operator()<ActKind::Sigmoid>();
        case ActKind::Tanh:
            return f.template operator()<ActKind::Tanh>();
        case ActKind::Softplus:
            return f.template operator()<ActKind::Softplus>();
        case ActKind::Mish:
            return f.template operator()<ActKind::Mish>();
        case ActKind::Silu:
            return f.template operator()<ActKind::Silu>();
        case ActKind::Clip:
            return f.template operator()<ActKind::Clip>();
    }
}

// Whether p is aligned to `bytes`.
inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Grid for kernels that loop over `per_sample` work items in x and over samples in y.
inline dim3 grid_2d(int64_t per_sample, int batch, int threads = kThreads) {
    int64_t bx = (per_sample + threads - 1) / threads;
    if (bx < 1) bx = 1;
    // Enough blocks to fill the GPU several times over; the kernels grid-stride over the rest.
    const int64_t max_x = 8192;
    if (bx > max_x) bx = max_x;
    const int by = batch < 65535 ? (batch < 1 ? 1 : batch) : 65535;
    return dim3(static_cast<unsigned int>(bx), static_cast<unsigned int>(by), 1);
}

}  // namespace engine::cuda
