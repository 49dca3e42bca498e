// ConvPair nodes in plans: ConvPairParams in the plan's JSON (round trip, bad keys), a plan holding a
// ConvPair node (read back, listed as one layer, run on the reference backend like its two convs), the
// builder's step (engine/builder/conv_pairs.h) with backends of the test's own that say yes or no to
// Backend::fuses_conv_pair, and CPU builds, whose backends never pair convs.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/builder/assign_layout.h"
#include "engine/builder/conv_pairs.h"
#include "engine/passes/pass.h"
#include "engine/plan/graph_serialize.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"
#include "engine/runtime/backend_registry.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace engine {
namespace {

using nlohmann::json;
using runtime_test::contains;
using runtime_test::error_of;

ConvPairParams sample_params() {
    ConvPairParams p;
    p.first.kernel = {3, 3};
    p.first.pads = {1, 1, 1, 1};
    p.first.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    p.second.kernel = {3, 3};
    p.second.stride = {2, 2};
    p.second.pads = {1, 0, 1, 0};
    p.second.act = {ActKind::Silu, 0.f, 0.f};
    p.mid_amax = 3.25f;
    p.mid_name = "stem/mid";
    return p;
}

TEST(ConvPairJson, ParamsRoundTripWithEachConvNested) {
    const ConvPairParams p = sample_params();
    const json j = json::parse(params_to_json(p).dump());  // through text, as in a plan
    EXPECT_EQ(j.at("kind"), "conv_pair");
    EXPECT_EQ(j.at("first").at("stride"), json({1, 1}));
    EXPECT_EQ(j.at("second").at("stride"), json({2, 2}));
    EXPECT_EQ(j.at("second").at("act").at("kind"), "silu");
    EXPECT_EQ(j.at("mid_name"), "stem/mid");
    const OpParams back = params_from_json(JsonView(j, "p"));
    ASSERT_TRUE(std::holds_alternative<ConvPairParams>(back));
    EXPECT_EQ(std::get<ConvPairParams>(back), p);
}

// The second conv's residual flag and post_act (ConvParams' own keys) come back too.
TEST(ConvPairJson, ASecondConvResidualAndPostActRoundTrip) {
    ConvPairParams p = sample_params();
    p.second.residual = true;
    p.second.post_act = {ActKind::LeakyRelu, 0.1f, 0.f};
    const json j = json::parse(params_to_json(p).dump());
    EXPECT_EQ(j.at("first").at("residual"), false);
    EXPECT_EQ(j.at("second").at("residual"), true);
    EXPECT_EQ(j.at("second").at("post_act").at("kind"), "leaky_relu");
    const OpParams back = params_from_json(JsonView(j, "p"));
    ASSERT_TRUE(std::holds_alternative<ConvPairParams>(back));
    EXPECT_EQ(std::get<ConvPairParams>(back), p);
    EXPECT_TRUE(std::get<ConvPairParams>(back).second.residual);
    EXPECT_EQ(std::get<ConvPairParams>(back).second.post_act, p.second.post_act);
}

TEST(ConvPairJson, ABadOrMissingKeyIsNamed) {
    const json good = params_to_json(sample_params());
    auto error_with = [&](const std::function<void(json&)>& edit) {
        json j = good;
        edit(j);
        return error_of([&] { (void)params_from_json(JsonView(j, "p")); });
    };
    std::string e = error_with([](json& j) { j.erase("mid_name"); });
    EXPECT_TRUE(contains(e, "'p.mid_name' is missing")) << e;
    e = error_with([](json& j) { j.erase("second"); });
    EXPECT_TRUE(contains(e, "'p.second' is missing")) << e;
    e = error_with([](json& j) { j["first"]["stride"] = {0, 1}; });
    EXPECT_TRUE(contains(e, "'p.first.stride[0]'")) << e;
    e = error_with([](json& j) { j["second"].erase("act"); });
    EXPECT_TRUE(contains(e, "'p.second.act' is missing")) << e;
    e = error_with([](json& j) { j["mid_amax"] = -1.0; });
    EXPECT_TRUE(contains(e, "'p.mid_amax'")) << e;
    e = error_with([](json& j) { j["mid_amax"] = "nan"; });
    EXPECT_TRUE(contains(e, "'p.mid_amax'")) << e;
}

// The YOLO stem, two convs: x [batch,3,8,8] -> "stem0" (3x3, 8 ch, LeakyRelu) -> mid -> "stem1" (3x3
// stride 2, 16 ch) -> y [batch,16,4,4], then a 1x1 conv "head" -> out. Every node on `backend`.
Graph stem(int batch, const std::string& backend) {
    testing_util::GraphBuilder b(9);
    const ValueId x = b.input({batch, 3, 8, 8}, true, "x");
    const ValueId mid = b.conv(x, 8, 3);
    const ValueId y = b.conv(mid, 16, 3, 2);
    const ValueId out = b.conv(y, 4, 1);
    b.output(out);
    Graph g = b.build();
    g.node(g.value(mid).producer).name = "stem0";
    g.node(g.value(y).producer).name = "stem1";
    g.node(g.value(out).producer).name = "head";
    std::get<ConvParams>(g.node(g.value(mid).producer).params).act = {ActKind::LeakyRelu, 0.1f, 0.f};
    g.value(mid).name = "mid";
    g.value(mid).amax = 2.5f;
    for (NodeId n = 0; n < g.num_nodes(); ++n) g.node(n).backend = backend;
    return g;
}

// YOLOv3's residual block as the pipeline leaves it: in [batch,4,8,8] -> "layer_1" (3x3, 8 ch, leaky)
// -> x -> "layer_2" (1x1, 4 ch, leaky) -> mid -> "layer_3" (3x3, 8 ch, leaky, + residual, post_act
// leaky) -> y -> "head" (1x1, 2 ch) -> out. The residual is x, or with `other_residual` "r", a 1x1
// conv "side" of x that nothing else reads (x has two readers either way, so layer_1 stays alone). Every node
// on `backend`. `unfused` (when non-null) gets the graph before the conv fusions (separate activations and
// Add) to compare with.
Graph residual_block(int batch, const std::string& backend, bool other_residual = false,
                     Graph* unfused = nullptr) {
    testing_util::GraphBuilder b(17);
    const ValueId in = b.input({batch, 4, 8, 8}, true, "in");
    const ValueId c1 = b.conv(in, 8, 3);
    const ValueId x = b.leaky_relu(c1, 0.1f);
    const ValueId r = other_residual ? b.conv(x, 8, 1) : x;
    const ValueId c2 = b.conv(x, 4, 1);
    const ValueId mid = b.leaky_relu(c2, 0.1f);
    const ValueId c3 = b.conv(mid, 8, 3);
    const ValueId y = b.leaky_relu(b.add(b.leaky_relu(c3, 0.1f), r), 0.1f);
    const ValueId out = b.conv(y, 2, 1);
    b.output(out);
    Graph g = b.build();
    g.node(b.producer(c1)).name = "layer_1";
    g.node(b.producer(c2)).name = "layer_2";
    g.node(b.producer(c3)).name = "layer_3";
    g.node(b.producer(out)).name = "head";
    g.value(x).name = "x";
    g.value(mid).name = "mid";
    g.value(y).name = "y";
    if (other_residual) {
        g.node(b.producer(r)).name = "side";
        g.value(r).name = "r";
    }
    if (unfused != nullptr) *unfused = g;
    for (PassFn pass : {&fuse_conv_act, &fuse_conv_add, &fuse_conv_act}) (void)pass(g);
    verify(g);
    g.compact();
    const Node& l3 = g.node(g.value(g.find_value("y")).producer);
    EXPECT_EQ(l3.name, "layer_3");
    EXPECT_TRUE(std::get<ConvParams>(l3.params).residual);
    EXPECT_EQ(g.value(l3.inputs.at(3)).name, other_residual ? "r" : "x");
    for (NodeId n = 0; n < g.num_nodes(); ++n) g.node(n).backend = backend;
    return g;
}

// A backend that claims every node and answers fuses_conv_pair with `pairs`, recording the question.
class PairingBackend final : public Backend {
  public:
    PairingBackend(std::string name, bool pairs, std::vector<Layout> layouts = {})
        : name_(std::move(name)), pairs_(pairs), layouts_(std::move(layouts)) {}
    std::string_view name() const override { return name_; }
    std::string device_signature() const override { return "test"; }
    bool supports(const Graph&, NodeId, std::string*) const override { return true; }
    std::unique_ptr<Kernel> create_kernel(const Graph&, NodeId, std::span<const Tensor>) override {
        return nullptr;
    }
    std::vector<Layout> activation_layouts() const override { return layouts_; }
    bool fuses_conv_pair(const Graph& g, NodeId first, NodeId second) const override {
        asked.push_back(g.node(first).name + "," + g.node(second).name);
        return pairs_;
    }
    mutable std::vector<std::string> asked;

