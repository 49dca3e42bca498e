// Per-op import: ONNX attributes and inputs of every supported op, across opsets, mapped to IR params
// and shapes. Expected values are worked out by hand from the ONNX spec.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "tests/engine/import/onnx_model_builder.h"

namespace {

using engine::Graph;
using engine::OpType;
using engine::Shape;
using import_test::OnnxModelBuilder;
using import_test::producer_of;
using import_test::shape_of;

constexpr float kInf = std::numeric_limits<float>::infinity();

template <typename P>
const P& params_of(const Graph& g, const std::string& out) {
    return std::get<P>(producer_of(g, out).params);
}

TEST(ImportOps, Activations) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 3, 3});
    m.node("Relu", {"x"}, {"a"}, "relu");
    m.node("Sigmoid", {"a"}, {"b"}, "sig");
    m.node("Tanh", {"b"}, {"c"}, "tanh");
    m.node("Softplus", {"c"}, {"d"}, "sp");
    m.node("LeakyRelu", {"d"}, {"e"}, "lr_default");
    m.node("LeakyRelu", {"e"}, {"y"}, "lr").f("alpha", 0.1f);
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(producer_of(g, "a").op, OpType::Relu);
    EXPECT_EQ(producer_of(g, "b").op, OpType::Sigmoid);
    EXPECT_EQ(producer_of(g, "c").op, OpType::Tanh);
    EXPECT_EQ(producer_of(g, "d").op, OpType::Softplus);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "e").alpha, 0.01f);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "y").alpha, 0.1f);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 3, 3}));
}

TEST(ImportOps, HardSigmoidWithDefaultAndGivenAttributes) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 3, 3});
    m.node("HardSigmoid", {"x"}, {"a"}, "hs_default");
    m.node("HardSigmoid", {"a"}, {"y"}, "hs").f("alpha", 0.25f).f("beta", 0.125f);
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(producer_of(g, "a").op, OpType::HardSigmoid);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "a").alpha, 0.2f);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "a").beta, 0.5f);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "y").alpha, 0.25f);
    EXPECT_FLOAT_EQ(params_of<engine::UnaryParams>(g, "y").beta, 0.125f);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 3, 3}));
}

TEST(ImportOps, ClipAttributesBeforeOpset11) {
    OnnxModelBuilder m(9);
    m.input("x", {1, 4});
    m.node("Clip", {"x"}, {"y"}, "clip").f("min", 0.f).f("max", 6.f);
    m.output("y");
    const engine::Graph g = m.import();  // params_of returns a reference into the graph
    const auto& p = params_of<engine::UnaryParams>(g, "y");
    EXPECT_EQ(p.alpha, 0.f);
    EXPECT_EQ(p.beta, 6.f);
}

TEST(ImportOps, ClipInputsFromOpset11WithDefaults) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.init_f32("lo", {}, {-1.5f});
    m.init_f32("hi", {}, {2.5f});
    m.node("Clip", {"x", "lo"}, {"a"}, "min_only");
    m.node("Clip", {"a", "", "hi"}, {"b"}, "max_only");
    m.node("Clip", {"b"}, {"y"}, "none");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "a").alpha, -1.5f);
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "a").beta, kInf);
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "b").alpha, -kInf);
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "b").beta, 2.5f);
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "y").alpha, -kInf);
    EXPECT_EQ(params_of<engine::UnaryParams>(g, "y").beta, kInf);
}

TEST(ImportOps, BinaryBroadcastAndBatched) {
    OnnxModelBuilder m;
    m.input("x", {2, 3, 4, 4});
    m.init_f32("s", {3, 1, 1}, 2.f);
    m.node("Mul", {"x", "s"}, {"a"}, "mul");
    m.node("Add", {"a", "x"}, {"b"}, "add");
    m.node("Sub", {"b", "s"}, {"c"}, "sub");
    m.node("Div", {"c", "s"}, {"y"}, "div");
    m.output("y");
    const Graph g = m.import();
    for (const char* v : {"a", "b", "c", "y"}) {
        EXPECT_EQ(shape_of(g, v), (Shape{2, 3, 4, 4})) << v;
        EXPECT_TRUE(g.value(g.find_value(v)).batched) << v;
    }
    EXPECT_EQ(producer_of(g, "y").op, OpType::Div);
}

