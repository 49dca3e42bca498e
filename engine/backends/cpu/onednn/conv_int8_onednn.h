// INT8 convolution on oneDNN (issue 16; docs/int8.md), not yet planned by the builder: it settles
// how oneDNN 2.6 runs the quantization scheme of engine/refmath/ref_int8.h, and is tested against
// ref_conv_int8. F32 input quantized to s8 with the input's scale (a reorder), s8 weights with one
// scale per output channel, int32 accumulation, F32 output:
//   y = post_act(act(acc * x_scale * w_scale[c] + bias[c]) + residual)
// oneDNN 2.x applies the output scales after adding the bias (dst = scale * (acc + bias)), so the
// bias is stored divided by x_scale * w_scale[c]. Activations are s8 (leaky and linear outputs go
// negative), so oneDNN adds its s8 x s8 compensation, which the weights' reorder computes.
// The output is computed in the format oneDNN picks and reordered to NCHW (a plain NCHW output leaves
// only its reference implementation).
#pragma once

#include <memory>
#include <string>

#include "engine/core/shape.h"
#include "engine/ir/params.h"
#include "engine/refmath/ref_int8.h"

namespace engine::onednn {

class Int8Conv {
  public:
    // Throws engine::Error on a CPU without VNNI or AMX (onednn::cpu_has_int8): there oneDNN
    // emulates s8 x s8 at half the weights' precision (measured: 1.6 % of the output range off).
    // x_shape [N, C, H, W] (the batch it runs at); `bias` has w.shape[0] values or is null; `threads`
    // as set_threads (0: all cores).
    Int8Conv(const ConvParams& p, const Shape& x_shape, const QuantizedWeights& w, const float* bias,
             float x_scale, int threads = 0);
    ~Int8Conv();
    Int8Conv(const Int8Conv&) = delete;
    Int8Conv& operator=(const Int8Conv&) = delete;

    // x, residual (when p.residual) and y plain NCHW F32.
    void run(const float* x, const float* residual, float* y);
    const Shape& output_shape() const;
    // oneDNN's implementation ("brgconv:avx512_core_vnni", ...).
    std::string impl() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace engine::onednn
