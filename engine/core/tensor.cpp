#include "engine/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/core/checked.h"
#include "engine/core/error.h"

namespace engine {
namespace {
std::shared_ptr<std::byte> alloc_aligned(size_t bytes) {
    size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    if (rounded == 0) rounded = kTensorAlignment;
    void* p = std::aligned_alloc(kTensorAlignment, rounded);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, rounded);
    return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

// memcpy for tensor contents: an empty tensor's source may be a null pointer (an empty span or vector),
// and memcpy from null is undefined even for 0 bytes.
void copy_bytes(void* dst, const void* src, size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
}
}  // namespace

Tensor::Tensor(DataType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
    data_ = alloc_aligned(bytes());  // bytes(): checked, rejects negative dims and overflow
}

Tensor::Tensor(const Tensor& other) : dtype_(other.dtype_), shape_(other.shape_) {
    if (other.data_) {
        data_ = alloc_aligned(bytes());
        copy_bytes(data_.get(), other.data_.get(), bytes());
    }
}

Tensor& Tensor::operator=(const Tensor& other) {
    if (this != &other) {
        Tensor copy(other);
        *this = std::move(copy);
    }
    return *this;
}

Tensor Tensor::from_f32(Shape shape, std::span<const float> values) {
    Tensor t(DataType::F32, std::move(shape));
    ENGINE_CHECK_EQ(static_cast<size_t>(t.numel()), values.size(), "value count does not match shape");
    copy_bytes(t.data(), values.data(), t.bytes());
    return t;
}

Tensor Tensor::from_i64(Shape shape, std::span<const int64_t> values) {
    Tensor t(DataType::I64, std::move(shape));
    ENGINE_CHECK_EQ(static_cast<size_t>(t.numel()), values.size(), "value count does not match shape");
    copy_bytes(t.data(), values.data(), t.bytes());
    return t;
}

Tensor Tensor::from_bytes(DataType dtype, Shape shape, const void* bytes, size_t num_bytes) {
    Tensor t(dtype, std::move(shape));
    ENGINE_CHECK_EQ(t.bytes(), num_bytes, "byte count does not match shape ", shape_str(t.shape()));
    copy_bytes(t.data(), bytes, num_bytes);
    return t;
}

Tensor Tensor::wrap(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data) {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = std::move(shape);
    // Aliasing constructor: shares ownership of `owner`, points at `data`.
    t.data_ = std::shared_ptr<std::byte>(std::const_pointer_cast<void>(owner),
                                         static_cast<std::byte*>(const_cast<void*>(data)));
    return t;
}

namespace {

// The elements of `t` converted to T as C++ converts them (Bool: 0 or 1); `what` names T in the error
// for a type that cannot be read (checked per element, as an empty tensor has none).
template <class T>
std::vector<T> converted(const Tensor& t, const char* what) {
    const auto n = static_cast<size_t>(t.numel());
    std::vector<T> out(n);
    if (n == 0) return out;
    const auto copy = [&](const auto* src) {
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(src[i]);
    };
    switch (t.dtype()) {
        case DataType::F32:
            copy(t.data_as<float>());
            break;
        case DataType::F64:
            copy(t.data_as<double>());
            break;
        case DataType::I64:
            copy(t.data_as<int64_t>());
            break;
        case DataType::I32:
            copy(t.data_as<int32_t>());
            break;
        case DataType::I8:
            copy(t.data_as<int8_t>());
            break;
        case DataType::U8:
            copy(t.data_as<uint8_t>());
            break;
        case DataType::Bool:
            for (size_t i = 0; i < n; ++i) out[i] = t.data_as<uint8_t>()[i] != 0 ? T(1) : T(0);
            break;
        default:
            ENGINE_THROW("cannot read ", dtype_name(t.dtype()), " tensor as ", what);
    }
    return out;
}

}  // namespace

std::vector<int64_t> Tensor::to_i64() const { return converted<int64_t>(*this, "integers"); }

std::vector<float> Tensor::to_f32() const { return converted<float>(*this, "floats"); }

Tensor Tensor::reshaped(Shape shape) const {
    ENGINE_CHECK_EQ(shape_numel(shape), numel(), "reshape of ", shape_str(shape_), " to ", shape_str(shape));
    Tensor t(*this);
    t.shape_ = std::move(shape);
    return t;
}

size_t Tensor::bytes() const { return checked_bytes(numel(), dtype_size(dtype_), "tensor byte count"); }

int64_t TensorRef::sample_numel() const { return shape_sample_numel(shape); }

}  // namespace engine
