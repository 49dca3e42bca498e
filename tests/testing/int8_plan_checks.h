// INT8 plans against the INT8 reference math (engine/refmath/ref_int8.h) applied by hand in the order a
// plan must run it: quantize the input with its calibrated range, integer convs requantized to the
// next value's range, MaxPool / nearest Resize on the int8 values themselves, a Concat whose inputs
// share one range (the largest), float output. Shared by the oneDNN and CUDA INT8 plan tests: each
// check builds its graph for `device` (BuildOptions::device) and compares.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/builder/builder.h"
#include "engine/builder/calibration.h"
#include "engine/core/error.h"
#include "engine/plan/plan_io.h"
#include "engine/refmath/ref_int8.h"
#include "engine/refmath/reference_executor.h"
#include "engine/runtime/runtime.h"
#include "tests/testing/graph_builder.h"

namespace int8_checks {

using namespace engine;

// s8 values as the plan stores them, dense NCHW.
struct Q8 {
    Shape shape;
    std::vector<int8_t> q;
    float scale = 1;
};

inline Q8 quantize(const Tensor& t, float amax) {
    Q8 r{t.shape(), std::vector<int8_t>(static_cast<size_t>(t.numel())), amax / 127.0f};
    quantize_s8(t.data_as<float>(), r.q.size(), r.scale, r.q.data());
    return r;
}

struct ConvRef {
    ConvParams p;
    QuantizedWeights w;
    std::vector<float> bias;
};

inline ConvRef conv_ref(const Graph& g, NodeId conv) {
    const Node& n = g.node(conv);
    ConvRef c;
    c.p = std::get<ConvParams>(n.params);
    const Tensor& w = g.constant(n.inputs[1]);
    c.w = quantize_weights_per_channel(w.data_as<float>(), w.shape());
    const Tensor& b = g.constant(n.inputs[2]);
    c.bias.assign(b.data_as<float>(), b.data_as<float>() + b.numel());
    return c;
}

// The integer conv of `x`, requantized to `y_amax`, or float (y_amax 0).
inline Q8 run_conv(const ConvRef& c, const Q8& x, float y_amax, std::vector<float>* y_float = nullptr,
                   const std::vector<float>* residual = nullptr) {
    Int8ConvArgs a = int8_conv_inputs(x.q.data(), x.shape, x.scale, c.w, c.bias.data(),
                                      residual ? residual->data() : nullptr);
    const Shape ys = conv_output_shape(c.p, x.shape, c.w.shape);
    size_t n = 1;
    for (int64_t d : ys) n *= static_cast<size_t>(d);
    Q8 y{ys, {}, y_amax / 127.0f};
    if (y_amax > 0) {
        y.q.resize(n);
        a.y_q = y.q.data();
        a.y_scale = y.scale;
    } else {
        y_float->resize(n);
        a.y = y_float->data();
    }
    ref_conv_int8(c.p, a);
    return y;
}

// Max pooling 2x2 stride 2 and nearest x2 upsampling on the stored int8 values (no rescaling).
inline Q8 maxpool2(const Q8& x) {
    Q8 y{{x.shape[0], x.shape[1], x.shape[2] / 2, x.shape[3] / 2}, {}, x.scale};
    for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc)
        for (int64_t i = 0; i < y.shape[2]; ++i)
            for (int64_t j = 0; j < y.shape[3]; ++j) {
                int8_t m = -128;
                for (int64_t di = 0; di < 2; ++di)
                    for (int64_t dj = 0; dj < 2; ++dj)
                        m = std::max(m, x.q[static_cast<size_t>((nc * x.shape[2] + 2 * i + di) * x.shape[3] +
                                                                2 * j + dj)]);
                y.q.push_back(m);
            }
    return y;
}
inline Q8 upsample2(const Q8& x) {
    Q8 y{{x.shape[0], x.shape[1], x.shape[2] * 2, x.shape[3] * 2}, {}, x.scale};
    for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc)
        for (int64_t i = 0; i < y.shape[2]; ++i)
            for (int64_t j = 0; j < y.shape[3]; ++j)
                y.q.push_back(x.q[static_cast<size_t>((nc * x.shape[2] + i / 2) * x.shape[3] + j / 2)]);
    return y;
}

