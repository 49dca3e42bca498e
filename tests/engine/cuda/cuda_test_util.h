// Helpers for the CUDA backend tests: skip without a device, run one node of a small graph on the
// cuda backend with its activations in (layout, storage dtype) in device memory, compare with the
// reference backend.
//
// The conversion between plain F32 host tensors and the storage layouts (NHWC, F16) is written here
// from the layout definitions (engine/ir/layout.h) and engine/core/half.h, independently of the
// backend's kernels, so a wrong layout in a kernel cannot cancel out with the same mistake here.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/cpu/reference/reference_executor.h"
#include "engine/backends/cuda/cuda_backend.h"
#include "engine/backends/cuda/cuda_util.h"
#include "engine/core/half.h"
#include "engine/ir/graph.h"
#include "engine/plan/build_options.h"
#include "tests/testing/tensor_compare.h"

namespace cuda_test {

using engine::DataType;
using engine::Layout;
using engine::Shape;
using engine::Tensor;

// FP32: 1e-5 of the reference's largest magnitude (summation order, libm differences).
inline constexpr double kF32Tolerance = 1e-5;
// FP16, one layer: F16 keeps 11 significand bits, so each rounding (the input and weights the kernel
// reads, the stored output) is off by at most 2^-12 relative; cuDNN accumulates in F32, so a dot
// product of K terms with independent rounding errors stays within a few 2^-12 of its magnitude. The
// bound, 5e-3 of max|ref|, is ~10x the worst case expected and far below what a wrong index gives (~1).
inline constexpr double kF16Tolerance = 5e-3;
// FP16, whole networks: errors compound over the layers (each layer re-rounds its activations).
inline constexpr double kF16NetTolerance = 3e-2;

// The reason this machine cannot run CUDA tests, or "" when it can.
inline std::string no_device_reason() {
    std::string why;
    return engine::cuda::cuda_device_available(&why) ? std::string() : why;
}

#define SKIP_WITHOUT_CUDA()                                                                \
    do {                                                                                   \
        const std::string cuda_test_why_ = ::cuda_test::no_device_reason();                \
        if (!cuda_test_why_.empty()) GTEST_SKIP() << "no CUDA device: " << cuda_test_why_; \
    } while (0)

// Storage element index of logical (n, c, h, w) of a 4-D tensor; other ranks are Plain row-major
// with dim 0 at batch_stride.
inline int64_t storage_index(Layout layout, const Shape& s, int64_t batch_stride,
                             const std::vector<int64_t>& idx) {
    if (s.size() != 4) {
        int64_t off = 0;
        for (size_t d = 1; d < s.size(); ++d) off = off * s[d] + idx[d];
        return (s.empty() ? 0 : idx[0] * batch_stride) + off;
    }
    const int64_t c = idx[1], h = idx[2], w = idx[3], C = s[1], H = s[2], W = s[3];
    if (layout == Layout::NHWC) return idx[0] * batch_stride + (h * W + w) * C + c;
    return idx[0] * batch_stride + (c * H + h) * W + w;
}

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

// One tensor in a storage (layout, dtype), as host bytes.
struct Stored {
    Shape shape;
    Layout layout = Layout::Plain;
    DataType dtype = DataType::F32;
    int64_t batch_stride = 0;
    std::vector<std::byte> bytes;

