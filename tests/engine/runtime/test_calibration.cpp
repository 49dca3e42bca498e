// INT8 calibration math and its cache file (engine/builder/calibration.h). Oracles: hand-computed
// histograms, and an independent numpy implementation of the entropy and percentile methods
// (scripts/tools/check_entropy_calibration.py -> tests/data/entropy_calibration_cases.json).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/builder/calibration.h"
#include "engine/core/error.h"
#include "engine/passes/pass.h"
#include "engine/refmath/reference_executor.h"
#include "tests/engine/runtime/runtime_test_util.h"
#include "tests/testing/build_options.h"
#include "tests/testing/error_of.h"
#include "tests/testing/graph_builder.h"

namespace engine {
namespace {

using testing_util::error_of;

TEST(AbsHistogram, BinsAbsoluteValuesAndDoublesItsRangeForLargerOnes) {
    AbsHistogram h(4);
    const std::vector<float> a = {0.5f, -1.0f, 2.0f, 3.9f};
    h.add(a.data(), a.size());
    // range 3.9, bins of 0.975: 0.5 -> 0, 1.0 -> 1, 2.0 -> 2, 3.9 (the edge) -> the last bin
    EXPECT_DOUBLE_EQ(h.range(), 3.9f);
    EXPECT_EQ(h.counts(), (std::vector<uint64_t>{1, 1, 1, 1}));
    const float b = -7.0f;
    h.add(&b, 1);
    // range doubled once to 7.8: pairs merged, 7.0 -> bin 3
    EXPECT_DOUBLE_EQ(h.range(), 2 * static_cast<double>(3.9f));
    EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 2, 0, 1}));
    EXPECT_EQ(h.total(), 5u);
    EXPECT_DOUBLE_EQ(h.max_abs(), 7.0);
}

TEST(AbsHistogram, ZerosFirstThenValues) {
    AbsHistogram h(8);
    const std::vector<float> z(5, 0.0f);
    h.add(z.data(), z.size());
    EXPECT_EQ(h.range(), 0.0);
    EXPECT_EQ(h.counts()[0], 5u);
    EXPECT_EQ(amax_entropy(h), 0.0);
    EXPECT_EQ(amax_percentile(h, 99.0), 0.0);
    const float one = 1.0f;
    h.add(&one, 1);
    EXPECT_EQ(h.counts()[0], 5u);
    EXPECT_EQ(h.counts()[7], 1u);
}

TEST(AbsHistogram, RefusesNonFiniteValuesNamingTheElement) {
    AbsHistogram h;
    const std::vector<float> a = {1.0f, NAN};
    const std::string msg = error_of([&] { h.add(a.data(), a.size()); });
    EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
    EXPECT_NE(msg.find("element 1"), std::string::npos) << msg;
}

TEST(AbsHistogram, SameValuesInTheSameOrderGiveTheSameCounts) {
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 2.0f);
    std::vector<float> x(10000);
    for (float& v : x) v = n(rng);
    AbsHistogram a, b;
    for (size_t i = 0; i < x.size(); i += 1000) {
        a.add(x.data() + i, 1000);
        b.add(x.data() + i, 1000);
    }
    EXPECT_EQ(a.counts(), b.counts());
    EXPECT_EQ(amax_entropy(a), amax_entropy(b));
}

TEST(Calibration, MinMaxAndPercentileByHand) {
    // counts [2, 2, 0, 1] over [0, 7.8): bins of 1.95, largest |x| 7
    const AbsHistogram h({2, 2, 0, 1}, 7.8, 7.0);
    EXPECT_DOUBLE_EQ(amax_minmax(h), 7.0);
    EXPECT_DOUBLE_EQ(amax_percentile(h, 80.0), 2 * 1.95);  // 4 of 5 by the end of bin 1
    EXPECT_DOUBLE_EQ(amax_percentile(h, 30.0), 1.95);
    EXPECT_DOUBLE_EQ(amax_percentile(h, 100.0), 7.0);  // bin 3's edge 7.8, capped at the max seen
    EXPECT_NE(error_of([&] { amax_percentile(h, 0.0); }).find("not in (0, 100]"), std::string::npos);
    EXPECT_NE(error_of([&] { amax_percentile(h, 100.5); }).find("not in (0, 100]"), std::string::npos);
    EXPECT_DOUBLE_EQ(calibrate_amax(h, CalibMethod::MinMax), 7.0);
    EXPECT_DOUBLE_EQ(calibrate_amax(h, CalibMethod::Percentile, 80.0), 2 * 1.95);
}