TEST(ImportOps, BatchNormalization) {
    for (int opset : {9, 15}) {
        OnnxModelBuilder m(opset);
        m.input("x", {1, 3, 4, 4});
        for (const char* n : {"scale", "bias", "mean", "var"}) m.init_f32(n, {3}, 1.f);
        m.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"}, "bn").f("epsilon", 1e-3f);
        m.output("y");
        const Graph g = m.import();
        EXPECT_EQ(engine::count_ops(g, OpType::BatchNorm), 1u);
        EXPECT_FLOAT_EQ(params_of<engine::BatchNormParams>(g, "y").epsilon, 1e-3f);
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 4, 4}));
    }
}

TEST(ImportOps, ConcatNegativeAxisIsNormalised) {
    OnnxModelBuilder m;
    m.input("a", {1, 2, 3});
    m.input("b", {1, 2, 5});
    m.node("Concat", {"a", "b"}, {"y"}, "cat").i("axis", -1);
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(params_of<engine::ConcatParams>(g, "y").axis, 2);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 8}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);
}

TEST(ImportOps, ResizeOpset13ScalesWithModes) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 3, 4, 5});
    m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 3.f});
    m.node("Resize", {"x", "", "scales"}, {"y"}, "resize")
        .s("mode", "nearest")
        .s("coordinate_transformation_mode", "asymmetric")
        .s("nearest_mode", "floor");
    m.output("y");
    const Graph g = m.import();
    const auto& p = params_of<engine::ResizeParams>(g, "y");
    EXPECT_EQ(p.scales, (std::vector<float>{1.f, 1.f, 2.f, 3.f}));
    EXPECT_EQ(p.coord, engine::ResizeCoord::Asymmetric);
    EXPECT_EQ(p.nearest, engine::ResizeNearest::Floor);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 8, 15}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);
}

TEST(ImportOps, ResizeDefaultsAreHalfPixelRoundPreferFloor) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 1, 2, 2});
    m.init_f32("scales", {4}, {1.f, 1.f, 0.5f, 0.5f});
    m.node("Resize", {"x", "", "scales"}, {"y"}, "resize");
    m.output("y");
    const Graph g = m.import();
    const auto& p = params_of<engine::ResizeParams>(g, "y");
    EXPECT_EQ(p.coord, engine::ResizeCoord::HalfPixel);
    EXPECT_EQ(p.nearest, engine::ResizeNearest::RoundPreferFloor);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 1, 1, 1}));
}

TEST(ImportOps, ResizeOpset11SizesGiveExactShapes) {
    // 7/3 in float is 2.3333333, and 3 * 2.3333333f = 6.99999976: the importer must nudge the scale
    // so the inferred shape is exactly the requested 7.
    OnnxModelBuilder m(11);
    m.input("x", {1, 3, 2, 3});
    m.init_f32("roi", {0}, std::vector<float>{});
    m.init_f32("scales", {0}, std::vector<float>{});
    m.init_i64("sizes", {4}, {1, 3, 5, 7});
    m.node("Resize", {"x", "roi", "scales", "sizes"}, {"y"}, "resize")
        .s("coordinate_transformation_mode", "align_corners")
        .s("nearest_mode", "round_prefer_ceil");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 5, 7}));
    const auto& p = params_of<engine::ResizeParams>(g, "y");
    ASSERT_EQ(p.scales.size(), 4u);
    EXPECT_EQ(p.scales[2], 2.5f);
    EXPECT_NEAR(p.scales[3], 7.0 / 3.0, 1e-6);
    EXPECT_EQ(std::floor(3.0 * static_cast<double>(p.scales[3])), 7.0);
    EXPECT_EQ(p.coord, engine::ResizeCoord::AlignCorners);
    EXPECT_EQ(p.nearest, engine::ResizeNearest::RoundPreferCeil);
}

