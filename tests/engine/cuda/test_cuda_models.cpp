// Whole plans on device "cuda" vs the reference backend: small graphs covering every op the backend
// claims, Yolo-Fastest-1.1 with its real weights, at FP32 and FP16, batch 1 and a partial batch of a
// max-batch-3 plan; repeated runs (CUDA-graph replay) give the same outputs; the plan round trip
// through bytes; a plan for another GPU or library refuses to load with a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "detector/darknet/darknet_to_onnx.h"
#include "engine/builder/builder.h"
#include "engine/plan/plan_format.h"
#include "engine/runtime/runtime.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/build_options.h"
#include "tests/testing/graph_builder.h"
#include "tests/testing/require.h"

namespace {

using engine::DataType;
using engine::Precision;
using namespace cuda_test;
namespace fs = std::filesystem;

engine::BuildOptions cuda_options(Precision p, int max_batch) {
    return testing_util::build_options("cuda", p, max_batch);
}

engine::BuildOptions reference_options(int max_batch) {
    return testing_util::build_options("reference", Precision::FP32, max_batch);
}

// Conv/BN/leaky, stride-2 conv, maxpool (darknet 2/1 too), 1x1 and 3x3 branches, concat, upsample,
// residual add, mish/silu, a linear head; two outputs at different scales.
engine::Graph yolo_like_net(int batch) {
    testing_util::GraphBuilder b(5);
    const auto x = b.input({batch, 3, 32, 32}, true, "images");
    const auto c0 = b.leaky_relu(b.batch_norm(b.conv(x, 16, 3)), 0.1f);
    const auto c1 = b.leaky_relu(b.conv(c0, 32, 3, 2), 0.1f);
    const auto r = b.leaky_relu(b.conv(b.leaky_relu(b.conv(c1, 16, 1), 0.1f), 32, 3), 0.1f);
    const auto s = b.add(c1, r);
    const auto p = b.maxpool(s, 2, 2);
    const auto m = b.mish(b.conv(p, 64, 3));
    const auto q = b.silu(b.conv(m, 32, 1));
    const auto u = b.upsample(q, 2);
    const auto cat = b.concat({u, s}, 1);
    const auto h1 = b.conv(cat, 18, 1);
    const auto h2 = b.conv(m, 18, 1);
    b.output(h1);
    b.output(h2);
    return b.build();
}

void expect_outputs_close(const std::vector<engine::Tensor>& ours, const std::vector<engine::Tensor>& ref,
                          double tol, const std::string& what) {
    ASSERT_EQ(ours.size(), ref.size()) << what;
    for (size_t i = 0; i < ref.size(); ++i) {
        const auto d = testing_util::compare(ours[i], ref[i]);
        EXPECT_LE(d.max_rel, tol) << what << " output " << i << ": " << d.describe();
    }
}

class CudaModels : public ::testing::TestWithParam<Precision> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

TEST_P(CudaModels, SmallNetMatchesReference) {
    const Precision prec = GetParam();
    const engine::Graph g = yolo_like_net(3);
    const engine::Plan ref_plan = engine::build_plan(g, reference_options(3), "yolo_like", "0");
    const engine::Plan plan = engine::build_plan(g, cuda_options(prec, 3), "yolo_like", "0");
    EXPECT_NE(plan.info().device_signature.find("cuda="), std::string::npos) << plan.info().device_signature;
    auto ref_ctx = engine::Engine::load(ref_plan)->create_context(cuda_test::context_options());
    auto ctx = engine::Engine::load(plan)->create_context(cuda_test::context_options());
    const double tol = prec == Precision::FP32 ? 1e-4 : kF16NetTolerance;
    for (int batch : {3, 1, 2, 3}) {  // batch 3 again: a replay of the first captured batch
        const std::vector<engine::Tensor> in = {
            testing_util::random_tensor({batch, 3, 32, 32}, 9u + batch, 0.f, 1.f)};
        const auto ref = ref_ctx->run(in);
        const auto ours = ctx->run(in);
        expect_outputs_close(ours, ref, tol,
                             engine::concat("small net ", engine::precision_name(prec), " batch ", batch));
        // The second run at a batch replays what the first recorded: the same numbers.
        const auto again = ctx->run(in);
        for (size_t i = 0; i < ours.size(); ++i)
            EXPECT_EQ(std::memcmp(again[i].data(), ours[i].data(), ours[i].bytes()), 0)
                << "rerun differs, output " << i;
    }
}

// Yolo-Fastest-1.1 (COCO weights, 320x320) converted by the darknet importer.
std::string yolo_fastest_onnx() {
    const std::string data = testing_util::data_dir();
    if (data.empty()) return {};
    const fs::path cfg = fs::path(data) / "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg";
    const fs::path weights =
        fs::path(data) / "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights";
    if (!fs::exists(cfg) || !fs::exists(weights)) return {};
    const fs::path dir = fs::temp_directory_path() / "rtdet_cuda_tests";
    fs::create_directories(dir);
    const fs::path out = dir / "yolo-fastest-1.1-cuda-test.onnx";
    detector::ConvertOptions opts;
    opts.batch = 2;
    (void)detector::convert_darknet(cfg.string(), weights.string(), out.string(), opts);
    return out.string();
}

TEST_P(CudaModels, YoloFastestMatchesReference) {
    const Precision prec = GetParam();
    const std::string onnx = yolo_fastest_onnx();
    if (onnx.empty())
        RTDET_SKIP_OR_FAIL("Yolo-Fastest cfg/weights not in the data folder (../shared or $RTDET_DATA)");
    const engine::Plan ref_plan = engine::build_plan_from_onnx(onnx, reference_options(2));
    const engine::Plan plan = engine::build_plan_from_onnx(onnx, cuda_options(prec, 2));
    auto ref_ctx = engine::Engine::load(ref_plan)->create_context(cuda_test::context_options());
    auto ctx = engine::Engine::load(plan)->create_context(cuda_test::context_options());
    for (int batch : {2, 1}) {
        const std::vector<engine::Tensor> in = {
            testing_util::random_tensor({batch, 3, 320, 320}, 77, 0.f, 1.f)};
        const auto ref = ref_ctx->run(in);
        const auto ours = ctx->run(in);
        // FP32: cuDNN's summation order over deep layers; FP16: compounding F16 rounding (head logits).
        expect_outputs_close(ours, ref, prec == Precision::FP32 ? 1e-4 : kF16NetTolerance,
                             engine::concat("yolo-fastest ", engine::precision_name(prec), " batch ", batch));
    }
}

std::string precision_param_name(const ::testing::TestParamInfo<Precision>& info) {
    return std::string(engine::precision_name(info.param));
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaModels, ::testing::Values(Precision::FP32, Precision::FP16),
                         precision_param_name);

TEST(CudaPlan, RoundTripsAndRefusesForeignDevices) {
    SKIP_WITHOUT_CUDA();
    const engine::Graph g = yolo_like_net(1);
    const engine::Plan plan = engine::build_plan(g, cuda_options(Precision::FP16, 1), "yolo_like", "0");
    const fs::path path = fs::temp_directory_path() / "rtdet_cuda_roundtrip_test.plan";
    plan.save(path.string());
    const engine::Plan loaded = engine::Plan::load(path.string());
    EXPECT_EQ(loaded.bytes(), plan.bytes());
    const std::vector<engine::Tensor> in = {testing_util::random_tensor({1, 3, 32, 32}, 3, 0.f, 1.f)};
    const auto a = engine::Engine::load(plan)->create_context(cuda_test::context_options())->run(in);
    const auto b = engine::Engine::load(loaded)->create_context(cuda_test::context_options())->run(in);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].bytes()), 0);
    fs::remove(path);

    // The same plan claiming another GPU / cuDNN: a one-line error naming both devices.
    const engine::PlanSections s = engine::parse_plan_sections(plan.bytes(), "test");
    nlohmann::json j = nlohmann::json::parse(s.metadata);
    bool found = false;
    for (auto& be : j["backends"])
        if (be["name"] == "cuda") {
            be["device_signature"] = "cuda NVIDIA A100-SXM4-80GB sm_80 cuda 12.4 cudnn 9.1.0";
            found = true;
        }
    ASSERT_TRUE(found) << "the plan lists no cuda backend";
    const engine::Plan foreign =
        engine::Plan::from_bytes(engine::assemble_plan(j.dump(), s.blobs), "foreign.plan");
    try {
        (void)engine::Engine::load(foreign);
        ADD_FAILURE() << "a plan for another GPU loaded";
    } catch (const engine::Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("A100"), std::string::npos) << m;
        EXPECT_NE(m.find("rebuild"), std::string::npos) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
}

}  // namespace