inline BuildOptions int8_options(const std::string& device, std::map<std::string, double> amax) {
    auto t = std::make_shared<CalibrationTable>();
    t->inputs = 1;
    t->model = "test";
    t->amax = std::move(amax);
    BuildOptions o;
    o.device = device;
    o.precision = Precision::INT8;
    o.threads = 1;
    o.max_batch = 2;
    o.calibration = t;
    return o;
}

inline std::vector<float> run_plan(const Plan& plan, const std::vector<Tensor>& inputs) {
    auto engine = Engine::load(plan);
    auto ctx = engine->create_context(1);
    const std::vector<Tensor> out = ctx->run(inputs);
    return {out.at(0).data_as<float>(), out.at(0).data_as<float>() + out.at(0).numel()};
}

inline int count_precision(const Plan& plan, const std::string& op, const std::string& precision) {
    int n = 0;
    for (const auto& l : plan.info().layers) n += l.op == op && l.precision == precision;
    return n;
}

// The largest difference, and how many elements differ by more than `tol`.
inline std::pair<double, size_t> compare(const std::vector<float>& a, const std::vector<float>& b,
                                         double tol) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0;
    size_t off = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
        worst = std::max(worst, d);
        off += d > tol;
    }
    return {worst, off};
}

// x -> conv 3x3 (leaky) -> MaxPool 2x2 -> nearest x2 -> conv 1x1 (sigmoid: not positively
// homogeneous, so the conv scales to real units and requantizes last) -> y.
inline void expect_chain_matches_int8_reference(const std::string& device) {
    testing_util::GraphBuilder b(11);
    const ValueId x = b.input({2, 8, 12, 12});
    const ValueId c1 = b.leaky_relu(b.conv(x, 16, 3), 0.1f);
    const ValueId p = b.maxpool(c1, 2, 2);
    const ValueId u = b.upsample(p, 2);
    const ValueId y = b.sigmoid(b.conv(u, 8, 1));
    b.output(y);
    const Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(3);
    // The pool's range is the larger: the conv, the pool and the upsample share it (3.0).
    const BuildOptions o = int8_options(device, {{g.value(x).name, 1.0},
                                                 {g.value(c1).name, 2.5},
                                                 {g.value(p).name, 3.0},
                                                 {g.value(u).name, 2.0},
                                                 {g.value(y).name, 1.0}});
    const Plan plan = build_plan(g, o, "chain", "");
    EXPECT_EQ(count_precision(plan, "Conv", "i8"), 2);
    EXPECT_EQ(count_precision(plan, "MaxPool", "i8"), 1);
    EXPECT_EQ(count_precision(plan, "Resize", "i8"), 1);

    auto conv_of = [&](ValueId act_out) {
        return conv_ref(g, g.value(g.node(g.value(act_out).producer).inputs[0]).producer);
    };
    const ConvRef k1 = conv_of(c1);
    const ConvRef k2 = conv_of(y);
    ConvRef k1_leaky = k1;
    k1_leaky.p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
    ConvRef k2_sig = k2;
    k2_sig.p.act = Act{ActKind::Sigmoid, 0, 0};
    const Q8 xq = quantize(inputs[0], 1.0f);
    const Q8 c1q = run_conv(k1_leaky, xq, 3.0f);
    std::vector<float> expected;
    run_conv(k2_sig, upsample2(maxpool2(c1q)), 0, &expected);

    const std::vector<float> ours = run_plan(plan, inputs);
    // Float rounding in the epilogues may move a requantized value across a rounding tie (one step
    // of 3/127 in one input of conv 2): allow a few such elements, each a small change.
    const auto [worst, off] = compare(ours, expected, 1e-5);
    EXPECT_LT(worst, 5e-3);
    EXPECT_LE(off, expected.size() / 100) << "worst " << worst;

    // And it is a quantized result: near FP32, not equal to it.
    const std::vector<Tensor> f = run_reference(g, inputs);
    const auto [fworst, foff] =
        compare(ours, {f[0].data_as<float>(), f[0].data_as<float>() + f[0].numel()}, 1e-6);
    EXPECT_GT(foff, 0u);
    EXPECT_LT(fworst, 0.1);
}

