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

// A plan holding a ConvPair node, written as finish_plan writes it: read back (shapes re-inferred),
// listed as one layer under its joined name, and run by the reference backend like the two convs.
TEST(ConvPairPlan, ReadsBackListsOneLayerAndRunsLikeTheTwoConvs) {
    const Graph original = stem(2, "reference");
    Graph g = original;
    PairingBackend yes("reference", true);  // stands in for a pairing backend at build time only
    Backend* backends[] = {&yes};
    ASSERT_EQ(fuse_backend_conv_pairs(g, backends, {}), 1);
    PlanContents c;
    c.info.model_name = "stem";
    c.info.model_sha256 = "00";
    c.info.device = "reference";
    c.info.precision = "fp32";
    c.info.max_batch = 2;
    c.backends = {{"reference", make_backend("reference")->device_signature()}};
    c.order = g.topo_order();
    c.memory = plan_memory(g, c.order, kPlanBlobAlignment);
    c.packed.resize(g.num_nodes());
    c.graph = g;
    const Plan plan = Plan::from_bytes(write_plan(c), "stem.plan");

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
