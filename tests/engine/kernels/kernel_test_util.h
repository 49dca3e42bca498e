// Helpers for the reference-kernel tests: run one op on dense tensors, check values.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/refmath/ref_ops.h"

namespace kt {

inline engine::TensorRef dense_ref(const engine::Tensor& t) {
    engine::TensorRef r;
    r.data = const_cast<void*>(t.data());
    r.dtype = t.dtype();
    r.shape = t.shape();
    r.batch_stride = r.sample_numel();
    return r;
}

inline engine::Tensor f32(engine::Shape shape, std::vector<float> values) {
    return engine::Tensor::from_f32(std::move(shape), values);
}

// Runs `op` through ref_run on dense inputs; outputs are allocated with the given shapes.
inline std::vector<engine::Tensor> run_op(engine::OpType op, const engine::OpParams& params,
                                          const std::vector<engine::Tensor>& inputs,
                                          const std::vector<engine::Shape>& out_shapes,
                                          engine::DataType out_dtype = engine::DataType::F32) {
    std::vector<engine::Tensor> outs;
    for (const auto& s : out_shapes) outs.emplace_back(out_dtype, s);
    std::vector<engine::TensorRef> in_refs, out_refs;
    for (const auto& t : inputs) in_refs.push_back(dense_ref(t));
    for (const auto& t : outs) out_refs.push_back(dense_ref(t));
    engine::KernelArgs args;
    args.inputs = in_refs;
    args.outputs = out_refs;
    engine::ref_run(op, params, args);
    return outs;
}

inline engine::Tensor run1(engine::OpType op, const engine::OpParams& params,
                           const std::vector<engine::Tensor>& inputs, const engine::Shape& out_shape) {
    return std::move(run_op(op, params, inputs, {out_shape})[0]);
}

// Expects t to have `shape` and values within tol of `want`.
inline void expect_values(const engine::Tensor& t, const engine::Shape& shape, const std::vector<float>& want,
                          float tol = 1e-6f) {
    ASSERT_EQ(t.shape(), shape);
    ASSERT_EQ(static_cast<size_t>(t.numel()), want.size());
    const float* p = t.data_as<float>();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(p[i], want[i], tol) << "element " << i;
}

}  // namespace kt
