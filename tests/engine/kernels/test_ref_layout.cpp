// Reference data-movement ops, Resize and MaxPool on hand-computed values.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/refmath/ref_ops.h"
#include "tests/engine/kernels/kernel_test_util.h"

namespace {

using engine::MaxPoolParams;
using engine::OpType;
using engine::PadMode;
using engine::PadParams;
using engine::ResizeCoord;
using engine::ResizeNearest;
using engine::ResizeParams;
using engine::Shape;
using engine::Tensor;
using engine::TensorRef;
using kt::f32;

Tensor iota(const Shape& shape, float start = 0.f) {
    std::vector<float> v(static_cast<size_t>(engine::shape_numel(shape)));
    std::iota(v.begin(), v.end(), start);
    return f32(shape, v);
}

TEST(RefConcat, Axis1AndNegativeAxis) {
    const Tensor a = f32({1, 2, 2}, {1, 2, 3, 4});
    const Tensor b = f32({1, 1, 2}, {5, 6});
    kt::expect_values(kt::run1(OpType::Concat, engine::ConcatParams{1, false}, {a, b}, {1, 3, 2}), {1, 3, 2},
                      {1, 2, 3, 4, 5, 6});
    const Tensor c = f32({1, 2, 1}, {7, 8});
    kt::expect_values(kt::run1(OpType::Concat, engine::ConcatParams{-1, false}, {a, c}, {1, 2, 3}), {1, 2, 3},
                      {1, 2, 7, 3, 4, 8});
    // in_place is a runtime matter; the reference still copies.
    kt::expect_values(kt::run1(OpType::Concat, engine::ConcatParams{0, true}, {a, a}, {2, 2, 2}), {2, 2, 2},
                      {1, 2, 3, 4, 1, 2, 3, 4});
}

TEST(RefConcat, InPlaceInputsAreLeftAlone) {
    // Output [2, 3] (batch 2); input 0 is column 0..1 written in place, input 1 a separate [2, 1].
    std::vector<float> y{1, 2, -1, 4, 5, -1};
    std::vector<float> b{3, 6};
    std::vector<TensorRef> ins{{y.data(), engine::DataType::F32, {2, 2}, 3},
                               {b.data(), engine::DataType::F32, {2, 1}, 1}};
    std::vector<TensorRef> outs{{y.data(), engine::DataType::F32, {2, 3}, 3}};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_concat({1, true}, args);
    EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(RefConcat, MismatchedShapesThrow) {
    EXPECT_THROW(kt::run1(OpType::Concat, engine::ConcatParams{1, false},
                          {f32({1, 2}, {1, 2}), f32({2, 1}, {3, 4})}, {1, 3}),
                 engine::Error);
}

TEST(RefConcat, AnyDtypeByElementSize) {
    const std::vector<int64_t> a{1, 2}, b{3};
    const Tensor ta = Tensor::from_i64({2}, a), tb = Tensor::from_i64({1}, b);
    const auto y =
        kt::run_op(OpType::Concat, engine::ConcatParams{0, false}, {ta, tb}, {{3}}, engine::DataType::I64);
    EXPECT_EQ(y[0].to_i64(), (std::vector<int64_t>{1, 2, 3}));
}

TEST(RefSplit, UnevenSizes) {
    const Tensor x = iota({2, 5});
    const auto y = kt::run_op(OpType::Split, engine::SplitParams{1, {2, 3}}, {x}, {{2, 2}, {2, 3}});
    kt::expect_values(y[0], {2, 2}, {0, 1, 5, 6});
    kt::expect_values(y[1], {2, 3}, {2, 3, 4, 7, 8, 9});
    EXPECT_THROW(kt::run_op(OpType::Split, engine::SplitParams{1, {2, 2}}, {x}, {{2, 2}, {2, 2}}),
                 engine::Error);
}

TEST(RefSlice, NegativeSteps) {
    kt::expect_values(kt::run1(OpType::Slice, engine::SliceParams{{8}, {-2}}, {iota({10})}, {4}), {4},
                      {8, 6, 4, 2});
    // [3,4] = 0..11: rows 2,1,0 and columns 3,0.
    kt::expect_values(kt::run1(OpType::Slice, engine::SliceParams{{2, 3}, {-1, -3}}, {iota({3, 4})}, {3, 2}),
                      {3, 2}, {11, 8, 7, 4, 3, 0});
    // Plain positive-step slice of the middle.
    kt::expect_values(kt::run1(OpType::Slice, engine::SliceParams{{0, 1}, {1, 2}}, {iota({2, 5})}, {2, 2}),
                      {2, 2}, {1, 3, 6, 8});
}

TEST(RefSlice, OutOfRangeThrows) {
    EXPECT_THROW(kt::run1(OpType::Slice, engine::SliceParams{{8}, {1}}, {iota({10})}, {3}), engine::Error);
    EXPECT_THROW(kt::run1(OpType::Slice, engine::SliceParams{{1}, {-1}}, {iota({10})}, {3}), engine::Error);
}

TEST(RefTranspose, TwoDAndThreeD) {
    kt::expect_values(kt::run1(OpType::Transpose, engine::TransposeParams{{1, 0}},
                               {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {3, 2}),
                      {3, 2}, {1, 4, 2, 5, 3, 6});
    // out[i][j][k] = in[j][k][i] for perm {2, 0, 1}.
    const Tensor x = iota({2, 3, 4});
    const Tensor y = kt::run1(OpType::Transpose, engine::TransposeParams{{2, 0, 1}}, {x}, {4, 2, 3});
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 2; ++j)
            for (int k = 0; k < 3; ++k)
                EXPECT_EQ(y.data_as<float>()[(i * 2 + j) * 3 + k], x.data_as<float>()[(j * 3 + k) * 4 + i]);
    // Empty perm reverses the dims.
    kt::expect_values(
        kt::run1(OpType::Transpose, engine::TransposeParams{}, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {3, 2}),
        {3, 2}, {1, 4, 2, 5, 3, 6});
    EXPECT_THROW(kt::run1(OpType::Transpose, engine::TransposeParams{{0, 0}}, {iota({2, 2})}, {2, 2}),
                 engine::Error);
}

TEST(RefTranspose, YoloHeadPermuteOfStridedInput) {
    // [N=2, 3, 2] at batch_stride 8 -> perm {0, 2, 1} -> [2, 2, 3] dense.
    std::vector<float> in{0, 1, 2, 3, 4, 5, -1, -1, 10, 11, 12, 13, 14, 15, -1, -1};
    Tensor y(engine::DataType::F32, {2, 2, 3});
    std::vector<TensorRef> ins{{in.data(), engine::DataType::F32, {2, 3, 2}, 8}};
    std::vector<TensorRef> outs{kt::dense_ref(y)};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_transpose({{0, 2, 1}}, args);
    kt::expect_values(y, {2, 2, 3}, {0, 2, 4, 1, 3, 5, 10, 12, 14, 11, 13, 15});
}

TEST(RefCopy, ReshapeIdentityDropout) {
    const Tensor x = iota({2, 3});
    kt::expect_values(kt::run1(OpType::Reshape, {}, {x}, {3, 2}), {3, 2}, {0, 1, 2, 3, 4, 5});
    kt::expect_values(kt::run1(OpType::Identity, {}, {x}, {2, 3}), {2, 3}, {0, 1, 2, 3, 4, 5});
    EXPECT_THROW(kt::run1(OpType::Reshape, {}, {x}, {4}), engine::Error);
    // Dropout with a mask output: the mask is all true.
    std::vector<Tensor> outs{Tensor(engine::DataType::F32, {2, 3}), Tensor(engine::DataType::Bool, {2, 3})};
    std::vector<TensorRef> ins{kt::dense_ref(x)}, out_refs{kt::dense_ref(outs[0]), kt::dense_ref(outs[1])};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = out_refs;
    engine::ref_run(OpType::Dropout, {}, args);
    kt::expect_values(outs[0], {2, 3}, {0, 1, 2, 3, 4, 5});
    for (int i = 0; i < 6; ++i) EXPECT_EQ(outs[1].data_as<uint8_t>()[i], 1);
}

TEST(RefCopy, StridedBatchReshape) {
    // [2, 2, 2] samples at batch_stride 6 -> dense [2, 4].
    std::vector<float> in{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0};
    Tensor y(engine::DataType::F32, {2, 4});
    std::vector<TensorRef> ins{{in.data(), engine::DataType::F32, {2, 2, 2}, 6}};
    std::vector<TensorRef> outs{kt::dense_ref(y)};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    engine::ref_copy(args);
    kt::expect_values(y, {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
}

TEST(RefPad, ConstantReflectEdge) {
    kt::expect_values(
        kt::run1(OpType::Pad, PadParams{PadMode::Constant, {1, 2}, 9.f}, {f32({3}, {1, 2, 3})}, {6}), {6},
        {9, 1, 2, 3, 9, 9});
    kt::expect_values(
        kt::run1(OpType::Pad, PadParams{PadMode::Reflect, {2, 2}, 0.f}, {f32({4}, {1, 2, 3, 4})}, {8}), {8},
        {3, 2, 1, 2, 3, 4, 3, 2});
    kt::expect_values(
        kt::run1(OpType::Pad, PadParams{PadMode::Edge, {2, 1}, 0.f}, {f32({3}, {1, 2, 3})}, {6}), {6},
        {1, 1, 1, 2, 3, 3});
    // Negative pads crop.
    kt::expect_values(
        kt::run1(OpType::Pad, PadParams{PadMode::Constant, {-1, -2}, 0.f}, {f32({5}, {1, 2, 3, 4, 5})}, {2}),
        {2}, {2, 3});
}

TEST(RefPad, TwoD) {
    const Tensor x = f32({2, 2}, {1, 2, 3, 4});
    // begins {1, 0}, ends {0, 1}
    kt::expect_values(kt::run1(OpType::Pad, PadParams{PadMode::Constant, {1, 0, 0, 1}, 0.f}, {x}, {3, 3}),
                      {3, 3}, {0, 0, 0, 1, 2, 0, 3, 4, 0});
    kt::expect_values(kt::run1(OpType::Pad, PadParams{PadMode::Edge, {1, 0, 0, 1}, 0.f}, {x}, {3, 3}), {3, 3},
                      {1, 2, 2, 1, 2, 2, 3, 4, 4});
    // Reflect rows by 1 at the top, crop one column at the left.
    kt::expect_values(kt::run1(OpType::Pad, PadParams{PadMode::Reflect, {1, -1, 0, 0}, 0.f}, {x}, {3, 1}),
                      {3, 1}, {4, 2, 4});
}

ResizeParams resize(std::vector<float> scales, ResizeCoord coord, ResizeNearest nearest) {
    return ResizeParams{std::move(scales), coord, nearest};
}

TEST(RefResize, Upsample2xAsymmetricFloor) {
    const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    kt::expect_values(
        kt::run1(OpType::Resize, resize({1, 1, 2, 2}, ResizeCoord::Asymmetric, ResizeNearest::Floor), {x},
                 {1, 1, 4, 4}),
        {1, 1, 4, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

TEST(RefResize, HalfPixelRoundPreferFloor) {
    // ONNX resize_upsample_scales_nearest: [1,1,2,2] x {1,1,2,3}.
    const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    const auto p = resize({1, 1, 2, 3}, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor);
    kt::expect_values(kt::run1(OpType::Resize, p, {x}, {1, 1, 4, 6}), {1, 1, 4, 6},
                      {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
    // ONNX resize_downsample_scales_nearest: [1,1,2,4] x 0.6 -> [1,1,1,2] = {1, 3}.
    const Tensor x2 = f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
    kt::expect_values(
        kt::run1(OpType::Resize,
                 resize({1, 1, 0.6f, 0.6f}, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor), {x2},
                 {1, 1, 1, 2}),
        {1, 1, 1, 2}, {1, 3});
}

TEST(RefResize, AlignCornersRoundingModes) {
    // x = o * 2 / 4 = 0, .5, 1, 1.5, 2
    const Tensor x = f32({1, 3}, {1, 2, 3});
    kt::expect_values(
        kt::run1(OpType::Resize,
                 resize({1, 5.f / 3}, ResizeCoord::AlignCorners, ResizeNearest::RoundPreferCeil), {x},
                 {1, 5}),
        {1, 5}, {1, 2, 2, 3, 3});
    kt::expect_values(
        kt::run1(OpType::Resize,
                 resize({1, 5.f / 3}, ResizeCoord::AlignCorners, ResizeNearest::RoundPreferFloor), {x},
                 {1, 5}),
        {1, 5}, {1, 1, 2, 2, 3});
}

TEST(RefResize, TfHalfPixelCeilAndAsymmetricDownsample) {
    const Tensor x = f32({4}, {10, 11, 12, 13});
    // tf_half_pixel_for_nearest: x = (o + .5) / .5 = 1, 3.
    kt::expect_values(
        kt::run1(OpType::Resize, resize({0.5f}, ResizeCoord::TfHalfPixelForNearest, ResizeNearest::Ceil), {x},
                 {2}),
        {2}, {11, 13});
    kt::expect_values(
        kt::run1(OpType::Resize, resize({0.5f}, ResizeCoord::Asymmetric, ResizeNearest::Floor), {x}, {2}),
        {2}, {10, 12});
    // Ceil clamps at the last element: asymmetric x = o / 0.75 = 0, 1.33, 2.67 -> ceil 0, 2, 3.
    kt::expect_values(
        kt::run1(OpType::Resize, resize({0.75f}, ResizeCoord::Asymmetric, ResizeNearest::Ceil), {x}, {3}),
        {3}, {10, 12, 13});
}

TEST(RefResize, PytorchHalfPixelSingleOutput) {
    const Tensor x = f32({4}, {10, 11, 12, 13});
    kt::expect_values(
        kt::run1(OpType::Resize,
                 resize({0.25f}, ResizeCoord::PytorchHalfPixel, ResizeNearest::RoundPreferFloor), {x}, {1}),
        {1}, {10});
    // half_pixel: x = .5 / .25 - .5 = 1.5 -> prefer floor -> 1.
    kt::expect_values(
        kt::run1(OpType::Resize, resize({0.25f}, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor),
                 {x}, {1}),
        {1}, {11});
}

TEST(RefMaxPool, Basic2x2Stride2) {
    MaxPoolParams p;
    p.kernel = {2, 2};
    p.stride = {2, 2};
    kt::expect_values(kt::run1(OpType::MaxPool, p, {iota({1, 1, 4, 4})}, {1, 1, 2, 2}), {1, 1, 2, 2},
                      {5, 7, 13, 15});
}

TEST(RefMaxPool, CeilModeKeepsPartialWindow) {
    MaxPoolParams p;
    p.kernel = {2, 2};
    p.stride = {2, 2};
    p.ceil_mode = true;
    kt::expect_values(kt::run1(OpType::MaxPool, p, {iota({1, 1, 5, 5})}, {1, 1, 3, 3}), {1, 1, 3, 3},
                      {6, 8, 9, 16, 18, 19, 21, 23, 24});
    p.ceil_mode = false;
    EXPECT_THROW(kt::run1(OpType::MaxPool, p, {iota({1, 1, 5, 5})}, {1, 1, 3, 3}), engine::Error);
}

TEST(RefMaxPool, CeilModeDropsWindowStartingInEndPadding) {
    // in 3, pads 1/1, k 2, s 2: ceil((3+2-2)/2)+1 = 3, but the third window starts at 4 >= 3+1 -> 2.
    MaxPoolParams p;
    p.kernel = {2, 2};
    p.stride = {2, 2};
    p.pads = {1, 1, 1, 1};
    p.ceil_mode = true;
    kt::expect_values(kt::run1(OpType::MaxPool, p, {iota({1, 1, 3, 3})}, {1, 1, 2, 2}), {1, 1, 2, 2},
                      {0, 2, 6, 8});
    EXPECT_THROW(kt::run1(OpType::MaxPool, p, {iota({1, 1, 3, 3})}, {1, 1, 3, 3}), engine::Error);
}

TEST(RefMaxPool, AsymmetricPadsNeverWin) {
    // All-negative input, pads top 1 / left 1 only: a zero pad would win everywhere.
    MaxPoolParams p;
    p.kernel = {2, 2};
    p.pads = {1, 1, 0, 0};
    kt::expect_values(kt::run1(OpType::MaxPool, p, {f32({1, 1, 2, 2}, {-4, -3, -2, -1})}, {1, 1, 2, 2}),
                      {1, 1, 2, 2}, {-4, -3, -2, -1});
    // YOLOv3-tiny's stride-1 2x2 pool with right/bottom padding.
    p.pads = {0, 0, 1, 1};
    kt::expect_values(kt::run1(OpType::MaxPool, p, {f32({1, 1, 2, 2}, {-4, -3, -2, -1})}, {1, 1, 2, 2}),
                      {1, 1, 2, 2}, {-1, -1, -1, -1});
    kt::expect_values(kt::run1(OpType::MaxPool, p, {f32({1, 1, 2, 2}, {4, 3, 2, 1})}, {1, 1, 2, 2}),
                      {1, 1, 2, 2}, {4, 3, 2, 1});
}

TEST(RefMaxPool, Dilation) {
    MaxPoolParams p;
    p.kernel = {1, 2};
    p.dilation = {1, 2};
    kt::expect_values(kt::run1(OpType::MaxPool, p, {f32({1, 1, 1, 5}, {5, 1, 2, 9, 3})}, {1, 1, 1, 3}),
                      {1, 1, 1, 3}, {5, 9, 3});
}

}  // namespace
