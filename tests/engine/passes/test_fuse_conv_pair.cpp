// fuse_conv_pairs (engine/passes/fuse_conv_pair.cpp) with predicates of the test's own, the ConvPair
// shape rule, verify() and node checks of a ConvPair node. A rewrite must keep the graph's outputs
// (the reference runs a ConvPair as its two convs, ref_conv_pair); the expectations are by hand.
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
    s.inputs.push_back(Tensor(DataType::F32, g.value(rv).desc.shape));
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
        Breaker{"SecondHasAResidual", [](Stem& s) { add_residual(s, "stem1"); }}),
    [](const ::testing::TestParamInfo<Breaker>& i) { return std::string(i.param.name); });

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

PairNode pair_node(int64_t w1_channels = 8, bool second_residual = false) {
    PairNode p;
    Graph& g = p.g;
    Value xv;
    xv.name = "x";
    xv.desc = {DataType::F32, {1, 3, 8, 8}};
    xv.batched = true;
    const ValueId x = g.add_value(std::move(xv));
    g.mark_input(x);
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
    p.n = g.add_node(OpType::ConvPair, "pair", {x, w0, b0, w1, b1}, {p.y}, params);
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

TEST(ConvPairNode, AResidualFlagIsRefused) {
    PairNode p = pair_node(8, /*second_residual=*/true);
    const std::string e = error_of([&] { infer_shapes(p.g); });
    EXPECT_NE(e.find("node 'pair' [ConvPair]: second conv: residual is set"), std::string::npos) << e;
    const std::string v = error_of([&] { verify(p.g); });
    EXPECT_NE(v.find("'pair' [ConvPair]: its second conv has the residual flag set"), std::string::npos) << v;
    EXPECT_FALSE(check_conv_pair_operands(p.g, p.n, nullptr));
}

}  // namespace