TEST(Calibration, EntropyClipsAFarOutlierAndKeepsAUniformRange) {
    // 1000 values spread over 300 bins and one 10x further out: the outlier is clipped.
    std::vector<uint64_t> c(2048, 0);
    for (int k = 0; k < 300; ++k) c[static_cast<size_t>(k)] = 1000 - 3 * static_cast<uint64_t>(k);
    c[2047] = 1;
    const AbsHistogram outlier(c, 2048.0, 2047.5);
    const double a = amax_entropy(outlier);
    EXPECT_GT(a, 128.0);
    EXPECT_LT(a, 400.0);
    // Evenly filled bins: any clipping loses information, so the whole range is kept.
    const AbsHistogram flat(std::vector<uint64_t>(2048, 50), 4.0, 4.0);
    EXPECT_NEAR(amax_entropy(flat), 4.0, 4.0 / 2048);
    // Fewer nonzero bins than levels: 8 bits hold it all.
    std::vector<uint64_t> few(2048, 0);
    few[10] = few[100] = 5;
    EXPECT_DOUBLE_EQ(amax_entropy(AbsHistogram(few, 1.0, 0.05)), 0.05);
}

// The numpy oracle's cases: the same histograms, the same thresholds (to rounding).
TEST(Calibration, EntropyAndPercentileMatchTheNumpyOracle) {
    const std::string path = std::string(RTDET_SOURCE_DIR) + "/tests/data/entropy_calibration_cases.json";
    std::ifstream in(path);
    ASSERT_TRUE(in.is_open()) << path;
    const nlohmann::json j = nlohmann::json::parse(in);
    ASSERT_GE(j["cases"].size(), 7u);
    for (const nlohmann::json& c : j["cases"]) {
        const std::string name = c["name"];
        const AbsHistogram h(c["counts"].get<std::vector<uint64_t>>(), c["range"].get<double>(),
                             c["max_abs"].get<double>());
        const double width = h.bin_width();
        EXPECT_NEAR(amax_entropy(h, j["levels"].get<int>()), c["entropy"].get<double>(), 1e-9 + width * 1e-6)
            << name;
        EXPECT_NEAR(amax_percentile(h, 99.99), c["percentile_99_99"].get<double>(), 1e-9) << name;
        EXPECT_NEAR(amax_percentile(h, 99.0), c["percentile_99"].get<double>(), 1e-9) << name;
    }
}