    size_t size_bytes() const { return bytes.size(); }
};

inline void store_value(Stored& s, int64_t i, float v) {
    if (s.dtype == DataType::F32)
        reinterpret_cast<float*>(s.bytes.data())[i] = v;
    else
        reinterpret_cast<uint16_t*>(s.bytes.data())[i] = engine::fp32_to_fp16(v);
}

inline float load_value(const Stored& s, int64_t i) {
    if (s.dtype == DataType::F32) return reinterpret_cast<const float*>(s.bytes.data())[i];
    return engine::fp16_to_fp32(reinterpret_cast<const uint16_t*>(s.bytes.data())[i]);
}

// Every byte 0xFF: NaN in F32 and F16, so elements a kernel should write but does not show up.
inline Stored make_stored(const Shape& shape, Layout layout, DataType dtype) {
    Stored s;
    s.shape = shape;
    s.layout = layout;
    s.dtype = dtype;
    s.batch_stride = engine::storage_sample_numel(shape, layout);
    const int64_t n = shape.empty() ? 1 : shape[0] * s.batch_stride;
    s.bytes.assign(static_cast<size_t>(n) * engine::dtype_size(dtype), std::byte{0xFF});
    return s;
}

inline Stored to_stored(const Tensor& t, Layout layout, DataType dtype) {
    Stored s = make_stored(t.shape(), layout, dtype);
    const float* p = t.data_as<float>();
    for_each_index(s.shape, [&](const std::vector<int64_t>& idx, int64_t i) {
        store_value(s, storage_index(s.layout, s.shape, s.batch_stride, idx), p[i]);
    });
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

// Rounds every element of a plain F32 tensor to F16 and back (inputs both sides see alike).
inline Tensor round_f16(const Tensor& t) {
    Tensor r = t;
    for (float& v : r.f32()) v = engine::fp16_to_fp32(engine::fp32_to_fp16(v));
    return r;
}

// Gives every runtime 4-D value of g NHWC storage (other runtime values Plain) of type dtype, and
// every node the precision dtype and the cuda backend.
inline void set_storage(engine::Graph& g, DataType dtype, Layout layout4d = Layout::NHWC) {
    for (engine::ValueId v = 0; v < g.num_values(); ++v) {
        engine::Value& val = g.value(v);
        if (val.constant) continue;
        val.layout = val.desc.shape.size() == 4 ? layout4d : Layout::Plain;
        val.storage_dtype = dtype;
    }
    for (engine::NodeId n = 0; n < g.num_nodes(); ++n) {
        g.node(n).backend = "cuda";
        g.node(n).precision = dtype;
    }
}

inline engine::TensorRef constant_ref(const engine::Graph& g, engine::ValueId v) {
    const Tensor& t = *g.value(v).constant;
    return {const_cast<void*>(t.data()), t.dtype(), t.shape(),
            engine::storage_sample_numel(t.shape(), Layout::Plain)};
}

struct NodeRun {
    std::vector<Tensor> outputs;  // plain F32
    std::vector<Stored> stored;   // as the kernel wrote them
};

// Packs, creates and runs node n of g on the cuda backend at `batch`, with device buffers. inputs:
// plain F32, one per non-constant node input, stored in each value's layout and storage dtype.
// `pack` replaces Backend::pack (tests force tactics with it).
inline NodeRun run_cuda_node(const engine::Graph& g, engine::NodeId n, const std::vector<Tensor>& inputs,
                             int batch,
                             const std::function<std::vector<Tensor>(engine::Backend&, const engine::Graph&,
                                                                     engine::NodeId)>& pack = {}) {
    using engine::cuda::DeviceBuffer;
    auto backend = engine::make_cuda_backend();
    std::string why;
    EXPECT_TRUE(backend->supports(g, n, &why)) << why;
    engine::BuildOptions opts;
    opts.device = "cuda";
    std::vector<Tensor> packed = pack ? pack(*backend, g, n) : backend->pack(g, n, opts);
    auto kernel = backend->create_kernel(g, n, packed);
    const engine::Node& node = g.node(n);
    std::vector<DeviceBuffer> buffers;
    buffers.reserve(node.inputs.size() + node.outputs.size());
    std::vector<engine::TensorRef> in_refs, out_refs;
    std::vector<Stored> outs;
    size_t k = 0;
    for (engine::ValueId v : node.inputs) {
        const engine::Value& val = g.value(v);
        if (val.constant) {
            in_refs.push_back(constant_ref(g, v));
            continue;
        }
        Shape s = val.desc.shape;
        if (val.batched) s[0] = batch;
        const Stored st = to_stored(inputs.at(k++), val.layout, val.storage_dtype);
        buffers.emplace_back(st.size_bytes());
        buffers.back().upload(st.bytes.data(), st.size_bytes());
        in_refs.push_back({buffers.back().get(), val.storage_dtype, s, st.batch_stride});
    }
    for (engine::ValueId v : node.outputs) {
        const engine::Value& val = g.value(v);
        Shape s = val.desc.shape;
        if (val.batched) s[0] = batch;
        Stored st = make_stored(s, val.layout, val.storage_dtype);
        buffers.emplace_back(st.size_bytes());
        buffers.back().upload(st.bytes.data(), st.size_bytes());  // NaN bytes
        out_refs.push_back({buffers.back().get(), val.storage_dtype, s, st.batch_stride});
        outs.push_back(std::move(st));
    }
    DeviceBuffer ws(kernel->workspace_bytes(batch) + 256);
    CUDA_CHECK(cudaDeviceSynchronize());  // the uploads are done before any stream reads them
    engine::KernelArgs args;
    args.inputs = in_refs;
    args.outputs = out_refs;
    args.workspace = ws.get();
    args.batch = batch;
    kernel->run(args);
    CUDA_CHECK(cudaDeviceSynchronize());
    NodeRun r;
    const size_t first_out = buffers.size() - outs.size();
    for (size_t i = 0; i < outs.size(); ++i) {
        buffers[first_out + i].download(outs[i].bytes.data(), outs[i].size_bytes());
        r.outputs.push_back(from_stored(outs[i]));
    }
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

// Random inputs for node n at `batch` (rounded to F16 when dt is F16, so both sides see the same
// numbers).
inline std::vector<Tensor> node_inputs(const engine::Graph& g, engine::NodeId n, int batch, DataType dt,
                                       uint32_t seed, float lo = -2.f, float hi = 2.f) {
    std::vector<Tensor> inputs;
    for (engine::ValueId v : g.node(n).inputs) {
        if (g.is_constant(v)) continue;
        Shape s = g.value(v).desc.shape;
        if (g.value(v).batched) s[0] = batch;
        Tensor t = testing_util::random_tensor(s, seed++, lo, hi);
        inputs.push_back(dt == DataType::F16 ? round_f16(t) : t);
    }
    return inputs;
}

inline double tolerance(DataType dt) { return dt == DataType::F32 ? kF32Tolerance : kF16Tolerance; }

}  // namespace cuda_test