TEST(ImportOps, ResizeOpset10AndUpsampleAreAsymmetricFloor) {
    {
        OnnxModelBuilder m(10);
        m.input("x", {1, 2, 3, 3});
        m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 2.f});
        m.node("Resize", {"x", "scales"}, {"y"}, "resize10");
        m.output("y");
        const Graph g = m.import();
        const auto& p = params_of<engine::ResizeParams>(g, "y");
        EXPECT_EQ(p.coord, engine::ResizeCoord::Asymmetric);
        EXPECT_EQ(p.nearest, engine::ResizeNearest::Floor);
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 6, 6}));
    }
    {
        OnnxModelBuilder m(9);
        m.input("x", {1, 2, 3, 3});
        m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 2.f});
        m.node("Upsample", {"x", "scales"}, {"y"}, "up").s("mode", "nearest");
        m.output("y");
        const Graph g = m.import();
        EXPECT_EQ(engine::count_ops(g, OpType::Resize), 1u);
        const auto& p = params_of<engine::ResizeParams>(g, "y");
        EXPECT_EQ(p.scales, (std::vector<float>{1.f, 1.f, 2.f, 2.f}));
        EXPECT_EQ(p.coord, engine::ResizeCoord::Asymmetric);
        EXPECT_EQ(p.nearest, engine::ResizeNearest::Floor);
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 6, 6}));
    }
}

TEST(ImportOps, MaxPoolFloorAndCeil) {
    for (int ceil : {0, 1}) {
        OnnxModelBuilder m(12);
        m.input("x", {1, 2, 8, 8});
        m.node("MaxPool", {"x"}, {"y"}, "pool")
            .ints("kernel_shape", {3, 3})
            .ints("strides", {2, 2})
            .ints("pads", {1, 1, 1, 1})
            .i("ceil_mode", ceil);
        m.output("y");
        const Graph g = m.import();
        const auto& p = params_of<engine::MaxPoolParams>(g, "y");
        EXPECT_EQ(p.kernel, (std::array<int32_t, 2>{3, 3}));
        EXPECT_EQ(p.stride, (std::array<int32_t, 2>{2, 2}));
        EXPECT_EQ(p.pads, (std::array<int32_t, 4>{1, 1, 1, 1}));
        EXPECT_EQ(p.ceil_mode, ceil == 1);
        // floor((8+2-3)/2)+1 = 4, ceil -> 5 (window 4 starts at 8 < 8+1, kept)
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, ceil ? 5 : 4, ceil ? 5 : 4}));
    }
}

TEST(ImportOps, MaxPoolCeilDropsWindowStartingInEndPadding) {
    // in 4, k 2, s 2, end pad 1: ceil((4+1-2)/2)+1 = 3, but window 2 starts at 4 >= 4 + 0: dropped -> 2.
    OnnxModelBuilder m(12);
    m.input("x", {1, 1, 4, 4});
    m.node("MaxPool", {"x"}, {"y"}, "pool")
        .ints("kernel_shape", {2, 2})
        .ints("strides", {2, 2})
        .ints("pads", {0, 0, 1, 1})
        .i("ceil_mode", 1);
    m.output("y");
    EXPECT_EQ(shape_of(m.import(), "y"), (Shape{1, 1, 2, 2}));
}

TEST(ImportOps, MaxPoolSameUpperAndDilations) {
    OnnxModelBuilder m(12);
    m.input("x", {1, 1, 5, 5});
    m.node("MaxPool", {"x"}, {"a"}, "same")
        .ints("kernel_shape", {2, 2})
        .ints("strides", {2, 2})
        .s("auto_pad", "SAME_UPPER");
    m.node("MaxPool", {"x"}, {"b"}, "dil").ints("kernel_shape", {2, 2}).ints("dilations", {2, 2});
    m.output("a");
    m.output("b");
    const Graph g = m.import();
    // out = ceil(5/2) = 3, total pad = 2*2 + 2 - 5 = 1 -> end side.
    EXPECT_EQ(params_of<engine::MaxPoolParams>(g, "a").pads, (std::array<int32_t, 4>{0, 0, 1, 1}));
    EXPECT_EQ(shape_of(g, "a"), (Shape{1, 1, 3, 3}));
    EXPECT_EQ(params_of<engine::MaxPoolParams>(g, "b").dilation, (std::array<int32_t, 2>{2, 2}));
    EXPECT_EQ(shape_of(g, "b"), (Shape{1, 1, 3, 3}));  // 5 - 2*(2-1) = 3
}

