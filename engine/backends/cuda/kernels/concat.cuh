// Channel concat of NHWC activations as a copy (for Concats whose inputs cannot be written in place:
// NHWC channel slices are not contiguous per sample). Each call copies one input into its channel
// range [c_offset, c_offset + c_in) of every pixel of the output. Any element type of 1, 2 or 4 bytes
// (elem_size), in the widest words the channel counts, offsets, strides and pointers allow.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace engine::cuda {

struct ChannelCopyArgs {
    const void* x = nullptr;
    void* y = nullptr;
    size_t elem_size = 4;
    int batch = 1;
    int64_t pixels = 0;                              // H*W
    int c_in = 0;                                    // channels of x
    int c_out = 0;                                   // channels of y
    int c_offset = 0;                                // first channel of the slice in y
    int64_t x_batch_stride = 0, y_batch_stride = 0;  // elements
};

void launch_copy_channels_nhwc(const ChannelCopyArgs& a, cudaStream_t stream);

}  // namespace engine::cuda
