// CUDA Conv kernel (cuDNN + epilogue) vs the reference backend: every fused activation, residual and
// post_act, groups/depthwise, stride 2, dilation, padding that cuDNN takes symmetric, the padded image
// input (3 channels), batch 1..3 of max 3; F32 and F16; each tactic family (conv + our epilogue, and
// cuDNN's fused bias-activation where the epilogue has that form).
#include <gtest/gtest.h>

#include <ostream>

#include "engine/backends/cuda/cuda_kernels.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::Act;
using engine::ActKind;
using engine::ConvParams;
using engine::DataType;
using namespace cuda_test;

struct ConvCase {
    std::string name;
    int c = 16, o = 32, h = 9, w = 7;
    int k = 3, stride = 1, dilation = 1, group = 1;
    std::array<int32_t, 4> pads{1, 1, 1, 1};
    Act act;
    bool residual = false;
    Act post_act;
    int max_batch = 1, batch = 1;
    bool bias = true;
};
// gtest prints parameters in test listings (ctest's test names): the case's name, not its bytes.
void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

std::vector<ConvCase> conv_cases() {
    std::vector<ConvCase> v;
    auto add = [&](std::string name, auto&& edit) {
        ConvCase c;
        c.name = std::move(name);
        edit(c);
        v.push_back(c);
    };
    add("plain3x3", [](ConvCase&) {});
    add("no_bias", [](ConvCase& c) { c.bias = false; });
    add("relu", [](ConvCase& c) { c.act = {ActKind::Relu}; });
    add("leaky", [](ConvCase& c) { c.act = {ActKind::LeakyRelu, 0.1f}; });
    add("sigmoid", [](ConvCase& c) { c.act = {ActKind::Sigmoid}; });
    add("tanh", [](ConvCase& c) { c.act = {ActKind::Tanh}; });
    add("softplus", [](ConvCase& c) { c.act = {ActKind::Softplus}; });
    add("mish", [](ConvCase& c) { c.act = {ActKind::Mish}; });
    add("silu", [](ConvCase& c) { c.act = {ActKind::Silu}; });
    add("clip", [](ConvCase& c) { c.act = {ActKind::Clip, -0.25f, 0.5f}; });
    add("residual", [](ConvCase& c) { c.residual = true; });
    add("residual_leaky", [](ConvCase& c) {
        c.residual = true;
        c.act = {ActKind::LeakyRelu, 0.1f};
    });
    add("residual_post_mish", [](ConvCase& c) {
        c.residual = true;
        c.act = {ActKind::Silu};
        c.post_act = {ActKind::Mish};
    });
    add("residual_post_relu", [](ConvCase& c) {
        c.residual = true;
        c.post_act = {ActKind::Relu};
    });
    add("pointwise", [](ConvCase& c) {
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    add("stride2", [](ConvCase& c) {
        c.stride = 2;
        c.h = 10;
        c.w = 11;
    });
    add("stride2_darknet_pads", [](ConvCase& c) {  // end padding that adds no output
        c.stride = 2;
        c.h = 10;
        c.w = 10;
        c.pads = {1, 1, 0, 0};
    });
    add("dilation2", [](ConvCase& c) {
        c.dilation = 2;
        c.pads = {2, 2, 2, 2};
    });
    add("group2", [](ConvCase& c) { c.group = 2; });
    add("depthwise", [](ConvCase& c) {
        c.c = 16;
        c.o = 16;
        c.group = 16;
        c.act = {ActKind::LeakyRelu, 0.1f};
    });
    add("depthwise_s2", [](ConvCase& c) {
        c.c = 24;
        c.o = 24;
        c.group = 24;
        c.stride = 2;
    });
    add("odd_channels", [](ConvCase& c) {
        c.c = 20;
        c.o = 40;
        c.residual = true;
        c.act = {ActKind::Sigmoid};
    });
    add("image_input", [](ConvCase& c) {  // C = 3: padded to 8 channels in F16
        c.c = 3;
        c.o = 32;
        c.h = 16;
        c.w = 16;
        c.act = {ActKind::LeakyRelu, 0.1f};
    });
    add("yolo_head", [](ConvCase& c) {  // linear 1x1 with 255 outputs
        c.c = 64;
        c.o = 255;
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    add("batch3", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 3;
        c.residual = true;
    });
    add("batch2_of_3", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 2;
        c.act = {ActKind::Mish};
    });
    add("batch1_of_3_image", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 1;
        c.c = 3;
    });
    return v;
}

struct ConvGraph {
    engine::Graph g;
    engine::NodeId conv = 0;
};

ConvGraph make_conv_graph(const ConvCase& c) {
    testing_util::GraphBuilder b(17);
    const engine::ValueId x = b.input({c.max_batch, c.c, c.h, c.w});
    ConvParams p;
    p.kernel = {c.k, c.k};
    p.stride = {c.stride, c.stride};
    p.dilation = {c.dilation, c.dilation};
    p.pads = c.pads;
    p.group = c.group;
    p.act = c.act;
    p.post_act = c.post_act;
    const engine::ValueId w = b.random_constant({c.o, c.c / c.group, c.k, c.k}, -0.5f, 0.5f);
    const engine::ValueId bias = c.bias || c.residual ? b.random_constant({c.o}) : engine::kNoValue;
    const engine::ValueId y = b.conv_with(x, w, bias, p);
    ConvGraph cg;
    cg.conv = b.producer(y);
    if (c.residual) {
        const engine::ValueId r = b.input(b.shape(y));
        b.graph().add_input(cg.conv, r);
        std::get<ConvParams>(b.graph().node(cg.conv).params).residual = true;
    }
    b.output(y);
    cg.g = b.build();
    return cg;
}

using ConvParam = std::tuple<ConvCase, DataType>;

class CudaConv : public ::testing::TestWithParam<ConvParam> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

// only_fused: -1 the builder's choice, 0 conv + our epilogue, 1 cuDNN's fused form, 2 the graph API's
// conv + our epilogue, 3 the graph API's fused form. The graph forms may have no engine for a case (cuDNN's
// heuristics offer none): then there is nothing of ours to check, and the case says so.
void check_conv(const ConvCase& c, DataType dt, int only_fused) {
    ConvGraph cg = make_conv_graph(c);
    set_storage(cg.g, dt);
    const std::vector<engine::Tensor> inputs = node_inputs(cg.g, cg.conv, c.batch, dt, 100, -1.f, 1.f);
    auto pack = [&](engine::Backend& backend, const engine::Graph& g, engine::NodeId n) {
        engine::BuildOptions opts;
        opts.device = "cuda";
        if (only_fused < 0) return backend.pack(g, n, opts);
        // The backend's state is reached through a fresh one: tactics do not depend on it.
        engine::cuda::CudaState state;
        return engine::cuda::conv_pack_forced(state, g, n, opts, only_fused);
    };
    if (only_fused >= 2) {
        try {
            engine::BuildOptions opts;
            engine::cuda::CudaState state;
            (void)engine::cuda::conv_pack_forced(state, cg.g, cg.conv, opts, only_fused);
        } catch (const engine::Error& e) {
            const std::string m = e.what();
            ASSERT_NE(m.find("no convolution algorithm"), std::string::npos) << m;
            std::printf("[ note ] %s %s: no cuDNN graph engine for form %d\n", c.name.c_str(),
                        std::string(engine::dtype_name(dt)).c_str(), only_fused);
            return;
        }
    }
    NodeRun ours = run_cuda_node(cg.g, cg.conv, inputs, c.batch, pack);
    // The reference sees the weights the kernel sees: F16-rounded in F16 plans.
    engine::Graph ref_graph = cg.g;
    if (dt == DataType::F16) {
        const engine::ValueId w = ref_graph.node(cg.conv).inputs[1];
        ref_graph.set_constant(w, round_f16(ref_graph.constant(w)));
    }
    std::vector<engine::Tensor> ref = run_reference_node(ref_graph, cg.conv, inputs);
    const auto d = testing_util::compare(ours.outputs[0], ref[0]);
    EXPECT_LE(d.max_rel, tolerance(dt))
        << c.name << " " << engine::dtype_name(dt) << " tactic " << only_fused << ": " << d.describe();
}

TEST_P(CudaConv, MatchesReference) {
    const auto& [c, dt] = GetParam();
    check_conv(c, dt, -1);
    check_conv(c, dt, 0);
    ConvGraph cg = make_conv_graph(c);
    set_storage(cg.g, dt);
    if (engine::cuda::conv_has_fused_form(cg.g, cg.conv)) check_conv(c, dt, 1);
    check_conv(c, dt, 2);
    if (engine::cuda::conv_has_graph_fused_form(cg.g, cg.conv)) check_conv(c, dt, 3);
}

std::string conv_name(const ::testing::TestParamInfo<ConvParam>& info) {
    const auto& [c, dt] = info.param;
    return c.name + "_" + std::string(engine::dtype_name(dt));
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaConv,
                         ::testing::Combine(::testing::ValuesIn(conv_cases()),
                                            ::testing::Values(DataType::F32, DataType::F16)),
                         conv_name);

}  // namespace
