// fold_qdq (INT8 builds): a symmetric 8-bit fake quantization per tensor goes and its scale becomes
// the amax (127 * scale) of the value its consumers then read, by hand; what stays a float FakeQuant;
// the pipeline runs it only for INT8; quantized weights folded to float give the INT8 builder's
// per-channel requantization back the model's integers.
#include <cmath>

#include "engine/refmath/ref_int8.h"
#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using testing_util::GraphBuilder;

// The fold on a graph whose pairs fuse_qdq has made FakeQuants.
int fold(Graph& g) {
    fuse_qdq(g);
    const int n = fold_qdq(g).rewrites;
    pass_test::check_and_compact(g);
    return n;
}

float amax_of(const Graph& g, const std::string& name) { return g.value(g.find_value(name)).amax; }

TEST(FoldQdq, SymmetricInt8SetsTheAmaxOfTheInput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4}, true, "x");
    b.output(b.conv(b.qdq(x, {0.0625f}, {0}), 4, 3));
    Graph g = b.build();
    EXPECT_EQ(fold(g), 1);
    EXPECT_EQ(count_ops(g, OpType::FakeQuant), 0u);
    EXPECT_EQ(amax_of(g, "x"), 7.9375f);  // 127 / 16
    // The conv now reads x itself.
    EXPECT_EQ(g.node(g.nodes_of(OpType::Conv)[0]).inputs[0], g.find_value("x"));
}

TEST(FoldQdq, Uint8WithZeroPoint128IsSymmetric) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3}, true, "x");
    b.output(b.relu(b.qdq(x, {0.03f}, {128}, DataType::U8)));
    Graph g = b.build();
    EXPECT_EQ(fold(g), 1);
    EXPECT_EQ(amax_of(g, "x"), 127.0f * 0.03f);
    EXPECT_NEAR(amax_of(g, "x") / 127.0f, 0.03f, 1e-9f);
}

TEST(FoldQdq, KeepsWhatIsNotSymmetricPerTensor) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3}, true, "x");
    const ValueId a = b.relu(x);
    b.graph().value(a).name = "a";
    b.output(b.qdq(a, {0.05f}, {3}, DataType::U8));              // asymmetric uint8
    b.output(b.qdq(a, {0.05f}, {0}, DataType::U8));              // uint8 around 0: asymmetric too
    b.output(b.qdq(a, {0.05f}, {1}, DataType::I8));              // int8 with a zero point
    b.output(b.qdq(a, {0.05f, 0.1f}, {0, 0}, DataType::I8, 1));  // per axis
    b.output(b.dequantize_linear(b.quantize_linear(a, {0.05f}, {0}), {0.1f}, {0}));  // Q and DQ differ
    Graph g = b.build();
    const std::vector<Tensor> before = run_reference(g, b.random_inputs(5));
    EXPECT_EQ(fold(g), 0);
    EXPECT_EQ(count_ops(g, OpType::FakeQuant), 5u);
    EXPECT_EQ(amax_of(g, "a"), 0.f);
    pass_test::expect_outputs_match(run_reference(g, b.random_inputs(5)), before, 0.0);
}

TEST(FoldQdq, AGraphOutputKeepsItsNameAndGetsTheAmax) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3}, true, "x");
    const ValueId y = b.qdq(b.conv(x, 2, 1), {0.125f}, {0});
    b.graph().value(y).name = "y";
    b.output(y);
    // x is read by a second FakeQuant that is a graph output: x (a graph input) cannot write it.
    const ValueId z = b.qdq(x, {0.5f}, {0});
    b.graph().value(z).name = "z";
    b.output(z);
    Graph g = b.build();
    EXPECT_EQ(fold(g), 1);
    ASSERT_EQ(g.outputs().size(), 2u);
    EXPECT_EQ(g.value(g.outputs()[0]).name, "y");
    EXPECT_EQ(g.node(g.value(g.outputs()[0]).producer).op, OpType::Conv);  // the conv writes y
    EXPECT_EQ(amax_of(g, "y"), 15.875f);
    EXPECT_EQ(g.node(g.value(g.outputs()[1]).producer).op, OpType::FakeQuant);
    EXPECT_EQ(amax_of(g, "x"), 0.f);
}

