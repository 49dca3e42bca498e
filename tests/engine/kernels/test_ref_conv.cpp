// Reference Conv and GEMM: hand-computed cases, and random cases against a naive direct convolution
// written here (7 nested loops, double accumulation).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "engine/refmath/ref_gemm.h"
#include "engine/refmath/ref_ops.h"
#include "tests/engine/kernels/kernel_test_util.h"
#include "tests/testing/tensor_compare.h"

namespace {

using engine::ActKind;
using engine::ConvParams;
using engine::OpType;
using engine::Shape;
using engine::Tensor;
using engine::TensorRef;
using kt::f32;
using testing_util::compare;
using testing_util::random_tensor;

// y[n,o,oy,ox] = sum_{ci,ky,kx} x[n, g*cg+ci, oy*sh-pt+ky*dh, ox*sw-pl+kx*dw] * w[o,ci,ky,kx] + b[o]
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
    const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
    const int64_t o = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    const int64_t og = o / p.group;
    EXPECT_EQ(cg * p.group, c);
    const int64_t oh = (h + p.pads[0] + p.pads[2] - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
    const int64_t ow = (wd + p.pads[1] + p.pads[3] - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
    Tensor y(engine::DataType::F32, {n, o, oh, ow});
    const float* xp = x.data_as<float>();
    const float* wp = w.data_as<float>();
    float* yp = y.data_as<float>();
    for (int64_t in = 0; in < n; ++in)
        for (int64_t oc = 0; oc < o; ++oc)
            for (int64_t oy = 0; oy < oh; ++oy)
                for (int64_t ox = 0; ox < ow; ++ox) {
                    double s = b ? b->data_as<float>()[oc] : 0.0;
                    const int64_t grp = oc / og;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ky = 0; ky < kh; ++ky)
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                const int64_t iy = oy * p.stride[0] - p.pads[0] + ky * p.dilation[0];
                                const int64_t ix = ox * p.stride[1] - p.pads[1] + kx * p.dilation[1];
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                s += static_cast<double>(xp[((in * c + grp * cg + ci) * h + iy) * wd + ix]) *
                                     wp[((oc * cg + ci) * kh + ky) * kw + kx];
                            }
                    yp[((in * o + oc) * oh + oy) * ow + ox] = static_cast<float>(s);
                }
    return y;
}

ConvParams conv_params(int kh, int kw, int sh = 1, int sw = 1, std::array<int32_t, 4> pads = {0, 0, 0, 0},
                       int group = 1, int dh = 1, int dw = 1) {
    ConvParams p;
    p.kernel = {kh, kw};
    p.stride = {sh, sw};
    p.pads = pads;
    p.group = group;
    p.dilation = {dh, dw};
    return p;
}

Shape conv_out(const Shape& x, const Shape& w, const ConvParams& p) {
    return {x[0], w[0], (x[2] + p.pads[0] + p.pads[2] - p.dilation[0] * (w[2] - 1) - 1) / p.stride[0] + 1,
            (x[3] + p.pads[1] + p.pads[3] - p.dilation[1] * (w[3] - 1) - 1) / p.stride[1] + 1};
}

TEST(RefConv, HandComputedValid2x2) {
    Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    Tensor b = f32({1}, {1});
    kt::expect_values(kt::run1(OpType::Conv, conv_params(2, 2), {x, w, b}, {1, 1, 2, 2}), {1, 1, 2, 2},
                      {13, 17, 25, 29});
    // Without a bias input.
    kt::expect_values(kt::run1(OpType::Conv, conv_params(2, 2), {x, w}, {1, 1, 2, 2}), {1, 1, 2, 2},
                      {12, 16, 24, 28});
}

TEST(RefConv, HandComputedPaddedStride2) {
    // 3x3 ones kernel, pad 1, stride 2 on 3x3: windows centred on the corners.
    Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor w = f32({1, 1, 3, 3}, std::vector<float>(9, 1.f));
    Tensor b = f32({1}, {0});
    kt::expect_values(kt::run1(OpType::Conv, conv_params(3, 3, 2, 2, {1, 1, 1, 1}), {x, w, b}, {1, 1, 2, 2}),
                      {1, 1, 2, 2}, {12, 16, 24, 28});
}