TEST(ImportOps, ReshapeZeroAndMinusOne) {
    OnnxModelBuilder m;
    m.input("x", {2, 3, 4});
    m.init_i64("shape", {2}, {0, -1});
    m.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(producer_of(g, "y").op, OpType::Reshape);
    EXPECT_EQ(shape_of(g, "y"), (Shape{2, 12}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);  // dim 0 kept
}

TEST(ImportOps, ReshapeThatMovesDimZeroIsNotBatched) {
    OnnxModelBuilder m;
    m.input("x", {2, 3, 4});
    m.init_i64("shape", {2}, {6, 4});
    m.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(shape_of(g, "y"), (Shape{6, 4}));
    EXPECT_FALSE(g.value(g.find_value("y")).batched);
}

TEST(ImportOps, FlattenSqueezeUnsqueezeBecomeReshape) {
    OnnxModelBuilder m(11);
    m.input("x", {1, 3, 1, 4});
    m.node("Squeeze", {"x"}, {"a"}, "sq").ints("axes", {2});
    m.node("Unsqueeze", {"a"}, {"b"}, "unsq").ints("axes", {-1});
    m.node("Flatten", {"b"}, {"y"}, "flat");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(engine::count_ops(g, OpType::Reshape), 3u);
    EXPECT_EQ(shape_of(g, "a"), (Shape{1, 3, 4}));
    EXPECT_EQ(shape_of(g, "b"), (Shape{1, 3, 4, 1}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 12}));

    OnnxModelBuilder m13(13);
    m13.input("x", {2, 3});
    m13.init_i64("axes", {1}, {1});
    m13.node("Unsqueeze", {"x", "axes"}, {"a"}, "unsq");
    m13.node("Squeeze", {"a"}, {"y"}, "sq_all");  // no axes: every 1-dim goes
    m13.output("y");
    const Graph g13 = m13.import();
    EXPECT_EQ(shape_of(g13, "a"), (Shape{2, 1, 3}));
    EXPECT_EQ(shape_of(g13, "y"), (Shape{2, 3}));
}

TEST(ImportOps, TransposeDefaultAndExplicitPerm) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 3, 4});
    m.node("Transpose", {"x"}, {"a"}, "rev");
    m.node("Transpose", {"x"}, {"b"}, "nhwc").ints("perm", {0, 2, 3, 1});
    m.output("a");
    m.output("b");
    const Graph g = m.import();
    EXPECT_EQ(params_of<engine::TransposeParams>(g, "a").perm, (std::vector<int32_t>{3, 2, 1, 0}));
    EXPECT_EQ(shape_of(g, "a"), (Shape{4, 3, 2, 1}));
    EXPECT_FALSE(g.value(g.find_value("a")).batched);
    EXPECT_EQ(shape_of(g, "b"), (Shape{1, 3, 4, 2}));
    EXPECT_TRUE(g.value(g.find_value("b")).batched);
}

TEST(ImportOps, SliceOpset13ClampsAndNegativeSteps) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 3, 8, 8});
    m.init_i64("starts", {2}, {-1, 1});
    m.init_i64("ends", {2}, {-1000, std::numeric_limits<int64_t>::max()});
    m.init_i64("axes", {2}, {2, -1});
    m.init_i64("steps", {2}, {-2, 2});
    m.node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"}, "slice");
    m.output("y");
    const Graph g = m.import();
    const auto& p = params_of<engine::SliceParams>(g, "y");
    // H: from 7 down to (clamped) -1 by 2 -> 7,5,3,1. W: from 1 to 8 by 2 -> 1,3,5,7.
    EXPECT_EQ(p.starts, (std::vector<int64_t>{0, 0, 7, 1}));
    EXPECT_EQ(p.steps, (std::vector<int64_t>{1, 1, -2, 2}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 4, 4}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);
}