TEST(Calibration, MethodNames) {
    EXPECT_EQ(parse_calib_method("entropy"), CalibMethod::Entropy);
    EXPECT_EQ(parse_calib_method("percentile"), CalibMethod::Percentile);
    EXPECT_EQ(parse_calib_method("minmax"), CalibMethod::MinMax);
    for (CalibMethod m : {CalibMethod::Entropy, CalibMethod::Percentile, CalibMethod::MinMax})
        EXPECT_EQ(parse_calib_method(calib_method_name(m)), m);
    const std::string msg = error_of([] { parse_calib_method("kl"); });
    EXPECT_NE(msg.find("'kl'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("entropy, percentile or minmax"), std::string::npos) << msg;
}

CalibrationTable sample_table() {
    CalibrationTable t;
    t.method = CalibMethod::Percentile;
    t.percentile = 99.9;
    t.inputs = 64;
    t.model = "yolo-fastest-1.1-xl.cfg";
    t.preprocess = "darknet 320x320";
    t.amax = {{"images", 1.0}, {"conv_0", 3.25}, {"conv_1", 0.0}};
    t.float_layers = {"layer_2_conv", "layer_0_conv"};
    t.equalize = true;
    t.sensitivity = {{"layer_2_conv", 0.02}, {"layer_0_conv", 1.5e-4}, {"layer_1_conv", 0.0}};
    return t;
}

TEST(CalibrationTable, SavesAndLoadsWhole) {
    const std::string path = runtime_test::temp_path("calib_roundtrip.json");
    const CalibrationTable t = sample_table();
    t.save(path);
    const CalibrationTable u = CalibrationTable::load(path);
    EXPECT_EQ(u.method, t.method);
    EXPECT_DOUBLE_EQ(u.percentile, t.percentile);
    EXPECT_EQ(u.inputs, 64);
    EXPECT_EQ(u.model, t.model);
    EXPECT_EQ(u.preprocess, t.preprocess);
    EXPECT_EQ(u.amax, t.amax);
    EXPECT_EQ(u.float_layers, t.float_layers);  // in their order (most sensitive first)
    EXPECT_TRUE(u.equalize);
    EXPECT_EQ(u.sensitivity, t.sensitivity);
    EXPECT_EQ(u.to_json(), t.to_json());
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
        EXPECT_EQ(e.path().filename().string().find("calib_roundtrip.json.tmp"), std::string::npos);
    std::filesystem::remove(path);
}

TEST(CalibrationTable, BadFilesFailWithOneLineNamingTheFileAndKey) {
    const std::string good = sample_table().to_json();
    auto with = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        const size_t at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return s.replace(at, from.size(), to);
    };
    struct Bad {
        std::string text, expect;
    };
    const std::vector<Bad> cases = {
        {"{not json", "not JSON"},
        {"[1, 2]", "not an rtdet calibration cache"},
        {with("rtdet-calibration", "rtdet-plan"), "not an rtdet calibration cache"},
        {with("\"version\": 1", "\"version\": 9"), "version 9"},
        {with("\"percentile\": 99.9", "\"percentile\": 120"), "'percentile'"},
        {with("\"method\": \"percentile\"", "\"method\": \"kl\""), "'kl'"},
        {with("\"conv_0\": 3.25", "\"conv_0\": -1"), "'amax.conv_0'"},
        {with("\"conv_0\": 3.25", "\"conv_0\": \"nan\""), "'amax.conv_0': expected a number"},
        {with("\"amax\"", "\"ranges\""), "amax"},
        {with("\"inputs\": 64", "\"inputs\": -2"), "inputs"},
        {with("\"float_layers\": [", "\"float_layers\": [3, "), "float_layers"},
        {with("\"float_layers\": [", "\"float_layers\": {\"a\": 1}, \"x\": ["), "float_layers"},
        {with("\"layer_2_conv\": 0.02", "\"layer_2_conv\": -0.02"), "'sensitivity.layer_2_conv'"},
        {with("\"equalize\": true", "\"equalize\": 1"), "equalize"},
        {with("\"layer_2_conv\": 0.02", "\"layer_2_conv\": \"big\""), "'sensitivity.layer_2_conv'"},
    };
    for (const Bad& b : cases) {
        const std::string msg = error_of([&] { CalibrationTable::from_json(b.text, "c.json"); });
        EXPECT_NE(msg.find("calibration cache 'c.json'"), std::string::npos) << msg;
        EXPECT_NE(msg.find(b.expect), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    const std::string missing = error_of([] { CalibrationTable::load("/nonexistent/c.json"); });
    EXPECT_NE(missing.find("cannot read calibration cache '/nonexistent/c.json': no such file"),
              std::string::npos)
        << missing;
}

// The ranges gathered through the reference kernels, by hand: y = Conv 1x1 (weight 2, bias 1) of x,
// z = Relu(y), over two batches.
TEST(ActivationHistograms, GathersEveryFloatValueOfAGraphRunOnTheReferenceKernels) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 1, 2, 2}, true, "x");
    Tensor w(DataType::F32, {1, 1, 1, 1});
    w.f32()[0] = 2.0f;
    Tensor bias(DataType::F32, {1});
    bias.f32()[0] = 1.0f;
    const ConvParams p;  // 1x1, stride 1, no padding
    const ValueId y = b.conv_with(x, b.constant(std::move(w), "w"), b.constant(std::move(bias), "b"), p);
    b.output(b.relu(y));
    const Graph g = b.build();
    ActivationHistograms h;
    auto batch = [](std::vector<float> v) {
        Tensor t(DataType::F32, {static_cast<int64_t>(v.size() / 4), 1, 2, 2});
        std::copy(v.begin(), v.end(), t.f32().begin());
        return std::vector<Tensor>{std::move(t)};
    };
    observe_reference(g, batch({-1.0f, 0.5f, 3.0f, -4.0f}), h);  // y: -1, 2, 7, -7; z: 0, 2, 7, 0
    observe_reference(g, batch({0.25f, 0.0f, -2.5f, 1.0f, 2.0f, 2.0f, 2.0f, 2.0f}), h);  // y up to -4, 5
    const CalibrationTable t = h.table(CalibMethod::MinMax);
    EXPECT_EQ(t.inputs, 3);
    ASSERT_EQ(t.amax.size(), 3u) << "x, the conv's output and the relu's (constants are not activations)";
    EXPECT_DOUBLE_EQ(t.amax.at("x"), 4.0);
    EXPECT_DOUBLE_EQ(t.amax.at(g.value(y).name), 7.0);
    EXPECT_DOUBLE_EQ(t.amax.at(g.value(g.outputs()[0]).name), 7.0);
    EXPECT_EQ(h.histograms().at("x").total(), 12u);
    // A non-finite activation names the tensor.
    const std::string msg = error_of([&] { observe_reference(g, batch({NAN, 0, 0, 0}), h); });
    EXPECT_NE(msg.find("tensor 'x'"), std::string::npos) << msg;
}

