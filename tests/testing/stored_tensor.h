// Tensors in a backend's storage (layout, dtype) for single-node kernel tests (tests/engine/onednn,
// tests/engine/cuda): plain F32 <-> NHWC / Blocked16 / Plain in F32, BF16, F16 or I8, and the
// reference output of one node. I8 storage holds the integers themselves, unscaled: a plain F32 tensor
// of integers in [-128, 127] goes in and comes out (the tests apply quantize_s8 / dequantize_s8 of
// engine/refmath/ref_int8.h by hand, so the scale never passes through this code).
//
// The conversion is written here from the layout definitions (engine/ir/layout.h) and
// engine/core/half.h, independently of every backend's kernels, so a wrong layout in a kernel cannot
// cancel out with the same mistake in the test.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/half.h"
#include "engine/core/tensor.h"
#include "engine/ir/graph.h"
#include "engine/ir/layout.h"
#include "engine/refmath/reference_executor.h"

namespace testing_util {

// Storage element index of logical (n, c, h, w) of a 4-D tensor with dims C, H, W; other ranks are
// Plain row-major with dim 0 at batch_stride.
inline int64_t storage_index(engine::Layout layout, const engine::Shape& s, int64_t batch_stride,
                             const std::vector<int64_t>& idx) {
    if (s.size() != 4) {
        int64_t off = 0;
        for (size_t d = 1; d < s.size(); ++d) off = off * s[d] + idx[d];
        return (s.empty() ? 0 : idx[0] * batch_stride) + off;
    }
    const int64_t c = idx[1], h = idx[2], w = idx[3], C = s[1], H = s[2], W = s[3];
    switch (layout) {
        case engine::Layout::Plain:
            return idx[0] * batch_stride + (c * H + h) * W + w;
        case engine::Layout::NHWC:
            return idx[0] * batch_stride + (h * W + w) * C + c;
        case engine::Layout::Blocked16:
            return idx[0] * batch_stride + (((c / 16) * H + h) * W + w) * 16 + c % 16;
    }
    return 0;
}

// Calls f(index vector, flat row-major index) for every element of shape s.
template <typename F>
void for_each_index(const engine::Shape& s, F&& f) {
    const int64_t total = engine::shape_numel(s);
    std::vector<int64_t> idx(s.size(), 0);
    for (int64_t i = 0; i < total; ++i) {
        f(idx, i);
        for (size_t d = s.size(); d-- > 0;) {
            if (++idx[d] < s[d]) break;
            idx[d] = 0;
        }
    }
}

// One tensor in a storage (layout, dtype), as host bytes; `offset` makes it a slice of a larger
// buffer (copies share the bytes).
struct Stored {
    engine::Shape shape;
    engine::Layout layout = engine::Layout::Plain;
    engine::DataType dtype = engine::DataType::F32;
    int64_t batch_stride = 0;
    std::shared_ptr<std::vector<std::byte>> bytes;
    int64_t offset = 0;  // elements from the buffer start

