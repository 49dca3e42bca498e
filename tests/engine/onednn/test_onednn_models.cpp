// Whole small models through build_plan(device "cpu") -- oneDNN plus reference fallback, layouts,
// Reorders, in-place Concats, FP32 and BF16 -- against run_reference on the original graph, with
// and without each fusion pass, at several batch sizes of one plan.
#include <gtest/gtest.h>

#include <memory>

#include "engine/builder/builder.h"
#include "engine/plan/plan_io.h"
#include "engine/refmath/reference_executor.h"
#include "engine/runtime/runtime.h"
#include "tests/engine/onednn/onednn_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::DataType;
using engine::Graph;
using engine::OpType;
using engine::ValueId;
using namespace onednn_test;

constexpr int kMaxBatch = 3;

// Errors of a whole model grow with depth (each layer re-rounds), so models get a looser bound than
// single kernels: FP32 still agrees to ~1e-6 in practice; BF16 compounds one ~2^-9 rounding per
// stored activation over 6-8 layers plus BF16 weights, a few 1e-2 of the output range at worst.
constexpr double kModelF32Tolerance = 1e-4;
constexpr double kModelBf16Tolerance = 6e-2;

engine::ValueId darknet_conv(testing_util::GraphBuilder& b, ValueId x, int out, int k, int stride = 1) {
    testing_util::ConvSpec s;
    s.out_channels = out;
    s.kernel = k;
    s.stride = stride;
    s.bias = false;
    return b.leaky_relu(b.batch_norm(b.conv(x, s)), 0.1f);
}

// A YOLO-like network: conv+BN+leaky, maxpool, a residual block, darknet's stride-1 maxpool,
// nearest upsample, a route (Concat whose slices start at 0 and 16 channels), mish, two heads.
Graph model_yolo_like() {
    testing_util::GraphBuilder b(3);
    const ValueId x = b.input({kMaxBatch, 3, 32, 32});
    const ValueId c1 = darknet_conv(b, x, 16, 3);
    const ValueId p1 = b.maxpool(c1, 2, 2);
    const ValueId c2 = darknet_conv(b, p1, 32, 3);
    const ValueId c3 = darknet_conv(b, c2, 16, 1);
    const ValueId c4 = darknet_conv(b, c3, 32, 3);
    const ValueId r = b.add(c4, c2);
    const ValueId p2 = b.maxpool(r, 2, 2);
    const ValueId c5 = darknet_conv(b, p2, 48, 3);
    engine::MaxPoolParams mp;
    mp.kernel = {2, 2};
    mp.stride = {1, 1};
    mp.pads = {0, 0, 1, 1};
    const ValueId m1 = b.op(OpType::MaxPool, {c5}, mp, {{DataType::F32, b.shape(c5)}}, true)[0];
    const ValueId h1 = b.conv(m1, 24, 1);
    const ValueId c6 = darknet_conv(b, c5, 16, 1);
    const ValueId u = b.upsample(c6, 2);
    const ValueId cat = b.concat({u, r});
    const ValueId c7 = b.mish(b.conv(cat, 32, 3));
    const ValueId h2 = b.conv(c7, 24, 1);
    b.output(h1);
    b.output(h2);
    return b.build();
}

// Odd channel counts (Blocked16 padding, a Concat slice at 12 channels), stride 2, depthwise, the
// x*sigmoid(x) pattern, a standalone activation, and a reference-backend tail (Reshape + Sub).
Graph model_mixed() {
    testing_util::GraphBuilder b(5);
    const ValueId x = b.input({kMaxBatch, 3, 24, 24});
    const ValueId a = b.silu(b.conv(x, 20, 3, 2));
    const ValueId m = b.mul(a, b.sigmoid(a));
    const ValueId d = b.relu(b.conv(m, 20, 3, 1, 20));
    const ValueId b1 = b.conv(d, 12, 1);
    const ValueId b2 = b.tanh(b.conv(d, 8, 1));
    const ValueId cat = b.concat({b1, b2, a});
    const ValueId y = b.sigmoid(b.conv(cat, 10, 1));
    const ValueId z = b.conv(cat, 4, 1);
    const ValueId flat = b.reshape(z, {kMaxBatch, 4, 144});
    const ValueId w = b.sub(flat, flat);
    b.output(y);
    b.output(b.add(w, flat));
    return b.build();
}