TEST(FoldQdq, TwoScalesOnOneValue) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3}, true, "x");
    b.output(b.relu(b.qdq(x, {0.25f}, {0})));
    b.output(b.sigmoid(b.qdq(x, {0.25f}, {0})));  // the same scale: folds too
    b.output(b.tanh(b.qdq(x, {0.5f}, {0})));      // another: stays a float FakeQuant
    Graph g = b.build();
    EXPECT_EQ(fold(g), 2);
    EXPECT_EQ(count_ops(g, OpType::FakeQuant), 1u);
    EXPECT_EQ(amax_of(g, "x"), 31.75f);
}

TEST(FoldQdq, PipelineRunsItForInt8Only) {
    // x -> QDQ -> conv -> QDQ -> leaky -> QDQ -> conv (onnxruntime's QDQ format quantizes the conv's
    // output and the activation's): in FP32 the fake quantizations stay float ops and one stands
    // between the conv and its activation; in INT8 they go, the conv fuses the activation and its
    // output 'a' carries the range of the activation's quantization (the conv's own is dropped with
    // its value: an INT8 conv quantizes after its fused activation).
    auto make = [] {
        GraphBuilder b;
        const ValueId x = b.input({1, 3, 6, 6}, true, "x");
        const ValueId a = b.leaky_relu(b.qdq(b.conv(b.qdq(x, {0.02f}, {0}), 4, 3), {0.04f}, {0}), 0.1f);
        b.graph().value(a).name = "a";
        b.output(b.conv(b.qdq(a, {0.08f}, {0}), 2, 1));
        return b.build();
    };
    Graph fp32 = make();
    run_passes(fp32);
    EXPECT_EQ(count_ops(fp32, OpType::FakeQuant), 3u);
    EXPECT_EQ(count_ops(fp32, OpType::LeakyRelu), 1u);
    Graph int8 = make();
    run_passes(int8, {}, PipelineOptions{.int8 = true});
    EXPECT_EQ(count_ops(int8, OpType::FakeQuant), 0u);
    EXPECT_EQ(count_ops(int8, OpType::LeakyRelu), 0u);  // fused into the first conv
    EXPECT_EQ(amax_of(int8, "x"), 127.0f * 0.02f);
    EXPECT_EQ(amax_of(int8, "a"), 127.0f * 0.08f);
    const ValueId a = int8.find_value("a");
    EXPECT_EQ(int8.node(int8.value(a).producer).op, OpType::Conv);
    // Disabling it by name in an INT8 build keeps the fake quantizations.
    Graph kept = make();
    run_passes(kept, {"fold_qdq"}, PipelineOptions{.int8 = true});
    EXPECT_EQ(count_ops(kept, OpType::FakeQuant), 3u);
}

TEST(FoldQdq, QuantizedWeightsRequantizeToTheSameIntegers) {
    // Per-channel symmetric int8 weights whose channels reach 127 in magnitude (max calibration), as
    // DequantizeLinear initializers: folded to float, then quantized again per channel as the INT8
    // builder does (scale = max |W_c| / 127): the same integers and the same scales.
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 3, 3});
    const Shape shape{3, 4, 3, 3};
    Tensor wq(DataType::I8, shape);
    std::vector<int8_t> q(36 * 3);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
    q[5] = 127;
    q[36 + 7] = -127;
    q[72 + 3] = 127;
    std::copy(q.begin(), q.end(), wq.data_as<int8_t>());
    const std::vector<float> scales = {0.0123f, 0.00071f, 0.37f};
    const ValueId w = b.dequantize_linear(b.constant(wq, "wq"), scales, {0, 0, 0}, 0);
    ConvParams p;
    p.kernel = {3, 3};
    p.pads = {1, 1, 1, 1};
    b.output(b.conv_with(x, w, kNoValue, p));
    Graph g = b.build();
    run_passes(g, {}, PipelineOptions{.int8 = true});
    const Node& conv = g.node(g.nodes_of(OpType::Conv)[0]);
    const Tensor& wf = g.constant(conv.inputs[1]);
    ASSERT_EQ(wf.dtype(), DataType::F32);
    const QuantizedWeights back = quantize_weights_per_channel(wf.data_as<float>(), shape);
    EXPECT_EQ(back.q, q);
    for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(back.scale[c], scales[c], scales[c] * 1.2e-7f) << c;
}

}  // namespace
