// ONNX linear quantization in plain C++ (QuantizeLinear, DequantizeLinear and the fused FakeQuant;
// engine/ir/params.h, QuantParams, has the formulas). The reference kernels and whatever evaluates
// quantization outside a kernel (fold_qdq, tests) use these element rules, so they agree exactly.
#pragma once

#include <algorithm>
#include <cmath>

#include "engine/core/dtype.h"

namespace engine {

// The integers of a quantized type: [-128, 127] for I8, [0, 255] for U8, int32's for I32.
struct QuantRange {
    float lo = 0;
    float hi = 0;
};
// Throws engine::Error for a type that is not I8, U8 or I32.
QuantRange quant_range(DataType qtype);

// saturate(round_half_even(x / scale) + zero_point) as a float holding the integer. The division is
// float32 (ONNX Runtime's too), rounding is the default mode (half to even); NaN gives the zero point
// (it dequantizes to 0), +-inf saturate. `zero_point` is an integer in [lo, hi].
inline float quantize_value(float x, float scale, float zero_point, QuantRange r) {
    const float q = std::nearbyint(x / scale);
    if (std::isnan(q)) return zero_point;
    return std::clamp(q + zero_point, r.lo, r.hi);
}

// (q - zero_point) * scale, the subtraction exact (integers), one float rounding in the product.
inline float dequantize_value(float q, float scale, float zero_point) { return (q - zero_point) * scale; }

// A scale is usable when it is finite and > 0 (a zero scale divides by zero, a negative one flips
// the rounding and the saturation).
inline bool valid_quant_scale(float s) { return std::isfinite(s) && s > 0; }

}  // namespace engine
