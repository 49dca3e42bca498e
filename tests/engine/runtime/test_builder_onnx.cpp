// The whole path from an ONNX file: import -> passes -> plan -> save/load -> run. The model is built
// with the protobuf classes (the onnx_proto target's compile definitions are repeated here, since
// this suite reaches libonnx only through rtdet_engine).
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/plan/plan_format.h"
#include "tests/engine/import/onnx_model_builder.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace engine {
namespace {

using runtime_test::contains;
using runtime_test::error_of;

import_test::OnnxModelBuilder tiny_model() {
    import_test::OnnxModelBuilder m(13);
    m.input("images", {-1, 3, 8, 8});
    std::vector<float> w(4 * 3 * 3 * 3), bias(4);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.1f;
    for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.05f * static_cast<float>(i);
    m.init_f32("W", {4, 3, 3, 3}, w);
    m.init_f32("B", {4}, bias);
    m.node("Conv", {"images", "W", "B"}, {"c"}, "conv0")
        .ints("pads", {1, 1, 1, 1})
        .ints("kernel_shape", {3, 3});
    m.node("LeakyRelu", {"c"}, {"a"}, "act0").f("alpha", 0.1f);
    m.node("MaxPool", {"a"}, {"p"}, "pool0").ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
    m.node("Concat", {"p", "p"}, {"y"}, "cat0").i("axis", 1);
    m.output("y");
    m.metadata("rtdet.classes", "3");
    return m;
}

TEST(BuilderOnnx, BuildsFromAFileAndRecordsTheModel) {
    const import_test::OnnxModelBuilder m = tiny_model();
    const std::string bytes = m.bytes();
    const std::string path = runtime_test::temp_path("tiny_model.onnx");
    std::ofstream(path, std::ios::binary) << bytes;

    const Plan plan = build_plan_from_onnx(path, runtime_test::reference_options(3));
    EXPECT_EQ(plan.info().model_name, std::filesystem::path(path).stem().string());
    EXPECT_EQ(plan.info().model_sha256, sha256_hex(std::as_bytes(std::span(bytes.data(), bytes.size()))));
    EXPECT_EQ(plan.info().metadata.at("rtdet.classes"), "3");
    ASSERT_EQ(plan.info().inputs.size(), 1u);
    EXPECT_EQ(plan.info().inputs[0].shape, (Shape{3, 3, 8, 8}));
    EXPECT_EQ(plan.info().outputs[0].shape, (Shape{3, 8, 4, 4}));

    const std::string plan_path = runtime_test::temp_path("tiny_model.plan");
    plan.save(plan_path);
    const Plan loaded = Plan::load(plan_path);
    std::filesystem::remove(plan_path);
    std::filesystem::remove(path);

    onnx::ImportOptions io;
    io.batch = 3;
    const Graph imported = m.import(io);
    for (int batch : {1, 3}) {
        const std::vector<Tensor> in = {testing_util::random_tensor({batch, 3, 8, 8}, 50u + batch)};
        const auto out = runtime_test::run_plan(loaded, in);
        runtime_test::expect_close(out, run_reference(imported, in));
        // Concat of a value with itself: both halves equal.
        const Tensor& y = out[0];
        const int64_t half = 4 * 4 * 4;
        for (int s = 0; s < batch; ++s)
            EXPECT_EQ(std::memcmp(y.data_as<float>() + s * 2 * half, y.data_as<float>() + s * 2 * half + half,
                                  half * sizeof(float)),
                      0);
    }
}

TEST(BuilderOnnx, ImportErrorsNameTheFile) {
    const std::string path = runtime_test::temp_path("garbage.onnx");
    std::ofstream(path, std::ios::binary) << "definitely not protobuf \xff\xff\xff";
    const std::string e =
        error_of([&] { (void)build_plan_from_onnx(path, runtime_test::reference_options(1)); });
    std::filesystem::remove(path);
    EXPECT_FALSE(e.empty());
}

}  // namespace
}  // namespace engine
