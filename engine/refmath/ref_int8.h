// INT8 reference math (issue 16, docs/int8.md): symmetric quantization and the integer convolution in
// plain C++, the oracle for the INT8 kernels of the CPU and GPU backends.
//
//   activations  x ~ q * scale, q = saturate_s8(round_half_even(x / scale)), one scale per tensor
//   weights      W[c] ~ q[c] * scale[c], scale[c] = max |W[c]| / 127, one scale per output channel
//   conv         acc = sum of q_x * q_w in int32 (exact), then in float:
//                y = post_act(act(acc * x_scale * w_scale[c] + bias[c]) + residual)
//                and either y itself or saturate_s8(round_half_even(y / y_scale))
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/shape.h"
#include "engine/ir/params.h"

namespace engine {

// Round half to even (the rounding of oneDNN's and CUDA's float -> int8 conversions), saturated to
// [-128, 127]; NaN gives 0. `scale` must be > 0.
int8_t quantize_s8(float x, float scale);
void quantize_s8(const float* x, size_t n, float scale, int8_t* q);
void dequantize_s8(const int8_t* q, size_t n, float scale, float* x);

// Weights [O, ...] quantized per output channel (dim 0); an all-zero channel gets scale 1.
struct QuantizedWeights {
    Shape shape;
    std::vector<int8_t> q;
    std::vector<float> scale;  // one per output channel
};
QuantizedWeights quantize_weights_per_channel(const float* w, const Shape& shape);

struct Int8ConvArgs {
    const int8_t* x = nullptr;  // [N, C, H, W], dense
    Shape x_shape;
    float x_scale = 1;
    const QuantizedWeights* w = nullptr;  // [O, C / group, KH, KW]
    const float* bias = nullptr;          // [O] or null
    const float* residual = nullptr;      // [N, O, OH, OW] (ConvParams::residual) or null
    float* y = nullptr;                   // [N, O, OH, OW] float output, or
    int8_t* y_q = nullptr;                // the output requantized with y_scale
    float y_scale = 1;
};
// The inputs of a conv (the output pointer left for the caller to set).
inline Int8ConvArgs int8_conv_inputs(const int8_t* x, const Shape& x_shape, float x_scale,
                                     const QuantizedWeights& w, const float* bias, const float* residual) {
    Int8ConvArgs a;
    a.x = x;
    a.x_shape = x_shape;
    a.x_scale = x_scale;
    a.w = &w;
    a.bias = bias;
    a.residual = residual;
    return a;
}
// The output shape of `p` on `x_shape` with weights `w_shape` (throws when it does not fit).
Shape conv_output_shape(const ConvParams& p, const Shape& x_shape, const Shape& w_shape);
// Direct loops (no im2col): an oracle for small layers, not a fast path.
void ref_conv_int8(const ConvParams& p, const Int8ConvArgs& a);

}  // namespace engine