    void* data() const { return bytes->data() + offset * static_cast<int64_t>(engine::dtype_size(dtype)); }
    // The bytes of the tensor itself (batch x batch_stride elements).
    size_t size_bytes() const {
        const int64_t n = shape.empty() ? 1 : shape[0] * batch_stride;
        return static_cast<size_t>(n) * engine::dtype_size(dtype);
    }
    engine::TensorRef ref() const { return {data(), dtype, shape, batch_stride}; }
};

// Element i of the storage in its dtype (F32, BF16, F16, or I8: v must be an integer in [-128, 127]).
inline void store_value(const Stored& s, int64_t i, float v) {
    switch (s.dtype) {
        case engine::DataType::I8:
            if (!(v >= -128.f && v <= 127.f && v == std::trunc(v)))
                throw std::invalid_argument("stored_tensor: " + std::to_string(v) + " is not an s8 integer");
            static_cast<int8_t*>(s.data())[i] = static_cast<int8_t>(v);
            return;
        case engine::DataType::BF16:
            static_cast<uint16_t*>(s.data())[i] = engine::fp32_to_bf16(v);
            return;
        case engine::DataType::F16:
            static_cast<uint16_t*>(s.data())[i] = engine::fp32_to_fp16(v);
            return;
        default:
            static_cast<float*>(s.data())[i] = v;
    }
}

inline float load_value(const Stored& s, int64_t i) {
    switch (s.dtype) {
        case engine::DataType::I8:
            return static_cast<float>(static_cast<const int8_t*>(s.data())[i]);
        case engine::DataType::BF16:
            return engine::bf16_to_fp32(static_cast<const uint16_t*>(s.data())[i]);
        case engine::DataType::F16:
            return engine::fp16_to_fp32(static_cast<const uint16_t*>(s.data())[i]);
        default:
            return static_cast<const float*>(s.data())[i];
    }
}

// A buffer for `shape` in (layout, dtype), every byte 0xFF (NaN in F32, BF16 and F16; -1 in I8, which
// the I8 tests of copying kernels keep out of their inputs), so elements a kernel should write but
// does not show up. 64 bytes of slack follow the tensor.
inline Stored make_stored(const engine::Shape& shape, engine::Layout layout, engine::DataType dtype,
                          int64_t batch_stride = 0) {
    Stored s;
    s.shape = shape;
    s.layout = layout;
    s.dtype = dtype;
    s.batch_stride = batch_stride > 0 ? batch_stride : engine::storage_sample_numel(shape, layout);
    s.bytes = std::make_shared<std::vector<std::byte>>(s.size_bytes() + 64, std::byte{0xFF});
    return s;
}

// Writes plain F32 tensor t into s (padding channels of Blocked16 become 0, as the layout requires).
inline void fill_stored(const Stored& s, const engine::Tensor& t) {
    if (s.layout == engine::Layout::Blocked16) {
        const int64_t n = s.shape[0] * s.batch_stride;
        for (int64_t i = 0; i < n; ++i) store_value(s, i, 0.f);
    }
    const float* p = t.data_as<float>();
    for_each_index(s.shape, [&](const std::vector<int64_t>& idx, int64_t i) {
        store_value(s, storage_index(s.layout, s.shape, s.batch_stride, idx), p[i]);
    });
}

inline Stored to_stored(const engine::Tensor& t, engine::Layout layout, engine::DataType dtype) {
    Stored s = make_stored(t.shape(), layout, dtype);
    fill_stored(s, t);
    return s;
}

inline engine::Tensor from_stored(const Stored& s) {
    engine::Tensor t(engine::DataType::F32, s.shape);
    float* p = t.data_as<float>();
    for_each_index(s.shape, [&](const std::vector<int64_t>& idx, int64_t i) {
        p[i] = load_value(s, storage_index(s.layout, s.shape, s.batch_stride, idx));
    });
    return t;
}

// Whether every padding channel (c >= C in the last block) of a Blocked16 tensor is zero.
inline bool padding_is_zero(const Stored& s) {
    if (s.layout != engine::Layout::Blocked16 || s.shape[1] % 16 == 0) return true;
    const int64_t C = s.shape[1], Cp = (C + 15) / 16 * 16;
    for (int64_t n = 0; n < s.shape[0]; ++n)
        for (int64_t c = C; c < Cp; ++c)
            for (int64_t h = 0; h < s.shape[2]; ++h)
                for (int64_t w = 0; w < s.shape[3]; ++w)
                    if (load_value(s, storage_index(engine::Layout::Blocked16,
                                                    {s.shape[0], Cp, s.shape[2], s.shape[3]}, s.batch_stride,
                                                    {n, c, h, w})) != 0.f)
                        return false;
    return true;
}

// Rounds every element of a plain F32 tensor to BF16 (F16) and back, so both sides of a comparison
// see the numbers the kernel reads.
inline engine::Tensor round_bf16(const engine::Tensor& t) {
    engine::Tensor r = t;
    for (float& v : r.f32()) v = engine::bf16_to_fp32(engine::fp32_to_bf16(v));
    return r;
}
inline engine::Tensor round_f16(const engine::Tensor& t) {
    engine::Tensor r = t;
    for (float& v : r.f32()) v = engine::fp16_to_fp32(engine::fp32_to_fp16(v));
    return r;
}

// A dense view of constant value v.
inline engine::TensorRef constant_ref(const engine::Graph& g, engine::ValueId v) {
    const engine::Tensor& t = *g.value(v).constant;
    return {const_cast<void*>(t.data()), t.dtype(), t.shape(),
            engine::storage_sample_numel(t.shape(), engine::Layout::Plain)};
}

// What a single-node run of a backend gives back.
struct NodeRun {
    std::vector<engine::Tensor> outputs;  // plain F32
    std::vector<Stored> stored;           // as the kernel wrote them
};

// The reference output of node n on plain F32 inputs (one per non-constant node input).
inline std::vector<engine::Tensor> run_reference_node(const engine::Graph& g, engine::NodeId n,
                                                      const std::vector<engine::Tensor>& inputs) {
    std::vector<const engine::Tensor*> ptrs;
    size_t k = 0;
    for (engine::ValueId v : g.node(n).inputs)
        ptrs.push_back(g.is_constant(v) ? g.value(v).constant.get() : &inputs.at(k++));
    return engine::eval_node_reference(g, n, ptrs);
}

}  // namespace testing_util
