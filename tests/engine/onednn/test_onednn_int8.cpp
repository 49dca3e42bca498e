// The INT8 convolution on oneDNN (engine/backends/cpu/onednn/conv_int8_onednn.h) against the INT8
// reference (ref_conv_int8) on the same quantized input: int32 accumulation is exact in both, so they
// differ only by float rounding in the epilogue (scales, bias, activations), and in how the input
// rounds to s8 when a value sits on a tie.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "engine/backends/cpu/onednn/conv_int8_onednn.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"
#include "engine/refmath/ref_int8.h"

namespace {

using namespace engine;

struct Case {
    std::string name;
    Shape x, w;
    ConvParams p;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

ConvParams conv(int k, int stride, int pad, int group = 1, int dilation = 1) {
    ConvParams p;
    p.kernel = {k, k};
    p.stride = {stride, stride};
    p.pads = {pad, pad, pad, pad};
    p.group = group;
    p.dilation = {dilation, dilation};
    return p;
}
ConvParams leaky(ConvParams p) {
    p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
    return p;
}
ConvParams residual(ConvParams p) {
    p = leaky(p);
    p.residual = true;
    p.post_act = Act{ActKind::LeakyRelu, 0.1f, 0};
    return p;
}

class OneDnnInt8Conv : public ::testing::TestWithParam<Case> {};

TEST_P(OneDnnInt8Conv, MatchesTheInt8Reference) {
    const Case& c = GetParam();
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(shape_numel(c.x))), wf(static_cast<size_t>(shape_numel(c.w)));
    for (float& v : x) v = nd(rng);
    for (float& v : wf) v = nd(rng) * 0.1f;
    std::vector<float> bias(static_cast<size_t>(c.w[0]));
    for (float& v : bias) v = nd(rng) * 0.5f;
    const QuantizedWeights w = quantize_weights_per_channel(wf.data(), c.w);
    const float x_scale = 3.0f / 127;  // about 3 sigma: some inputs saturate, as calibrated ones do

    if (!onednn::cpu_has_int8()) {
        // The fallback: refused with a reason (the builder then keeps the layer in a float precision).
        try {
            onednn::Int8Conv refused(c.p, c.x, w, bias.data(), x_scale, 2);
            ADD_FAILURE() << "an INT8 conv without VNNI (ISA " << onednn::cpu_isa_name() << ")";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("no VNNI or AMX"), std::string::npos) << e.what();
        }
        return;
    }
    onednn::Int8Conv conv(c.p, c.x, w, bias.data(), x_scale, 2);
    const Shape ys = conv.output_shape();
    std::vector<float> r(static_cast<size_t>(shape_numel(ys)));
    for (float& v : r) v = nd(rng);
    std::vector<float> y(r.size());
    conv.run(x.data(), c.p.residual ? r.data() : nullptr, y.data());

    std::vector<int8_t> xq(x.size());
    quantize_s8(x.data(), x.size(), x_scale, xq.data());
    std::vector<float> want(r.size());
    Int8ConvArgs a =
        int8_conv_inputs(xq.data(), c.x, x_scale, w, bias.data(), c.p.residual ? r.data() : nullptr);
    a.y = want.data();
    ref_conv_int8(c.p, a);

    float worst = 0, scale = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        worst = std::max(worst, std::fabs(y[i] - want[i]));
        scale = std::max(scale, std::fabs(want[i]));
    }
    // Float rounding of the epilogue: far below one quantization step of an input (x_scale * |w|).
    EXPECT_LE(worst, 1e-4f * scale + 1e-5f) << c.name << " (" << conv.impl() << ")";
    std::printf("[ int8 conv ] %s: %s, worst difference %.3g of %.3g\n", c.name.c_str(), conv.impl().c_str(),
                static_cast<double>(worst), static_cast<double>(scale));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, OneDnnInt8Conv,
    ::testing::Values(Case{"k3s1", {1, 16, 13, 13}, {32, 16, 3, 3}, conv(3, 1, 1)},
                      Case{"k3s2_leaky", {2, 32, 16, 16}, {64, 32, 3, 3}, leaky(conv(3, 2, 1))},
                      Case{"k1_residual", {1, 64, 10, 10}, {64, 64, 1, 1}, residual(conv(1, 1, 0))},
                      Case{"odd_channels", {1, 3, 20, 20}, {24, 3, 3, 3}, leaky(conv(3, 1, 1))},
                      Case{"depthwise", {1, 32, 12, 12}, {32, 1, 3, 3}, leaky(conv(3, 1, 1, 32))},
                      Case{"grouped", {1, 16, 9, 9}, {16, 4, 3, 3}, conv(3, 1, 2, 4, 2)}),
    [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