struct ModelCase {
    std::string name;
    Graph (*make)();
};

struct BuildCase {
    std::string layout;
    engine::Precision precision;
    std::vector<std::string> disabled;
};

// One thread: these runs are about correctness, and a second OpenMP thread on a shared 2-core
// machine makes every primitive wait for it. AutoLayoutIsTimedAndRecorded runs on all cores.
engine::Plan build(const Graph& g, const BuildCase& bc, int threads = 1) {
    engine::BuildOptions o;
    o.device = "onednn";
    o.threads = threads;
    o.precision = bc.precision;
    o.max_batch = kMaxBatch;
    o.layout = bc.layout;
    o.disabled_passes = bc.disabled;
    return engine::build_plan(g, o, "test", "");
}

engine::PlanContents contents(const engine::Plan& plan) {
    auto bytes = plan.shared_bytes();
    return engine::read_plan(*bytes, bytes, "test");
}

void expect_plan_matches_reference(const Graph& g, const engine::Plan& plan, double tol,
                                   const std::string& what, int threads = 1) {
    auto eng = engine::Engine::load(plan);
    auto ctx = eng->create_context(threads);
    for (int batch : {kMaxBatch, 1, 2}) {
        std::vector<engine::Tensor> inputs;
        uint32_t seed = 40 + static_cast<uint32_t>(batch);
        for (ValueId v : g.inputs()) {
            engine::Shape s = g.value(v).desc.shape;
            s[0] = batch;
            inputs.push_back(testing_util::random_tensor(s, seed++));
        }
        const std::vector<engine::Tensor> ours = ctx->run(inputs);
        const std::vector<engine::Tensor> ref = engine::run_reference(g, inputs);
        ASSERT_EQ(ours.size(), ref.size());
        for (size_t i = 0; i < ref.size(); ++i) {
            const auto d = testing_util::compare(ours[i], ref[i]);
            EXPECT_LE(d.max_rel, tol)
                << what << " batch " << batch << " output " << i << ": " << d.describe();
        }
    }
}

void PrintTo(const ModelCase& m, std::ostream* os) { *os << m.name; }
void PrintTo(const BuildCase& b, std::ostream* os) {
    *os << b.layout << " " << engine::precision_name(b.precision);
    for (const auto& p : b.disabled) *os << " -" << p;
}

using ModelParam = std::tuple<ModelCase, BuildCase>;

class OneDnnModel : public ::testing::TestWithParam<ModelParam> {};

