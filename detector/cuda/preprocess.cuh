// Preprocessing on the GPU: one kernel takes an 8-bit BGR frame in device memory to the network input
// (resize by the policy, BGR -> RGB, / 255) in NCHW F32 or NHWC F16, with the same arithmetic as the
// CPU version (detector/preprocess.h): darknet's corner-aligned two-pass bilinear, or half-pixel
// bilinear (stretch, letterbox with pad_value around the image).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "detector/preprocess.h"

namespace detector::cuda {

enum class InputLayout : uint8_t {
    NchwF32,  // planes R, G, B of net_h x net_w floats (the engine's graph input)
    NhwcF16,  // net_h x net_w pixels of R, G, B halves (a device NHWC F16 value)
};

struct GpuPreprocessArgs {
    const uint8_t* image = nullptr;  // device memory, BGR, 3 bytes per pixel
    int width = 0, height = 0;
    int64_t row_stride = 0;  // bytes between rows
    ResizePolicy policy = ResizePolicy::Darknet;
    int net_w = 0, net_h = 0;
    float pad_value = 0.5f;
    void* out = nullptr;  // device memory, 3 * net_w * net_h elements in `layout`
    InputLayout layout = InputLayout::NchwF32;
};

// Enqueues the preprocessing of one image. `t` is make_transform(policy, width, height, net_w, net_h)
// (the caller keeps it to map boxes back). Throws engine::Error on bad sizes or a CUDA error.
void launch_preprocess(const GpuPreprocessArgs& a, const InputTransform& t, cudaStream_t stream);

}  // namespace detector::cuda