TEST(RefConv, HandComputedAsymmetricPads) {
    // Padded input (top 1, right 1): [[0,0,0],[1,2,0],[3,4,0]], kernel [1, 10] (1x2).
    Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    Tensor w = f32({1, 1, 1, 2}, {1, 10});
    Tensor b = f32({1}, {0});
    kt::expect_values(kt::run1(OpType::Conv, conv_params(1, 2, 1, 1, {1, 0, 0, 1}), {x, w, b}, {1, 1, 3, 2}),
                      {1, 1, 3, 2}, {0, 0, 21, 2, 43, 4});
}

TEST(RefConv, HandComputedDilation) {
    Tensor x = f32({1, 1, 1, 5}, {1, 2, 3, 4, 5});
    Tensor w = f32({1, 1, 1, 2}, {1, 1});
    Tensor b = f32({1}, {0});
    kt::expect_values(
        kt::run1(OpType::Conv, conv_params(1, 2, 1, 1, {0, 0, 0, 0}, 1, 1, 2), {x, w, b}, {1, 1, 1, 3}),
        {1, 1, 1, 3}, {4, 6, 8});
}

TEST(RefConv, HandComputedGroups) {
    // group 2, two outputs per group: outputs 0,1 see channel 0 (value 2), outputs 2,3 see channel 1 (3).
    Tensor x = f32({1, 2, 1, 1}, {2, 3});
    Tensor w = f32({4, 1, 1, 1}, {1, 10, 100, 1000});
    Tensor b = f32({4}, {0, 0, 0, 1});
    kt::expect_values(
        kt::run1(OpType::Conv, conv_params(1, 1, 1, 1, {0, 0, 0, 0}, 2), {x, w, b}, {1, 4, 1, 1}),
        {1, 4, 1, 1}, {2, 20, 300, 3001});
}

TEST(RefConv, FusedActResidualPostAct) {
    // conv = x (1x1, weight 1) + bias 0 = [-10, 5]; LeakyRelu(0.1) -> [-1, 5]; + r [3, -1] -> [2, 4];
    // Clip(0, 3) -> [2, 3]. Applying the act after the add would give Clip(LeakyRelu(-7)) = 0.
    Tensor x = f32({1, 1, 1, 2}, {-10, 5});
    Tensor w = f32({1, 1, 1, 1}, {1});
    Tensor b = f32({1}, {0});
    Tensor r = f32({1, 1, 1, 2}, {3, -1});
    ConvParams p = conv_params(1, 1);
    p.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    p.residual = true;
    p.post_act = {ActKind::Clip, 0.f, 3.f};
    kt::expect_values(kt::run1(OpType::Conv, p, {x, w, b, r}, {1, 1, 1, 2}), {1, 1, 1, 2}, {2, 3});
    // Bias goes in before the act: bias -6 -> [-16, -1] -> [-1.6, -0.1] -> + r -> [1.4, -1.1] -> [1.4, 0].
    Tensor b2 = f32({1}, {-6});
    kt::expect_values(kt::run1(OpType::Conv, p, {x, w, b2, r}, {1, 1, 1, 2}), {1, 1, 1, 2}, {1.4f, 0.f},
                      1e-6f);
}

TEST(RefConv, ResidualNeedsFourInputs) {
    ConvParams p = conv_params(1, 1);
    p.residual = true;
    EXPECT_THROW(kt::run1(OpType::Conv, p, {f32({1, 1, 1, 1}, {1}), f32({1, 1, 1, 1}, {1}), f32({1}, {0})},
                          {1, 1, 1, 1}),
                 engine::Error);
}

TEST(RefConv, WrongOutputShapeThrows) {
    Tensor x = f32({1, 1, 3, 3}, std::vector<float>(9, 1.f));
    Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    EXPECT_THROW(kt::run1(OpType::Conv, conv_params(2, 2), {x, w}, {1, 1, 3, 3}), engine::Error);
    EXPECT_THROW(kt::run1(OpType::Conv, conv_params(3, 3), {x, w}, {1, 1, 2, 2}), engine::Error);
}

struct ConvCase {
    int64_t n, c, h, w, o, kh, kw, sh, sw, dh, dw;
    std::array<int32_t, 4> pads;
    int group;
    const char* name;
};

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class RefConvRandom : public ::testing::TestWithParam<ConvCase> {};