  private:
    std::string name_;
    bool pairs_;
    std::vector<Layout> layouts_;
};

std::vector<std::string> node_names(const Graph& g) {
    std::vector<std::string> out;
    for (NodeId n : g.topo_order()) out.push_back(concat(op_type_name(g.node(n).op), " ", g.node(n).name));
    return out;
}

TEST(ConvPairBuilderStep, PairsWhereTheConvsBackendSaysYes) {
    Graph g = stem(2, "pairs");
    PairingBackend yes("pairs", true);
    Backend* backends[] = {&yes};
    EXPECT_EQ(fuse_backend_conv_pairs(g, backends, {}), 1);
    // stem0 + stem1 pair; stem1 + head is not asked again (stem1 is taken), and head is alone.
    EXPECT_EQ(yes.asked, (std::vector<std::string>{"stem0,stem1"}));
    EXPECT_EQ(node_names(g), (std::vector<std::string>{"ConvPair stem0+stem1", "Conv head"}));
    EXPECT_EQ(g.find_value("mid"), kNoValue);  // compacted away
    EXPECT_EQ(g.num_live_nodes(), g.num_nodes());
    const NodeId pair = g.nodes_of(OpType::ConvPair)[0];
    EXPECT_EQ(g.node(pair).backend, "pairs");
    EXPECT_EQ(std::get<ConvPairParams>(g.node(pair).params).mid_amax, 2.5f);

    // Layouts after it: the pair reads x and writes y in NHWC like any node of an NHWC backend.
    PairingBackend nhwc("pairs", true, {Layout::NHWC});
    Backend* nhwc_backends[] = {&nhwc};
    Graph h = stem(2, "pairs");
    EXPECT_EQ(fuse_backend_conv_pairs(h, nhwc_backends, {}), 1);
    EXPECT_EQ(assign_layouts(h, Layout::NHWC, nhwc_backends), 2);  // x -> NHWC, out -> Plain
    const NodeId hp = h.nodes_of(OpType::ConvPair)[0];
    EXPECT_EQ(h.value(h.node(hp).inputs[0]).layout, Layout::NHWC);
    EXPECT_EQ(h.value(h.node(hp).outputs[0]).layout, Layout::NHWC);
    const MemoryPlan mp = plan_memory(h, h.topo_order());
    EXPECT_TRUE(mp.values[h.node(hp).outputs[0]].valid);
}

// YOLOv3's residual block: layer_2 (1x1) and layer_3 (3x3 + x) pair, the pair reading x twice (input
// 0 and its residual, input 5); layer_1 -> layer_2 is not asked (x has two readers).
TEST(ConvPairBuilderStep, PairsAResidualBlockKeepingTheResidual) {
    Graph g = residual_block(2, "pairs");
    PairingBackend yes("pairs", true);
    Backend* backends[] = {&yes};
    EXPECT_EQ(fuse_backend_conv_pairs(g, backends, {}), 1);
    // head is not asked: its input is the pair's output now.
    EXPECT_EQ(yes.asked, (std::vector<std::string>{"layer_2,layer_3"}));
    EXPECT_EQ(node_names(g),
              (std::vector<std::string>{"Conv layer_1", "ConvPair layer_2+layer_3", "Conv head"}));
    const NodeId pair = g.nodes_of(OpType::ConvPair)[0];
    const Node& node = g.node(pair);
    ASSERT_EQ(node.inputs.size(), 6u);
    EXPECT_EQ(g.value(node.inputs[0]).name, "x");
    EXPECT_EQ(g.value(node.inputs[5]).name, "x");
    EXPECT_EQ(g.value(node.outputs.at(0)).name, "y");
    const auto& p = std::get<ConvPairParams>(node.params);
    EXPECT_TRUE(p.second.residual);
    EXPECT_EQ(p.second.post_act.kind, ActKind::LeakyRelu);
    EXPECT_EQ(p.mid_name, "mid");

    // NHWC: x is written in NHWC by layer_1 and read so in both slots (no reorder for it).
    PairingBackend nhwc("pairs", true, {Layout::NHWC});
    Backend* nhwc_backends[] = {&nhwc};
    Graph h = residual_block(2, "pairs");
    EXPECT_EQ(fuse_backend_conv_pairs(h, nhwc_backends, {}), 1);
    EXPECT_EQ(assign_layouts(h, Layout::NHWC, nhwc_backends), 2);  // in -> NHWC, out -> Plain
    const Node& hp = h.node(h.nodes_of(OpType::ConvPair)[0]);
    EXPECT_EQ(hp.inputs[0], hp.inputs[5]);
    EXPECT_EQ(h.value(hp.inputs[5]).name, "x");
    EXPECT_EQ(h.value(hp.inputs[5]).layout, Layout::NHWC);
}

TEST(ConvPairBuilderStep, NothingWhenDisabledOrWhenTheConvsBackendSaysNo) {
    Graph g = stem(1, "pairs");
    PairingBackend yes("pairs", true);
    Backend* backends[] = {&yes};
    EXPECT_EQ(fuse_backend_conv_pairs(g, backends, {"fuse_conv_bn", "fuse_conv_pair"}), 0);
    EXPECT_TRUE(yes.asked.empty());
    EXPECT_EQ(count_ops(g, OpType::Conv), 3u);
    EXPECT_EQ(count_ops(g, OpType::ConvPair), 0u);

    // The backend asked is the one the convs run on, not the first that would say yes.
    Graph h = stem(1, "no_pairs");
    PairingBackend no("no_pairs", false);
    Backend* both[] = {&yes, &no};
    EXPECT_EQ(fuse_backend_conv_pairs(h, both, {}), 0);
    EXPECT_TRUE(yes.asked.empty());
    EXPECT_EQ(no.asked, (std::vector<std::string>{"stem0,stem1", "stem1,head"}));
    EXPECT_EQ(count_ops(h, OpType::Conv), 3u);
}

// The plan of graph `g` (every node on "reference", max batch 2) after the builder's pairing step with
// a backend standing in for a pairing one at build time only, written as finish_plan writes it.
// `pairs`: the pairs it must make.
Plan paired_reference_plan(Graph g, const std::string& name, int pairs) {
    PairingBackend yes("reference", true);
    Backend* backends[] = {&yes};
    EXPECT_EQ(fuse_backend_conv_pairs(g, backends, {}), pairs);
    PlanContents c;
    c.info.model_name = name;
    c.info.model_sha256 = "00";
    c.info.device = "reference";
    c.info.precision = "fp32";
    c.info.max_batch = 2;
    c.backends = {{"reference", make_backend("reference")->device_signature()}};
    c.order = g.topo_order();
    c.memory = plan_memory(g, c.order, kPlanBlobAlignment);
    c.packed.resize(g.num_nodes());
    c.graph = g;
    return Plan::from_bytes(write_plan(c), name + ".plan");
}

// A plan holding a ConvPair node, written as finish_plan writes it: read back (shapes re-inferred),
// listed as one layer under its joined name, and run by the reference backend like the two convs.
TEST(ConvPairPlan, ReadsBackListsOneLayerAndRunsLikeTheTwoConvs) {
    const Graph original = stem(2, "reference");
    Graph g = original;
    PairingBackend yes("reference", true);
    Backend* backends[] = {&yes};
    ASSERT_EQ(fuse_backend_conv_pairs(g, backends, {}), 1);
    const Plan plan = paired_reference_plan(original, "stem", 1);

    std::vector<std::string> layers;
    for (const LayerInfo& l : plan.info().layers)
        layers.push_back(concat(l.name, " ", l.op, " ", l.backend, " ", l.precision));
    EXPECT_EQ(layers,
              (std::vector<std::string>{"stem0+stem1 ConvPair reference f32", "head Conv reference f32"}));

    const PlanContents back = read_plan(plan.bytes(), nullptr, "stem.plan");
    const NodeId pair = back.graph.nodes_of(OpType::ConvPair).at(0);
    EXPECT_TRUE(back.graph.node(pair).params == g.node(g.nodes_of(OpType::ConvPair)[0]).params);
    EXPECT_EQ(back.graph.node(pair).inputs.size(), 5u);

    Tensor x(DataType::F32, {2, 3, 8, 8});
    std::span<float> xs = x.f32();
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 37) % 101) / 50.f - 1.f;
    const std::vector<Tensor> in = {x};
    runtime_test::expect_close(runtime_test::run_plan(plan, in), run_reference(original, in));
}