// Yolo-Fastest's block: a 1x1 conv (leaky), a depthwise 3x3 conv (linear) and a 1x1 conv (linear)
// whose output adds the block's input (residual), plus a depthwise stride-2 conv with leaky ReLU: every
// conv INT8, the depthwise ones included (oneDNN's depthwise int8 convolution; CUDA's depthwise kernel).
inline void expect_depthwise_block_matches_int8_reference(const std::string& device) {
    testing_util::GraphBuilder b(13);
    const ValueId x = b.input({2, 8, 10, 10});
    const ValueId c1 = b.leaky_relu(b.conv(x, 16, 1), 0.1f);
    const ValueId d = b.conv(c1, 16, 3, 1, 16);
    const ValueId e = b.add(b.conv(d, 8, 1), x);
    const ValueId d2 = b.leaky_relu(b.conv(c1, 16, 3, 2, 16), 0.1f);
    b.output(e);
    b.output(d2);
    const Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(6);
    const BuildOptions o = int8_options(device, {{g.value(x).name, 1.0},
                                                 {g.value(c1).name, 2.0},
                                                 {g.value(d).name, 3.0},
                                                 {g.value(e).name, 2.5},
                                                 {g.value(d2).name, 1.5}});
    const Plan plan = build_plan(g, o, "depthwise", "");
    EXPECT_EQ(count_precision(plan, "Conv", "i8"), 4);

    auto producer = [&](ValueId v) { return g.value(v).producer; };
    auto leaky = [](ConvRef k) {
        k.p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
        return k;
    };
    const Q8 xq = quantize(inputs[0], 1.0f);
    const Q8 c1q = run_conv(leaky(conv_ref(g, producer(g.node(producer(c1)).inputs[0]))), xq, 2.0f);
    const Q8 dq = run_conv(conv_ref(g, producer(d)), c1q, 3.0f);
    // e = conv(d) + x: the residual in float is the stored x.
    std::vector<float> xf(xq.q.size());
    dequantize_s8(xq.q.data(), xq.q.size(), xq.scale, xf.data());
    ConvRef k3 = conv_ref(g, g.value(g.node(producer(e)).inputs[0]).producer);
    k3.p.residual = true;  // the Add the builder fuses
    std::vector<float> e_expected, d2_expected;
    run_conv(k3, dq, 0, &e_expected, &xf);
    run_conv(leaky(conv_ref(g, producer(g.node(producer(d2)).inputs[0]))), c1q, 0, &d2_expected);

    auto engine = Engine::load(plan);
    auto ctx = engine->create_context(1);
    const std::vector<Tensor> out = ctx->run(inputs);
    for (int i = 0; i < 2; ++i) {
        const std::vector<float>& expected = i == 0 ? e_expected : d2_expected;
        const std::vector<float> ours(
            out[static_cast<size_t>(i)].data_as<float>(),
            out[static_cast<size_t>(i)].data_as<float>() + out[static_cast<size_t>(i)].numel());
        // A value moved across a rounding tie by the float epilogue upstream: one step of 3/127 in one
        // input of the last conv; allow a few such elements.
        const auto [worst, off] = compare(ours, expected, 1e-5);
        EXPECT_LT(worst, 0.05) << "output " << i;
        EXPECT_LE(off, expected.size() / 50) << "output " << i << ", worst " << worst;
    }
    // And it is a quantized result: near FP32, not equal to it.
    const std::vector<Tensor> f = run_reference(g, inputs);
    const std::vector<float> e_ours(out[0].data_as<float>(), out[0].data_as<float>() + out[0].numel());
    const auto [fworst, foff] =
        compare(e_ours, {f[0].data_as<float>(), f[0].data_as<float>() + f[0].numel()}, 1e-6);
    EXPECT_GT(foff, 0u);
    EXPECT_LT(fworst, 0.2);
}