TEST_P(RefConvRandom, MatchesNaive) {
    const ConvCase& k = GetParam();
    const ConvParams p =
        conv_params(static_cast<int>(k.kh), static_cast<int>(k.kw), static_cast<int>(k.sh),
                    static_cast<int>(k.sw), k.pads, k.group, static_cast<int>(k.dh), static_cast<int>(k.dw));
    Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 11);
    Tensor w = random_tensor({k.o, k.c / k.group, k.kh, k.kw}, 12);
    Tensor b = random_tensor({k.o}, 13);
    const Tensor want = naive_conv(x, w, &b, p);
    const Tensor got = kt::run1(OpType::Conv, p, {x, w, b}, conv_out(x.shape(), w.shape(), p));
    const auto d = compare(got, want);
    EXPECT_LT(d.max_rel, 1e-5) << k.name << ": " << d.describe();
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RefConvRandom,
    ::testing::Values(
        ConvCase{2, 8, 5, 7, 12, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, "pointwise_direct"},
        ConvCase{1, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, "3x3_pad1"},
        ConvCase{1, 4, 10, 9, 6, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1, "3x3_stride2"},
        ConvCase{1, 3, 6, 7, 4, 3, 2, 1, 2, 1, 1, {0, 1, 2, 0}, 1, "asymmetric_pads"},
        ConvCase{1, 2, 11, 10, 3, 3, 3, 1, 1, 2, 3, {2, 3, 1, 0}, 1, "dilation"},
        ConvCase{1, 6, 7, 7, 9, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 3, "groups3"},
        ConvCase{2, 8, 9, 9, 8, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 8, "depthwise_stride2"},
        ConvCase{1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 4, "depthwise_multiplier2"},
        ConvCase{1, 40, 12, 50, 140, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, "gemm_blocks_m140_k360_n600"},
        ConvCase{1, 5, 8, 8, 7, 1, 1, 2, 2, 1, 1, {0, 0, 0, 0}, 1, "pointwise_stride2"},
        ConvCase{1, 3, 4, 4, 2, 1, 1, 1, 1, 1, 1, {1, 0, 0, 1}, 1, "pointwise_padded"},
        ConvCase{1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, "kernel_covers_input"},
        ConvCase{1, 3, 13, 13, 5, 5, 5, 3, 2, 1, 1, {2, 1, 0, 2}, 1, "5x5_mixed_strides"}),
    [](const ::testing::TestParamInfo<ConvCase>& i) { return std::string(i.param.name); });

// The epilogue on random data: post_act(act(conv + B) + r) per element, with the conv from the naive oracle.
TEST(RefConv, FusedEpilogueMatchesNaive) {
    ConvParams p = conv_params(3, 3, 1, 1, {1, 1, 1, 1});
    p.act = {ActKind::Mish, 0.f, 0.f};
    p.residual = true;
    p.post_act = {ActKind::LeakyRelu, 0.1f, 0.f};
    Tensor x = random_tensor({2, 4, 6, 5}, 21);
    Tensor w = random_tensor({6, 4, 3, 3}, 22);
    Tensor b = random_tensor({6}, 23);
    Tensor r = random_tensor({2, 6, 6, 5}, 24, -2.f, 2.f);
    Tensor want = naive_conv(x, w, &b, conv_params(3, 3, 1, 1, {1, 1, 1, 1}));
    float* wp = want.data_as<float>();
    for (int64_t i = 0; i < want.numel(); ++i) {
        const double v = wp[i];
        const double mish = v * std::tanh(std::log1p(std::exp(v)));
        const double s = mish + r.data_as<float>()[i];
        wp[i] = static_cast<float>(s >= 0 ? s : 0.1 * s);
    }
    const Tensor got = kt::run1(OpType::Conv, p, {x, w, b, r}, want.shape());
    const auto d = compare(got, want);
    EXPECT_LT(d.max_rel, 1e-5) << d.describe();
}

