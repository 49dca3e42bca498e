// Helpers for the oneDNN backend tests: run one node of a small graph on the onednn backend with its
// activations in a chosen (layout, storage dtype), and compare with the reference backend.
//
// The conversion between plain F32 tensors and the storage layouts is written here from the layout
// definitions (engine/ir/layout.h), independently of oneDNN, so a wrong layout in the backend
// cannot cancel out with the same mistake in the test.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/backends/cpu/reference/reference_executor.h"
#include "engine/core/half.h"
#include "engine/ir/graph.h"
#include "engine/plan/build_options.h"
#include "tests/testing/tensor_compare.h"

namespace onednn_test {

using engine::DataType;
using engine::Layout;
using engine::Shape;
using engine::Tensor;

// The bound for BF16 results, relative to the reference's largest magnitude. BF16 keeps 8
// significand bits: each rounding (inputs, weights, the stored output) is off by at most 2^-9
// relative; a dot product of K terms with independent rounding errors stays near 2^-9 of its
// magnitude, the stored output adds up to 2^-9 more, and oneDNN accumulates in F32. 2e-2 leaves
// ~5x margin over the worst single-layer case seen, and is far below what a wrong index gives (~1).
inline constexpr double kBf16Tolerance = 2e-2;
// FP32: 1e-5 of the largest magnitude (differences come from summation order and the eltwise
// approximations oneDNN uses).
inline constexpr double kF32Tolerance = 1e-5;

inline bool cpu_has_bf16() { return engine::onednn_cpu_has_bf16(); }

#define SKIP_WITHOUT_BF16(dt)                                                     \
    do {                                                                          \
        if ((dt) == engine::DataType::BF16 && !onednn_test::cpu_has_bf16())       \
            GTEST_SKIP() << "this CPU has no AVX512-BF16/AMX: BF16 case skipped"; \
    } while (0)

// Storage element index of logical (n, c, h, w) for a 4-D tensor with dims C, H, W; other ranks are
// Plain and use the row-major index with dim 0 at batch_stride.
inline int64_t storage_index(Layout layout, const Shape& s, int64_t batch_stride,
                             const std::vector<int64_t>& idx) {
    if (s.size() != 4) {
        int64_t off = 0;
        for (size_t d = 1; d < s.size(); ++d) off = off * s[d] + idx[d];
        return (s.empty() ? 0 : idx[0] * batch_stride) + off;
    }
    const int64_t c = idx[1], h = idx[2], w = idx[3], C = s[1], H = s[2], W = s[3];
    switch (layout) {
        case Layout::Plain:
            return idx[0] * batch_stride + (c * H + h) * W + w;
        case Layout::NHWC:
            return idx[0] * batch_stride + (h * W + w) * C + c;
        case Layout::Blocked16:
            return idx[0] * batch_stride + (((c / 16) * H + h) * W + w) * 16 + c % 16;
    }
    return 0;
}

// Calls f(index vector, flat row-major index) for every element of shape s.
template <typename F>
void for_each_index(const Shape& s, F&& f) {
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

// A buffer holding one tensor in a storage layout.
struct Stored {
    Shape shape;
    Layout layout = Layout::Plain;
    DataType dtype = DataType::F32;
    int64_t batch_stride = 0;
    std::shared_ptr<std::vector<std::byte>> bytes;
    int64_t offset = 0;  // elements from the buffer start (a slice of a larger buffer)

    void* data() const { return bytes->data() + offset * static_cast<int64_t>(engine::dtype_size(dtype)); }
    engine::TensorRef ref() const { return {data(), dtype, shape, batch_stride}; }
};

inline void store_value(const Stored& s, int64_t i, float v) {
    if (s.dtype == DataType::F32)
        static_cast<float*>(s.data())[i] = v;
    else
        static_cast<uint16_t*>(s.data())[i] = engine::fp32_to_bf16(v);
}

inline float load_value(const Stored& s, int64_t i) {
    if (s.dtype == DataType::F32) return static_cast<const float*>(s.data())[i];
    return engine::bf16_to_fp32(static_cast<const uint16_t*>(s.data())[i]);
}

// A buffer for `shape` in (layout, dtype), every byte 0xFF (NaN in F32 and BF16), so elements the
// kernel should write but does not show up as NaN.
inline Stored make_stored(const Shape& shape, Layout layout, DataType dtype, int64_t batch_stride = 0) {
    Stored s;
    s.shape = shape;
    s.layout = layout;
    s.dtype = dtype;
    s.batch_stride = batch_stride > 0 ? batch_stride : engine::storage_sample_numel(shape, layout);
    const int64_t n = shape.empty() ? 1 : shape[0] * s.batch_stride;
    s.bytes = std::make_shared<std::vector<std::byte>>(
        static_cast<size_t>(n) * engine::dtype_size(dtype) + 64, std::byte{0xFF});
    return s;
}

// Writes plain F32 tensor t into s (padding channels of Blocked16 become 0, as the layout requires).
inline void fill_stored(const Stored& s, const Tensor& t) {
    if (s.layout == Layout::Blocked16) {
        const int64_t n = s.shape[0] * s.batch_stride;
        for (int64_t i = 0; i < n; ++i) store_value(s, i, 0.f);
    }
    const float* p = t.data_as<float>();
    for_each_index(s.shape, [&](const std::vector<int64_t>& idx, int64_t i) {
        store_value(s, storage_index(s.layout, s.shape, s.batch_stride, idx), p[i]);
    });
}

inline Stored to_stored(const Tensor& t, Layout layout, DataType dtype) {
    Stored s = make_stored(t.shape(), layout, dtype);
    fill_stored(s, t);
    return s;
}

inline Tensor from_stored(const Stored& s) {
    Tensor t(DataType::F32, s.shape);
    float* p = t.data_as<float>();
    for_each_index(s.shape, [&](const std::vector<int64_t>& idx, int64_t i) {
        p[i] = load_value(s, storage_index(s.layout, s.shape, s.batch_stride, idx));
    });
    return t;
}

// Whether every padding channel (c >= C in the last block) of a Blocked16 tensor is zero.
inline bool padding_is_zero(const Stored& s) {
    if (s.layout != Layout::Blocked16 || s.shape[1] % 16 == 0) return true;
    const int64_t C = s.shape[1], Cp = (C + 15) / 16 * 16;
    for (int64_t n = 0; n < s.shape[0]; ++n)
        for (int64_t c = C; c < Cp; ++c)
            for (int64_t h = 0; h < s.shape[2]; ++h)
                for (int64_t w = 0; w < s.shape[3]; ++w)
                    if (load_value(s,
                                   storage_index(Layout::Blocked16, {s.shape[0], Cp, s.shape[2], s.shape[3]},
                                                 s.batch_stride, {n, c, h, w})) != 0.f)
                        return false;
    return true;
}

// Rounds every element of a plain F32 tensor to BF16 and back.
inline Tensor round_bf16(const Tensor& t) {
    Tensor r = t;
    for (float& v : r.f32()) v = engine::bf16_to_fp32(engine::fp32_to_bf16(v));
    return r;
}

// Gives every runtime 4-D value of g the storage (layout, dtype), every node the precision dtype and
// the onednn backend; other values stay Plain F32.
inline void set_storage(engine::Graph& g, Layout layout, DataType dtype) {
    for (engine::ValueId v = 0; v < g.num_values(); ++v) {
        engine::Value& val = g.value(v);
        if (val.constant) continue;
        if (val.desc.shape.size() == 4) {
            val.layout = layout;
            val.storage_dtype = dtype;
        }
    }
    for (engine::NodeId n = 0; n < g.num_nodes(); ++n) {
        g.node(n).backend = "onednn";
        g.node(n).precision = dtype;
    }
}

// A dense view of constant value v.
inline engine::TensorRef constant_ref(const engine::Graph& g, engine::ValueId v) {
    const Tensor& t = *g.value(v).constant;
    return {const_cast<void*>(t.data()), t.dtype(), t.shape(),
            engine::storage_sample_numel(t.shape(), Layout::Plain)};
}

struct NodeRun {
    std::vector<Tensor> outputs;  // plain F32
    std::vector<Stored> stored;   // as the kernel wrote them
};

// Packs, creates and runs node n of g on the onednn backend at `batch`. inputs: plain F32, one per
// node input that is not a constant; they are stored in each value's layout and storage dtype.
// `patch_packed` may edit the packed tensors (tests force tactics with it).
inline NodeRun run_onednn_node(const engine::Graph& g, engine::NodeId n, const std::vector<Tensor>& inputs,
                               int batch,
                               const std::function<void(std::vector<Tensor>&)>& patch_packed = {}) {
    auto backend = engine::make_onednn_backend();
    backend->set_threads(1);  // correctness runs; see test_onednn_models.cpp
    std::string why;
    EXPECT_TRUE(backend->supports(g, n, &why)) << why;
    engine::BuildOptions opts;
    opts.threads = 1;
    std::vector<Tensor> packed = backend->pack(g, n, opts);
    if (patch_packed) patch_packed(packed);
    auto kernel = backend->create_kernel(g, n, packed);
    const engine::Node& node = g.node(n);
    std::vector<Stored> ins, outs;
    size_t k = 0;
    std::vector<engine::TensorRef> in_refs, out_refs;
    for (engine::ValueId v : node.inputs) {
        const engine::Value& val = g.value(v);
        if (val.constant) {
            in_refs.push_back(constant_ref(g, v));
            continue;
        }
        Shape s = val.desc.shape;
        if (val.batched) s[0] = batch;
        Stored st = make_stored(s, val.layout, val.storage_dtype);
        fill_stored(st, inputs.at(k++));
        in_refs.push_back(st.ref());
        ins.push_back(std::move(st));
    }
    for (engine::ValueId v : node.outputs) {
        const engine::Value& val = g.value(v);
        Shape s = val.desc.shape;
        if (val.batched) s[0] = batch;
        Stored st = make_stored(s, val.layout, val.storage_dtype);
        out_refs.push_back(st.ref());
        outs.push_back(std::move(st));
    }
    std::vector<std::byte> ws(kernel->workspace_bytes(batch) + 64);
    engine::KernelArgs args;
    args.inputs = in_refs;
    args.outputs = out_refs;
    args.workspace = ws.data();
    args.batch = batch;
    kernel->run(args);
    NodeRun r;
    for (const Stored& s : outs) r.outputs.push_back(from_stored(s));
    r.stored = std::move(outs);
    return r;
}

// The reference output of node n on plain F32 inputs (one per non-constant node input).
inline std::vector<Tensor> run_reference_node(const engine::Graph& g, engine::NodeId n,
                                              const std::vector<Tensor>& inputs) {
    std::vector<const Tensor*> ptrs;
    size_t k = 0;
    for (engine::ValueId v : g.node(n).inputs)
        ptrs.push_back(g.is_constant(v) ? g.value(v).constant.get() : &inputs.at(k++));
    return engine::eval_node_reference(g, n, ptrs);
}

}  // namespace onednn_test
