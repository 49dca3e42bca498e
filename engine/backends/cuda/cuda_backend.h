// The "cuda" backend: the nodes of a YOLO-style network on an NVIDIA GPU (cuDNN convolutions with our
// fused epilogue; MaxPool, nearest Resize, channel Concat, activations, Add/Mul and layout/type
// Reorders as our kernels), FP32 and FP16 (tensor cores), activations NHWC in device memory. Graph
// inputs and outputs stay FP32 on the host; Reorder nodes move them across.
#pragma once

#include <memory>
#include <string>

#include "engine/backends/backend.h"

namespace engine {

// Throws engine::Error when no CUDA device is usable ("cuda: no CUDA device visible").
std::unique_ptr<Backend> make_cuda_backend();

}  // namespace engine