// Residual blocks in plans: the pair's residual (input 5) and its flags come back from the plan, the
// memory plan keeps the residual alive until the pair has run, and the reference backend computes what
// the block did before any fusion (separate convs, activations and Add).
TEST(ConvPairPlan, AResidualBlockReadsBackAndRunsLikeTheBlock) {
    for (const bool other : {false, true}) {
        SCOPED_TRACE(other ? "residual r (read by the pair alone)" : "residual x");
        Graph unfused;
        const Graph g = residual_block(2, "reference", other, &unfused);
        const Plan plan = paired_reference_plan(g, "block", 1);
        std::vector<std::string> layers;
        for (const LayerInfo& l : plan.info().layers) layers.push_back(concat(l.op, " ", l.name));
        std::vector<std::string> listed{"Conv layer_1", "ConvPair layer_2+layer_3", "Conv head"};
        if (other) listed.insert(listed.begin() + 1, "Conv side");
        std::vector<std::string> sorted = layers;  // side's place in the order is the planner's
        std::sort(sorted.begin(), sorted.end());
        std::sort(listed.begin(), listed.end());
        EXPECT_EQ(sorted, listed);

        const PlanContents back = read_plan(plan.bytes(), nullptr, "block.plan");
        const Graph& bg = back.graph;
        const NodeId pair = bg.nodes_of(OpType::ConvPair).at(0);
        const Node& node = bg.node(pair);
        ASSERT_EQ(node.inputs.size(), 6u);
        const std::string r_name = other ? "r" : "x";
        EXPECT_EQ(bg.value(node.inputs[0]).name, "x");
        EXPECT_EQ(bg.value(node.inputs[5]).name, r_name);
        const auto& p = std::get<ConvPairParams>(node.params);
        EXPECT_TRUE(p.second.residual);
        EXPECT_EQ(p.second.post_act.kind, ActKind::LeakyRelu);
        EXPECT_FLOAT_EQ(p.second.post_act.alpha, 0.1f);
        EXPECT_FALSE(p.first.residual);

        // The residual's slot and the pair's output's do not overlap: r lives until the pair runs.
        const ValueLocation& rl = back.memory.values.at(node.inputs[5]);
        const ValueLocation& yl = back.memory.values.at(node.outputs.at(0));
        ASSERT_TRUE(rl.valid && yl.valid);
        const size_t r_end =
            rl.offset + static_cast<size_t>(located_extent(bg.value(node.inputs[5]), rl)) * 4;
        const size_t y_end =
            yl.offset + static_cast<size_t>(located_extent(bg.value(node.outputs[0]), yl)) * 4;
        EXPECT_TRUE(r_end <= yl.offset || y_end <= rl.offset)
            << "r [" << rl.offset << ", " << r_end << ") y [" << yl.offset << ", " << y_end << ")";

        Tensor in(DataType::F32, {2, 4, 8, 8});
        std::span<float> xs = in.f32();
        for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 41) % 97) / 48.f - 1.f;
        const std::vector<Tensor> want = run_reference(unfused, {in});
        runtime_test::expect_close(runtime_test::run_plan(plan, {in}), want);
        // At batch 1 of the max batch 2 too: sample 0.
        const std::vector<Tensor> one = runtime_test::run_plan(plan, {runtime_test::sample_of(in, 0)});
        runtime_test::expect_close(one, {runtime_test::sample_of(want.at(0), 0)});
    }
}