// A conv reading a channel slice of a bigger tensor and writing (with a strided residual) into a
// channel slice of a Concat-like output gives the dense result and leaves the rest untouched.
TEST(RefConv, BatchStrideInputOutputAndResidual) {
    const int64_t n = 2, c = 3, h = 6, w = 5, o = 4;
    ConvParams p = conv_params(3, 3, 1, 1, {1, 1, 1, 1});
    p.act = {ActKind::Relu, 0.f, 0.f};
    p.residual = true;
    Tensor wt = random_tensor({o, c, 3, 3}, 31);
    Tensor b = random_tensor({o}, 32);
    Tensor big_x = random_tensor({n, c + 2, h, w}, 33);  // x = channels 1..3
    Tensor big_r = random_tensor({n, o + 1, h, w}, 34);  // r = channels 1..4
    // Dense copies of the slices.
    Tensor x(engine::DataType::F32, {n, c, h, w});
    Tensor r(engine::DataType::F32, {n, o, h, w});
    for (int64_t i = 0; i < n; ++i) {
        std::copy_n(big_x.data_as<float>() + (i * (c + 2) + 1) * h * w, c * h * w,
                    x.data_as<float>() + i * c * h * w);
        std::copy_n(big_r.data_as<float>() + (i * (o + 1) + 1) * h * w, o * h * w,
                    r.data_as<float>() + i * o * h * w);
    }
    const Tensor dense = kt::run1(OpType::Conv, p, {x, wt, b, r}, {n, o, h, w});

    const float kSentinel = 777.f;
    Tensor big_y(engine::DataType::F32, {n, o + 3, h, w});
    std::fill(big_y.f32().begin(), big_y.f32().end(), kSentinel);
    TensorRef xr{big_x.data_as<float>() + h * w, engine::DataType::F32, {n, c, h, w}, (c + 2) * h * w};
    TensorRef rr{big_r.data_as<float>() + h * w, engine::DataType::F32, {n, o, h, w}, (o + 1) * h * w};
    TensorRef yr{big_y.data_as<float>() + 2 * h * w, engine::DataType::F32, {n, o, h, w}, (o + 3) * h * w};
    std::vector<TensorRef> ins{xr, kt::dense_ref(wt), kt::dense_ref(b), rr};
    std::vector<TensorRef> outs{yr};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.batch = 2;
    engine::ref_conv(p, args);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < o + 3; ++ch)
            for (int64_t k = 0; k < h * w; ++k) {
                const float got = big_y.data_as<float>()[(i * (o + 3) + ch) * h * w + k];
                if (ch >= 2 && ch < 2 + o)
                    ASSERT_EQ(got, dense.data_as<float>()[(i * o + ch - 2) * h * w + k])
                        << i << " " << ch << " " << k;
                else
                    ASSERT_EQ(got, kSentinel) << "written outside the slice at " << i << " " << ch;
            }
}

TEST(RefConv, Batch2EqualsTwoBatch1Runs) {
    const ConvParams p = conv_params(3, 3, 2, 1, {1, 0, 1, 2}, 2);
    Tensor x = random_tensor({2, 4, 9, 8}, 41);
    Tensor w = random_tensor({6, 2, 3, 3}, 42);
    Tensor b = random_tensor({6}, 43);
    const Shape out = conv_out(x.shape(), w.shape(), p);
    const Tensor both = kt::run1(OpType::Conv, p, {x, w, b}, out);
    const int64_t in_n = x.numel() / 2, out_n = engine::shape_numel(out) / 2;
    for (int64_t i = 0; i < 2; ++i) {
        Tensor xi =
            Tensor::from_f32({1, 4, 9, 8}, std::span<const float>(x.data_as<float>() + i * in_n, in_n));
        const Tensor yi = kt::run1(OpType::Conv, p, {xi, w, b}, {1, out[1], out[2], out[3]});
        for (int64_t k = 0; k < out_n; ++k)
            ASSERT_EQ(yi.data_as<float>()[k], both.data_as<float>()[i * out_n + k]);
    }
}