// The engine's gatherer sees the values the builder keeps (after the passes: Conv+BN+Leaky fused into
// one Conv) by the same names, with the ranges the reference kernels give for the same graph.
TEST(ActivationGatherer, MatchesTheReferenceOnTheOptimizedGraph) {
    testing_util::GraphBuilder b(3);
    const ValueId x = b.input({2, 3, 12, 12}, true, "images");
    const ValueId a = b.leaky_relu(b.batch_norm(b.conv(x, 8, 3)), 0.1f);
    const ValueId c = b.leaky_relu(b.batch_norm(b.conv(a, 8, 3, 2)), 0.1f);
    const ValueId u = b.upsample(c, 2);
    b.output(b.conv(b.concat({u, a}), 6, 1));
    const Graph g = b.build();
    const std::vector<Tensor> in1 = b.random_inputs(11), in2 = b.random_inputs(12);

    for (const std::string device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        ActivationGatherer gather(g, testing_util::build_options(device, Precision::FP16, 2));
        ActivationHistograms fast;
        gather.run(in1, fast);
        gather.run(in2, fast);

        Graph opt = g;
        run_passes(opt, {"eliminate_concat"});
        ActivationHistograms ref;
        observe_reference(opt, in1, ref);
        observe_reference(opt, in2, ref);

        const CalibrationTable tf = fast.table(CalibMethod::MinMax), tr = ref.table(CalibMethod::MinMax);
        EXPECT_EQ(tf.inputs, 4);
        ASSERT_EQ(tf.amax.size(), tr.amax.size());
        // images, 2 fused convs, the upsample, the concat and the output conv
        EXPECT_EQ(tf.amax.size(), 6u);
        for (const auto& [name, amax] : tr.amax) {
            ASSERT_EQ(tf.amax.count(name), 1u) << name;
            EXPECT_NEAR(tf.amax.at(name), amax, 1e-4 * amax + 1e-6) << name;
            EXPECT_EQ(fast.histograms().at(name).total(), ref.histograms().at(name).total()) << name;
        }
    }
}

}  // namespace
}  // namespace engine
