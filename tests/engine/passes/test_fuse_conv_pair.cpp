// fuse_conv_pairs (engine/passes/fuse_conv_pair.cpp) with predicates of the test's own, the ConvPair
// shape rule, verify() and node checks of a ConvPair node, and the reference's ConvPair kernel. A
// rewrite must keep the graph's outputs (the reference runs a ConvPair as its two convs,
// ref_conv_pair); the expectations are by hand.
#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/node_checks.h"
#include "tests/engine/passes/pass_test_util.h"
#include "tests/testing/error_of.h"

namespace {

using namespace engine;
using testing_util::ConvSpec;
using testing_util::error_of;
using testing_util::GraphBuilder;

// YOLO's stem: x [2,3,8,8] -> "stem0" (3x3, 8 channels, LeakyRelu) -> mid [2,8,8,8] -> "stem1" (3x3
// stride 2, 16 channels) -> y [2,16,4,4]. Both on backend "gpu" in I8; mid's amax 4.5.
struct Stem {
    Graph g;
    std::string x, w0, b0, w1, b1, mid, y;
    ConvParams p0, p1;
    std::vector<Tensor> inputs;
};

Stem make_stem(bool bias = true) {
    GraphBuilder b(5);
    const ValueId x = b.input({2, 3, 8, 8}, true, "x");
    ConvSpec s0;
    s0.out_channels = 8;
    s0.kernel = 3;
    s0.bias = bias;
    const ValueId mid = b.conv(x, s0);
    ConvSpec s1 = s0;
    s1.out_channels = 16;
    s1.stride = 2;
    const ValueId y = b.conv(mid, s1);
    b.output(y);
    Stem s;
    s.inputs = b.random_inputs(11);
    s.g = b.build();
    Graph& g = s.g;
    const NodeId c0 = g.value(mid).producer, c1 = g.value(y).producer;
    std::get<ConvParams>(g.node(c0).params).act = {ActKind::LeakyRelu, 0.1f, 0.f};
    g.node(c0).name = "stem0";
    g.node(c1).name = "stem1";
    for (NodeId n : {c0, c1}) {
        g.node(n).backend = "gpu";
        g.node(n).precision = DataType::I8;
    }
    g.value(mid).amax = 4.5f;
    s.x = g.value(x).name;
    s.w0 = g.value(g.node(c0).inputs[1]).name;
    s.w1 = g.value(g.node(c1).inputs[1]).name;
    if (bias) {
        s.b0 = g.value(g.node(c0).inputs[2]).name;
        s.b1 = g.value(g.node(c1).inputs[2]).name;
    }
    s.mid = g.value(mid).name;
    s.y = g.value(y).name;
    s.p0 = std::get<ConvParams>(g.node(c0).params);
    s.p1 = std::get<ConvParams>(g.node(c1).params);
    return s;
}

// The (first, second) node names the predicate was asked about.
using Asked = std::vector<std::pair<std::string, std::string>>;

// Runs the pass with a predicate answering `yes` (recording what it was asked), checks the graph and
// its outputs on `inputs` as before, and compacts it. Returns the rewrite count.
int fuse(Graph& g, bool yes, const std::vector<Tensor>& inputs, Asked* asked = nullptr) {
    const std::vector<Tensor> before = run_reference(g, inputs);
    const int rewrites = fuse_conv_pairs(g, [&](const Graph& gr, NodeId first, NodeId second) {
                             if (asked) asked->push_back({gr.node(first).name, gr.node(second).name});
                             return yes;
                         }).rewrites;
    pass_test::check_and_compact(g);
    pass_test::expect_outputs_match(run_reference(g, inputs), before);
    return rewrites;
}

const ConvPairParams& pair_params(const Graph& g, NodeId n) {
    return std::get<ConvPairParams>(g.node(n).params);
}

TEST(FuseConvPair, TwoConvsBecomeOnePairNode) {
    Stem s = make_stem();
    Asked asked;
    EXPECT_EQ(fuse(s.g, true, s.inputs, &asked), 1);
    EXPECT_EQ(asked, (Asked{{"stem0", "stem1"}}));
    const Graph& g = s.g;
    EXPECT_EQ(count_ops(g, OpType::Conv), 0u);
    ASSERT_EQ(count_ops(g, OpType::ConvPair), 1u);
    const NodeId n = g.nodes_of(OpType::ConvPair)[0];
    const Node& node = g.node(n);
    EXPECT_EQ(node.name, "stem0+stem1");
    EXPECT_EQ(node.backend, "gpu");
    EXPECT_EQ(node.precision, DataType::I8);
    std::vector<std::string> inputs;
    for (ValueId v : node.inputs) inputs.push_back(g.value(v).name);
    EXPECT_EQ(inputs, (std::vector<std::string>{s.x, s.w0, s.b0, s.w1, s.b1}));
    ASSERT_EQ(node.outputs.size(), 1u);
    EXPECT_EQ(g.value(node.outputs[0]).name, s.y);
    EXPECT_EQ(g.value(node.outputs[0]).desc.shape, (Shape{2, 16, 4, 4}));  // 8x8 -> 8x8 -> stride 2
    EXPECT_TRUE(g.value(node.outputs[0]).is_graph_output);
    const ConvPairParams& p = pair_params(g, n);
    EXPECT_EQ(p.first, s.p0);
    EXPECT_EQ(p.first.act.kind, ActKind::LeakyRelu);
    EXPECT_EQ(p.second, s.p1);
    EXPECT_EQ(p.second.stride, (std::array<int32_t, 2>{2, 2}));
    EXPECT_EQ(p.mid_amax, 4.5f);
    EXPECT_EQ(p.mid_name, s.mid);
    EXPECT_EQ(g.find_value(s.mid), kNoValue);  // compact() dropped the middle value
    // The dump names both convs' params and the middle value.
    const std::string d = dump(g);
    EXPECT_NE(d.find("ConvPair  stem0+stem1"), std::string::npos) << d;
    EXPECT_NE(d.find("first(k=3x3 s=1 p=1,1,1,1 g=1 act=LeakyRelu(0.1)) second(k=3x3 s=2"), std::string::npos)
        << d;
    EXPECT_NE(d.find("mid=" + s.mid + " amax=4.5"), std::string::npos) << d;
}

TEST(FuseConvPair, NothingWhenThePredicateSaysNo) {
    Stem s = make_stem();
    Asked asked;
    EXPECT_EQ(fuse(s.g, false, s.inputs, &asked), 0);
    EXPECT_EQ(asked, (Asked{{"stem0", "stem1"}}));
    EXPECT_EQ(count_ops(s.g, OpType::Conv), 2u);
    EXPECT_EQ(count_ops(s.g, OpType::ConvPair), 0u);
}

// Each case breaks one precondition; the predicate would say yes but must not even be asked.
struct Breaker {
    const char* name;
    void (*apply)(Stem& s);
};

NodeId named(const Graph& g, const std::string& name) {
    for (NodeId n = 0; n < g.num_nodes(); ++n)
        if (!g.node(n).dead && g.node(n).name == name) return n;
    return kNoNode;
}

// Gives conv `name` a residual input of its output's shape (a new graph input).
void add_residual(Stem& s, const std::string& name) {
    Graph& g = s.g;
    const NodeId c = named(g, name);
    Value r;
    r.name = name + "_r";
    r.desc = g.value(g.node(c).outputs[0]).desc;
    r.batched = true;
    const ValueId rv = g.add_value(std::move(r));
    g.mark_input(rv);
    g.add_input(c, rv);
    std::get<ConvParams>(g.node(c).params).residual = true;
    Tensor t(DataType::F32, g.value(rv).desc.shape);
    std::span<float> ts = t.f32();
    for (size_t i = 0; i < ts.size(); ++i) ts[i] = static_cast<float>((i * 29) % 53) / 26.f - 1.f;
    s.inputs.push_back(std::move(t));
}

class FuseConvPairRefuses : public ::testing::TestWithParam<Breaker> {};

TEST_P(FuseConvPairRefuses, WhenAPreconditionFails) {
    Stem s = make_stem();
    GetParam().apply(s);
    Asked asked;
    EXPECT_EQ(fuse(s.g, true, s.inputs, &asked), 0);
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(count_ops(s.g, OpType::ConvPair), 0u);
    EXPECT_EQ(count_ops(s.g, OpType::Conv), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FuseConvPairRefuses,
    ::testing::Values(
        Breaker{"MidHasTwoConsumers",
                [](Stem& s) {
                    const ValueId mid = s.g.find_value(s.mid);
                    Value r;
                    r.name = "relu_out";
                    r.desc = s.g.value(mid).desc;
                    r.batched = true;
                    const ValueId rv = s.g.add_value(std::move(r));
                    s.g.add_node(OpType::Relu, "relu", {mid}, {rv});
                    s.g.mark_output(rv);
                }},
        Breaker{"MidIsAGraphOutput", [](Stem& s) { s.g.mark_output(s.g.find_value(s.mid)); }},
        Breaker{"PrecisionsDiffer", [](Stem& s) { s.g.node(named(s.g, "stem0")).precision = DataType::F16; }},
        Breaker{"BackendsDiffer", [](Stem& s) { s.g.node(named(s.g, "stem1")).backend = "cpu"; }},
        Breaker{"FirstHasAResidual", [](Stem& s) { add_residual(s, "stem0"); }},
        Breaker{"BothHaveAResidual",
                [](Stem& s) {
                    add_residual(s, "stem0");
                    add_residual(s, "stem1");
                }},
        // mid read twice by second: as its input 0 and as its residual (mid [2,8,8,8] fits a 3x3
        // stride-1 second conv of 8 channels).
        Breaker{"SecondReadsMidAsItsResidual",
                [](Stem& s) {
                    Graph& g = s.g;
                    const NodeId c1 = named(g, "stem1");
                    auto& p1 = std::get<ConvParams>(g.node(c1).params);
                    p1.stride = {1, 1};
                    const ValueId w1 = g.add_constant("W1_8", Tensor(DataType::F32, {8, 8, 3, 3}));
                    const ValueId b1 = g.add_constant("B1_8", Tensor(DataType::F32, {8}));
                    g.set_input(c1, 1, w1);
                    g.set_input(c1, 2, b1);
                    g.add_input(c1, g.find_value(s.mid));
                    p1.residual = true;
                    g.value(g.node(c1).outputs[0]).desc.shape = {2, 8, 8, 8};
                }}),
    [](const ::testing::TestParamInfo<Breaker>& i) { return std::string(i.param.name); });

// ---- a second conv with a residual ----

// YOLOv3's residual block, as the importer gives it: in [2,4,6,6] -> "layer_1" (3x3, 8 ch) -> leaky ->
// x -> "layer_2" (1x1, 4 ch) -> leaky -> mid -> "layer_3" (3x3, 8 ch) -> leaky -> Add x -> leaky -> y.
// `unfused` holds the outputs of that graph; the pipeline's conv fusions then make layer_3 a Conv with
// residual x and post_act leaky (each checked against the graph before it).
struct Block {
    Graph g;
    std::vector<Tensor> inputs, unfused;
    ValueId x = kNoValue;
};

Block make_block() {
    GraphBuilder b(21);
    const ValueId in = b.input({2, 4, 6, 6}, true, "in");
    const ValueId c1 = b.conv(in, 8, 3);
    const ValueId x = b.leaky_relu(c1, 0.1f);
    const ValueId c2 = b.conv(x, 4, 1);
    const ValueId mid = b.leaky_relu(c2, 0.1f);
    const ValueId c3 = b.conv(mid, 8, 3);
    const ValueId y = b.leaky_relu(b.add(b.leaky_relu(c3, 0.1f), x), 0.1f);
    b.output(y);
    Block blk;
    blk.inputs = b.random_inputs(5);
    blk.g = b.build();
    Graph& g = blk.g;
    g.node(b.producer(c1)).name = "layer_1";
    g.node(b.producer(c2)).name = "layer_2";
    g.node(b.producer(c3)).name = "layer_3";
    g.value(x).name = "x";
    g.value(mid).name = "mid";
    g.value(y).name = "y";
    blk.unfused = run_reference(g, blk.inputs);
    for (PassFn pass : {&fuse_conv_act, &fuse_conv_add, &fuse_conv_act})
        EXPECT_GE(pass_test::apply_and_compare(g, pass, blk.inputs), 1);
    blk.x = g.find_value("x");
    const NodeId l3 = named(g, "layer_3");
    EXPECT_EQ(g.node(l3).inputs.size(), 4u);
    EXPECT_EQ(g.node(l3).inputs.at(3), blk.x);
    EXPECT_TRUE(pass_test::conv_params(g, l3).residual);
    EXPECT_EQ(pass_test::conv_params(g, l3).post_act.kind, ActKind::LeakyRelu);
    return blk;
}

TEST(FuseConvPair, AResidualBlockBecomesOnePairReadingXTwice) {
    Block blk = make_block();
    Graph& g = blk.g;
    const ConvParams p2 = pass_test::conv_params(g, named(g, "layer_2"));
    const ConvParams p3 = pass_test::conv_params(g, named(g, "layer_3"));
    Asked asked;
    EXPECT_EQ(fuse(g, true, blk.inputs, &asked), 1);
    // layer_1 -> layer_2 is not asked: x has two readers (layer_2, layer_3's residual).
    EXPECT_EQ(asked, (Asked{{"layer_2", "layer_3"}}));
    ASSERT_EQ(count_ops(g, OpType::ConvPair), 1u);
    EXPECT_EQ(count_ops(g, OpType::Conv), 1u);  // layer_1
    const NodeId n = g.nodes_of(OpType::ConvPair)[0];
    const Node& node = g.node(n);
    EXPECT_EQ(node.name, "layer_2+layer_3");
    ASSERT_EQ(node.inputs.size(), 6u);
    EXPECT_EQ(g.value(node.inputs[0]).name, "x");
    EXPECT_EQ(g.value(node.inputs[5]).name, "x");  // the residual: the block's input
    EXPECT_EQ(node.inputs[0], node.inputs[5]);
    EXPECT_EQ(g.value(node.inputs[0]).consumers, (std::vector<NodeId>{n, n}));
    EXPECT_EQ(g.value(node.outputs.at(0)).name, "y");
    const ConvPairParams& p = pair_params(g, n);
    EXPECT_EQ(p.first, p2);
    EXPECT_EQ(p.second, p3);
    EXPECT_FALSE(p.first.residual);
    EXPECT_TRUE(p.second.residual);
    EXPECT_EQ(p.second.act.kind, ActKind::LeakyRelu);
    EXPECT_EQ(p.second.post_act.kind, ActKind::LeakyRelu);
    EXPECT_EQ(p.mid_name, "mid");
    // The pair computes what the block did before any fusion (conv, leaky, Add, leaky apart).
    pass_test::expect_outputs_match(run_reference(g, blk.inputs), blk.unfused);
    const std::string d = dump(g);
    EXPECT_NE(d.find("+residual post_act=LeakyRelu(0.1)) mid=mid"), std::string::npos) << d;
}

TEST(FuseConvPair, AResidualFromAnotherValueIsThePairsInput5) {
    // A graph input of its own.
    Stem s = make_stem();
    add_residual(s, "stem1");
    Asked asked;
    EXPECT_EQ(fuse(s.g, true, s.inputs, &asked), 1);
    EXPECT_EQ(asked, (Asked{{"stem0", "stem1"}}));
    ASSERT_EQ(count_ops(s.g, OpType::ConvPair), 1u);
    const Node& node = s.g.node(s.g.nodes_of(OpType::ConvPair)[0]);
    std::vector<std::string> inputs;
    for (ValueId v : node.inputs) inputs.push_back(s.g.value(v).name);
    EXPECT_EQ(inputs, (std::vector<std::string>{s.x, s.w0, s.b0, s.w1, s.b1, "stem1_r"}));

    // A conv's output beside the pair, computed from x (not from mid): the pair comes after it.
    GraphBuilder b(8);
    const ValueId x = b.input({1, 3, 6, 6}, true, "x");
    const ValueId mid = b.conv(x, 4, 1);
    const ValueId r = b.conv(x, 5, 3);
    const ValueId c = b.conv(mid, 5, 3);
    const ValueId y = b.add(c, r);
    b.output(y);
    Graph g = b.build();
    const std::vector<Tensor> in = b.random_inputs(4);
    const std::vector<Tensor> unfused = run_reference(g, in);
    EXPECT_EQ(pass_test::apply_and_compare(g, &fuse_conv_add, in), 1);
    const std::string r_name = g.value(r).name;
    EXPECT_EQ(fuse(g, true, in), 1);
    ASSERT_EQ(count_ops(g, OpType::ConvPair), 1u);
    const NodeId pair = g.nodes_of(OpType::ConvPair)[0];
    ASSERT_EQ(g.node(pair).inputs.size(), 6u);
    EXPECT_EQ(g.value(g.node(pair).inputs[5]).name, r_name);
    const std::vector<NodeId> order = g.topo_order();
    const auto at = [&](NodeId n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    EXPECT_LT(at(g.value(g.node(pair).inputs[5]).producer), at(pair));
    pass_test::expect_outputs_match(run_reference(g, in), unfused);
}

TEST(FuseConvPair, AMissingBiasBecomesZerosOfTheOutputChannels) {
    Stem s = make_stem(/*bias=*/false);
    EXPECT_EQ(fuse(s.g, true, s.inputs), 1);
    const Graph& g = s.g;
    ASSERT_EQ(count_ops(g, OpType::ConvPair), 1u);
    const Node& node = g.node(g.nodes_of(OpType::ConvPair)[0]);
    ASSERT_EQ(node.inputs.size(), 5u);
    const std::pair<size_t, int64_t> biases[] = {{2, 8}, {4, 16}};  // slot, output channels
    for (const auto& [slot, channels] : biases) {
        const Value& b = g.value(node.inputs[slot]);
        ASSERT_NE(b.constant, nullptr) << slot;
        EXPECT_EQ(b.desc.dtype, DataType::F32);
        EXPECT_EQ(b.desc.shape, (Shape{channels}));
        for (float v : b.constant->f32()) EXPECT_EQ(v, 0.f);
    }
    EXPECT_EQ(g.value(node.inputs[2]).name, "stem0/bias_zero");
    EXPECT_EQ(g.value(node.inputs[4]).name, "stem1/bias_zero");
}

TEST(FuseConvPair, AChainOfThreePairsOnlyTheFirstTwo) {
    GraphBuilder b(7);
    const ValueId x = b.input({1, 3, 6, 6}, true, "x");
    const ValueId a = b.conv(x, 4, 3);
    const ValueId m = b.conv(a, 5, 3);
    const ValueId y = b.conv(m, 6, 1);
    b.output(y);
    Graph g = b.build();
    g.node(g.value(a).producer).name = "a";
    g.node(g.value(m).producer).name = "b";
    g.node(g.value(y).producer).name = "c";
    const std::string m_name = g.value(m).name;
    Asked asked;
    EXPECT_EQ(fuse(g, true, b.random_inputs(2), &asked), 1);
    EXPECT_EQ(asked, (Asked{{"a", "b"}}));
    ASSERT_EQ(count_ops(g, OpType::ConvPair), 1u);
    ASSERT_EQ(count_ops(g, OpType::Conv), 1u);
    const NodeId pair = g.nodes_of(OpType::ConvPair)[0];
    const NodeId c = g.nodes_of(OpType::Conv)[0];
    EXPECT_EQ(g.node(pair).name, "a+b");
    EXPECT_EQ(g.node(c).name, "c");
    EXPECT_EQ(g.node(c).inputs[0], g.node(pair).outputs[0]);
    EXPECT_EQ(g.value(g.node(pair).outputs[0]).name, m_name);
}

// ---- the ConvPair node itself: shape rule, verify, node checks ----

// x [1,3,8,8] -> ConvPair "pair" {W0 [8,3,3,3], B0 [8], W1 [16,w1_channels,3,3], B1 [16]} -> y, built
// by hand: first 3x3 pad 1, second 3x3 pad 1 stride 2; its middle value is named "mid".
struct PairNode {
    Graph g;
    NodeId n = kNoNode;
    ValueId y = kNoValue;
};

// With `residual_shape` non-empty the node has a sixth input, graph input "r" of that shape.
PairNode pair_node(int64_t w1_channels = 8, bool second_residual = false, const Shape& residual_shape = {}) {
    PairNode p;
    Graph& g = p.g;
    Value xv;
    xv.name = "x";
    xv.desc = {DataType::F32, {1, 3, 8, 8}};
    xv.batched = true;
    const ValueId x = g.add_value(std::move(xv));
    g.mark_input(x);
    std::vector<ValueId> extra;
    if (!residual_shape.empty()) {
        Value rv;
        rv.name = "r";
        rv.desc = {DataType::F32, residual_shape};
        rv.batched = true;
        extra.push_back(g.add_value(std::move(rv)));
        g.mark_input(extra.back());
    }
    const ValueId w0 = g.add_constant("W0", Tensor(DataType::F32, {8, 3, 3, 3}));
    const ValueId b0 = g.add_constant("B0", Tensor(DataType::F32, {8}));
    const ValueId w1 = g.add_constant("W1", Tensor(DataType::F32, {16, w1_channels, 3, 3}));
    const ValueId b1 = g.add_constant("B1", Tensor(DataType::F32, {16}));
    Value yv;
    yv.name = "y";
    yv.desc = {DataType::F32, {1, 16, 4, 4}};
    yv.batched = true;
    p.y = g.add_value(std::move(yv));
    ConvPairParams params;
    params.first.kernel = params.second.kernel = {3, 3};
    params.first.pads = params.second.pads = {1, 1, 1, 1};
    params.second.stride = {2, 2};
    params.second.residual = second_residual;
    params.mid_name = "mid";
    std::vector<ValueId> inputs{x, w0, b0, w1, b1};
    inputs.insert(inputs.end(), extra.begin(), extra.end());
    p.n = g.add_node(OpType::ConvPair, "pair", std::move(inputs), {p.y}, params);
    g.mark_output(p.y);
    return p;
}

TEST(ConvPairNode, ShapeIsTheSecondConvOfTheFirstConv) {
    PairNode p = pair_node();
    p.g.value(p.y).desc.shape = {};
    p.g.value(p.y).batched = false;
    infer_shapes(p.g);
    EXPECT_EQ(p.g.value(p.y).desc.shape, (Shape{1, 16, 4, 4}));  // 8x8 -> 8x8 (pad 1) -> 4x4 (stride 2)
    EXPECT_TRUE(p.g.value(p.y).batched);
    verify(p.g);
    // The backends' common checks accept it too (F32 constants, channels matching).
    std::string why;
    EXPECT_TRUE(check_conv_pair_operands(p.g, p.n, &why)) << why;
}

TEST(ConvPairNode, ChannelMismatchOfTheSecondConvNamesNodeConvAndMiddle) {
    PairNode p = pair_node(/*w1_channels=*/4);  // the middle value has 8 channels
    const std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: second conv: input 'mid' has 8 channels but weight 'W1'"),
              std::string::npos)
        << e;
    std::string why;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, &why));
    EXPECT_EQ(why, "weight shape does not match the input channels and group");
}