// A residual conv (Sum post-op: r prefilled in y's units) and a Concat of two convs with different
// ranges (both written with the larger one).
inline void expect_residual_and_concat_match_int8_reference(const std::string& device) {
    testing_util::GraphBuilder b(12);
    const ValueId x = b.input({2, 8, 10, 10});
    const ValueId c1 = b.leaky_relu(b.conv(x, 16, 1), 0.1f);
    const ValueId c2 = b.leaky_relu(b.conv(c1, 16, 3), 0.1f);
    const ValueId r = b.add(c2, c1);
    const ValueId a = b.leaky_relu(b.conv(r, 8, 1), 0.1f);
    const ValueId c = b.leaky_relu(b.conv(r, 8, 3), 0.1f);
    const ValueId cat = b.concat({a, c});
    const ValueId y = b.conv(cat, 4, 1);
    b.output(y);
    b.output(r);
    const Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(5);
    const BuildOptions o = int8_options(device, {{g.value(x).name, 1.0},
                                                 {g.value(c1).name, 2.0},
                                                 {g.value(r).name, 4.0},
                                                 {g.value(a).name, 1.5},
                                                 {g.value(c).name, 3.0},
                                                 {g.value(cat).name, 2.0},
                                                 {g.value(y).name, 5.0}});
    const Plan plan = build_plan(g, o, "residual", "");
    EXPECT_EQ(count_precision(plan, "Conv", "i8"), 5);
    EXPECT_EQ(count_precision(plan, "Concat", "i8"), 1);

    auto conv_of = [&](ValueId act_out) {
        return conv_ref(g, g.value(g.node(g.value(act_out).producer).inputs[0]).producer);
    };
    auto leaky = [](ConvRef k) {
        k.p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
        return k;
    };
    const Q8 xq = quantize(inputs[0], 1.0f);
    const Q8 c1q = run_conv(leaky(conv_of(c1)), xq, 2.0f);
    // r = leaky(conv(c1)) + c1: the residual in float is the stored c1.
    std::vector<float> c1f(c1q.q.size());
    dequantize_s8(c1q.q.data(), c1q.q.size(), c1q.scale, c1f.data());
    ConvRef k2 = leaky(conv_of(c2));
    k2.p.residual = true;  // the Add the builder fuses
    const Q8 rq = run_conv(k2, c1q, 4.0f, nullptr, &c1f);
    const Q8 aq = run_conv(leaky(conv_of(a)), rq, 3.0f);
    const Q8 cq = run_conv(leaky(conv_of(c)), rq, 3.0f);
    Q8 catq{{2, 16, 10, 10}, {}, 3.0f / 127};
    for (int64_t n = 0; n < 2; ++n)
        for (const Q8* part : {&aq, &cq}) {
            const size_t per = part->q.size() / 2;
            catq.q.insert(catq.q.end(), part->q.begin() + static_cast<std::ptrdiff_t>(n * per),
                          part->q.begin() + static_cast<std::ptrdiff_t>((n + 1) * per));
        }
    std::vector<float> expected;
    run_conv(conv_ref(g, g.value(y).producer), catq, 0, &expected);

    auto engine = Engine::load(plan);
    auto ctx = engine->create_context(1);
    const std::vector<Tensor> out = ctx->run(inputs);
    const std::vector<float> ours(out[0].data_as<float>(), out[0].data_as<float>() + out[0].numel());
    const auto [worst, off] = compare(ours, expected, 1e-4);
    EXPECT_LT(worst, 0.1);
    EXPECT_LE(off, expected.size() / 50) << "worst " << worst;
    // r, the residual conv's output (also a graph output): r is added in its own units, so it
    // rounds once, to r's range, as the reference does (prefilling it in y's units rounded twice: a
    // quarter of the elements were one step off).
    const std::vector<float> r_ours(out[1].data_as<float>(), out[1].data_as<float>() + out[1].numel());
    std::vector<float> r_expected(rq.q.size());
    dequantize_s8(rq.q.data(), rq.q.size(), rq.scale, r_expected.data());
    const auto [r_worst, r_off] = compare(r_ours, r_expected, 1e-6);
    EXPECT_LE(r_off, r_expected.size() / 100) << "worst " << r_worst;

    // The plan records the ranges it ran with: the Concat's inputs share the larger one.
    const PlanContents pc = read_plan(plan.bytes(), nullptr, "residual");
    for (ValueId v = 0; v < pc.graph.num_values(); ++v) {
        const std::string& name = pc.graph.value(v).name;
        if (name == g.value(a).name || name == g.value(c).name || name == g.value(cat).name) {
            EXPECT_FLOAT_EQ(pc.graph.value(v).amax, 3.0f) << name;
        }
    }
}

// x -> conv 3x3 (leaky) -> conv 3x3 (leaky) -> conv 1x1 (8 channels) -> y, random weights from `seed`
// and inputs from `input_seed`: the graph, the inputs, the float reference's y and its largest
// magnitude, and INT8 options for `device` with the ranges these inputs have (minmax).
struct ThreeConvs {
    Graph g;
    ValueId c2 = kNoValue;  // the second conv's (activated) output
    std::vector<Tensor> inputs;
    std::vector<float> ref;
    float amax_y = 0;
    BuildOptions options;
};

