// The integer core of the CUDA backend's depthwise INT8 conv (engine/backends/cuda/kernels/
// dw_int8_core.h), compiled here as plain C++: the same source the device kernel runs, checked without a
// GPU. Its weight packing and its accumulation over NHWC input, for every vector width the kernel uses,
// against ref_conv_int8 (the INT8 reference) with unit scales, so that the reference's float output is
// the exact integer sum; and a case by hand. The float epilogue is the tensor-core kernel's, covered by
// tests/engine/cuda/test_cuda_int8.cpp on the GPU with the whole depthwise conv.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/backends/cuda/kernels/dw_int8_core.h"
#include "engine/refmath/ref_int8.h"

namespace {

using engine::ConvParams;
using engine::Shape;
using engine::cuda::DwInt8Shape;

struct DwCase {
    std::string name;
    int c, h, w, k;
    int stride = 1, dilation = 1;
    std::array<int32_t, 4> pads{1, 1, 1, 1};  // top, left, bottom, right
};

// Every output channel group of width V of every output pixel of a batch of 2 through the core, against
// ref_conv_int8 on the same s8 data (NCHW there, NHWC here).
template <int V>
void check_against_reference(const DwCase& t) {
    ASSERT_EQ(t.c % V, 0) << t.name;
    ConvParams p;
    p.kernel = {t.k, t.k};
    p.stride = {t.stride, t.stride};
    p.dilation = {t.dilation, t.dilation};
    p.pads = t.pads;
    p.group = t.c;
    const int n = 2;
    const Shape xs{n, t.c, t.h, t.w};
    engine::QuantizedWeights qw;
    qw.shape = {t.c, 1, t.k, t.k};
    qw.scale.assign(static_cast<size_t>(t.c), 1.0f);  // unit scales: the reference's output is the int32 sum
    std::mt19937 rng(static_cast<uint32_t>(t.c * 131 + t.h * 7 + t.k));
    std::uniform_int_distribution<int> d(-128, 127);
    qw.q.resize(static_cast<size_t>(t.c * t.k * t.k));
    for (int8_t& v : qw.q) v = static_cast<int8_t>(d(rng));
    std::vector<int8_t> x(static_cast<size_t>(engine::shape_numel(xs)));
    for (int8_t& v : x) v = static_cast<int8_t>(d(rng));
    // Extremes where they add up most: channel 0 all -128 in both, so some sums reach 9 * 16384.
    for (int i = 0; i < t.k * t.k; ++i) qw.q[static_cast<size_t>(i)] = -128;
    for (int b = 0; b < n; ++b)
        for (int i = 0; i < t.h * t.w; ++i) x[static_cast<size_t>(b * t.c * t.h * t.w + i)] = -128;

    const Shape ys = engine::conv_output_shape(p, xs, qw.shape);
    std::vector<float> want(static_cast<size_t>(engine::shape_numel(ys)));
    engine::Int8ConvArgs a = engine::int8_conv_inputs(x.data(), xs, 1.0f, qw, nullptr, nullptr);
    a.y = want.data();
    engine::ref_conv_int8(p, a);

    std::vector<int8_t> x_nhwc(x.size());
    const int hw = t.h * t.w;
    for (int b = 0; b < n; ++b)
        for (int ch = 0; ch < t.c; ++ch)
            for (int i = 0; i < hw; ++i)
                x_nhwc[static_cast<size_t>((b * hw + i) * t.c + ch)] =
                    x[static_cast<size_t>((b * t.c + ch) * hw + i)];
    std::vector<int8_t> w(qw.q.size());
    engine::cuda::pack_dw_int8_weights(qw.q.data(), t.c, t.k, t.k, w.data());

    DwInt8Shape s;
    s.h = t.h;
    s.w = t.w;
    s.c = t.c;
    s.r = s.s = t.k;
    s.oh = static_cast<int>(ys[2]);
    s.ow = static_cast<int>(ys[3]);
    s.stride_h = s.stride_w = t.stride;
    s.dil_h = s.dil_w = t.dilation;
    s.pad_h = t.pads[0];
    s.pad_w = t.pads[1];
    int checked = 0, wrong = 0;
    for (int b = 0; b < n; ++b)
        for (int oh = 0; oh < s.oh; ++oh)
            for (int ow = 0; ow < s.ow; ++ow)
                for (int k0 = 0; k0 < t.c; k0 += V) {
                    int32_t acc[V];
                    engine::cuda::dw_int8_accumulate<V>(s, x_nhwc.data() + b * hw * t.c, w.data(), oh, ow, k0,
                                                        acc);
                    for (int i = 0; i < V; ++i) {
                        const float ref =
                            want[static_cast<size_t>(((b * t.c + k0 + i) * s.oh + oh) * s.ow + ow)];
                        ++checked;
                        if (static_cast<float>(acc[i]) != ref && ++wrong <= 5)
                            ADD_FAILURE()
                                << t.name << " V=" << V << " sample " << b << " channel " << k0 + i << " at ("
                                << oh << ", " << ow << "): " << acc[i] << ", reference " << ref;
                    }
                }
    EXPECT_EQ(wrong, 0) << t.name << " V=" << V << ": " << wrong << " of " << checked;
    EXPECT_EQ(checked, n * t.c * s.oh * s.ow);
}

const std::vector<DwCase>& dw_cases() {
    static const std::vector<DwCase> cases = {
        {"c16_k3", 16, 9, 7, 3},
        {"c24_k3_s2", 24, 10, 11, 3, 2},
        {"c8_k3_dilation2", 8, 9, 9, 3, 1, 2, {2, 2, 2, 2}},
        {"c32_k5_asymmetric_pads", 32, 8, 6, 5, 1, 1, {2, 1, 1, 2}},
        {"c40_k3_no_pad", 40, 6, 5, 3, 1, 1, {0, 0, 0, 0}},
        {"c12_k1_s2", 12, 7, 7, 1, 2, 1, {0, 0, 0, 0}},
    };
    return cases;
}

TEST(DwInt8Core, MatchesTheInt8ReferenceAtEveryWidth) {
    for (const DwCase& t : dw_cases()) {
        check_against_reference<1>(t);
        if (t.c % 4 == 0) check_against_reference<4>(t);
        if (t.c % 8 == 0) check_against_reference<8>(t);
    }
    // Channel counts the wider paths cannot take run one channel at a time.
    check_against_reference<1>({"c5_k3", 5, 6, 6, 3});
    check_against_reference<1>({"c3_k3_s2", 3, 7, 8, 3, 2});
}

TEST(DwInt8Core, ByHand) {
    // One channel, x = 1..9 on 3x3, W all 1 except the centre tap 2, pad 1: the centre output sums every
    // tap (45 + 5 = 50); at the top-left output the centre tap reads x[0][0]: 2 * 1 + 2 + 4 + 5 = 13; at the
    // bottom-right one it reads x[2][2]: 5 + 6 + 8 + 2 * 9 = 37.
    const std::vector<int8_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const std::vector<int8_t> q = {1, 1, 1, 1, 2, 1, 1, 1, 1};
    std::vector<int8_t> w(9);
    engine::cuda::pack_dw_int8_weights(q.data(), 1, 3, 3, w.data());
    DwInt8Shape s;
    s.h = s.w = 3;
    s.c = 1;
    s.r = s.s = 3;
    s.oh = s.ow = 3;
    s.pad_h = s.pad_w = 1;
    int32_t acc[1];
    engine::cuda::dw_int8_accumulate<1>(s, x.data(), w.data(), 1, 1, 0, acc);
    EXPECT_EQ(acc[0], 50);
    engine::cuda::dw_int8_accumulate<1>(s, x.data(), w.data(), 0, 0, 0, acc);
    EXPECT_EQ(acc[0], 13);
    engine::cuda::dw_int8_accumulate<1>(s, x.data(), w.data(), 2, 2, 0, acc);
    EXPECT_EQ(acc[0], 37);
    // Packing is tap-major: two channels' tap 0 come first.
    const std::vector<int8_t> q2 = {1, 2, 3, 4, 5, 6, 7, 8};  // [2][1][2][2]
    std::vector<int8_t> w2(8);
    engine::cuda::pack_dw_int8_weights(q2.data(), 2, 2, 2, w2.data());
    EXPECT_EQ(w2, (std::vector<int8_t>{1, 5, 2, 6, 3, 7, 4, 8}));
}

}  // namespace