TEST(ConvPairNode, FirstConvErrorsNameTheFirstConv) {
    PairNode p = pair_node();
    std::get<ConvPairParams>(p.g.node(p.n).params).first.kernel = {5, 5};
    const std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: first conv: kernel 5x5 does not match weight shape [8,3,3,3]"),
              std::string::npos)
        << e;
}

TEST(ConvPairNode, TheSecondConvTakesAResidualOfTheOutputsShape) {
    PairNode p = pair_node(8, /*second_residual=*/true, /*residual_shape=*/{1, 16, 4, 4});
    p.g.value(p.y).desc.shape = {};
    infer_shapes(p.g);
    EXPECT_EQ(p.g.value(p.y).desc.shape, (Shape{1, 16, 4, 4}));
    verify(p.g);
    std::string why;
    EXPECT_TRUE(check_conv_pair_operands(p.g, p.n, &why)) << why;
    // The dump shows the flag as a Conv's.
    const std::string d = dump(p.g);
    EXPECT_NE(d.find("second(k=3x3 s=2 p=1,1,1,1 g=1 +residual)"), std::string::npos) << d;
}

TEST(ConvPairNode, AResidualOfAnotherShapeIsRefusedNamingNodeAndOperand) {
    PairNode p = pair_node(8, /*second_residual=*/true, /*residual_shape=*/{1, 16, 8, 8});
    const std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: second conv: residual 'r' (input 5) has shape [1,16,8,8], the "
                     "pair's output is [1,16,4,4]"),
              std::string::npos)
        << e;
    std::string why;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, &why));
    EXPECT_EQ(why, "residual is not a runtime tensor of the output's shape");
}

