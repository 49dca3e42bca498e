#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

TEST(EliminateDead, RemovesAnUnusedChainToAFixedPoint) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    b.output(b.relu(x));
    b.tanh(b.sigmoid(b.conv(x, 3, 3)));  // nobody reads it
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_dead, b.random_inputs(1)), 3);
    EXPECT_EQ(g.num_live_nodes(), 1u);
    EXPECT_EQ(count_ops(g, OpType::Conv), 0u);
    EXPECT_EQ(g.num_nodes(), 1u);  // compacted away
}

TEST(EliminateDead, KeepsANodeWithOneUsedOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 2, 2});
    const std::vector<ValueId> parts = b.split(x, 1, {1, 3});
    b.output(b.relu(parts[1]));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_dead, b.random_inputs(2)), 0);
    EXPECT_EQ(count_ops(g, OpType::Split), 1u);
}

TEST(EliminateDead, KeepsGraphOutputsWithoutConsumers) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3});
    const ValueId r = b.relu(x);
    b.output(r);
    b.output(b.sigmoid(r));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_dead, b.random_inputs(3)), 0);
    EXPECT_EQ(g.num_live_nodes(), 2u);
}

}  // namespace