TEST(ImportOps, SliceOpset9AttributesAndDimZero) {
    OnnxModelBuilder m(9);
    m.input("x", {4, 6});
    m.node("Slice", {"x"}, {"a"}, "cols").ints("starts", {1}).ints("ends", {-1}).ints("axes", {1});
    m.node("Slice", {"x"}, {"b"}, "rows").ints("starts", {1}).ints("ends", {3});
    m.output("a");
    m.output("b");
    const Graph g = m.import();
    EXPECT_EQ(params_of<engine::SliceParams>(g, "a").starts, (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(shape_of(g, "a"), (Shape{4, 4}));
    EXPECT_TRUE(g.value(g.find_value("a")).batched);
    EXPECT_EQ(shape_of(g, "b"), (Shape{2, 6}));
    EXPECT_FALSE(g.value(g.find_value("b")).batched);  // slices the batch dim
}

TEST(ImportOps, SplitAttributeInputAndEqual) {
    {
        OnnxModelBuilder m(11);
        m.input("x", {1, 3, 4, 4});
        m.node("Split", {"x"}, {"a", "b"}, "split").i("axis", 1).ints("split", {2, 1});
        m.output("a");
        m.output("b");
        const Graph g = m.import();
        EXPECT_EQ(params_of<engine::SplitParams>(g, "a").sizes, (std::vector<int64_t>{2, 1}));
        EXPECT_EQ(shape_of(g, "a"), (Shape{1, 2, 4, 4}));
        EXPECT_EQ(shape_of(g, "b"), (Shape{1, 1, 4, 4}));
        EXPECT_EQ(engine::count_ops(g, OpType::Split), 1u);
    }
    {
        OnnxModelBuilder m(13);
        m.input("x", {1, 3, 4, 4});
        m.init_i64("split", {2}, {1, 2});
        m.node("Split", {"x", "split"}, {"a", "b"}, "split").i("axis", -3);
        m.output("b");
        const Graph g = m.import();
        EXPECT_EQ(params_of<engine::SplitParams>(g, "a").axis, 1);
        EXPECT_EQ(shape_of(g, "b"), (Shape{1, 2, 4, 4}));
    }
    {
        OnnxModelBuilder m(13);
        m.input("x", {1, 6, 4, 4});
        m.node("Split", {"x"}, {"a", "b", "c"}, "split").i("axis", 1);
        m.output("c");
        const Graph g = m.import();
        EXPECT_EQ(params_of<engine::SplitParams>(g, "c").sizes, (std::vector<int64_t>{2, 2, 2}));
        EXPECT_EQ(shape_of(g, "c"), (Shape{1, 2, 4, 4}));
    }
}

TEST(ImportOps, SoftmaxCoerce2dBeforeOpset13) {
    struct Case {
        int opset;
        bool has_axis;
        int64_t axis;
        int32_t want_axis;
        bool want_coerce;
    };
    for (const Case c : {Case{11, false, 0, 1, true}, Case{11, true, -1, 2, false},
                         Case{13, false, 0, 2, false}, Case{13, true, 1, 1, false}}) {
        OnnxModelBuilder m(c.opset);
        m.input("x", {2, 3, 4});
        auto n = m.node("Softmax", {"x"}, {"y"}, "softmax");
        if (c.has_axis) n.i("axis", c.axis);
        m.output("y");
        const Graph g = m.import();
        const auto& p = params_of<engine::SoftmaxParams>(g, "y");
        EXPECT_EQ(p.axis, c.want_axis) << "opset " << c.opset;
        EXPECT_EQ(p.coerce_2d, c.want_coerce) << "opset " << c.opset;
        EXPECT_EQ(shape_of(g, "y"), (Shape{2, 3, 4}));
    }
}

TEST(ImportOps, PadAttributesAndInputs) {
    {
        OnnxModelBuilder m(9);
        m.input("x", {1, 1, 5, 6});
        m.node("Pad", {"x"}, {"y"}, "pad").ints("pads", {0, 0, 1, 2, 0, 0, 3, 4}).s("mode", "reflect");
        m.output("y");
        const Graph g = m.import();
        const auto& p = params_of<engine::PadParams>(g, "y");
        EXPECT_EQ(p.mode, engine::PadMode::Reflect);
        EXPECT_EQ(p.pads, (std::vector<int64_t>{0, 0, 1, 2, 0, 0, 3, 4}));
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 1, 9, 12}));
    }
    {
        OnnxModelBuilder m(13);
        m.input("x", {1, 1, 5, 6});
        m.init_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
        m.init_f32("value", {}, {0.5f});
        m.node("Pad", {"x", "pads", "value"}, {"y"}, "pad");
        m.output("y");
        const Graph g = m.import();
        const auto& p = params_of<engine::PadParams>(g, "y");
        EXPECT_EQ(p.mode, engine::PadMode::Constant);
        EXPECT_EQ(p.value, 0.5f);
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 1, 7, 8}));
        EXPECT_TRUE(g.value(g.find_value("y")).batched);
    }
    {
        OnnxModelBuilder m(11);
        m.input("x", {1, 2, 3});
        m.init_i64("pads", {6}, {0, 0, 1, 0, 0, 2});
        m.node("Pad", {"x", "pads"}, {"y"}, "edge").s("mode", "edge");
        m.output("y");
        const Graph g = m.import();
        EXPECT_EQ(params_of<engine::PadParams>(g, "y").mode, engine::PadMode::Edge);
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 6}));
    }
}