TEST(ConvPairNode, AConstantResidualIsRefusedByTheNodeChecks) {
    PairNode p = pair_node(8, /*second_residual=*/true, /*residual_shape=*/{1, 16, 4, 4});
    const ValueId c = p.g.add_constant("r_const", Tensor(DataType::F32, {1, 16, 4, 4}));
    p.g.set_input(p.n, 5, c);
    std::string why;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, &why));
    EXPECT_EQ(why, "residual is not a runtime tensor of the output's shape");
}

TEST(ConvPairNode, TheResidualFlagAndTheSixthInputGoTogether) {
    // The flag without the input.
    PairNode p = pair_node(8, /*second_residual=*/true);
    std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: has 5 inputs, expected 6 (x, W0, B0, W1, B1 and the second "
                     "conv's residual)"),
              std::string::npos)
        << e;
    e = error_of([&] { verify(p.g); });
    EXPECT_NE(e.find("'pair' [ConvPair]: second conv's residual flag 1 does not match its 5 inputs"),
              std::string::npos)
        << e;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, nullptr));
    // The input without the flag.
    PairNode q = pair_node(8, /*second_residual=*/false, /*residual_shape=*/{1, 16, 4, 4});
    e = error_of([&] { infer_shapes(q.g); });
    EXPECT_NE(e.find("has 6 inputs, expected 5 (x, W0, B0, W1, B1); a residual input needs the second conv's "
                     "residual flag"),
              std::string::npos)
        << e;
    e = error_of([&] { verify(q.g); });
    EXPECT_NE(e.find("second conv's residual flag 0 does not match its 6 inputs"), std::string::npos) << e;
    EXPECT_FALSE(check_conv_pair_operands(q.g, q.n, nullptr));
}