TEST(RefConv, UsesGivenWorkspaceWithoutAssumingZeros) {
    const ConvParams p = conv_params(3, 3, 1, 1, {1, 1, 1, 1});
    Tensor x = random_tensor({1, 5, 7, 7}, 51);
    Tensor w = random_tensor({3, 5, 3, 3}, 52);
    Tensor b = random_tensor({3}, 53);
    Tensor y(engine::DataType::F32, {1, 3, 7, 7});
    const size_t bytes = engine::ref_conv_workspace_bytes(p, x.shape(), w.shape(), y.shape());
    ASSERT_GE(bytes, sizeof(float) * 5 * 9 * 49);
    std::vector<float> ws(bytes / sizeof(float), std::numeric_limits<float>::quiet_NaN());
    std::vector<TensorRef> ins{kt::dense_ref(x), kt::dense_ref(w), kt::dense_ref(b)};
    std::vector<TensorRef> outs{kt::dense_ref(y)};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.data();
    engine::ref_conv(p, args);
    const auto d = compare(y, naive_conv(x, w, &b, p));
    EXPECT_LT(d.max_rel, 1e-5) << d.describe();
}

void naive_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                std::vector<double>& c) {
    c.assign(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * lda + p]) * b[p * ldb + j];
            c[static_cast<size_t>(i * n + j)] = s;
        }
}

TEST(RefGemm, MatchesNaiveAcrossBlockEdges) {
    struct Dims {
        int64_t m, n, k, pad;
    };
    for (const Dims d : {Dims{1, 1, 1, 0}, Dims{5, 7, 3, 2}, Dims{4, 8, 256, 0}, Dims{129, 513, 257, 3},
                         Dims{130, 1030, 515, 1}, Dims{3, 17, 0, 0}}) {
        const int64_t lda = d.k + d.pad, ldb = d.n + d.pad, ldc = d.n + d.pad;
        Tensor a = random_tensor({std::max<int64_t>(d.m * lda, 1)}, 61);
        Tensor b = random_tensor({std::max<int64_t>(d.k * ldb, 1)}, 62);
        std::vector<float> c(static_cast<size_t>(d.m * ldc), 12345.f);
        engine::ref_gemm(d.m, d.n, d.k, a.data_as<float>(), lda, b.data_as<float>(), ldb, c.data(), ldc);
        std::vector<double> want;
        naive_gemm(d.m, d.n, d.k, a.data_as<float>(), lda, b.data_as<float>(), ldb, want);
        double max_err = 0;
        for (int64_t i = 0; i < d.m; ++i) {
            for (int64_t j = 0; j < d.n; ++j)
                max_err = std::max(max_err, std::fabs(c[static_cast<size_t>(i * ldc + j)] -
                                                      want[static_cast<size_t>(i * d.n + j)]));
            for (int64_t j = d.n; j < ldc; ++j)
                EXPECT_EQ(c[static_cast<size_t>(i * ldc + j)], 12345.f) << "wrote padding";
        }
        EXPECT_LT(max_err, 1e-4 * std::max<double>(1.0, std::sqrt(static_cast<double>(d.k))))
            << d.m << "x" << d.n << "x" << d.k;
    }
}

// Throughput of the GEMM on YOLO-like shapes. Not part of ctest runs (disabled); run with
// --gtest_also_run_disabled_tests --gtest_filter='*Speed*'.
TEST(RefGemm, DISABLED_Speed) {
    struct Dims {
        int64_t m, n, k;
    };
    for (const Dims d :
         {Dims{64, 43264, 288}, Dims{256, 676, 2304}, Dims{1024, 169, 4608}, Dims{128, 10816, 576}}) {
        Tensor a = random_tensor({d.m * d.k}, 71);
        Tensor b = random_tensor({d.k * d.n}, 72);
        std::vector<float> c(static_cast<size_t>(d.m * d.n));
        const auto t0 = std::chrono::steady_clock::now();
        engine::ref_gemm(d.m, d.n, d.k, a.data_as<float>(), d.k, b.data_as<float>(), d.n, c.data(), d.n);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("gemm m=%lld n=%lld k=%lld: %.2f GFLOP/s\n", static_cast<long long>(d.m),
                    static_cast<long long>(d.n), static_cast<long long>(d.k),
                    2.0 * d.m * d.n * d.k / s / 1e9);
        double ref = 0;
        for (int64_t p = 0; p < d.k; ++p)
            ref += static_cast<double>(a.data_as<float>()[p]) * b.data_as<float>()[p * d.n];
        EXPECT_NEAR(c[0], ref, 1e-3);
    }
}

}  // namespace