TEST(ImportOps, IdentityDropoutAndFloatCast) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.node("Identity", {"x"}, {"a"}, "id");
    m.node("Dropout", {"a"}, {"b", "mask_unused"}, "drop");
    m.node("Cast", {"b"}, {"y"}, "cast").i("to", ::onnx::TensorProto::FLOAT);
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(producer_of(g, "a").op, OpType::Identity);
    EXPECT_EQ(producer_of(g, "b").op, OpType::Dropout);
    EXPECT_EQ(producer_of(g, "y").op, OpType::Identity);
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 4}));
}

TEST(ImportOps, ConstantNodeVariantsBecomeConstants) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 3});
    m.node("Constant", {}, {"c_float"}, "k1").f("value_float", 2.f);
    m.node("Constant", {}, {"c_floats"}, "k2").floats("value_floats", {1.f, 2.f, 3.f});
    m.node("Constant", {}, {"c_tensor"}, "k3")
        .tensor("value", import_test::make_f32("", {1, 3}, {4.f, 5.f, 6.f}));
    m.node("Constant", {}, {"c_ints"}, "k4").ints("value_ints", {3, 1});
    m.node("Mul", {"x", "c_float"}, {"a"}, "mul");
    m.node("Add", {"a", "c_floats"}, {"b"}, "add");
    m.node("Sub", {"b", "c_tensor"}, {"c"}, "sub");
    m.node("Reshape", {"c", "c_ints"}, {"y"}, "reshape");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.num_live_nodes(), 4u);  // Constants are not nodes
    EXPECT_EQ(g.constant(g.find_value("c_float")).shape(), Shape{});
    EXPECT_EQ(g.constant(g.find_value("c_float")).to_f32(), (std::vector<float>{2.f}));
    EXPECT_EQ(g.constant(g.find_value("c_floats")).to_f32(), (std::vector<float>{1.f, 2.f, 3.f}));
    EXPECT_EQ(g.constant(g.find_value("c_tensor")).shape(), (Shape{1, 3}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{3, 1}));
}

TEST(ImportOps, FloatConstantSubgraphsStayIrNodes) {
    // Float math on constant tensors (weights) is left to fold_constants: the importer emits the node.
    OnnxModelBuilder m(13);
    m.input("x", {1, 2});
    m.init_f32("a", {1, 2}, {1.f, 2.f});
    m.init_f32("b", {1, 2}, {3.f, 4.f});
    m.node("Mul", {"a", "b"}, {"ab"}, "const_mul");
    m.node("Add", {"x", "ab"}, {"y"}, "add");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(engine::count_ops(g, OpType::Mul), 1u);
    const engine::Node& mul = producer_of(g, "ab");
    EXPECT_TRUE(g.is_constant(mul.inputs[0]));
    EXPECT_TRUE(g.is_constant(mul.inputs[1]));
    EXPECT_EQ(shape_of(g, "ab"), (Shape{1, 2}));
    EXPECT_FALSE(g.value(g.find_value("ab")).batched);
}

TEST(ImportOps, ConvWeightFromFloatConstantSubgraphIsAccepted) {
    // W = W0 * 2 (float constants): the weight is static, so Conv accepts it.
    OnnxModelBuilder m(13);
    m.input("x", {1, 2, 3, 3});
    m.init_f32("W0", {1, 2, 1, 1}, 1.f);
    m.init_f32("two", {}, {2.f});
    m.node("Mul", {"W0", "two"}, {"W"}, "scale_w");
    m.node("Conv", {"x", "W"}, {"y"}, "conv");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 1, 3, 3}));
}

}  // namespace
