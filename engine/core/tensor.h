// Host tensors. Tensor owns a 64-byte-aligned buffer (constants, test data, folded values);
// TensorRef is the non-owning view kernels see at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"

namespace engine {

inline constexpr size_t kTensorAlignment = 64;

class Tensor {
  public:
    Tensor() = default;
    // Zero-filled tensor of the given type and shape.
    Tensor(DataType dtype, Shape shape);
    Tensor(const Tensor& other);
    Tensor& operator=(const Tensor& other);
    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;

    static Tensor from_f32(Shape shape, std::span<const float> values);
    static Tensor from_i64(Shape shape, std::span<const int64_t> values);
    // Copies `bytes` raw bytes (must equal numel * dtype size).
    static Tensor from_bytes(DataType dtype, Shape shape, const void* bytes, size_t num_bytes);
    // A tensor over memory someone else owns (a loaded plan): `owner` keeps it alive; no copy.
    static Tensor wrap(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data);

    DataType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t numel() const { return shape_numel(shape_); }
    size_t bytes() const;
    bool empty() const { return data_ == nullptr && numel() == 0; }

    // Writable data. Wrapped tensors are read-only by contract (only const access is used on them).
    void* data() { return data_.get(); }
    const void* data() const { return data_.get(); }
    template <typename T>
    T* data_as() {
        return reinterpret_cast<T*>(data_.get());
    }
    template <typename T>
    const T* data_as() const {
        return reinterpret_cast<const T*>(data_.get());
    }
    std::span<float> f32() { return {data_as<float>(), static_cast<size_t>(numel())}; }
    std::span<const float> f32() const { return {data_as<float>(), static_cast<size_t>(numel())}; }

    // Values converted to int64 / float, whatever the stored integer or float type (for folding).
    std::vector<int64_t> to_i64() const;
    std::vector<float> to_f32() const;
    // Same data, new shape (numel must match).
    Tensor reshaped(Shape shape) const;

  private:
    DataType dtype_ = DataType::F32;
    Shape shape_;
    std::shared_ptr<std::byte> data_;  // own allocation, or an alias into a wrapped owner
};

// A tensor as a kernel sees it at run time: data pointer, type, the shape of this run (dim 0 is the
// actual batch for batched values) and the distance between consecutive samples, in elements.
// batch_stride equals numel(shape[1:]) for a dense tensor and is larger when the tensor is a slice of
// a bigger one (a producer writing into its part of a Concat output).
struct TensorRef {
    void* data = nullptr;
    DataType dtype = DataType::F32;
    Shape shape;
    int64_t batch_stride = 0;

    float* f32() const { return static_cast<float*>(data); }
    int64_t sample_numel() const;  // numel(shape[1:]) (1 for rank 0)
    bool dense() const { return shape.empty() || batch_stride == sample_numel(); }
};

}  // namespace engine
