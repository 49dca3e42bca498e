#include <cmath>

#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

TEST(FoldConstants, FoldsAChainOfConstantNodes) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 4, 4});
    const ValueId c = b.constant(Tensor::from_f32({1, 3, 1, 1}, std::vector<float>{-1.f, 0.f, 2.f}));
    const ValueId k = b.constant(Tensor::from_f32({1, 3, 1, 1}, std::vector<float>{3.f, 4.f, 5.f}));
    const ValueId scale = b.mul(b.sigmoid(c), k);  // sigmoid(c) * k, both nodes constant
    const ValueId y = b.add(x, scale);
    b.output(y);
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fold_constants, b.random_inputs(1)), 2);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 0u);
    EXPECT_EQ(count_ops(g, OpType::Mul), 0u);
    ASSERT_EQ(count_ops(g, OpType::Add), 1u);

    // The folded value, checked by hand: k / (1 + e^-c).
    const Node& add = g.node(g.nodes_of(OpType::Add)[0]);
    ASSERT_TRUE(g.is_constant(add.inputs[1]));
    const std::vector<float> folded = g.constant(add.inputs[1]).to_f32();
    const float want[3] = {3.f / (1.f + std::exp(1.f)), 4.f * 0.5f, 5.f / (1.f + std::exp(-2.f))};
    ASSERT_EQ(folded.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(folded[i], want[i], 1e-6f) << i;
    EXPECT_EQ(g.constant(add.inputs[1]).shape(), (Shape{1, 3, 1, 1}));
}

TEST(FoldConstants, ConstantGraphOutputBecomesAConstant) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3});
    b.output(b.relu(x));
    b.output(b.tanh(b.constant(Tensor::from_f32({2}, std::vector<float>{0.5f, -1.f}))));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fold_constants, b.random_inputs(2)), 1);
    EXPECT_EQ(count_ops(g, OpType::Tanh), 0u);
    EXPECT_EQ(count_ops(g, OpType::Relu), 1u);
    ASSERT_EQ(g.outputs().size(), 2u);
    ASSERT_TRUE(g.is_constant(g.outputs()[1]));
    const std::vector<float> got = g.constant(g.outputs()[1]).to_f32();
    EXPECT_NEAR(got[0], std::tanh(0.5f), 1e-6f);
    EXPECT_NEAR(got[1], std::tanh(-1.f), 1e-6f);
}

TEST(FoldConstants, FoldsAConvOnConstants) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 5, 5});
    const ValueId c = b.random_constant({1, 2, 5, 5});
    const ValueId folded = b.conv(c, 4, 3);
    b.output(b.add(x, folded));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fold_constants, b.random_inputs(3)), 1);
    EXPECT_EQ(count_ops(g, OpType::Conv), 0u);
}

TEST(FoldConstants, LeavesNodesWithRuntimeInputs) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    b.output(b.mul(b.sigmoid(x), b.random_constant({1, 2, 1, 1})));
    Graph g = b.build();
    const size_t nodes = g.num_live_nodes();

    EXPECT_EQ(apply_and_compare(g, fold_constants, b.random_inputs(4)), 0);
    EXPECT_EQ(g.num_live_nodes(), nodes);
}

}  // namespace