inline ThreeConvs three_convs(const std::string& device, uint32_t seed, const Shape& x_shape,
                              int64_t channels, uint32_t input_seed) {
    testing_util::GraphBuilder b(seed);
    const ValueId x = b.input(x_shape);
    const ValueId c1 = b.leaky_relu(b.conv(x, channels, 3), 0.1f);
    ThreeConvs t;
    t.c2 = b.leaky_relu(b.conv(c1, channels, 3), 0.1f);
    b.output(b.conv(t.c2, 8, 1));
    t.g = b.build();
    t.inputs = b.random_inputs(input_seed);
    const std::vector<Tensor> f = run_reference(t.g, t.inputs);
    t.ref.assign(f[0].data_as<float>(), f[0].data_as<float>() + f[0].numel());
    for (float v : t.ref) t.amax_y = std::max(t.amax_y, std::fabs(v));
    ActivationHistograms h;
    observe_reference(t.g, t.inputs, h);
    t.options = int8_options(device, h.table(CalibMethod::MinMax).amax);
    return t;
}

// `best` with a calibration (engine/builder/measured_precision.h): the builder times the all-INT8 plan,
// the plan without INT8 and the mixed ones, and records what it measured and chose in the plan's
// tactics. Whatever the timings chose, the plan's conv precisions must be that choice (all INT8, none,
// or INT8 but for the recorded float convs) and its output near the float reference. Without tactic
// timing (BuildOptions::time_tactics false) nothing is timed: INT8 wherever it runs, as before.
inline void expect_best_is_timed_and_consistent(const std::string& device,
                                                const std::string& reduced_wanted) {
    const ThreeConvs tc = three_convs(device, 21, {2, 8, 12, 12}, 32, 5);
    const Graph& g = tc.g;
    const std::vector<Tensor>& inputs = tc.inputs;
    const std::vector<float>& ref = tc.ref;
    const float amax_y = tc.amax_y;
    BuildOptions o = tc.options;
    o.precision = Precision::Best;

    const Plan plan = build_plan(g, o, "best", "");
    const auto& t = plan.info().tactics;
    ASSERT_TRUE(t.count("precision")) << "no precision choice recorded";
    const std::string choice = t.at("precision");
    // The float plan is named by what it computes: `reduced`, or f32 on a device without its kernels.
    const std::string reduced = t.count("precision.ms." + reduced_wanted) ? reduced_wanted : "f32";
    for (const std::string& k : {std::string("int8"), reduced, choice}) {
        ASSERT_TRUE(t.count("precision.ms." + k)) << k;
        EXPECT_GT(std::stod(t.at("precision.ms." + k)), 0.0) << k;
    }
    std::vector<std::string> kept;  // the recorded float convs, space-separated
    for (size_t i = 0, j; i < t.at("precision.float_convs").size(); i = j + 1) {
        j = t.at("precision.float_convs").find(' ', i);
        if (j == std::string::npos) j = t.at("precision.float_convs").size();
        kept.push_back(t.at("precision.float_convs").substr(i, j - i));
    }
    const int i8 = count_precision(plan, "Conv", "i8");
    if (choice == "int8") {
        EXPECT_EQ(i8, 3);
        EXPECT_TRUE(kept.empty());
    } else if (choice == reduced) {
        EXPECT_EQ(i8, 0);
        EXPECT_EQ(count_precision(plan, "Conv", reduced), 3) << "the float plan is named by what it computes";
    } else {
        ASSERT_EQ(choice, "mixed" + std::to_string(kept.size()));
        EXPECT_EQ(i8, 3 - static_cast<int>(kept.size()));
        for (const auto& l : plan.info().layers)
            if (std::find(kept.begin(), kept.end(), l.name) != kept.end()) {
                EXPECT_NE(l.precision, "i8") << l.name;
            }
    }
    std::cout << "[ best on " << device << ": " << choice << ", int8 " << t.at("precision.ms.int8") << " ms, "
              << reduced << " " << t.at("precision.ms." + reduced) << " ms ]\n";
    const auto [worst, off] = compare(run_plan(plan, inputs), ref, 0);
    EXPECT_LT(worst, 0.05 * amax_y);

    o.time_tactics = false;
    const Plan fixed = build_plan(g, o, "best", "");
    EXPECT_EQ(fixed.info().tactics.count("precision"), 0u);
    EXPECT_EQ(count_precision(fixed, "Conv", "i8"), 3);
}

}  // namespace int8_checks
