// Quantization of a real value to s8 as the CUDA kernels do it (device_util.cuh's quantize_s8_dev),
// written once for the device and the host so that the CPU build's tests check it without a GPU
// (tests/engine/kernels/test_requant_core.cpp): against the reference's quantize_s8
// (engine/refmath/ref_int8.h), including the claim that the multiplication by 1 / scale gives the
// division's result bit for bit. Plain C++ when not compiled by nvcc.
#pragma once

#include <math.h>

#include <cstdint>

#if defined(__CUDACC__)
#define RTDET_RQ_HD __host__ __device__ __forceinline__
#else
#define RTDET_RQ_HD inline
#endif

namespace engine::cuda {

// r saturated to s8 (r an integer, or +-inf), NaN giving 0.
RTDET_RQ_HD int8_t saturate_s8(float r) {
    if (r != r) return 0;  // NaN (isnan, whatever the compile flags)
    return static_cast<int8_t>(r < -128.f ? -128.f : (r > 127.f ? 127.f : r));
}

// saturate_s8(round_half_even(x / scale)), NaN giving 0: quantize_s8 bit for bit. The division is
// IEEE's whatever the compile flags (__fdiv_rn on the device: not -prec-div=false's, not
// --use_fast_math's), and it is x / scale rather than x * (1 / scale) because the reference divides
// (the two differ next to the half steps). rintf rounds half to even (the default rounding mode).
RTDET_RQ_HD int8_t quantize_s8_div(float x, float scale) {
#if defined(__CUDA_ARCH__)
    return saturate_s8(rintf(__fdiv_rn(x, scale)));
#else
    return saturate_s8(rintf(x / scale));
#endif
}

// quantize_s8_div with inv = 1 / scale given, at a multiplication's cost in all but rare cases, bit for
// bit the same: x * inv is within 2e-7 |x / scale| of IEEE's x / scale, so both round to the same
// integer unless x * inv lies within that of a half step; below |x * inv| = 256 (past it both saturate)
// that is within 1e-4, where (and for NaN and infinities) the division decides.
RTDET_RQ_HD int8_t quantize_s8_mul(float x, float scale, float inv) {
#if defined(__CUDA_ARCH__)
    const float q = __fmul_rn(x, inv);  // not contracted into anything
#else
    const float q = x * inv;
#endif
    const float r = rintf(q);
    if (!(fabsf(q - r) < 0.4999f)) return quantize_s8_div(x, scale);  // true for NaN and infinities
    return saturate_s8(r);
}

}  // namespace engine::cuda
