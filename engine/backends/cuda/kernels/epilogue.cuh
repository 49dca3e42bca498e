// The convolution epilogue and standalone activations, elementwise on NHWC (or any layout without a
// bias: the channel only picks the bias):
//
//   y = post_act( act(x + bias[c]) + r )      (r and post_act only with a residual; params.h ConvParams)
//
// computed in FP32 whatever the storage type. x and y may be the same buffer (in place after the
// conv); r must not alias y unless equal to x's buffer element for element. Tensors are `batch`
// samples of `sample` elements (NHWC: H*W*C, channel = index % C) at their own batch strides, in
// elements.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ir/params.h"

namespace engine::cuda {

struct EpilogueArgs {
    const void* x = nullptr;
    void* y = nullptr;
    const float* bias = nullptr;     // [C] F32, or nullptr
    const void* residual = nullptr;  // same type and shape as y, or nullptr
    int batch = 1;
    int64_t sample = 0;  // elements per sample
    int channels = 1;    // C (innermost dim) when bias is set
    int64_t x_batch_stride = 0, y_batch_stride = 0, r_batch_stride = 0;
    Act act;
    Act post_act;  // applied after the residual add
};

// F32 and F16 (IEEE half) storage. Vectorized (16-byte accesses) when C, the sample size, the batch
// strides and the pointers allow it.
void launch_epilogue_f32(const EpilogueArgs& a, cudaStream_t stream);
void launch_epilogue_f16(const EpilogueArgs& a, cudaStream_t stream);

}  // namespace engine::cuda
