// Nearest-neighbour resize of NHWC activations over H and W (N and C unchanged), any element type:
// output pixel (n, oh, ow) is a copy of the C elements of input pixel (n, h_map[oh], w_map[ow]). The
// index maps are computed on the host from the IR's coordinate and rounding rules (ResizeParams), so
// one kernel serves darknet's integer upsample and every other nearest mode.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace engine::cuda {

struct ResizeNhwcArgs {
    const void* x = nullptr;
    void* y = nullptr;
    size_t elem_size = 4;  // bytes per element (1, 2 or 4)
    int batch = 1;
    int h = 0, w = 0, c = 0;                         // input
    int oh = 0, ow = 0;                              // output
    const int32_t* h_map = nullptr;                  // device [oh]: input row of each output row
    const int32_t* w_map = nullptr;                  // device [ow]
    int64_t x_batch_stride = 0, y_batch_stride = 0;  // elements
};

void launch_resize_nearest_nhwc(const ResizeNhwcArgs& a, cudaStream_t stream);

}  // namespace engine::cuda
