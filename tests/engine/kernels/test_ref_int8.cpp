// INT8 reference math (engine/refmath/ref_int8.h): quantization by hand (rounding, saturation,
// per-channel weight scales), a convolution by hand, and the integer convolution against the float
// reference conv (ref_conv) run on the dequantized tensors: int32 accumulation is exact, so the two
// agree to float rounding, and the requantized output is the float result quantized.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "engine/refmath/ref_int8.h"
#include "tests/engine/kernels/kernel_test_util.h"
#include "tests/testing/error_of.h"

namespace {

using namespace engine;

TEST(QuantizeS8, RoundsHalfToEvenAndSaturates) {
    const std::vector<std::pair<float, int>> cases = {
        {0.5f, 0},     {1.5f, 2},     {2.5f, 2},    {-0.5f, 0},      {-1.5f, -2},     {0.49f, 0},
        {126.6f, 127}, {127.5f, 127}, {300.f, 127}, {-127.5f, -128}, {-128.4f, -128}, {-1e9f, -128}};
    for (const auto& [x, q] : cases) EXPECT_EQ(quantize_s8(x, 1.0f), q) << x;
    EXPECT_EQ(quantize_s8(NAN, 1.0f), 0);
    EXPECT_EQ(quantize_s8(INFINITY, 1.0f), 127);
    EXPECT_EQ(quantize_s8(0.75f, 0.5f), 2);  // 1.5 -> 2
    EXPECT_EQ(quantize_s8(0.25f, 0.5f), 0);  // 0.5 -> 0
    int8_t q[3];
    const float x[3] = {-1.0f, 0.1f, 3.0f};
    quantize_s8(x, 3, 0.1f, q);
    EXPECT_EQ(q[0], -10);
    EXPECT_EQ(q[1], 1);
    EXPECT_EQ(q[2], 30);
    float back[3];
    dequantize_s8(q, 3, 0.1f, back);
    EXPECT_FLOAT_EQ(back[2], 3.0f);
    EXPECT_NE(testing_util::error_of([&] { quantize_s8(x, 3, 0.0f, q); }).find("scale 0"), std::string::npos);
    EXPECT_NE(testing_util::error_of([&] { quantize_s8(x, 3, NAN, q); }).find("not a finite value"),
              std::string::npos);
}

TEST(QuantizeS8, WeightsPerOutputChannelByHand) {
    // Channel 0: max 7.9375 = 127 / 16, so the scale is exactly 1/16; channel 1 all zero (scale 1);
    // channel 2: max 0.127 (scale 0.001).
    const std::vector<float> w = {7.9375f, -0.03125f, 0.09375f, 0.15625f, 0,       0,
                                  0,       0,         0.127f,   -0.127f,  0.0005f, 0};
    const QuantizedWeights q = quantize_weights_per_channel(w.data(), {3, 1, 2, 2});
    ASSERT_EQ(q.scale.size(), 3u);
    EXPECT_EQ(q.scale[0], 0.0625f);
    EXPECT_EQ(q.scale[1], 1.0f);
    EXPECT_FLOAT_EQ(q.scale[2], 0.001f);
    // 127; -0.5 -> 0 and 1.5 -> 2 and 2.5 -> 2 (half to even)
    EXPECT_EQ(q.q, (std::vector<int8_t>{127, 0, 2, 2, 0, 0, 0, 0, 127, -127, 0, 0}));
}

TEST(RefConvInt8, ByHand) {
    // x [1,1,2,2] = {1,2,3,4} * 0.5; W [1,1,2,2] = {1,-1,2,0} * 0.25; bias 1:
    // acc = 1 - 2 + 6 + 0 = 5; y = 5 * 0.5 * 0.25 + 1 = 1.625; requantized at 0.25: 6.5 -> 6.
    const std::vector<int8_t> x = {1, 2, 3, 4};
    QuantizedWeights w;
    w.shape = {1, 1, 2, 2};
    w.q = {1, -1, 2, 0};
    w.scale = {0.25f};
    const float bias = 1.0f;
    ConvParams p;
    p.kernel = {2, 2};
    float y = 0;
    Int8ConvArgs a;
    a.x = x.data();
    a.x_shape = {1, 1, 2, 2};
    a.x_scale = 0.5f;
    a.w = &w;
    a.bias = &bias;
    a.y = &y;
    ref_conv_int8(p, a);
    EXPECT_FLOAT_EQ(y, 1.625f);
    int8_t yq = 0;
    a.y = nullptr;
    a.y_q = &yq;
    a.y_scale = 0.25f;
    ref_conv_int8(p, a);
    EXPECT_EQ(yq, 6);
    // Leaky ReLU on a negative result: bias -3 -> 0.625 - 3 = -2.375, x 0.1 = -0.2375.
    const float neg = -3.0f;
    a.bias = &neg;
    a.y_q = nullptr;
    a.y = &y;
    p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
    ref_conv_int8(p, a);
    EXPECT_FLOAT_EQ(y, -0.2375f);
    EXPECT_NE(testing_util::error_of([&] {
                  Int8ConvArgs b = a;
                  b.y_q = &yq;
                  ref_conv_int8(p, b);
              }).find("exactly one output"),
              std::string::npos);
}

struct Int8Case {
    std::string name;
    Shape x, w;
    ConvParams p;
    bool residual = false;
};

void PrintTo(const Int8Case& c, std::ostream* os) { *os << c.name; }

class RefConvInt8Random : public ::testing::TestWithParam<Int8Case> {};

TEST_P(RefConvInt8Random, EqualsTheFloatConvOfTheDequantizedTensors) {
    const Int8Case& c = GetParam();
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const float x_scale = 0.05f, y_scale = 0.04f;
    std::vector<int8_t> xq(static_cast<size_t>(shape_numel(c.x)));
    for (int8_t& v : xq) v = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
    std::vector<float> wf(static_cast<size_t>(shape_numel(c.w)));
    for (float& v : wf) v = nd(rng) * 0.2f;
    const QuantizedWeights w = quantize_weights_per_channel(wf.data(), c.w);
    std::vector<float> bias(static_cast<size_t>(c.w[0]));
    for (float& v : bias) v = nd(rng);
    const Shape ys = conv_output_shape(c.p, c.x, c.w);
    std::vector<float> res(static_cast<size_t>(shape_numel(ys)));
    for (float& v : res) v = nd(rng);

    // The float oracle: ref_conv on the dequantized x and W.
    Tensor xd(DataType::F32, c.x), wd(DataType::F32, c.w);
    dequantize_s8(xq.data(), xq.size(), x_scale, xd.f32().data());
    const size_t per = w.q.size() / w.scale.size();
    for (size_t o = 0; o < w.scale.size(); ++o)
        dequantize_s8(w.q.data() + o * per, per, w.scale[o], wd.f32().data() + o * per);
    std::vector<Tensor> ins = {xd, wd, kt::f32({c.w[0]}, bias)};
    if (c.residual) ins.push_back(kt::f32(ys, res));
    const Tensor want = kt::run1(OpType::Conv, c.p, ins, ys);

    std::vector<float> y(static_cast<size_t>(shape_numel(ys)));
    std::vector<int8_t> yq(y.size());
    Int8ConvArgs a =
        int8_conv_inputs(xq.data(), c.x, x_scale, w, bias.data(), c.residual ? res.data() : nullptr);
    a.y = y.data();
    ref_conv_int8(c.p, a);
    a.y = nullptr;
    a.y_q = yq.data();
    a.y_scale = y_scale;
    ref_conv_int8(c.p, a);

    const float* wv = want.data_as<float>();
    int ties = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], wv[i], 1e-4f + 1e-5f * std::fabs(wv[i])) << c.name << " element " << i;
        const int expect = quantize_s8(wv[i], y_scale);
        if (yq[i] != expect) {
            // Only where the float result sits on a rounding boundary (within float rounding of it).
            const float t = wv[i] / y_scale;
            ASSERT_LT(std::fabs(std::fabs(t - std::floor(t)) - 0.5f), 1e-3f) << c.name << " element " << i;
            ASSERT_EQ(std::abs(yq[i] - expect), 1) << c.name << " element " << i;
            ++ties;
        }
    }
    EXPECT_LE(ties, 2) << c.name;
}