TEST(ConvPairNode, AFirstConvResidualIsRefused) {
    PairNode p = pair_node(8, /*second_residual=*/false);
    std::get<ConvPairParams>(p.g.node(p.n).params).first.residual = true;
    const std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: first conv: residual is set, but only a ConvPair's second conv "
                     "takes one"),
              std::string::npos)
        << e;
    const std::string v = error_of([&] { verify(p.g); });
    EXPECT_NE(v.find("'pair' [ConvPair]: its first conv has the residual flag set"), std::string::npos) << v;
    std::string why;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, &why));
    EXPECT_EQ(why, "the first conv of the pair has a residual");
}

// The reference's ConvPair with a residual, on a case small enough to compute by hand: x [1,1,2,2],
// first 1x1 (W0 2, B0 1, Relu), second 1x1 (W1 3, B1 -1, LeakyRelu 0.1), residual x, post_act
// LeakyRelu 0.5. The order matters: the residual is added after act and before post_act.
TEST(ConvPairNode, TheReferenceAddsTheResidualAfterActAndBeforePostAct) {
    Graph g;
    Value xv;
    xv.name = "x";
    xv.desc = {DataType::F32, {1, 1, 2, 2}};
    xv.batched = true;
    const ValueId x = g.add_value(std::move(xv));
    g.mark_input(x);
    auto scalar = [&](const char* name, float v) {
        Tensor t(DataType::F32, {1});
        t.f32()[0] = v;
        return g.add_constant(name, std::move(t));
    };
    auto weight = [&](const char* name, float v) {
        Tensor t(DataType::F32, {1, 1, 1, 1});
        t.f32()[0] = v;
        return g.add_constant(name, std::move(t));
    };
    const ValueId w0 = weight("W0", 2.f), b0 = scalar("B0", 1.f), w1 = weight("W1", 3.f),
                  b1 = scalar("B1", -1.f);
    Value yv;
    yv.name = "y";
    yv.desc = {DataType::F32, {1, 1, 2, 2}};
    yv.batched = true;
    const ValueId y = g.add_value(std::move(yv));
    ConvPairParams params;
    params.first.act = {ActKind::Relu, 0.f, 0.f};
    params.second.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    params.second.residual = true;
    params.second.post_act = {ActKind::LeakyRelu, 0.5f, 0.f};
    params.mid_name = "mid";
    (void)g.add_node(OpType::ConvPair, "pair", {x, w0, b0, w1, b1, x}, {y}, params);
    g.mark_output(y);
    infer_shapes(g);
    verify(g);

    Tensor in(DataType::F32, {1, 1, 2, 2});
    const float xs[] = {1.f, -2.f, 0.5f, 3.f};
    std::copy(std::begin(xs), std::end(xs), in.f32().begin());
    const std::vector<Tensor> out = run_reference(g, {in});
    ASSERT_EQ(out.size(), 1u);
    // mid = relu(2x + 1) = {3, 0, 2, 7}; 3 mid - 1 = {8, -1, 5, 20}; leaky 0.1: {8, -0.1, 5, 20};
    // + x: {9, -2.1, 5.5, 23}; leaky 0.5: {9, -1.05, 5.5, 23}.
    const float want[] = {9.f, -1.05f, 5.5f, 23.f};
    ASSERT_EQ(out[0].f32().size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(out[0].f32()[i], want[i], 1e-6f) << i;
}

}  // namespace
