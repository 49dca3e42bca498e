// Reference activations, binary ops (broadcasting), BatchNorm and Softmax on hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/refmath/ref_ops.h"
#include "tests/engine/kernels/kernel_test_util.h"
#include "tests/testing/tensor_compare.h"

namespace {

using engine::OpType;
using engine::Shape;
using engine::Tensor;
using engine::TensorRef;
using engine::UnaryParams;
using kt::f32;

TEST(RefActivation, HandValues) {
    const Tensor x = f32({5}, {-2, -0.5f, 0, 1, 3});
    kt::expect_values(kt::run1(OpType::Relu, std::monostate{}, {x}, {5}), {5}, {0, 0, 0, 1, 3});
    kt::expect_values(kt::run1(OpType::LeakyRelu, UnaryParams{0.1f, 0.f}, {x}, {5}), {5},
                      {-0.2f, -0.05f, 0, 1, 3});
    kt::expect_values(kt::run1(OpType::Clip, UnaryParams{-1.f, 2.f}, {x}, {5}), {5}, {-1, -0.5f, 0, 1, 2});
    // hard sigmoid = max(0, min(1, alpha*x + beta)), alpha 0.2, beta 0.5: 0.1 0.4 0.5 0.7 1 (0.2*3+0.5
    // clamps)
    kt::expect_values(kt::run1(OpType::HardSigmoid, UnaryParams{0.2f, 0.5f}, {x}, {5}), {5},
                      {0.1f, 0.4f, 0.5f, 0.7f, 1.f});
    kt::expect_values(kt::run1(OpType::HardSigmoid, UnaryParams{1.f, 0.f}, {x}, {5}), {5}, {0, 0, 0, 1, 1});
    // sigmoid(-2)=0.11920292 sigmoid(-0.5)=0.37754067 sigmoid(1)=0.73105858 sigmoid(3)=0.95257413
    kt::expect_values(kt::run1(OpType::Sigmoid, std::monostate{}, {x}, {5}), {5},
                      {0.11920292f, 0.37754067f, 0.5f, 0.73105858f, 0.95257413f});
    kt::expect_values(kt::run1(OpType::Tanh, std::monostate{}, {x}, {5}), {5},
                      {-0.96402758f, -0.46211716f, 0.f, 0.76159416f, 0.99505475f});
    // softplus = ln(1 + e^x)
    kt::expect_values(kt::run1(OpType::Softplus, std::monostate{}, {x}, {5}), {5},
                      {0.12692801f, 0.47407698f, 0.69314718f, 1.31326169f, 3.04858735f});
    // silu = x * sigmoid(x)
    kt::expect_values(kt::run1(OpType::Silu, std::monostate{}, {x}, {5}), {5},
                      {-0.23840584f, -0.18877033f, 0.f, 0.73105858f, 2.85772238f});
    // mish = x * tanh(softplus(x))
    kt::expect_values(kt::run1(OpType::Mish, std::monostate{}, {x}, {5}), {5},
                      {-0.25250148f, -0.22074377f, 0.f, 0.86509839f, 2.986535f}, 2e-6f);
}

TEST(RefActivation, StridedBatchOnlyTouchesItsSlices) {
    // Input samples live every 3 floats (2 used), output samples every 4 floats (2 used).
    std::vector<float> in{-1, 2, 99, -3, 4, 99};
    std::vector<float> out(8, 7.f);
    TensorRef xr{in.data(), engine::DataType::F32, {2, 2}, 3};
    TensorRef yr{out.data(), engine::DataType::F32, {2, 2}, 4};
    std::vector<TensorRef> ins{xr}, outs{yr};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_activation({engine::ActKind::Relu, 0.f, 0.f}, args);
    EXPECT_EQ(out, (std::vector<float>{0, 2, 7, 7, 0, 4, 7, 7}));
}

TEST(RefBinary, ScalarBroadcast) {
    const Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor s = f32({}, {10});
    kt::expect_values(kt::run1(OpType::Add, {}, {a, s}, {2, 3}), {2, 3}, {11, 12, 13, 14, 15, 16});
    kt::expect_values(kt::run1(OpType::Sub, {}, {s, a}, {2, 3}), {2, 3}, {9, 8, 7, 6, 5, 4});
    kt::expect_values(kt::run1(OpType::Div, {}, {a, f32({1}, {2})}, {2, 3}), {2, 3},
                      {0.5f, 1, 1.5f, 2, 2.5f, 3});
}

TEST(RefBinary, PerChannel) {
    // [1,2,2,2] * [1,2,1,1]: channel 0 times 10, channel 1 times -1.
    const Tensor a = f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    const Tensor c = f32({1, 2, 1, 1}, {10, -1});
    kt::expect_values(kt::run1(OpType::Mul, {}, {a, c}, {1, 2, 2, 2}), {1, 2, 2, 2},
                      {10, 20, 30, 40, -5, -6, -7, -8});
    // Rank mismatch: [2,1,1] against [1,2,2,2] is the same channel vector.
    const Tensor c3 = f32({2, 1, 1}, {10, -1});
    kt::expect_values(kt::run1(OpType::Mul, {}, {c3, a}, {1, 2, 2, 2}), {1, 2, 2, 2},
                      {10, 20, 30, 40, -5, -6, -7, -8});
}

TEST(RefBinary, RankMismatchAndBothSidesBroadcast) {
    const Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor v = f32({3}, {1, 10, 100});
    kt::expect_values(kt::run1(OpType::Sub, {}, {a, v}, {2, 3}), {2, 3}, {0, -8, -97, 3, -5, -94});
    // [3,1] + [1,4] -> [3,4] outer sum.
    const Tensor col = f32({3, 1}, {0, 10, 20});
    const Tensor row = f32({1, 4}, {1, 2, 3, 4});
    kt::expect_values(kt::run1(OpType::Add, {}, {col, row}, {3, 4}), {3, 4},
                      {1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24});
    // Batched [2,1,3] against constant [4,1]: -> [2,4,3].
    const Tensor b = f32({2, 1, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor k = f32({4, 1}, {0, 1, 2, 3});
    const Tensor y = kt::run1(OpType::Mul, {}, {b, k}, {2, 4, 3});
    for (int n = 0; n < 2; ++n)
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 3; ++j)
                EXPECT_EQ(y.data_as<float>()[(n * 4 + i) * 3 + j], static_cast<float>((n * 3 + j + 1) * i));
}

TEST(RefBinary, IncompatibleShapesThrow) {
    EXPECT_THROW(kt::run1(OpType::Add, {}, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2}, {1, 2})}, {2, 3}),
                 engine::Error);
    // The output must be the broadcast shape.
    EXPECT_THROW(kt::run1(OpType::Add, {}, {f32({2}, {1, 2}), f32({2}, {1, 2})}, {1, 2}), engine::Error);
}

