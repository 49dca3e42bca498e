// fuse_qdq: QuantizeLinear -> DequantizeLinear pairs on run-time values become one float FakeQuant
// (outputs equal to the bit), fan-out and per-axis pairs, and what it leaves alone; fold_constants on
// quantized weights (DequantizeLinear of int8 initializers, QuantizeLinear -> DequantizeLinear of
// float ones) gives the float weights by hand.
#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

std::vector<float> f32_values(const Graph& g, ValueId v) { return g.constant(v).to_f32(); }

TEST(FuseQdq, APairBecomesOneFakeQuant) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 4, 4});
    b.output(b.relu(b.qdq(x, {0.1f}, {3}, DataType::U8)));
    Graph g = b.build();
    EXPECT_EQ(apply_and_compare(g, fuse_qdq, b.random_inputs(1), 0.0), 1);
    EXPECT_EQ(count_ops(g, OpType::QuantizeLinear), 0u);
    EXPECT_EQ(count_ops(g, OpType::DequantizeLinear), 0u);
    ASSERT_EQ(count_ops(g, OpType::FakeQuant), 1u);
    const Node& fq = g.node(g.nodes_of(OpType::FakeQuant)[0]);
    EXPECT_EQ(std::get<QuantParams>(fq.params).qtype, DataType::U8);
    EXPECT_EQ(fq.inputs[0], g.inputs()[0]);
    EXPECT_EQ(f32_values(g, fq.inputs[1]), (std::vector<float>{0.1f}));
    EXPECT_EQ(f32_values(g, fq.inputs[2]), (std::vector<float>{3.f}));  // the zero point, as f32
    EXPECT_EQ(g.constant(fq.inputs[2]).dtype(), DataType::F32);
    EXPECT_EQ(f32_values(g, fq.inputs[3]), (std::vector<float>{0.1f}));
    EXPECT_EQ(f32_values(g, fq.inputs[4]), (std::vector<float>{3.f}));
}

TEST(FuseQdq, OneQuantizeReadByTwoDequantizes) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 3, 3});
    const ValueId q = b.quantize_linear(x, {0.05f}, {0});
    b.output(b.dequantize_linear(q, {0.05f}, {0}));
    b.output(b.sigmoid(b.dequantize_linear(q, {0.1f}, {2})));  // a DQ with other parameters
    Graph g = b.build();
    EXPECT_EQ(apply_and_compare(g, fuse_qdq, b.random_inputs(2), 0.0), 2);
    EXPECT_EQ(count_ops(g, OpType::QuantizeLinear), 0u);
    EXPECT_EQ(count_ops(g, OpType::FakeQuant), 2u);
}

TEST(FuseQdq, PerAxisPairs) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 4, 4});
    const ValueId a = b.qdq(x, {0.1f, 0.02f, 0.3f}, {0, 5, -7}, DataType::I8, 1);
    const ValueId q = b.quantize_linear(a, {0.1f, 0.2f, 0.3f, 0.4f}, {0, 0, 0, 0}, DataType::I8, 3);
    b.output(b.dequantize_linear(q, {0.5f}, {1}));  // per-axis Q, per-tensor DQ
    Graph g = b.build();
    EXPECT_EQ(apply_and_compare(g, fuse_qdq, b.random_inputs(3), 0.0), 2);
    ASSERT_EQ(count_ops(g, OpType::FakeQuant), 2u);
    for (NodeId n : g.nodes_of(OpType::FakeQuant)) {
        const int axis = std::get<QuantParams>(g.node(n).params).axis;
        EXPECT_TRUE(axis == 1 || axis == 3);
    }
}

TEST(FuseQdq, LeavesWhatItCannotFuse) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 4});
    // The quantized tensor is also a graph output: the Q stays (the builder refuses it).
    const ValueId q = b.quantize_linear(x, {0.5f}, {0});
    b.output(q);
    b.output(b.dequantize_linear(q, {0.5f}, {0}));
    // Per-axis scales on different axes: not one FakeQuant.
    const ValueId q2 = b.quantize_linear(x, {1.f, 2.f}, {0, 0}, DataType::I8, 1);
    b.output(b.dequantize_linear(q2, {1.f, 2.f, 3.f}, {0, 0, 0}, 2));
    Graph g = b.build();
    EXPECT_EQ(fuse_qdq(g).rewrites, 1);
    pass_test::check_and_compact(g);
    EXPECT_EQ(count_ops(g, OpType::QuantizeLinear), 2u);
    EXPECT_EQ(count_ops(g, OpType::DequantizeLinear), 1u);
    EXPECT_EQ(count_ops(g, OpType::FakeQuant), 1u);
}

TEST(FoldConstants, QuantizedWeightsBecomeFloatConstants) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3});
    // int8 weights [2, 2, 1, 1], per output channel: (q - z) * s.
    Tensor wq(DataType::I8, {2, 2, 1, 1});
    const int8_t qv[4] = {127, -3, 5, -127};
    std::copy(qv, qv + 4, wq.data_as<int8_t>());
    const ValueId w = b.dequantize_linear(b.constant(wq, "wq"), {0.5f, 0.25f}, {0, 1}, 0);
    // float bias through a QuantizeLinear -> DequantizeLinear pair: 0.3 / 0.125 = 2.4 -> 2 -> 0.25;
    // -0.7 / 0.125 = -5.6 -> -6 -> -0.75.
    const ValueId bias =
        b.qdq(b.constant(Tensor::from_f32({2}, std::vector<float>{0.3f, -0.7f})), {0.125f}, {0});
    ConvParams p;
    b.output(b.conv_with(x, w, bias, p));
    Graph g = b.build();
    EXPECT_EQ(apply_and_compare(g, fold_constants, b.random_inputs(4), 0.0), 3);
    const Node& conv = g.node(g.nodes_of(OpType::Conv)[0]);
    EXPECT_EQ(f32_values(g, conv.inputs[1]), (std::vector<float>{63.5f, -1.5f, 1.f, -32.f}));
    EXPECT_EQ(f32_values(g, conv.inputs[2]), (std::vector<float>{0.25f, -0.75f}));
    EXPECT_EQ(count_ops(g, OpType::DequantizeLinear) + count_ops(g, OpType::QuantizeLinear), 0u);
}

}  // namespace
