// Quantization of a real value to s8 as the CUDA kernels do it (device_util.cuh's quantize_s8_dev),
// written once for the device and the host so that the CPU build's tests check it without a GPU
// (tests/engine/kernels/test_requant_core.cpp): against the reference's quantize_s8
// (engine/refmath/ref_int8.h), including the claim that the multiplication by 1 / scale gives the
// division's result bit for bit, and the forms without conversion instructions the conv epilogue uses
// (on sm_80 / sm_90 a conversion issues at 16 lanes a clock an SM, an add or multiply at 128). Plain C++
// when not compiled by nvcc.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define RTDET_RQ_HD __host__ __device__ __forceinline__
#define RTDET_RQ_HD_OUTLINED inline __host__ __device__ __noinline__
#else
#define RTDET_RQ_HD inline
#define RTDET_RQ_HD_OUTLINED inline
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

// quantize_s8_div for the fast forms' rare path, out of line on the device: inlined at each output of an
// epilogue's run, IEEE division's code took registers from the common path (the s8-output kernels
// spilled).
RTDET_RQ_HD_OUTLINED int8_t quantize_s8_div_rare(float x, float scale) { return quantize_s8_div(x, scale); }

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

// A float's bits and back.
RTDET_RQ_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
    return static_cast<uint32_t>(__float_as_int(f));
#else
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
#endif
}
RTDET_RQ_HD float bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __int_as_float(static_cast<int>(u));
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

// 1.5 * 2^23 and its bits. For |x| <= 2^22, x + kRoundMagic lands in [2^23, 2^24), where floats are the
// integers: the add rounds x half to even (rintf's result) and the sum's low mantissa bits hold that
// integer in two's complement (bits = kRoundMagicBits + rint(x)). Conversely an int32 i with |i| < 2^22
// added to kRoundMagicBits is the float kRoundMagic + i.
inline constexpr float kRoundMagic = 12582912.0f;
inline constexpr uint32_t kRoundMagicBits = 0x4B400000u;

// IEEE single add and subtract, never contracted into a fused multiply-add.
RTDET_RQ_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}
RTDET_RQ_HD float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

// min(max(x, lo), hi) with NaN kept (PTX max.NaN / min.NaN: one instruction each).
RTDET_RQ_HD float clamp_keep_nan(float x, float lo, float hi) {
#if defined(__CUDA_ARCH__)
    float t, r;
    asm("max.NaN.f32 %0, %1, %2;" : "=f"(t) : "f"(x), "f"(lo));
    asm("min.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(t), "f"(hi));
    return r;
#else
    return x != x ? x : (x < lo ? lo : (x > hi ? hi : x));
#endif
}

// quantize_s8_mul without conversion instructions, as a word whose low byte is the s8 (the other bytes
// are not zero: callers pack low bytes). Clamping x * inv to [-128, 127] before rounding gives what
// saturating after it gives (the bounds are integers); the clamped value rounds through kRoundMagic.
// `ok` is cleared where the product lies within 1e-4 of a half step (and for NaN): there the division
// decides (quantize_s8_word), as in quantize_s8_mul. Callers of a run of outputs test `ok` once.
RTDET_RQ_HD uint32_t quantize_s8_word_try(float x, float inv, bool& ok) {
#if defined(__CUDA_ARCH__)
    const float q = clamp_keep_nan(__fmul_rn(x, inv), -128.f, 127.f);
#else
    const float q = clamp_keep_nan(x * inv, -128.f, 127.f);
#endif
    const float t = add_rn(q, kRoundMagic);                    // kRoundMagic + rint(q): |q| <= 128
    ok &= fabsf(sub_rn(q, sub_rn(t, kRoundMagic))) < 0.4999f;  // false for NaN; no branch
    return f32_bits(t);
}
RTDET_RQ_HD uint32_t quantize_s8_word(float x, float scale, float inv) {
    bool ok = true;
    const uint32_t w = quantize_s8_word_try(x, inv, ok);
    return ok ? w : static_cast<uint8_t>(quantize_s8_div_rare(x, scale));
}
RTDET_RQ_HD int8_t quantize_s8_fast(float x, float scale, float inv) {
    return static_cast<int8_t>(static_cast<uint8_t>(quantize_s8_word(x, scale, inv) & 0xffu));
}

// __byte_perm on the host (the tests'): byte i of the result is byte (s >> 4i) & 7 of {y:x}.
RTDET_RQ_HD uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s) {
#if defined(__CUDA_ARCH__)
    return __byte_perm(x, y, s);
#else
    const uint64_t xy = (static_cast<uint64_t>(y) << 32) | x;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i)
        r |= static_cast<uint32_t>((xy >> (8 * ((s >> (4 * i)) & 7))) & 0xffu) << (8 * i);
    return r;
#endif
}

// The 4 s8 of a word (little-endian) as floats without conversion instructions: each byte, offset by
// 128 to unsigned, becomes the low byte of the float 2^23 + (q + 128); one subtraction leaves q.
RTDET_RQ_HD void s8x4_to_f32(uint32_t word, float (&out)[4]) {
    const uint32_t u = word ^ 0x80808080u;
    out[0] = sub_rn(bits_f32(byte_perm(u, 0x4B000000u, 0x7540u)), 8388736.0f);
    out[1] = sub_rn(bits_f32(byte_perm(u, 0x4B000000u, 0x7541u)), 8388736.0f);
    out[2] = sub_rn(bits_f32(byte_perm(u, 0x4B000000u, 0x7542u)), 8388736.0f);
    out[3] = sub_rn(bits_f32(byte_perm(u, 0x4B000000u, 0x7543u)), 8388736.0f);
}

// The conv kernel's accumulators start at kRoundMagicBits instead of 0 (the integer sums wrap the same
// way). Where every sum is within +-2^22 (small: 128 times the largest row sum of |w| below it), the
// accumulator's bits are the float kRoundMagic + sum and one subtraction gives static_cast<float>(sum)
// exactly; otherwise the conversion.
RTDET_RQ_HD float biased_acc_to_f32(int32_t acc, bool small) {
    if (small) return sub_rn(bits_f32(static_cast<uint32_t>(acc)), kRoundMagic);
    return static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(acc) - kRoundMagicBits));
}

// Whether every int32 sum of a conv with these s8 weights (`rows` rows of `row` values, one an output
// channel) stays within +-2^22 whatever its s8 input (at most 128 in magnitude): 128 times the largest
// row sum of |w| below 2^22 (biased_acc_to_f32's `small`). Host code.
inline bool int8_sums_small(const int8_t* w, int64_t rows, int64_t row) {
    int64_t largest = 0;
    for (int64_t k = 0; k < rows; ++k) {
        int64_t sum = 0;
        for (int64_t i = 0; i < row; ++i) {
            const int v = w[k * row + i];
            sum += v < 0 ? -v : v;
        }
        largest = sum > largest ? sum : largest;
    }
    return largest * 128 < (int64_t{1} << 22);
}

}  // namespace engine::cuda