TEST(RefBinary, StridedBatchedOperands) {
    // a: batch 2 of [2] with batch_stride 3; b: constant [2]; y: batch_stride 5.
    std::vector<float> a{1, 2, -1, 3, 4, -1};
    std::vector<float> b{10, 20};
    std::vector<float> y(10, 0.f);
    std::vector<TensorRef> ins{{a.data(), engine::DataType::F32, {2, 2}, 3},
                               {b.data(), engine::DataType::F32, {2}, 1}};
    std::vector<TensorRef> outs{{y.data(), engine::DataType::F32, {2, 2}, 5}};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_binary(engine::BinaryOp::Add, args);
    EXPECT_EQ(y, (std::vector<float>{11, 22, 0, 0, 0, 13, 24, 0, 0, 0}));
}

TEST(RefBatchNorm, HandValues) {
    // ch0: (x - 1) / sqrt(3 + 1) * 2 + 1; ch1: (x - 3) / sqrt(15 + 1) * 0.5 - 1.
    const Tensor x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
    const Tensor y = kt::run1(
        OpType::BatchNorm, engine::BatchNormParams{1.f},
        {x, f32({2}, {2, 0.5f}), f32({2}, {1, -1}), f32({2}, {1, 3}), f32({2}, {3, 15})}, {1, 2, 1, 2});
    kt::expect_values(y, {1, 2, 1, 2}, {1, 2, -1, -0.875f});
}

TEST(RefSoftmax, AxisVersusCoerce2d) {
    const Tensor x = f32({2, 2}, {std::log(1.f), std::log(2.f), std::log(3.f), std::log(4.f)});
    using engine::SoftmaxParams;
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{1, false}, {x}, {2, 2}), {2, 2},
                      {1.f / 3, 2.f / 3, 3.f / 7, 4.f / 7});
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{-1, false}, {x}, {2, 2}), {2, 2},
                      {1.f / 3, 2.f / 3, 3.f / 7, 4.f / 7});
    // Opset 13: axis 0 runs down the columns.
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{0, false}, {x}, {2, 2}), {2, 2},
                      {0.25f, 1.f / 3, 0.75f, 2.f / 3});
    // Opset < 13: axis 0 flattens everything into one row.
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{0, true}, {x}, {2, 2}), {2, 2},
                      {0.1f, 0.2f, 0.3f, 0.4f});
    const Tensor x3 = x.reshaped({1, 2, 2});
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{1, true}, {x3}, {1, 2, 2}), {1, 2, 2},
                      {0.1f, 0.2f, 0.3f, 0.4f});
    kt::expect_values(kt::run1(OpType::Softmax, SoftmaxParams{1, false}, {x3}, {1, 2, 2}), {1, 2, 2},
                      {0.25f, 1.f / 3, 0.75f, 2.f / 3});
}

TEST(RefSoftmax, LargeValuesAreStable) {
    kt::expect_values(
        kt::run1(OpType::Softmax, engine::SoftmaxParams{-1, false}, {f32({3}, {1000, 1000, -1000})}, {3}),
        {3}, {0.5f, 0.5f, 0.f});
}

TEST(RefSoftmax, StridedBatch) {
    // Two samples of [2] at batch_stride 3 (log 1, log 3 | log 1, log 1), coerce over axis 0 spans samples.
    std::vector<float> in{0.f, std::log(3.f), 9.f, 0.f, 0.f, 9.f};
    std::vector<float> out(6, -1.f);
    std::vector<TensorRef> ins{{in.data(), engine::DataType::F32, {2, 2}, 3}};
    std::vector<TensorRef> outs{{out.data(), engine::DataType::F32, {2, 2}, 3}};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_softmax({0, true}, args);
    const std::vector<float> want{1.f / 6, 3.f / 6, -1.f, 1.f / 6, 1.f / 6, -1.f};
    for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(out[i], want[i], 1e-6f) << i;
    engine::ref_softmax({1, false}, args);
    const std::vector<float> want1{0.25f, 0.75f, -1.f, 0.5f, 0.5f, -1.f};
    for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(out[i], want1[i], 1e-6f) << i;
}

}  // namespace
