#include <string>

#include "engine/core/error.h"
#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::conv_params;
using pass_test::expect_outputs_match;
using testing_util::ConvSpec;
using testing_util::GraphBuilder;

// Darknet's "convolutional" block: conv (no bias) -> batch norm -> leaky 0.1.
ValueId cbl(GraphBuilder& b, ValueId x, int out_channels, int kernel, int stride = 1) {
    ConvSpec spec;
    spec.out_channels = out_channels;
    spec.kernel = kernel;
    spec.stride = stride;
    spec.bias = false;
    return b.leaky_relu(b.batch_norm(b.conv(x, spec)), 0.1f);
}

// YOLOv5's Conv block: conv -> batch norm -> x * sigmoid(x), as exported to ONNX.
ValueId cbs(GraphBuilder& b, ValueId x, int out_channels, int kernel, int stride = 1) {
    const ValueId y = b.batch_norm(b.conv(x, out_channels, kernel, stride));
    return b.mul(y, b.sigmoid(y));
}

struct Yolo3Like {
    GraphBuilder b;
    std::string shortcut;  // the residual add's output
    std::string route;     // the concat's output
};

// A YOLOv3 miniature: residual block, downsample, head, route with upsample, second head.
Yolo3Like make_yolo3_like() {
    Yolo3Like m;
    GraphBuilder& b = m.b;
    const ValueId x = b.input({2, 3, 16, 16}, true, "images");
    const ValueId c0 = cbl(b, x, 8, 3);
    const ValueId c2 = cbl(b, cbl(b, c0, 4, 1), 8, 3);
    const ValueId s = b.add(c2, c0);  // [shortcut] from=-3, activation=linear
    const ValueId d = b.dropout(cbl(b, s, 8, 3, 2));
    b.output(b.conv(d, 6, 1));  // head 1, linear
    const ValueId u = b.upsample(cbl(b, b.identity(d), 4, 1), 2);
    const ValueId cat = b.concat({u, s});       // [route] layers=-1, <shortcut>
    b.output(b.conv(cbl(b, cat, 8, 3), 6, 1));  // head 2
    m.shortcut = b.graph().value(s).name;
    m.route = b.graph().value(cat).name;
    return m;
}

TEST(Pipeline, Yolo3LikeChainFusesToConvsAndKeepsOutputs) {
    Yolo3Like m = make_yolo3_like();
    Graph g = m.b.build();
    const std::vector<Tensor> inputs = m.b.random_inputs(1);
    const std::vector<Tensor> before = run_reference(g, inputs);

    run_passes(g);

    expect_outputs_match(run_reference(g, inputs), before);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 0u);
    EXPECT_EQ(count_ops(g, OpType::LeakyRelu), 0u);
    EXPECT_EQ(count_ops(g, OpType::Add), 0u);
    EXPECT_EQ(count_ops(g, OpType::Dropout), 0u);
    EXPECT_EQ(count_ops(g, OpType::Identity), 0u);
    EXPECT_EQ(count_ops(g, OpType::Conv), 8u);
    EXPECT_EQ(count_ops(g, OpType::Resize), 1u);
    EXPECT_EQ(count_ops(g, OpType::Concat), 1u);
    EXPECT_EQ(g.num_live_nodes(), 10u);
    EXPECT_EQ(g.num_nodes(), 10u);  // compacted

    const NodeId residual = pass_test::producer_of(g, m.shortcut);
    ASSERT_NE(residual, kNoNode);
    ASSERT_EQ(g.node(residual).op, OpType::Conv);
    EXPECT_TRUE(conv_params(g, residual).residual);
    EXPECT_EQ(conv_params(g, residual).act.kind, ActKind::LeakyRelu);
    EXPECT_FLOAT_EQ(conv_params(g, residual).act.alpha, 0.1f);
    EXPECT_EQ(conv_params(g, residual).post_act.kind, ActKind::None);

    const NodeId route = pass_test::producer_of(g, m.route);
    ASSERT_NE(route, kNoNode);
    EXPECT_TRUE(std::get<ConcatParams>(g.node(route).params).in_place);
}

TEST(Pipeline, Yolo3LikeChainRunsAtASmallerBatch) {
    Yolo3Like m = make_yolo3_like();
    Graph g = m.b.build();
    const std::vector<Tensor> inputs = {testing_util::random_tensor({1, 3, 16, 16}, 11)};
    const std::vector<Tensor> before = run_reference(g, inputs);
    run_passes(g);
    const std::vector<Tensor> after = run_reference(g, inputs);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0].shape(), (Shape{1, 6, 8, 8}));
    expect_outputs_match(after, before);
}