// CPU backends never pair convs: a CPU plan lists the same layers with and without the step.
TEST(ConvPairPlan, CpuPlansDoNotChange) {
    // No timing: the same plan every time (the layout is otherwise the fastest of a few runs).
    BuildOptions on = testing_util::build_options("cpu", Precision::FP32, 1);
    on.time_tactics = false;
    BuildOptions off = on;
    off.disabled_passes = {"fuse_conv_pair"};  // accepted by the pass runner, as `--disable-pass`
    auto layers = [](const Plan& p) {
        std::vector<std::string> out;
        for (const LayerInfo& l : p.info().layers) out.push_back(l.op + " " + l.name);
        return out;
    };
    const std::vector<std::string> a = layers(build_plan(stem(1, ""), on, "stem", ""));
    const std::vector<std::string> b = layers(build_plan(stem(1, ""), off, "stem", ""));
    EXPECT_EQ(a, b);
    for (const std::string& l : a) EXPECT_EQ(l.find("ConvPair"), std::string::npos) << l;
    EXPECT_NE(std::find(a.begin(), a.end(), "Conv stem0"), a.end());
    EXPECT_NE(std::find(a.begin(), a.end(), "Conv stem1"), a.end());
    // A float layer named as a pair ("first+second", as `rtdet info --layers` lists pairs) stands for
    // its two convs; a name that is neither a layer nor two joined is refused.
    BuildOptions pair_float = on;
    pair_float.float_layers = {"stem0+stem1"};
    EXPECT_EQ(layers(build_plan(stem(1, ""), pair_float, "stem", "")), a);
    pair_float.float_layers = {"stem0+head0"};
    const std::string f = error_of([&] { (void)build_plan(stem(1, ""), pair_float, "stem", ""); });
    EXPECT_TRUE(contains(f, "float layer 'stem0+head0'") && contains(f, "has no such layer")) << f;
    // An unknown pass name is still refused, and the message lists fuse_conv_pair among the valid ones.
    BuildOptions bad = on;
    bad.disabled_passes = {"fuse_conv_pairs"};
    const std::string e = error_of([&] { (void)build_plan(stem(1, ""), bad, "stem", ""); });
    EXPECT_TRUE(contains(e, "unknown pass 'fuse_conv_pairs'") && contains(e, ", fuse_conv_pair")) << e;
}

}  // namespace
}  // namespace engine