ConvParams conv(int k, int stride, int pad, int dilation = 1, int group = 1) {
    ConvParams p;
    p.kernel = {k, k};
    p.stride = {stride, stride};
    p.dilation = {dilation, dilation};
    p.pads = {pad, pad, pad, pad};
    p.group = group;
    return p;
}

ConvParams with_act(ConvParams p, bool residual) {
    p.act = Act{ActKind::LeakyRelu, 0.1f, 0};
    if (residual) {
        p.residual = true;
        p.post_act = Act{ActKind::Relu, 0, 0};
    }
    return p;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RefConvInt8Random,
    ::testing::Values(Int8Case{"k3s1", {2, 5, 9, 7}, {6, 5, 3, 3}, conv(3, 1, 1)},
                      Int8Case{"k3s2_leaky", {1, 8, 11, 11}, {4, 8, 3, 3}, with_act(conv(3, 2, 1), false)},
                      Int8Case{
                          "k1_residual", {2, 6, 5, 5}, {6, 6, 1, 1}, with_act(conv(1, 1, 0), true), true},
                      Int8Case{"depthwise", {1, 6, 8, 8}, {6, 1, 3, 3}, conv(3, 1, 1, 1, 6)},
                      Int8Case{"groups_dilated", {1, 4, 10, 9}, {6, 2, 3, 3}, conv(3, 1, 2, 2, 2)}),
    [](const ::testing::TestParamInfo<Int8Case>& i) { return i.param.name; });

}  // namespace
