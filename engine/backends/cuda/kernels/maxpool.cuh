// Max pooling of NHWC activations (MaxPoolParams semantics, params.h): output (n, oy, ox, c) is the
// max of x(n, oy*sh - pad_top + ky*dh, ox*sw - pad_left + kx*dw, c) over the window positions inside
// the input; padded positions never win (a window entirely in the padding gives -inf). The output
// size (floor/ceil mode) comes from the IR's shapes. Covers darknet's size-2 stride-1 maxpool (end
// padding 1) and the SPP pools (k 5/9/13, stride 1).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace engine::cuda {

struct MaxPoolNhwcArgs {
    const void* x = nullptr;
    void* y = nullptr;
    int batch = 1;
    int h = 0, w = 0, c = 0;  // input
    int oh = 0, ow = 0;       // output
    int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
    int pad_top = 0, pad_left = 0;
    int64_t x_batch_stride = 0, y_batch_stride = 0;  // elements
};

void launch_maxpool_nhwc_f32(const MaxPoolNhwcArgs& a, cudaStream_t stream);
void launch_maxpool_nhwc_f16(const MaxPoolNhwcArgs& a, cudaStream_t stream);
// s8 (INT8 plans): the max of the stored integers, input and output sharing one scale (docs/int8.md).
void launch_maxpool_nhwc_s8(const MaxPoolNhwcArgs& a, cudaStream_t stream);

}  // namespace engine::cuda
