// An ONNX QDQ model end to end (tests/data/qdq_small.onnx, made with its outputs computed
// independently in numpy by scripts/tools/make_qdq_test_model.py): FP32 plans on the reference and
// cpu devices reproduce numpy to the bit (every conv sum is exact there, so any accumulation order
// agrees; rounding ties included), batch 1 and 2; an INT8 build takes the model's ranges
// (Value::amax = 127 x scale) on the values the model quantized; what the builder refuses.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/onnx/importer.h"
#include "engine/plan/plan_io.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace {

using namespace engine;
using runtime_test::contains;
using runtime_test::error_of;

const std::string kDir = std::string(RTDET_SOURCE_DIR) + "/tests/data/";

nlohmann::json expected() {
    std::ifstream in(kDir + "qdq_small_expected.json");
    return nlohmann::json::parse(in);
}

Tensor tensor_of(const nlohmann::json& j) {
    return Tensor::from_f32(j.at("shape").get<Shape>(), j.at("data").get<std::vector<float>>());
}

Graph import_small(int batch) {
    onnx::ImportOptions io;
    io.batch = batch;
    return onnx::import_file(kDir + "qdq_small.onnx", io);
}

Plan build(int batch, const std::string& device, Precision precision = Precision::FP32) {
    BuildOptions o = testing_util::build_options(device, precision, batch);
    o.threads = 1;
    return build_plan(import_small(batch), o, "qdq_small", "");
}

void expect_equal(const Tensor& got, const Tensor& want, const std::string& what) {
    ASSERT_EQ(got.shape(), want.shape()) << what;
    size_t bad = 0, first = 0;
    for (int64_t i = 0; i < want.numel(); ++i)
        if (got.data_as<float>()[i] != want.data_as<float>()[i] && bad++ == 0) first = static_cast<size_t>(i);
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << want.numel() << " values differ, first at "
                       << first << ": " << got.data_as<float>()[first] << " vs numpy "
                       << want.data_as<float>()[first];
}

TEST(QdqModel, Fp32PlansMatchNumpyToTheBit) {
    const nlohmann::json e = expected();
    const Tensor x = tensor_of(e.at("x"));
    const Tensor y1 = tensor_of(e.at("y1")), y2 = tensor_of(e.at("y2"));
    for (const std::string device : {"reference", "cpu"}) {
        const Plan plan = build(2, device);
        int fake_quants = 0, on_onednn = 0;
        bool onednn_plan = false;  // a build with oneDNN: its convs run there
        for (const LayerInfo& l : plan.info().layers) {
            fake_quants += l.op == "FakeQuant";
            on_onednn += l.op == "FakeQuant" && l.backend == "onednn";
            onednn_plan = onednn_plan || l.backend == "onednn";
        }
        EXPECT_EQ(fake_quants, 5) << device;  // every activation pair; the weights' folded away
        // On the cpu device the per-tensor pairs run on oneDNN's backend (fake_quant_onednn.cpp), in
        // the plan's layout, so the bit-for-bit check below covers that kernel.
        if (onednn_plan) {
            EXPECT_GE(on_onednn, 4) << "FakeQuant on oneDNN";
        }
        const std::vector<Tensor> out = runtime_test::run_plan(plan, {x});
        ASSERT_EQ(out.size(), 2u);
        expect_equal(out[0], y1, device + " y1");
        expect_equal(out[1], y2, device + " y2");
        // Batch 1 of a batch-2 plan: the first sample.
        const std::vector<Tensor> one = runtime_test::run_plan(plan, {runtime_test::sample_of(x, 0)});
        expect_equal(one[0], runtime_test::sample_of(y1, 0), device + " y1 at batch 1");
        expect_equal(one[1], runtime_test::sample_of(y2, 0), device + " y2 at batch 1");
    }
}

TEST(QdqModel, ReferenceRunOfTheImportedGraphMatchesNumpy) {
    // No passes: the integer tensors of the model flow between the reference kernels as ONNX has them.
    const nlohmann::json e = expected();
    const std::vector<Tensor> out = run_reference(import_small(2), {tensor_of(e.at("x"))});
    expect_equal(out[0], tensor_of(e.at("y1")), "y1");
    expect_equal(out[1], tensor_of(e.at("y2")), "y2");
}

TEST(QdqModel, Int8BuildTakesTheModelsRanges) {
    const Plan plan = build(2, "cpu", Precision::INT8);
    const PlanContents c = read_plan(plan.bytes(), plan.shared_bytes(), "qdq_small");
    const nlohmann::json amax = expected().at("amax");
    for (const auto& [name, value] : amax.items()) {
        const ValueId v = c.graph.find_value(name);
        ASSERT_NE(v, kNoValue) << name;
        EXPECT_EQ(c.graph.value(v).amax, value.get<float>()) << name;
    }
    EXPECT_EQ(amax.at("x").get<float>(), 127.f / 32);  // A's scale 2^-5, by hand
    // Only C (uint8, zero point 0: asymmetric) stays a float fake quantization.
    int fake_quants = 0;
    for (const LayerInfo& l : plan.info().layers) fake_quants += l.op == "FakeQuant";
    EXPECT_EQ(fake_quants, 1);
}

TEST(QdqModel, TheBuilderRefusesIntegerTensorsAtRunTimeNamingTheNode) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 2, 3, 3}, true, "x");
    const ValueId q = b.quantize_linear(x, {0.5f}, {0});
    b.graph().value(q).name = "q";
    b.graph().node(b.producer(q)).name = "quant";
    b.output(q);
    b.output(b.dequantize_linear(q, {0.5f}, {0}));
    const std::string msg =
        error_of([&] { build_plan(b.build(), runtime_test::reference_options(1), "m", ""); });
    EXPECT_TRUE(contains(msg, "node 'quant' [QuantizeLinear]: its i8 tensor 'q' is a graph output"));
    EXPECT_TRUE(contains(msg, "f32 tensors only"));
    EXPECT_EQ(msg.find('\n'), std::string::npos);
}

}  // namespace