TEST_P(OneDnnModel, MatchesReference) {
    const auto& [mc, bc] = GetParam();
    const bool bf16 = bc.precision == engine::Precision::BF16;
    if (bf16 && !cpu_has_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16/AMX: BF16 case skipped";
    const Graph g = mc.make();
    const engine::Plan plan = build(g, bc);
    // Most nodes run on oneDNN, and in the requested precision.
    int onednn = 0, reduced = 0;
    for (const engine::LayerInfo& l : plan.info().layers) {
        onednn += l.backend == "onednn";
        reduced += l.precision == "bf16";
    }
    EXPECT_GT(onednn, 0);
    EXPECT_EQ(reduced > 0, bf16);
    std::string what = mc.name + " " + bc.layout + (bf16 ? " bf16" : " fp32");
    for (const auto& p : bc.disabled) what += " -" + p;
    expect_plan_matches_reference(g, plan, bf16 ? kModelBf16Tolerance : kModelF32Tolerance, what);
}

std::vector<BuildCase> build_cases() {
    std::vector<BuildCase> v;
    for (const char* layout : {"nhwc", "blocked16", "plain"})
        for (auto p : {engine::Precision::FP32, engine::Precision::BF16}) v.push_back({layout, p, {}});
    for (const char* pass :
         {"fuse_conv_bn", "fuse_activation", "fuse_conv_act", "fuse_conv_add", "eliminate_concat"})
        for (const char* layout : {"nhwc", "blocked16"})
            v.push_back({layout, engine::Precision::FP32, {pass}});
    v.push_back({"auto", engine::Precision::BF16, {}});
    return v;
}

std::string model_name(const ::testing::TestParamInfo<ModelParam>& info) {
    const auto& [mc, bc] = info.param;
    std::string n = mc.name + "_" + bc.layout + "_" + std::string(engine::precision_name(bc.precision));
    for (const auto& p : bc.disabled) n += "_no_" + p;
    return n;
}

INSTANTIATE_TEST_SUITE_P(Models, OneDnnModel,
                         ::testing::Combine(::testing::Values(ModelCase{"yolo_like", model_yolo_like},
                                                              ModelCase{"mixed", model_mixed}),
                                            ::testing::ValuesIn(build_cases())),
                         model_name);

// The plan's structure in each layout: Reorders only at the edges, graph I/O plain F32, in-place
// Concats kept where the layout allows.
TEST(OneDnnPlan, ReordersOnlyAtTheEdges) {
    const Graph g = model_yolo_like();
    struct Expect {
        const char* layout;
        int reorders;  // input + two heads (Blocked16 FP32: the first conv reads the plain image)
        bool concat_in_place;
    };
    for (const Expect& e :
         {Expect{"nhwc", 3, false}, Expect{"blocked16", 2, true}, Expect{"plain", 0, true}}) {
        const engine::PlanContents c = contents(build(g, {e.layout, engine::Precision::FP32, {}}));
        int reorders = 0;
        for (engine::NodeId n = 0; n < c.graph.num_nodes(); ++n) {
            const engine::Node& node = c.graph.node(n);
            reorders += node.op == OpType::Reorder;
            if (node.op == OpType::Reorder) {
                EXPECT_EQ(node.backend, "onednn");
            }
            if (node.op == OpType::Concat) {
                EXPECT_EQ(std::get<engine::ConcatParams>(node.params).in_place, e.concat_in_place)
                    << e.layout;
            }
            if (node.op == OpType::Conv) {
                EXPECT_EQ(node.backend, "onednn");
                EXPECT_EQ(c.graph.value(node.outputs[0]).layout, engine::layout_from_name(e.layout));
            }
        }
        EXPECT_EQ(reorders, e.reorders) << e.layout;
        for (ValueId v : c.graph.outputs()) EXPECT_EQ(c.graph.value(v).layout, engine::Layout::Plain);
        EXPECT_EQ(c.info.tactics.at("activation_layout"), e.layout);
    }
}

TEST(OneDnnPlan, BlockedConcatAtAnOddChannelOffsetCopies) {
    const Graph g = model_mixed();
    const engine::PlanContents c = contents(build(g, {"blocked16", engine::Precision::FP32, {}}));
    int concats = 0;
    for (engine::NodeId n = 0; n < c.graph.num_nodes(); ++n) {
        if (c.graph.node(n).op != OpType::Concat) continue;
        ++concats;
        EXPECT_FALSE(std::get<engine::ConcatParams>(c.graph.node(n).params).in_place);
    }
    EXPECT_EQ(concats, 1);
}

TEST(OneDnnPlan, AutoLayoutIsTimedAndRecorded) {
    const engine::Plan plan = build(model_yolo_like(), {"auto", engine::Precision::FP32, {}}, 0);
    const auto& t = plan.info().tactics;
    ASSERT_TRUE(t.count("activation_layout"));
    const std::string chosen = t.at("activation_layout");
    const std::string isa = engine::onednn_cpu_isa();
    if (isa.rfind("avx512_core", 0) == 0) {
        // Both layouts are candidates and timed.
        EXPECT_TRUE(chosen == "nhwc" || chosen == "blocked16") << chosen;
        EXPECT_TRUE(t.count("ms.nhwc") && t.count("ms.blocked16"));
    } else {
        // Below AVX-512 (onednn_isa_avx2 runs this suite so everywhere): NHWC only, nothing timed.
        EXPECT_EQ(chosen, "nhwc") << isa;
        EXPECT_FALSE(t.count("ms.blocked16")) << isa;
    }
    // Loads again from its own bytes.
    const engine::Plan again = engine::Plan::from_bytes(plan.bytes(), "again");
    expect_plan_matches_reference(model_yolo_like(), again, kModelF32Tolerance, "auto reloaded", 0);
}

// time_tactics = false (what INT8 calibration builds): nothing timed, the first layout and residual
// mode taken, so two builds give byte-identical plans, and the plan still matches the reference.
TEST(OneDnnPlan, UntimedTacticsGiveTheSamePlanEveryTime) {
    engine::BuildOptions o;
    o.device = "onednn";
    o.threads = 1;
    o.max_batch = kMaxBatch;
    o.time_tactics = false;
    const engine::Plan a = engine::build_plan(model_yolo_like(), o, "test", "");
    const engine::Plan b = engine::build_plan(model_yolo_like(), o, "test", "");
    EXPECT_EQ(a.bytes(), b.bytes());
    const auto& t = a.info().tactics;
    EXPECT_EQ(t.at("activation_layout"), "nhwc");
    EXPECT_FALSE(t.count("ms.nhwc") || t.count("ms.blocked16"));
    EXPECT_NE(a.info().build_options_json.find("\"time_tactics\":false"), std::string::npos);
    expect_plan_matches_reference(model_yolo_like(), a, kModelF32Tolerance, "untimed");
}

TEST(OneDnnPlan, Fp16FallsBackToBf16WhereAvailable) {
    const engine::Plan plan = build(model_yolo_like(), {"nhwc", engine::Precision::FP16, {}});
    bool any_bf16 = false, any_f16 = false;
    for (const engine::LayerInfo& l : plan.info().layers) {
        any_bf16 = any_bf16 || l.precision == "bf16";
        any_f16 = any_f16 || l.precision == "f16";
    }
    EXPECT_FALSE(any_f16);
    EXPECT_EQ(any_bf16, cpu_has_bf16());
}

// Without AVX512-BF16/AMX (ctest runs this suite once more with DNNL_MAX_CPU_ISA=AVX2: the
// onednn_isa_avx2 test), a BF16 request builds an all-FP32 plan that still matches the reference.
TEST(OneDnnPlan, Bf16RequestWithoutTheIsaBuildsFp32) {
    if (cpu_has_bf16())
        GTEST_SKIP() << "this CPU runs BF16 (" << engine::onednn_cpu_isa()
                     << "); ctest's onednn_isa_avx2 runs this case with DNNL_MAX_CPU_ISA=AVX2";
    const Graph g = model_yolo_like();
    const engine::Plan plan = build(g, {"nhwc", engine::Precision::BF16, {}});
    int onednn = 0;
    for (const engine::LayerInfo& l : plan.info().layers) {
        EXPECT_EQ(l.precision, "f32") << l.name;
        onednn += l.backend == "onednn";
    }
    EXPECT_GT(onednn, 0);
    expect_plan_matches_reference(g, plan, kModelF32Tolerance, "bf16 request without bf16 isa");
}

TEST(OneDnnPlan, DeviceSignatureNamesTheIsa) {
    const engine::Plan plan = build(model_mixed(), {"nhwc", engine::Precision::FP32, {}});
    EXPECT_NE(plan.info().device_signature.find("onednn=cpu x86_64 onednn " + engine::onednn_cpu_isa()),
              std::string::npos)
        << plan.info().device_signature;
}

}  // namespace
