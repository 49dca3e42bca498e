#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

class FuseActivationOrder : public ::testing::TestWithParam<bool> {};

TEST_P(FuseActivationOrder, MulBySigmoidBecomesSilu) {
    const bool gate_first = GetParam();
    GraphBuilder b;
    const ValueId x = b.relu(b.input({2, 3, 5, 5}));
    const ValueId s = b.sigmoid(x);
    const ValueId y = gate_first ? b.mul(s, x) : b.mul(x, s);
    b.output(y);
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(1)), 1);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 0u);
    EXPECT_EQ(count_ops(g, OpType::Mul), 0u);
    ASSERT_EQ(count_ops(g, OpType::Silu), 1u);
    const Node& silu = g.node(g.nodes_of(OpType::Silu)[0]);
    EXPECT_EQ(g.node(g.value(silu.inputs[0]).producer).op, OpType::Relu);
}

TEST_P(FuseActivationOrder, MulByTanhOfSoftplusBecomesMish) {
    const bool gate_first = GetParam();
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 3, 3});
    const ValueId t = b.tanh(b.softplus(x));
    b.output(gate_first ? b.mul(t, x) : b.mul(x, t));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(2)), 1);
    EXPECT_EQ(count_ops(g, OpType::Tanh), 0u);
    EXPECT_EQ(count_ops(g, OpType::Softplus), 0u);
    EXPECT_EQ(count_ops(g, OpType::Mul), 0u);
    EXPECT_EQ(count_ops(g, OpType::Mish), 1u);
    EXPECT_EQ(g.num_live_nodes(), 1u);
}

INSTANTIATE_TEST_SUITE_P(BothOperandOrders, FuseActivationOrder, ::testing::Bool());

TEST(FuseActivation, FusesEverySiluOfAChain) {
    GraphBuilder b;
    ValueId x = b.input({1, 2, 4, 4});
    for (int i = 0; i < 3; ++i) x = b.mul(x, b.sigmoid(x));
    b.output(x);
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(3)), 3);
    EXPECT_EQ(count_ops(g, OpType::Silu), 3u);
    EXPECT_EQ(g.num_live_nodes(), 3u);
}

TEST(FuseActivation, SkipsSigmoidWithAnotherConsumer) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    const ValueId s = b.sigmoid(x);
    b.output(b.mul(x, s));
    b.output(b.relu(s));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(4)), 0);
    EXPECT_EQ(count_ops(g, OpType::Silu), 0u);
}

TEST(FuseActivation, SkipsSigmoidThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    const ValueId s = b.sigmoid(x);
    b.output(s);
    b.output(b.mul(s, x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(5)), 0);
}

TEST(FuseActivation, SkipsMulOfADifferentValue) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    b.output(b.mul(b.relu(x), b.sigmoid(x)));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(6)), 0);
    EXPECT_EQ(count_ops(g, OpType::Mul), 1u);
}

TEST(FuseActivation, SkipsSoftplusWithAnotherConsumer) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    const ValueId sp = b.softplus(x);
    b.output(b.mul(x, b.tanh(sp)));
    b.output(sp);
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_activation, b.random_inputs(7)), 0);
    EXPECT_EQ(count_ops(g, OpType::Mish), 0u);
}

}  // namespace
