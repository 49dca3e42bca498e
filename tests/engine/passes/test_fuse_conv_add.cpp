#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using pass_test::conv_params;
using testing_util::ConvSpec;
using testing_util::GraphBuilder;

class FuseConvAddOrder : public ::testing::TestWithParam<bool> {};

TEST_P(FuseConvAddOrder, AddOfConvAndResidualBecomesResidualConv) {
    const bool conv_first = GetParam();
    GraphBuilder b;
    const ValueId x = b.input({2, 4, 6, 6});
    const ValueId r = b.leaky_relu(x);
    const ValueId y = b.conv(r, 4, 3);
    const ValueId z = conv_first ? b.add(y, r) : b.add(r, y);
    b.output(z);
    const std::string z_name = b.graph().value(z).name;
    const std::string r_name = b.graph().value(r).name;
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(1)), 1);
    EXPECT_EQ(count_ops(g, OpType::Add), 0u);
    const NodeId conv = pass_test::producer_of(g, z_name);
    ASSERT_NE(conv, kNoNode);
    ASSERT_EQ(g.node(conv).op, OpType::Conv);
    EXPECT_TRUE(conv_params(g, conv).residual);
    ASSERT_EQ(g.node(conv).inputs.size(), 4u);
    EXPECT_EQ(g.value(g.node(conv).inputs[3]).name, r_name);
}

INSTANTIATE_TEST_SUITE_P(BothOperandOrders, FuseConvAddOrder, ::testing::Bool());

TEST(FuseConvAdd, WhenBothOperandsAreConvsTheLaterConvTakesTheResidual) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    const ValueId y1 = b.conv(x, 4, 1);
    const ValueId y2 = b.conv(x, 4, 3);
    const NodeId first = b.producer(y1);
    const NodeId second = b.producer(y2);
    b.output(b.add(y1, y2));
    Graph g = b.build();
    const std::string first_name = g.node(first).name;
    const std::string second_name = g.node(second).name;

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(2)), 1);
    ASSERT_EQ(count_ops(g, OpType::Conv), 2u);
    EXPECT_EQ(count_ops(g, OpType::Add), 0u);
    for (NodeId n : g.nodes_of(OpType::Conv)) {
        if (g.node(n).name == second_name) {
            EXPECT_TRUE(conv_params(g, n).residual);
        } else {
            EXPECT_EQ(g.node(n).name, first_name);
            EXPECT_FALSE(conv_params(g, n).residual);
        }
    }
}

TEST(FuseConvAdd, ResidualIsAddedAfterTheConvActivation) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 5, 5});
    ConvParams p;
    p.kernel = {3, 3};
    p.pads = {1, 1, 1, 1};
    p.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    const ValueId y = b.conv_with(x, b.random_constant({2, 2, 3, 3}), b.random_constant({2}), p);
    b.output(b.add(y, x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(3)), 1);
    const ConvParams& fused = conv_params(g, g.nodes_of(OpType::Conv)[0]);
    EXPECT_TRUE(fused.residual);
    EXPECT_EQ(fused.act.kind, ActKind::LeakyRelu);
}

TEST(FuseConvAdd, ConvWithoutBiasGetsAZeroBias) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    ConvSpec spec;
    spec.out_channels = 3;
    spec.kernel = 3;
    spec.bias = false;
    b.output(b.add(b.conv(x, spec), x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(4)), 1);
    const Node& conv = g.node(g.nodes_of(OpType::Conv)[0]);
    ASSERT_EQ(conv.inputs.size(), 4u);
    EXPECT_EQ(g.constant(conv.inputs[2]).to_f32(), std::vector<float>(3, 0.f));
}

TEST(FuseConvAdd, SkipsBroadcastingAdd) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId r = b.input({1, 4, 1, 1});
    b.output(b.add(b.conv(x, 4, 3), r));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(5)), 0);
    EXPECT_EQ(count_ops(g, OpType::Add), 1u);
}

TEST(FuseConvAdd, SkipsConvOutputWithTwoConsumers) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 4, 4});
    const ValueId y = b.conv(x, 4, 3);
    b.output(b.add(y, x));
    b.output(b.relu(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(6)), 0);
    EXPECT_EQ(count_ops(g, OpType::Add), 1u);
}

TEST(FuseConvAdd, SkipsConvOutputThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 4, 4});
    const ValueId y = b.conv(x, 4, 3);
    b.output(y);
    b.output(b.add(y, x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(7)), 0);
}

TEST(FuseConvAdd, SkipsAddOfTheConvOutputToItself) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 4, 4});
    const ValueId y = b.conv(x, 4, 3);
    b.output(b.add(y, y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(8)), 0);
    EXPECT_EQ(count_ops(g, OpType::Add), 1u);
}

TEST(FuseConvAdd, SkipsConvThatAlreadyHasAResidual) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3});
    ConvParams p;
    p.residual = true;
    const std::vector<ValueId> y =
        b.op(OpType::Conv, {x, b.random_constant({2, 2, 1, 1}), b.random_constant({2}), x}, p,
             {{DataType::F32, {1, 2, 3, 3}}}, true);
    b.output(b.add(y[0], x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_add, b.random_inputs(9)), 0);
}

}  // namespace
