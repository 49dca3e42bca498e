// Elementwise Add / Mul of two tensors of the same shape and layout: y = a + b or a * b, computed in
// FP32 whatever the storage type. `sample` elements per sample, each tensor at its own batch stride.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace engine::cuda {

enum class BinaryKind : uint8_t { Add, Mul };

struct BinaryArgs {
    const void* a = nullptr;
    const void* b = nullptr;
    void* y = nullptr;
    BinaryKind kind = BinaryKind::Add;
    int batch = 1;
    int64_t sample = 0;
    int64_t a_batch_stride = 0, b_batch_stride = 0, y_batch_stride = 0;  // elements
};

void launch_binary_f32(const BinaryArgs& a, cudaStream_t stream);
void launch_binary_f16(const BinaryArgs& a, cudaStream_t stream);

}  // namespace engine::cuda