TEST(Pipeline, Yolo5LikeSiluBottleneckWithPostActivation) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 8, 8});
    const ValueId c0 = cbs(b, x, 8, 3);
    const ValueId bottleneck = b.add(c0, cbs(b, cbs(b, c0, 4, 1), 8, 3));
    const ValueId cat = b.concat({bottleneck, cbs(b, c0, 8, 1)});
    const ValueId post = b.relu(b.add(b.conv(cat, 16, 1), cbs(b, x, 16, 1)));
    b.output(b.sigmoid(b.conv(post, 5, 1)));
    Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(2);
    const std::vector<Tensor> before = run_reference(g, inputs);

    run_passes(g);

    expect_outputs_match(run_reference(g, inputs), before);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 0u);
    EXPECT_EQ(count_ops(g, OpType::Mul), 0u);
    EXPECT_EQ(count_ops(g, OpType::Silu), 0u);
    EXPECT_EQ(count_ops(g, OpType::Add), 0u);
    EXPECT_EQ(count_ops(g, OpType::Relu), 0u);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 0u);  // the last one folds into the head conv
    EXPECT_EQ(count_ops(g, OpType::Conv), 7u);
    int silu = 0;
    int sigmoid = 0;
    int residual = 0;
    int post_relu = 0;
    for (NodeId n : g.nodes_of(OpType::Conv)) {
        silu += conv_params(g, n).act.kind == ActKind::Silu;
        sigmoid += conv_params(g, n).act.kind == ActKind::Sigmoid;
        residual += conv_params(g, n).residual;
        post_relu += conv_params(g, n).post_act.kind == ActKind::Relu;
    }
    EXPECT_EQ(silu, 5);
    EXPECT_EQ(sigmoid, 1);
    EXPECT_EQ(residual, 2);
    EXPECT_EQ(post_relu, 1);
}

TEST(Pipeline, FoldsConstantsAndDropsIdentities) {
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 4, 4});
    const ValueId scale = b.sigmoid(b.random_constant({1, 2, 1, 1}));
    b.output(b.identity(b.mul(b.conv(x, 2, 3), scale)));
    Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(3);
    const std::vector<Tensor> before = run_reference(g, inputs);

    run_passes(g);

    expect_outputs_match(run_reference(g, inputs), before);
    EXPECT_EQ(count_ops(g, OpType::Sigmoid), 0u);
    EXPECT_EQ(count_ops(g, OpType::Identity), 0u);
    EXPECT_EQ(g.num_live_nodes(), 2u);  // Conv, Mul by the folded constant
}

TEST(Pipeline, DisabledPassIsSkipped) {
    Yolo3Like m = make_yolo3_like();
    Graph g = m.b.build();
    const std::vector<Tensor> inputs = m.b.random_inputs(4);
    const std::vector<Tensor> before = run_reference(g, inputs);

    run_passes(g, {"fuse_conv_bn", "eliminate_concat"});

    expect_outputs_match(run_reference(g, inputs), before);
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 6u);
    EXPECT_EQ(count_ops(g, OpType::LeakyRelu), 6u);  // BN sits between Conv and LeakyRelu
    EXPECT_FALSE(std::get<ConcatParams>(g.node(pass_test::producer_of(g, m.route)).params).in_place);
}

TEST(Pipeline, UnknownDisabledPassNamesTheValidOnes) {
    Yolo3Like m = make_yolo3_like();
    Graph g = m.b.build();
    try {
        run_passes(g, {"fuse_conv_bn", "no_such_pass"});
        FAIL() << "expected engine::Error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("no_such_pass"), std::string::npos) << msg;
        for (const Pass& p : default_pipeline())
            EXPECT_NE(msg.find(std::string(p.name)), std::string::npos) << msg;
    }
    EXPECT_EQ(count_ops(g, OpType::BatchNorm), 6u);  // nothing ran
}

TEST(Pipeline, DefaultOrder) {
    std::vector<std::string> names;
    for (const Pass& p : default_pipeline()) names.emplace_back(p.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"fold_constants", "fuse_qdq", "fold_qdq", "eliminate_identity",
                                        "fuse_conv_bn", "fuse_activation", "fuse_conv_act", "fuse_conv_add",
                                        "fuse_conv_act", "eliminate_concat", "eliminate_dead"}));
    for (const Pass& p : default_pipeline()) EXPECT_EQ(p.int8_only, p.name == "fold_qdq") << p.name;
}

}  // namespace
