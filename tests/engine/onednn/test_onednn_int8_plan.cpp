// INT8 plans on oneDNN (docs/int8.md): the builder's INT8 precision end to end, against the INT8
// reference math (engine/refmath/ref_int8.h) applied by hand in the order the plan must run it:
// quantize the input with its calibrated range, integer convs requantized to the next value's range,
// MaxPool / nearest Resize on the int8 values themselves, a Concat whose inputs share one range (the
// largest), float output. Also the builder's rules: no calibration, unknown float layers, layers
// kept in float, and a CPU without VNNI (ctest onednn_isa_avx2 runs OneDnnPlan.* there).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/builder/builder.h"
#include "engine/builder/calibration.h"
#include "engine/builder/sensitivity.h"
#include "engine/core/error.h"
#include "engine/plan/plan_io.h"
#include "engine/refmath/ref_int8.h"
#include "engine/refmath/reference_executor.h"
#include "engine/runtime/runtime.h"
#include "tests/testing/graph_builder.h"
#include "tests/testing/int8_plan_checks.h"

namespace {

using namespace engine;
using namespace int8_checks;

bool cpu_has_int8() { return engine::onednn_cpu_has_int8(); }

// x -> conv 3x3 (leaky) -> MaxPool 2x2 -> nearest x2 -> conv 1x1 (sigmoid: not positively
// homogeneous, so the conv scales to real units and requantizes last) -> y.
TEST(OneDnnPlan, Int8ChainMatchesTheInt8Reference) {
    if (!cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: Int8FallsBackWithoutVnni covers this CPU";
    expect_chain_matches_int8_reference("onednn");
}

// A residual conv (Sum post-op: r prefilled in its own units) and a Concat of two convs with different
// ranges (both written with the larger one).
TEST(OneDnnPlan, Int8ResidualAndConcatMatchTheInt8Reference) {
    if (!cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: Int8FallsBackWithoutVnni covers this CPU";
    expect_residual_and_concat_match_int8_reference("onednn");
}

// `best`: INT8 only where it measures faster than BF16 (engine/builder/measured_precision.h).
TEST(OneDnnPlan, Int8DepthwiseBlockMatchesTheInt8Reference) {
    if (!cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: Int8FallsBackWithoutVnni covers this CPU";
    expect_depthwise_block_matches_int8_reference("onednn");
}

TEST(OneDnnPlan, BestIsTimedAndConsistent) {
    if (!cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: best has no INT8 layers to time";
    expect_best_is_timed_and_consistent("onednn", "bf16");
}

TEST(OneDnnPlan, Int8NeedsCalibrationAndKnownFloatLayers) {
    testing_util::GraphBuilder b(13);
    const ValueId x = b.input({1, 4, 8, 8});
    const ValueId y = b.conv(x, 4, 3);
    b.output(y);
    const Graph g = b.build();
    BuildOptions o = int8_options("onednn", {});
    o.calibration.reset();
    try {
        (void)build_plan(g, o, "nocal", "");
        ADD_FAILURE() << "built without a calibration";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--calib"), std::string::npos) << e.what();
    }
    o = int8_options("onednn", {{g.value(x).name, 1.0}, {g.value(y).name, 1.0}});
    o.float_layers = {"no_such_layer"};
    try {
        (void)build_plan(g, o, "m", "");
        ADD_FAILURE() << "built with an unknown float layer";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("float layer 'no_such_layer'"), std::string::npos) << e.what();
    }
    o = int8_options("onednn", {{"not_in_this_model", 1.0}});
    try {
        (void)build_plan(g, o, "m", "");
        ADD_FAILURE() << "built with a calibration of another model";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("has no range for any activation"), std::string::npos)
            << e.what();
    }
}

// Layers named as float stay out of INT8; the others run in it; the plan still matches FP32 closely.
// Without VNNI/AMX (onednn_isa_avx2) nothing runs in INT8, and the plan is the best other precision.
TEST(OneDnnPlan, Int8FloatLayersAndTheFallbackWithoutVnni) {
    const ThreeConvs tc = three_convs("onednn", 14, {2, 8, 10, 10}, 16, 9);
    const Graph& g = tc.g;
    const ValueId c2 = tc.c2;
    const std::vector<Tensor>& inputs = tc.inputs;
    const std::vector<float>& ref = tc.ref;
    const float amax_y = tc.amax_y;
    BuildOptions o = tc.options;  // the ranges these inputs have (the largest magnitudes)
    const std::string middle = g.node(g.value(g.node(g.value(c2).producer).inputs[0]).producer).name;
    o.float_layers = {middle};
    const Plan plan = build_plan(g, o, "float_layers", "");
    const std::vector<float> ours = run_plan(plan, inputs);
    const auto [worst, off] = compare(ours, ref, 0);
    if (cpu_has_int8()) {
        EXPECT_EQ(count_precision(plan, "Conv", "i8"), 2);
        for (const auto& l : plan.info().layers)
            if (l.name == middle) {
                EXPECT_EQ(l.precision, "f32");
            }
        EXPECT_GT(off, 0u);  // quantized
    } else {
        EXPECT_EQ(count_precision(plan, "Conv", "i8"), 0);
        EXPECT_EQ(count_precision(plan, "Conv", "f32") + count_precision(plan, "Conv", "bf16"), 3);
    }
    EXPECT_LT(worst, 0.05 * amax_y);
}

// Mixed precision by measurement: conv A writes two channels a hundred thousand times apart; conv B
// reads the small one. With B in INT8, A's output is quantized with one range for both channels and the
// small one becomes 0 (B's first output is lost); with A alone in INT8, A's output stays float. So B
// is the sensitive layer, and keeping it in float alone brings the error under the bound.
TEST(OneDnnPlan, Int8SensitivityFindsTheLayerWhoseInputRangeHidesAChannel) {
    if (!cpu_has_int8()) GTEST_SKIP() << "no VNNI/AMX: no INT8 layers to measure";
    testing_util::GraphBuilder b(15);
    const ValueId x = b.input({2, 4, 6, 6});
    ConvParams p;
    p.kernel = {1, 1};
    Tensor wa(DataType::F32, {2, 4, 1, 1}), wb(DataType::F32, {2, 2, 1, 1});
    const float a_w[] = {100, -80, 90, 70, 0.001f, 0.002f, -0.001f, 0.0015f};
    const float b_w[] = {0, 1, 1e-5f, 0};  // y0 = a1 (small), y1 = 1e-5 a0 (as small)
    std::copy(std::begin(a_w), std::end(a_w), wa.data_as<float>());
    std::copy(std::begin(b_w), std::end(b_w), wb.data_as<float>());
    const ValueId a = b.conv_with(x, b.constant(wa), kNoValue, p);
    const ValueId y = b.conv_with(a, b.constant(wb), kNoValue, p);
    b.output(y);
    const Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(4);
    ActivationHistograms h;
    observe_reference(g, inputs, h);
    const BuildOptions o = int8_options("onednn", h.table(CalibMethod::MinMax).amax);
    const std::string conv_a = g.node(g.value(a).producer).name, conv_b = g.node(g.value(y).producer).name;

    const Int8Sensitivity s = measure_int8_sensitivity(g, o, {inputs}, 1e-3);
    ASSERT_EQ(s.layers.size(), 2u);
    EXPECT_EQ(s.layers[0].layer, conv_b);
    EXPECT_EQ(s.layers[1].layer, conv_a);
    EXPECT_GT(s.layers[0].error, 0.2);   // half the output energy lost
    EXPECT_LT(s.layers[1].error, 1e-3);  // 8-bit input, float output
    EXPECT_GT(s.error_all, 0.2);
    EXPECT_EQ(s.float_layers, std::vector<std::string>{conv_b});
    EXPECT_LE(s.error_chosen, 1e-3);
    ASSERT_EQ(s.tried.size(), 2u);
    EXPECT_EQ(s.tried[1].first, 1u);
    const std::string report = format_sensitivity(s, 1e-3);
    EXPECT_NE(report.find(conv_b), std::string::npos) << report;
    EXPECT_NE(report.find("kept in float: 1 layer(s)"), std::string::npos) << report;
}

}  // namespace
