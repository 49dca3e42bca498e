// An ONNX QDQ model in an INT8 plan on oneDNN (tests/data/qdq_small.onnx, docs/int8.md "ONNX QDQ
// models"): no calibration is given; the convs the model quantizes on both sides run in INT8 with the
// model's ranges, and the output stays within one quantization step of the model's own result (numpy,
// equal to ONNX Runtime: scripts/tools/make_qdq_test_model.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/builder/builder.h"
#include "engine/onnx/importer.h"
#include "engine/runtime/runtime.h"

namespace {

using namespace engine;

TEST(OneDnnQdq, Int8PlanOfAQdqModelUsesItsScales) {
    if (!onednn_cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: INT8 convs are refused on this CPU";
    const std::string dir = std::string(RTDET_SOURCE_DIR) + "/tests/data/";
    std::ifstream in(dir + "qdq_small_expected.json");
    const nlohmann::json e = nlohmann::json::parse(in);
    auto tensor = [&](const char* k) {
        return Tensor::from_f32(e.at(k).at("shape").get<Shape>(),
                                e.at(k).at("data").get<std::vector<float>>());
    };
    onnx::ImportOptions io;
    io.batch = 2;
    BuildOptions o;
    o.device = "cpu";
    o.precision = Precision::INT8;
    o.max_batch = 2;
    o.threads = 1;
    const Plan plan = build_plan(onnx::import_file(dir + "qdq_small.onnx", io), o, "qdq_small", "");
    std::map<std::string, std::string> precision;
    for (const LayerInfo& l : plan.info().layers) precision[l.name] = l.precision;
    // conv1 (x: A's range, a1: B's) and conv2 (a1, r: D's) are quantized on both sides by the model.
    EXPECT_EQ(precision["conv1"], "i8");
    EXPECT_EQ(precision["conv2"], "i8");
    EXPECT_EQ(precision.count("C_q+C_dq"), 1u);  // the asymmetric uint8 one stays a float FakeQuant

    auto ctx = Engine::load(plan)->create_context(1);
    const std::vector<Tensor> out = ctx->run({tensor("x")});
    const Tensor y1 = tensor("y1");
    double worst = 0;
    for (int64_t i = 0; i < y1.numel(); ++i)
        worst = std::max(worst, double(std::fabs(out[0].data_as<float>()[i] - y1.data_as<float>()[i])));
    // y1 is E's fake quantization of conv3 (scale 1/8) in the model; the INT8 plan's output is
    // float (E folded into conv3's output range): within one step.
    EXPECT_LE(worst, 0.125) << "y1";
}

}  // namespace
