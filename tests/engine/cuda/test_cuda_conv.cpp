// CUDA Conv kernel (cuDNN + epilogue) vs the reference backend: every fused activation, residual and
// post_act, groups/depthwise, stride 2, dilation, padding that cuDNN takes symmetric, the padded image
// input (3 channels), batch 1..3 of max 3; F32 and F16; each tactic family (conv + our epilogue, and
// cuDNN's fused bias-activation where the epilogue has that form).
#include <gtest/gtest.h>

#include <ostream>

#include "engine/backends/cuda/cuda_kernels.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/conv_cases.h"

namespace {

using engine::DataType;
using namespace cuda_test;

using testing_util::ConvCase;
using testing_util::ConvGraph;
using testing_util::make_conv_graph;

// The shared cases plus cuDNN's own: end padding that cuDNN takes symmetric, the 255-output head, the
// image input in a partial batch (padded to 8 channels in F16).
std::vector<ConvCase> conv_cases() {
    std::vector<ConvCase> v = testing_util::shared_conv_cases();
    auto add = [&](std::string name, auto&& edit) {
        testing_util::add_conv_case(v, ConvCase{}, std::move(name), edit);
    };
    add("stride2_darknet_pads", [](ConvCase& c) {  // end padding that adds no output
        c.stride = 2;
        c.h = 10;
        c.w = 10;
        c.pads = {1, 1, 0, 0};
    });
    add("yolo_head", [](ConvCase& c) {  // linear 1x1 with 255 outputs
        c.c = 64;
        c.o = 255;
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    add("batch1_of_3_image", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 1;
        c.c = 3;
    });
    return v;
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
        const engine::PackContext opts;
        if (only_fused < 0) return backend.pack(g, n, opts);
        // The backend's state is reached through a fresh one: tactics do not depend on it.
        engine::cuda::CudaState state;
        return engine::cuda::conv_pack_forced(state, g, n, opts, only_fused);
    };
    if (only_fused >= 2) {
        try {
            const engine::PackContext opts;
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
