// Helpers for the CUDA backend tests: skip without a device, run one node of a small graph on the
// cuda backend with its activations in (layout, storage dtype) in device memory, compare with the
// reference backend.
//
// The storage conversion (tests/testing/stored_tensor.h) is written from the layout definitions,
// independently of every backend's kernels.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/cuda/cuda_backend.h"
#include "engine/backends/cuda/cuda_util.h"
#include "engine/builder/build_options.h"
#include "engine/core/half.h"
#include "engine/ir/graph.h"
#include "engine/refmath/reference_executor.h"
#include "engine/runtime/runtime.h"
#include "tests/testing/stored_tensor.h"
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
// Options of the contexts the CUDA tests create: with RTDET_TEST_POISON=1 in the test's environment
// (scripts/gpu/run.sh's poisoned-arena stage), every device buffer starts as NaN bytes
// (ContextOptions::poison_device_memory). The library itself reads no such variable.
inline engine::ContextOptions context_options() {
    engine::ContextOptions o;
    const char* p = std::getenv("RTDET_TEST_POISON");
    o.poison_device_memory = p != nullptr && *p != '\0' && std::string(p) != "0";
    return o;
}

inline std::string no_device_reason() {
    std::string why;
    return engine::cuda::cuda_device_available(&why) ? std::string() : why;
}

#define SKIP_WITHOUT_CUDA()                                                                \
    do {                                                                                   \
        const std::string cuda_test_why_ = ::cuda_test::no_device_reason();                \
        if (!cuda_test_why_.empty()) GTEST_SKIP() << "no CUDA device: " << cuda_test_why_; \
    } while (0)

// Storage conversion, reference runs: tests/testing/stored_tensor.h.
using testing_util::constant_ref;
using testing_util::for_each_index;
using testing_util::from_stored;
using testing_util::load_value;
using testing_util::make_stored;
using testing_util::NodeRun;
using testing_util::round_f16;
using testing_util::run_reference_node;
using testing_util::storage_index;
using testing_util::store_value;
using testing_util::Stored;
using testing_util::to_stored;

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
    std::vector<Tensor> packed = pack ? pack(*backend, g, n) : backend->pack(g, n, engine::PackContext{});
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
        buffers.back().upload(st.data(), st.size_bytes());
        in_refs.push_back({buffers.back().get(), val.storage_dtype, s, st.batch_stride});
    }
    for (engine::ValueId v : node.outputs) {
        const engine::Value& val = g.value(v);
        Shape s = val.desc.shape;
        if (val.batched) s[0] = batch;
        Stored st = make_stored(s, val.layout, val.storage_dtype);
        buffers.emplace_back(st.size_bytes());
        buffers.back().upload(st.data(), st.size_bytes());  // NaN bytes
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
        buffers[first_out + i].download(outs[i].data(), outs[i].size_bytes());
        r.outputs.push_back(from_stored(outs[i]));
    }
    r.stored = std::move(outs);
    return r;
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

// Runs `batch` samples of `in` (input 0) through the context's device buffers; returns its outputs
// (plain F32), copied to the host.
inline std::vector<engine::Tensor> run_device(engine::ExecutionContext& ctx, const engine::Tensor& in,
                                              int batch) {
    void* din = ctx.device_input(0);
    EXPECT_NE(din, nullptr);
    auto s = static_cast<cudaStream_t>(ctx.stream());
    CUDA_CHECK(cudaMemcpyAsync(din, in.data(), in.bytes(), cudaMemcpyHostToDevice, s));
    ctx.run(batch, engine::IoMemory::Device);
    std::vector<engine::Tensor> outs;
    for (size_t i = 0; i < ctx.num_outputs(); ++i) {
        const void* dout = ctx.device_output(i);
        EXPECT_NE(dout, nullptr) << "output " << i;
        engine::Tensor t(engine::DataType::F32, ctx.output_shape(i, batch));
        CUDA_CHECK(cudaMemcpy(t.data(), dout, t.bytes(), cudaMemcpyDeviceToHost));
        outs.push_back(std::move(t));
    }
    return outs;
}

}  // namespace cuda_test
