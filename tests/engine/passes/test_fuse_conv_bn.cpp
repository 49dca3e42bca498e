#include <cmath>

#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::ConvSpec;
using testing_util::GraphBuilder;

TEST(FuseConvBn, FoldsIntoConvWithBias) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 8, 8});
    const ValueId z = b.batch_norm(b.conv(x, 8, 3), 1e-3f);
    b.output(z);
    const std::string z_name = b.graph().value(z).name;
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(1)), 1);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 0u);
    EXPECT_EQ(count_ops(g, OpType::Conv), 1u);
    EXPECT_EQ(g.node(pass_test::producer_of(g, z_name)).op, OpType::Conv);
}

TEST(FuseConvBn, FoldsIntoConvWithoutBias) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 6});
    ConvSpec spec;
    spec.out_channels = 5;
    spec.kernel = 3;
    spec.stride = 2;
    spec.bias = false;
    b.output(b.batch_norm(b.conv(x, spec)));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(2)), 1);
    ASSERT_EQ(count_ops(g, OpType::Conv), 1u);
    EXPECT_EQ(g.node(g.nodes_of(OpType::Conv)[0]).inputs.size(), 3u);  // gained the folded bias
}

TEST(FuseConvBn, FoldsIntoDepthwiseConv) {
    GraphBuilder b;
    const ValueId x = b.input({2, 6, 7, 7});
    b.output(b.batch_norm(b.conv(x, 6, 3, 1, /*group=*/6)));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(3)), 1);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 0u);
}

TEST(FuseConvBn, FoldedWeightsMatchHandComputedValues) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 2, 2});
    const ValueId w = b.constant(Tensor::from_f32({2, 2, 1, 1}, std::vector<float>{1.f, 2.f, 3.f, 4.f}));
    const ValueId bias = b.constant(Tensor::from_f32({2}, std::vector<float>{0.5f, -1.f}));
    const ValueId y = b.conv_with(x, w, bias, ConvParams{});
    const ValueId gamma = b.constant(Tensor::from_f32({2}, std::vector<float>{2.f, 0.5f}));
    const ValueId beta = b.constant(Tensor::from_f32({2}, std::vector<float>{0.1f, -0.2f}));
    const ValueId mean = b.constant(Tensor::from_f32({2}, std::vector<float>{1.f, 2.f}));
    const ValueId var = b.constant(Tensor::from_f32({2}, std::vector<float>{3.f, 0.25f}));
    b.output(b.batch_norm_with(y, gamma, beta, mean, var, /*epsilon=*/1.f));
    Graph g = b.build();
    const std::shared_ptr<const Tensor> old_w = g.value(w).constant;

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(4)), 1);
    ASSERT_EQ(count_ops(g, OpType::Conv), 1u);
    const Node& conv = g.node(g.nodes_of(OpType::Conv)[0]);
    // s = gamma / sqrt(var + eps) = {2 / 2, 0.5 / sqrt(1.25)}
    const float s1 = 0.5f / std::sqrt(1.25f);
    const std::vector<float> new_w = g.constant(conv.inputs[1]).to_f32();
    const std::vector<float> new_b = g.constant(conv.inputs[2]).to_f32();
    ASSERT_EQ(new_w.size(), 4u);
    EXPECT_NEAR(new_w[0], 1.f, 1e-6f);
    EXPECT_NEAR(new_w[1], 2.f, 1e-6f);
    EXPECT_NEAR(new_w[2], 3.f * s1, 1e-6f);
    EXPECT_NEAR(new_w[3], 4.f * s1, 1e-6f);
    ASSERT_EQ(new_b.size(), 2u);
    EXPECT_NEAR(new_b[0], (0.5f - 1.f) * 1.f + 0.1f, 1e-6f);
    EXPECT_NEAR(new_b[1], (-1.f - 2.f) * s1 - 0.2f, 1e-6f);
    // The original weight tensor is untouched.
    const std::vector<float> kept = old_w->to_f32();
    EXPECT_EQ(kept, (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
}

TEST(FuseConvBn, WeightsSharedWithAnotherConvStayIntact) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 5, 5});
    const ValueId w = b.random_constant({4, 3, 3, 3}, -0.3f, 0.3f);
    const ValueId bias = b.random_constant({4});
    ConvParams p;
    p.kernel = {3, 3};
    p.pads = {1, 1, 1, 1};
    b.output(b.batch_norm(b.conv_with(x, w, bias, p)));
    b.output(b.conv_with(x, w, bias, p));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(5)), 1);
    EXPECT_EQ(count_ops(g, OpType::Conv), 2u);
}

TEST(FuseConvBn, SkipsConvOutputWithTwoConsumers) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    const ValueId y = b.conv(x, 4, 3);
    b.output(b.batch_norm(y));
    b.output(b.relu(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(6)), 0);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 1u);
}

TEST(FuseConvBn, SkipsConvOutputThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    const ValueId y = b.conv(x, 4, 3);
    b.output(y);
    b.output(b.batch_norm(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(7)), 0);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 1u);
}

TEST(FuseConvBn, SkipsNonConstantBnParameters) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    const ValueId gamma = b.input({4}, /*batched=*/false);
    const ValueId y = b.conv(x, 4, 3);
    b.output(b.batch_norm_with(y, gamma, b.random_constant({4}), b.random_constant({4}),
                               b.random_constant({4}, 0.5f, 1.f)));
    Graph g = b.build();
    std::vector<Tensor> inputs = b.random_inputs(8);

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, inputs), 0);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 1u);
}

TEST(FuseConvBn, SkipsConvWithAFusedActivation) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    ConvParams p;
    p.act.kind = ActKind::Relu;
    b.output(b.batch_norm(b.conv_with(x, b.random_constant({4, 3, 1, 1}), b.random_constant({4}), p)));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, fuse_conv_bn, b.random_inputs(9)), 0);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 1u);
}

}  // namespace
