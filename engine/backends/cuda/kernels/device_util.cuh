// Device-side helpers shared by the .cu files of engine/backends/cuda/kernels (never included by
// plain C++): element conversion (s8 quantization included), 16-byte vectors, activations with the IR's
// formulas (params.h).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/backends/cuda/kernels/requant_core.h"
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

// ---- INT8 (docs/int8.md): an s8 element q stands for the real value q * scale, scale = amax / 127 ----

// saturate_s8(round_half_even(x / scale)), NaN giving 0: quantize_s8 (engine/refmath/ref_int8.h) bit for
// bit (requant_core.h, shared with the host's tests).
__device__ __forceinline__ int8_t quantize_s8_dev(float x, float scale) { return quantize_s8_div(x, scale); }
// The same with inv = 1 / scale given: a multiplication and adds (no conversion instruction) but where
// the product lies next to a half step (requant_core.h's quantize_s8_fast).
__device__ __forceinline__ int8_t quantize_s8_dev(float x, float scale, float inv) {
    return quantize_s8_fast(x, scale, inv);
}
// q * scale in FP32 (dequantize_s8), unfused.
__device__ __forceinline__ float dequantize_s8_dev(int8_t q, float scale) {
    return __fmul_rn(static_cast<float>(q), scale);
}

// An element of any storage type as a real number and back, `scale` being the element's real value per
// unit: used for s8 (q * scale), ignored by the float types (their scale is 1). Converting s8 with one
// scale into s8 with another goes through the real value: two roundings, as dequantize_s8 followed by
// quantize_s8.
__device__ __forceinline__ float to_real(float v, float) { return v; }
__device__ __forceinline__ float to_real(__half v, float) { return __half2float(v); }
__device__ __forceinline__ float to_real(int8_t q, float scale) { return dequantize_s8_dev(q, scale); }
template <typename T>
__device__ __forceinline__ T from_real(float v, float scale);
template <>
__device__ __forceinline__ float from_real<float>(float v, float) {
    return v;
}
template <>
__device__ __forceinline__ __half from_real<__half>(float v, float) {
    return __float2half_rn(v);
}
template <>
__device__ __forceinline__ int8_t from_real<int8_t>(float v, float scale) {
    return quantize_s8_dev(v, scale);
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
    } else if constexpr (K == ActKind::Clip) {
        return x < alpha ? alpha : (x > beta ? beta : x);
    } else {
        static_assert(K == ActKind::HardSigmoid, "an ActKind without device code");
        return fmaxf(0.f, fminf(1.f, alpha * x + beta));
    }
}

// apply_act with the kind known only at run time (the rare post-residual activation).
__device__ __forceinline__ float act_dev_any(const Act& a, float x) {
    switch (a.kind) {
        case ActKind::None:
            return x;
#define ENGINE_ACT_CASE(Name, ...) \
    case ActKind::Name:            \
        return act_dev<ActKind::Name>(x, a.alpha, a.beta);
            ENGINE_ACTIVATION_LIST(ENGINE_ACT_CASE)
#undef ENGINE_ACT_CASE
    }
    return x;
}

// Calls f.template operator()<K>() with K = kind (turns a run-time ActKind into a template argument).
template <typename F>
void dispatch_act(ActKind kind, F&& f) {
    switch (kind) {
        case ActKind::None:
            return f.template operator()<ActKind::None>();
#define ENGINE_ACT_CASE(Name, ...) \
    case ActKind::Name:            \
        return f.template operator()<ActKind::Name>();
            ENGINE_ACTIVATION_LIST(ENGINE_ACT_CASE)
#undef ENGINE_ACT_CASE
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
