// Helpers for the oneDNN backend tests: run one node of a small graph on the onednn backend with its
// activations in a chosen (layout, storage dtype), and compare with the reference backend.
//
// The storage conversion (tests/testing/stored_tensor.h) is written from the layout definitions,
// independently of every backend's kernels.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/builder/build_options.h"
#include "engine/core/half.h"
#include "engine/ir/graph.h"
#include "engine/refmath/reference_executor.h"
#include "tests/testing/stored_tensor.h"
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

// Storage conversion, reference runs: tests/testing/stored_tensor.h.
using testing_util::constant_ref;
using testing_util::fill_stored;
using testing_util::for_each_index;
using testing_util::from_stored;
using testing_util::load_value;
using testing_util::make_stored;
using testing_util::NodeRun;
using testing_util::padding_is_zero;
using testing_util::round_bf16;
using testing_util::run_reference_node;
using testing_util::storage_index;
using testing_util::store_value;
using testing_util::Stored;
using testing_util::to_stored;

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
    engine::PackContext opts;
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

}  // namespace onednn_test
