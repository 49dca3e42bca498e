#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using pass_test::conv_params;
using testing_util::GraphBuilder;

struct ActCase {
    OpType op;
    ActKind kind;
    UnaryParams params;
};

class FuseConvActKinds : public ::testing::TestWithParam<ActCase> {};

TEST_P(FuseConvActKinds, FoldsTheActivationIntoTheConv) {
    const ActCase& c = GetParam();
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 6, 6});
    b.output(b.unary(c.op, b.conv(x, 4, 3), c.params));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(1)), 1);
    EXPECT_EQ(count_ops(g, c.op), 0u);
    ASSERT_EQ(count_ops(g, OpType::Conv), 1u);
    const ConvParams& p = conv_params(g, g.nodes_of(OpType::Conv)[0]);
    EXPECT_EQ(p.act.kind, c.kind);
    if (c.kind == ActKind::LeakyRelu) {
        EXPECT_EQ(p.act.alpha, c.params.alpha);
    }
    if (c.kind == ActKind::Clip) {
        EXPECT_EQ(p.act.alpha, c.params.alpha);
        EXPECT_EQ(p.act.beta, c.params.beta);
    }
    EXPECT_EQ(p.post_act.kind, ActKind::None);
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, FuseConvActKinds,
                         ::testing::Values(ActCase{OpType::Relu, ActKind::Relu, {}},
                                           ActCase{OpType::LeakyRelu, ActKind::LeakyRelu, {0.1f, 0.f}},
                                           ActCase{OpType::Sigmoid, ActKind::Sigmoid, {}},
                                           ActCase{OpType::Tanh, ActKind::Tanh, {}},
                                           ActCase{OpType::Softplus, ActKind::Softplus, {}},
                                           ActCase{OpType::Mish, ActKind::Mish, {}},
                                           ActCase{OpType::Silu, ActKind::Silu, {}},
                                           ActCase{OpType::Clip, ActKind::Clip, {-0.2f, 0.3f}}));

TEST(FuseConvAct, ActivationAfterResidualBecomesPostAct) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 5, 5});
    const ValueId r = b.input({1, 4, 5, 5});
    ConvParams p;
    p.kernel = {3, 3};
    p.pads = {1, 1, 1, 1};
    p.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    p.residual = true;
    const std::vector<ValueId> y =
        b.op(OpType::Conv, {x, b.random_constant({4, 4, 3, 3}, -0.3f, 0.3f), b.random_constant({4}), r}, p,
             {{DataType::F32, {1, 4, 5, 5}}}, true);
    b.output(b.relu(y[0]));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(2)), 1);
    EXPECT_EQ(count_ops(g, OpType::Relu), 0u);
    const ConvParams& fused = conv_params(g, g.nodes_of(OpType::Conv)[0]);
    EXPECT_EQ(fused.act.kind, ActKind::LeakyRelu);
    EXPECT_EQ(fused.post_act.kind, ActKind::Relu);
}

TEST(FuseConvAct, FoldsOnlyTheFirstOfTwoActivations) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    b.output(b.sigmoid(b.relu(b.conv(x, 2, 1))));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(3)), 1);
    EXPECT_EQ(count_ops(g, OpType::Relu), 0u);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 1u);
    EXPECT_EQ(conv_params(g, g.nodes_of(OpType::Conv)[0]).act.kind, ActKind::Relu);
}

TEST(FuseConvAct, SkipsConvOutputWithTwoConsumers) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId y = b.conv(x, 2, 3);
    b.output(b.relu(y));
    b.output(b.sigmoid(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(4)), 0);
    EXPECT_EQ(conv_params(g, g.nodes_of(OpType::Conv)[0]).act.kind, ActKind::None);
}

TEST(FuseConvAct, SkipsConvOutputThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId y = b.conv(x, 2, 3);
    b.output(y);
    b.output(b.relu(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(5)), 0);
    EXPECT_EQ(count_ops(g, OpType::Relu), 1u);
}

TEST(FuseConvAct, SkipsResidualConvWithPostActAlreadySet) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3});
    ConvParams p;
    p.residual = true;
    p.post_act.kind = ActKind::Relu;
    const std::vector<ValueId> y = b.op(
        OpType::Conv, {x, b.random_constant({2, 2, 1, 1}), b.random_constant({2}), b.input({1, 2, 3, 3})}, p,
        {{DataType::F32, {1, 2, 3, 3}}}, true);
    b.output(b.sigmoid(y[0]));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_act, b.random_inputs(6)), 0);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 1u);
}

}  // namespace
