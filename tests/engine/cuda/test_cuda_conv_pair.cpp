// The INT8 conv pair kernel (kernels/conv_pair_int8.cuh: YOLO's stem, the image's 3x3 conv to 32
// channels and the 3x3 stride-2 conv to 64 in one kernel) against two independent oracles: the INT8
// reference chain on the host (engine/refmath/ref_int8.h: the quantized image, the integer sums, the
// epilogue in float, the middle value requantized with its own scale, the second conv), within one
// step on a few elements (the kernel folds the scales into one fused multiply-add, as the direct tiles
// do, so a value within a rounding error of a half step may round the other way); and the same two
// convs run apart by our direct tiles on the padded s8 image, which must give the same bytes. Image
// sizes with whole and partial tiles, odd sizes, 1 to 4 channels, leaky ReLU and none, a persistent
// grid capped so that each CTA takes several tiles in turn; and the arguments it refuses. Then whole INT8
// plans: the builder makes the ConvPair node (fuse_conv_pairs, CudaBackend::fuses_conv_pair) exactly
// where the kernel runs, and the plan's outputs equal those of the plan built without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/conv_pair_int8.cuh"
#include "engine/backends/cuda/kernels/reorder.cuh"
#include "engine/backends/cuda/kernels/requant_core.h"
#include "engine/refmath/ref_int8.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/graph_builder.h"
#include "tests/testing/int8_plan_checks.h"

namespace {

using engine::Shape;
using engine::cuda::DeviceBuffer;

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// Two convs' random weights (the first's within +-w0_range, the second's +-0.1), quantized per channel,
// and biases within +-0.3 (seeds seed .. seed + 3).
struct TwoConvs {
    engine::QuantizedWeights q0;
    std::vector<float> b0;
    engine::QuantizedWeights q1;
    std::vector<float> b1;
};
TwoConvs two_convs(const Shape& w0s, float w0_range, const Shape& w1s, uint32_t seed) {
    const std::vector<float> w0 =
        random_floats(static_cast<size_t>(engine::shape_numel(w0s)), -w0_range, w0_range, seed);
    const std::vector<float> w1 =
        random_floats(static_cast<size_t>(engine::shape_numel(w1s)), -0.1f, 0.1f, seed + 1);
    return {engine::quantize_weights_per_channel(w0.data(), w0s),
            random_floats(static_cast<size_t>(w0s[0]), -0.3f, 0.3f, seed + 2),
            engine::quantize_weights_per_channel(w1.data(), w1s),
            random_floats(static_cast<size_t>(w1s[0]), -0.3f, 0.3f, seed + 3)};
}

// The tile whose name is `name` (a direct tile of conv_int8.cu).
int tile_named(const std::string& name) {
    for (int t = 0; t < engine::cuda::conv_int8_tile_count(); ++t)
        if (name == engine::cuda::conv_int8_tile_name(t)) return t;
    ADD_FAILURE() << "no tile named '" << name << "'";
    return 0;
}

// alpha and the bias folded as the kernels fold them (Params::fold): x_scale * w_scale[k] in float,
// then both times 1 / y_scale.
void folded(const engine::QuantizedWeights& q, const std::vector<float>& bias, float x_scale, float y_scale,
            std::vector<float>& alpha_out, std::vector<float>& bias_out, bool fold) {
    const float yi = 1.0f / y_scale;
    alpha_out.resize(bias.size());
    bias_out.resize(bias.size());
    for (size_t k = 0; k < bias.size(); ++k) {
        const float a = x_scale * q.scale[k];
        alpha_out[k] = fold ? a * yi : a;
        bias_out[k] = fold ? bias[k] * yi : bias[k];
    }
}

// One conv of the reference chain: ref_conv_int8 in float (with the residual `res`, NCHW, where not
// null), requantized with 0.9 of its largest magnitude as the range (some values saturate), which gives
// `y_scale`.
std::vector<int8_t> reference_step(const std::vector<int8_t>& xq, const Shape& xs, float x_scale,
                                   const engine::QuantizedWeights& q, const std::vector<float>& bias,
                                   const engine::ConvParams& p, size_t yn, float& y_scale,
                                   const float* res = nullptr) {
    std::vector<float> yf(yn);
    engine::Int8ConvArgs a = engine::int8_conv_inputs(xq.data(), xs, x_scale, q, bias.data(), res);
    a.y = yf.data();
    engine::ref_conv_int8(p, a);
    float largest = 0;
    for (float v : yf) largest = std::max(largest, std::fabs(v));
    y_scale = 0.9f * largest / 127;
    std::vector<int8_t> yq(yn);
    engine::quantize_s8(yf.data(), yn, y_scale, yq.data());
    return yq;
}

// The two convs run apart by the direct tiles named t0 and t1 (c1 reads c0's output): the n output bytes
// c1 wrote to y (empty where a tile does not fit).
std::vector<int8_t> run_apart(const engine::cuda::ConvInt8Args& c0, const char* t0,
                              const engine::cuda::ConvInt8Args& c1, const char* t1, const DeviceBuffer& y,
                              size_t n) {
    const int i0 = tile_named(t0), i1 = tile_named(t1);
    const bool fit = engine::cuda::conv_int8_tile_fits(c0, i0) && engine::cuda::conv_int8_tile_fits(c1, i1);
    EXPECT_TRUE(fit) << t0 << " / " << t1 << " do not run the convs";
    if (!fit) return {};
    engine::cuda::launch_conv_int8(c0, i0, nullptr);
    engine::cuda::launch_conv_int8(c1, i1, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int8_t> out(n);
    y.download(out.data(), n);
    return out;
}

// The two convs' device weights and folded constants; slopes 0 (no activation) as 1.
void set_convs(engine::cuda::ConvPairConvs& a, const DeviceBuffer& w0, const DeviceBuffer& al0,
               const DeviceBuffer& bi0, float slope0, const DeviceBuffer& w1, const DeviceBuffer& al1,
               const DeviceBuffer& bi1, float slope1) {
    a.w0 = w0.as<int8_t>();
    a.alpha0 = al0.as<float>();
    a.bias0 = bi0.as<float>();
    a.slope0 = slope0 > 0 ? slope0 : 1.f;
    a.w1 = w1.as<int8_t>();
    a.alpha1 = al1.as<float>();
    a.bias1 = bi1.as<float>();
    a.slope1 = slope1 > 0 ? slope1 : 1.f;
}

// The second conv of an apart run: c0's arguments (batch, sizes, act, ...) with the second's operands,
// reading c0's kConvPairMid-channel output `mid` and writing k channels to y.
engine::cuda::ConvInt8Args second_conv_args(const engine::cuda::ConvInt8Args& c0, const DeviceBuffer& mid,
                                            const DeviceBuffer& w, const DeviceBuffer& alpha,
                                            const DeviceBuffer& bias, const DeviceBuffer& y, float y_scale,
                                            int k) {
    engine::cuda::ConvInt8Args c1 = c0;
    c1.x = mid.as<int8_t>();
    c1.w = w.as<int8_t>();
    c1.alpha = alpha.as<float>();
    c1.bias = bias.as<float>();
    c1.y = y.get();
    c1.y_scale = y_scale;
    c1.c = engine::cuda::kConvPairMid;
    c1.k = k;
    return c1;
}

struct PairCase {
    int batch, c, h, w;
    float slope0, slope1;  // leaky ReLU slopes; 0: no activation
    int grid_cap;          // 0: the whole GPU
};

engine::Act act_of(float slope) {
    engine::Act a;
    if (slope > 0) {
        a.kind = engine::ActKind::LeakyRelu;
        a.alpha = slope;
    }
    return a;
}

void check_pair(const PairCase& k) {
    SCOPED_TRACE(testing::Message() << k.batch << "x" << k.c << "x" << k.h << "x" << k.w << " slopes "
                                    << k.slope0 << "/" << k.slope1 << " cap " << k.grid_cap);
    constexpr int kMid = engine::cuda::kConvPairMid, kOut = engine::cuda::kConvPairOut;
    const int oh = (k.h + 1) / 2, ow = (k.w + 1) / 2;
    const Shape xs{k.batch, k.c, k.h, k.w}, w0s{kMid, k.c, 3, 3}, w1s{kOut, kMid, 3, 3};
    const Shape ms{k.batch, kMid, k.h, k.w}, ys{k.batch, kOut, oh, ow};
    const auto xn = static_cast<size_t>(engine::shape_numel(xs)),
               mn = static_cast<size_t>(engine::shape_numel(ms)),
               yn = static_cast<size_t>(engine::shape_numel(ys));
    const float x_amax = 1.0f;
    const std::vector<float> x = random_floats(xn, -1.1f * x_amax, 1.1f * x_amax, 11);  // some saturate
    const auto [q0, b0, q1, b1] = two_convs(w0s, 0.5f, w1s, 12);
    engine::ConvParams p0, p1;
    p0.kernel = p1.kernel = {3, 3};
    p0.pads = p1.pads = {1, 1, 1, 1};
    p1.stride = {2, 2};
    p0.act = act_of(k.slope0);
    p1.act = act_of(k.slope1);

    // The reference chain: the image quantized, the first conv in float (its range sets the middle
    // value's: some values saturate), requantized, the second conv.
    const float x_scale = x_amax / 127;
    std::vector<int8_t> xq(xn);
    engine::quantize_s8(x.data(), xn, x_scale, xq.data());
    float mid_scale = 0, y_scale = 0;
    const std::vector<int8_t> mid_q = reference_step(xq, xs, x_scale, q0, b0, p0, mn, mid_scale);
    const std::vector<int8_t> ref_y = reference_step(mid_q, ms, mid_scale, q1, b1, p1, yn, y_scale);

    // Device operands: the image F32 NCHW; the first conv's weights in packed taps ([32][64], tap (r, s)'s
    // channels at (3 r + s) * kPackedC), the second's [64][3][3][32].
    std::vector<int8_t> w0p(static_cast<size_t>(kMid * engine::cuda::kPackedDepth), 0),
        w1p(static_cast<size_t>(kOut * 9 * kMid));
    for (int o = 0; o < kMid; ++o)
        for (int ch = 0; ch < k.c; ++ch)
            for (int t = 0; t < 9; ++t)
                w0p[static_cast<size_t>(o * engine::cuda::kPackedDepth + t * engine::cuda::kPackedC + ch)] =
                    q0.q[static_cast<size_t>((o * k.c + ch) * 9 + t)];
    for (int o = 0; o < kOut; ++o)
        for (int ch = 0; ch < kMid; ++ch)
            for (int t = 0; t < 9; ++t)
                w1p[static_cast<size_t>((o * 9 + t) * kMid + ch)] =
                    q1.q[static_cast<size_t>((o * kMid + ch) * 9 + t)];
    std::vector<float> al0, bi0, al1, bi1, ual0, ubi0, ual1, ubi1;
    folded(q0, b0, x_scale, mid_scale, al0, bi0, true);
    folded(q1, b1, mid_scale, y_scale, al1, bi1, true);
    folded(q0, b0, x_scale, mid_scale, ual0, ubi0, false);  // the direct tiles fold them themselves
    folded(q1, b1, mid_scale, y_scale, ual1, ubi1, false);
    auto upload = [](const auto& v) {
        DeviceBuffer d(v.size() * sizeof(v[0]));
        d.upload(v.data(), d.bytes());
        return d;
    };
    DeviceBuffer dx = upload(x), dw0 = upload(w0p), dw1 = upload(w1p), dal0 = upload(al0), dbi0 = upload(bi0),
                 dal1 = upload(al1), dbi1 = upload(bi1), dual0 = upload(ual0), dubi0 = upload(ubi0),
                 dual1 = upload(ual1), dubi1 = upload(ubi1);
    DeviceBuffer dy(yn), dy2(yn), dpad(static_cast<size_t>(k.batch) * k.h * k.w * engine::cuda::kPackedC),
        dmid(mn);
    CUDA_CHECK(cudaMemset(dy.get(), 0x55, dy.bytes()));  // every byte must be written

    engine::cuda::ConvPairInt8Args pa;
    pa.x = dx.as<float>();
    pa.x_batch_stride = static_cast<int64_t>(k.c) * k.h * k.w;
    pa.x_scale = x_scale;
    pa.batch = k.batch;
    pa.c = k.c;
    pa.h = k.h;
    pa.w = k.w;
    set_convs(pa, dw0, dal0, dbi0, k.slope0, dw1, dal1, dbi1, k.slope1);
    pa.y = dy.as<int8_t>();
    pa.y_batch_stride = static_cast<int64_t>(oh) * ow * kOut;
    pa.oh = oh;
    pa.ow = ow;
    pa.small0 = engine::cuda::int8_sums_small(w0p.data(), kMid, engine::cuda::kPackedDepth);
    pa.small1 = engine::cuda::int8_sums_small(w1p.data(), kOut, 9 * kMid);
    engine::cuda::conv_int8_ws_grid_cap(k.grid_cap);
    engine::cuda::launch_conv_pair_int8(pa, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int8_t> got(yn), other(yn);
    dy.download(got.data(), yn);
    // The other CTA shapes: the same bytes.
    for (int cta = 1; cta < engine::cuda::kConvPairCtas; ++cta) {
        CUDA_CHECK(cudaMemset(dy.get(), 0x55, dy.bytes()));
        pa.cta = cta;
        engine::cuda::launch_conv_pair_int8(pa, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        dy.download(other.data(), yn);
        EXPECT_EQ(std::memcmp(got.data(), other.data(), yn), 0)
            << "CTA shape " << engine::cuda::conv_pair_int8_cta_name(cta) << ": other bytes than the first";
    }
    engine::cuda::conv_int8_ws_grid_cap(0);

    // Oracle 1: the reference chain (NCHW), within one step on at most 1 in 500 elements.
    size_t off = 0;
    int worst = 0;
    for (int n = 0; n < k.batch; ++n)
        for (int i = 0; i < oh * ow; ++i)
            for (int ch = 0; ch < kOut; ++ch) {
                const int g = got[static_cast<size_t>((n * oh * ow + i) * kOut + ch)];
                const int r = ref_y[static_cast<size_t>((n * kOut + ch) * oh * ow + i)];
                worst = std::max(worst, std::abs(g - r));
                off += g != r;
            }
    EXPECT_LE(worst, 1) << "against the reference chain";
    EXPECT_LE(off, yn / 500) << off << " of " << yn << " differ from the reference chain";

    // Oracle 2: the two convs apart on our direct tiles (the same folded epilogue): the same bytes.
    engine::cuda::launch_quantize_nchw_to_nhwc_padded(dx.as<float>(), dpad.as<int8_t>(), k.batch, k.c,
                                                      static_cast<int64_t>(k.h) * k.w, engine::cuda::kPackedC,
                                                      pa.x_batch_stride, x_scale, nullptr);
    engine::cuda::ConvInt8Args c0;
    c0.x = dpad.as<int8_t>();
    c0.w = dw0.as<int8_t>();
    c0.alpha = dual0.as<float>();
    c0.bias = dubi0.as<float>();
    c0.y = dmid.get();
    c0.y_type = engine::cuda::I8Elem::S8;
    c0.y_scale = mid_scale;
    c0.batch = k.batch;
    c0.h = k.h;
    c0.w_in = k.w;
    c0.c = engine::cuda::kPackedC;
    c0.k = kMid;
    c0.r = c0.s = 3;
    c0.oh = k.h;
    c0.ow = k.w;
    c0.pad_h = c0.pad_w = 1;
    c0.x_batch_stride = static_cast<int64_t>(k.h) * k.w * engine::cuda::kPackedC;
    c0.y_batch_stride = static_cast<int64_t>(k.h) * k.w * kMid;
    c0.act = p0.act;
    c0.small_acc = pa.small0;
    engine::cuda::ConvInt8Args c1 = second_conv_args(c0, dmid, dw1, dual1, dubi1, dy2, y_scale, kOut);
    c1.oh = oh;
    c1.ow = ow;
    c1.stride_h = c1.stride_w = 2;
    c1.x_batch_stride = c0.y_batch_stride;
    c1.y_batch_stride = pa.y_batch_stride;
    c1.act = p1.act;
    c1.small_acc = pa.small1;
    const std::vector<int8_t> apart = run_apart(c0, "direct 32x32 packed", c1, "direct 16x64 c32", dy2, yn);
    ASSERT_EQ(apart.size(), yn);
    size_t differ = 0;
    for (size_t i = 0; i < yn; ++i) differ += apart[i] != got[i];
    EXPECT_EQ(differ, 0u) << "bytes differ from the two convs run apart by the direct tiles";
}

TEST(CudaConvPairInt8, MatchesTheReferenceChainAndTheConvsApart) {
    SKIP_WITHOUT_CUDA();
    for (const PairCase& k : {
             PairCase{2, 3, 16, 32, 0.1f, 0.1f, 0},  // one whole tile a sample
             PairCase{2, 3, 13, 21, 0.1f, 0.1f, 0},  // odd sizes: a partial tile, the last row and column
             PairCase{3, 3, 40, 70, 0.1f, 0.1f, 0},  // several tiles, partial ones at the right and bottom
             PairCase{3, 3, 40, 70, 0.1f, 0.1f, 5},  // 5 CTAs: each takes several tiles (the window prefetch)
             PairCase{2, 1, 17, 33, 0.f, 0.25f, 3},  // one channel, no first activation
             PairCase{1, 4, 24, 18, 0.5f, 0.f, 0},   // four channels, no second activation
             PairCase{2, 2, 3, 5, 0.1f, 0.1f, 0},    // smaller than a tile
         })
        check_pair(k);
}

// Expects `a` to fit (the refusal's message printed otherwise); returns the check of a change to it
// (`change(b)` on a copy b): neither fits nor launch takes it.
template <class Args>
auto refusal_checker(const Args& a, bool (*fits)(const Args&, const char**),
                     void (*launch)(const Args&, cudaStream_t)) {
    const char* why = nullptr;
    EXPECT_TRUE(fits(a, &why)) << why;
    return [=](auto change, const char* what) {
        Args b = a;
        change(b);
        EXPECT_FALSE(fits(b, nullptr)) << what;
        EXPECT_THROW(launch(b, nullptr), engine::Error) << what;
    };
}

// The arguments are checked before anything touches the device, so this runs without a GPU too (the
// pointers are host memory that is never read).
TEST(CudaConvPairInt8, RefusesWhatItDoesNotRun) {
    alignas(16) static std::array<int8_t, 1 << 16> d{};
    engine::cuda::ConvPairInt8Args a;
    a.x = reinterpret_cast<const float*>(d.data());
    a.w0 = a.w1 = d.data();
    a.y = d.data();
    a.batch = 1;
    a.c = 3;
    a.h = 8;
    a.w = 8;
    a.oh = a.ow = 4;
    a.x_batch_stride = 3 * 64;
    a.y_batch_stride = 16 * 64;
    const auto refused =
        refusal_checker(a, engine::cuda::conv_pair_int8_fits, engine::cuda::launch_conv_pair_int8);
    refused([](auto& b) { b.c = 5; }, "5 channels");
    refused([](auto& b) { b.oh = 8; }, "not stride 2");
    refused([](auto& b) { b.y_batch_stride = 8; }, "a batch stride smaller than a sample");
    refused([](auto& b) { b.y = b.y + 4; }, "y not 16-byte aligned");
    refused([](auto& b) { b.slope0 = 1.5f; }, "a slope above 1");
    refused([](auto& b) { b.x_scale = 0.f; }, "a zero input scale");
    refused([](auto& b) { b.cta = engine::cuda::kConvPairCtas; }, "no such CTA shape");
}

// --- The residual block (ConvResPairInt8Args): 1x1 from 64 channels to 32, 3x3 back to 64 plus the input --

struct BlockCase {
    int batch, h, w;
    float slope0, slope1, post;  // leaky ReLU slopes (act of each conv, post_act); 0: none
    int grid_cap;                // 0: the whole GPU
};

// The kernel against the INT8 reference chain (the s8 input, the 1x1 conv in float requantized with the
// middle value's own range, the 3x3 conv plus the dequantized input, requantized) within one step on at
// most 1 in 500 outputs, and against the two convs run apart by the direct tiles the plans run them with
// (the 1x1 from 64 channels, the 32-channel 3x3 with an s8 residual): the same bytes, for each CTA shape.
void check_block(const BlockCase& k) {
    SCOPED_TRACE(testing::Message() << k.batch << "x" << k.h << "x" << k.w << " slopes " << k.slope0 << "/"
                                    << k.slope1 << "/" << k.post << " cap " << k.grid_cap);
    constexpr int kX = engine::cuda::kResPairX, kMid = engine::cuda::kConvPairMid;
    const Shape xs{k.batch, kX, k.h, k.w}, w0s{kMid, kX, 1, 1}, w1s{kX, kMid, 3, 3},
        ms{k.batch, kMid, k.h, k.w};
    const auto xn = static_cast<size_t>(engine::shape_numel(xs)),
               mn = static_cast<size_t>(engine::shape_numel(ms));
    const size_t pixels = static_cast<size_t>(k.h) * k.w;
    // The input: random s8, NCHW for the reference, NHWC for the kernels.
    std::mt19937 rng(21);
    std::uniform_int_distribution<int> qd(-127, 127);
    std::vector<int8_t> xq(xn), x_nhwc(xn);
    for (int8_t& v : xq) v = static_cast<int8_t>(qd(rng));
    for (int n = 0; n < k.batch; ++n)
        for (int ch = 0; ch < kX; ++ch)
            for (size_t i = 0; i < pixels; ++i)
                x_nhwc[(n * pixels + i) * kX + ch] = xq[(static_cast<size_t>(n) * kX + ch) * pixels + i];
    const float x_scale = 0.05f;
    std::vector<float> x_real(xn);
    for (size_t i = 0; i < xn; ++i) x_real[i] = xq[i] * x_scale;
    const auto [q0, b0, q1, b1] = two_convs(w0s, 0.2f, w1s, 22);
    engine::ConvParams p0, p1;
    p1.kernel = {3, 3};
    p1.pads = {1, 1, 1, 1};
    p1.residual = true;
    p0.act = act_of(k.slope0);
    p1.act = act_of(k.slope1);
    p1.post_act = act_of(k.post);

    float mid_scale = 0, y_scale = 0;
    const std::vector<int8_t> mid_q = reference_step(xq, xs, x_scale, q0, b0, p0, mn, mid_scale);
    const std::vector<int8_t> ref_y =
        reference_step(mid_q, ms, mid_scale, q1, b1, p1, xn, y_scale, x_real.data());

    // Weights as the kernels read them: [32][64], [64][3][3][32].
    std::vector<int8_t> w0p(q0.q.begin(), q0.q.end()), w1p(static_cast<size_t>(kX * 9 * kMid));
    for (int o = 0; o < kX; ++o)
        for (int ch = 0; ch < kMid; ++ch)
            for (int t = 0; t < 9; ++t)
                w1p[static_cast<size_t>((o * 9 + t) * kMid + ch)] =
                    q1.q[static_cast<size_t>((o * kMid + ch) * 9 + t)];
    std::vector<float> al0, bi0, al1, bi1, ual0, ubi0, ual1, ubi1;
    folded(q0, b0, x_scale, mid_scale, al0, bi0, true);
    folded(q1, b1, mid_scale, y_scale, al1, bi1, true);
    folded(q0, b0, x_scale, mid_scale, ual0, ubi0, false);
    folded(q1, b1, mid_scale, y_scale, ual1, ubi1, false);
    auto upload = [](const auto& v) {
        DeviceBuffer d(v.size() * sizeof(v[0]));
        d.upload(v.data(), d.bytes());
        return d;
    };
    DeviceBuffer dx = upload(x_nhwc), dw0 = upload(w0p), dw1 = upload(w1p), dal0 = upload(al0),
                 dbi0 = upload(bi0), dal1 = upload(al1), dbi1 = upload(bi1), dual0 = upload(ual0),
                 dubi0 = upload(ubi0), dual1 = upload(ual1), dubi1 = upload(ubi1);
    DeviceBuffer dy(xn), dy2(xn), dmid(mn);

    engine::cuda::ConvResPairInt8Args a;
    a.x = dx.as<int8_t>();
    a.x_batch_stride = static_cast<int64_t>(pixels) * kX;
    a.batch = k.batch;
    a.h = k.h;
    a.w = k.w;
    set_convs(a, dw0, dal0, dbi0, k.slope0, dw1, dal1, dbi1, k.slope1);
    a.res_fold = x_scale * (1.0f / y_scale);
    a.post_slope = k.post > 0 ? k.post : 1.f;
    a.y = dy.as<int8_t>();
    a.y_batch_stride = a.x_batch_stride;
    a.small0 = engine::cuda::int8_sums_small(w0p.data(), kMid, kX);
    a.small1 = engine::cuda::int8_sums_small(w1p.data(), kX, 9 * kMid);
    engine::cuda::conv_int8_ws_grid_cap(k.grid_cap);
    std::vector<std::vector<int8_t>> got(engine::cuda::kConvPairCtas, std::vector<int8_t>(xn));
    for (int cta = 0; cta < engine::cuda::kConvPairCtas; ++cta) {
        CUDA_CHECK(cudaMemset(dy.get(), 0x55, dy.bytes()));  // every byte must be written
        a.cta = cta;
        engine::cuda::launch_conv_res_pair_int8(a, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        dy.download(got[static_cast<size_t>(cta)].data(), xn);
    }
    engine::cuda::conv_int8_ws_grid_cap(0);

    // Oracle 1: the reference chain (NCHW).
    size_t off = 0;
    int worst = 0;
    for (int n = 0; n < k.batch; ++n)
        for (size_t i = 0; i < pixels; ++i)
            for (int ch = 0; ch < kX; ++ch) {
                const int g = got[0][(n * pixels + i) * kX + ch];
                const int r = ref_y[(static_cast<size_t>(n) * kX + ch) * pixels + i];
                worst = std::max(worst, std::abs(g - r));
                off += g != r;
            }
    EXPECT_LE(worst, 1) << "against the reference chain";
    EXPECT_LE(off, xn / 500) << off << " of " << xn << " differ from the reference chain";

    // Oracle 2: the two convs apart on our direct tiles.
    engine::cuda::ConvInt8Args c0;
    c0.x = dx.as<int8_t>();
    c0.w = dw0.as<int8_t>();
    c0.alpha = dual0.as<float>();
    c0.bias = dubi0.as<float>();
    c0.y = dmid.get();
    c0.y_type = engine::cuda::I8Elem::S8;
    c0.y_scale = mid_scale;
    c0.batch = k.batch;
    c0.h = c0.oh = k.h;
    c0.w_in = c0.ow = k.w;
    c0.c = kX;
    c0.k = kMid;
    c0.r = c0.s = 1;
    c0.x_batch_stride = a.x_batch_stride;
    c0.y_batch_stride = static_cast<int64_t>(pixels) * kMid;
    c0.act = p0.act;
    c0.small_acc = a.small0;
    engine::cuda::ConvInt8Args c1 = second_conv_args(c0, dmid, dw1, dual1, dubi1, dy2, y_scale, kX);
    c1.r = c1.s = 3;
    c1.pad_h = c1.pad_w = 1;
    c1.x_batch_stride = c0.y_batch_stride;
    c1.y_batch_stride = a.y_batch_stride;
    c1.residual = dx.get();
    c1.residual_type = engine::cuda::I8Elem::S8;
    c1.residual_scale = x_scale;
    c1.r_batch_stride = a.x_batch_stride;
    c1.act = p1.act;
    c1.post_act = p1.post_act;
    c1.small_acc = a.small1;
    const std::vector<int8_t> apart = run_apart(c0, "direct 32x32 1x1 c64", c1, "direct 16x64 c32", dy2, xn);
    ASSERT_EQ(apart.size(), xn);
    for (int cta = 0; cta < engine::cuda::kConvPairCtas; ++cta) {
        size_t differ = 0;
        for (size_t i = 0; i < xn; ++i) differ += apart[i] != got[static_cast<size_t>(cta)][i];
        EXPECT_EQ(differ, 0u) << "CTA shape " << engine::cuda::conv_pair_int8_cta_name(cta)
                              << ": bytes differ from the two convs run apart by the direct tiles";
    }
}

TEST(CudaConvResPairInt8, MatchesTheReferenceChainAndTheConvsApart) {
    SKIP_WITHOUT_CUDA();
    for (const BlockCase& k : {
             BlockCase{2, 8, 16, 0.1f, 0.1f, 0.f, 0},    // one whole tile a sample
             BlockCase{2, 13, 21, 0.1f, 0.1f, 0.f, 0},   // partial tiles at the right and bottom
             BlockCase{3, 40, 70, 0.1f, 0.1f, 0.f, 0},   // several tiles
             BlockCase{3, 40, 70, 0.1f, 0.1f, 0.f, 5},   // 5 CTAs: each takes several tiles (both buffers)
             BlockCase{1, 24, 18, 0.f, 0.25f, 0.1f, 3},  // no first activation; a post_act
             BlockCase{2, 3, 5, 0.1f, 0.f, 0.f, 0},      // smaller than a tile, no second activation
         })
        check_block(k);
}

// Checked before the device is touched: runs without a GPU too.
TEST(CudaConvResPairInt8, RefusesWhatItDoesNotRun) {
    alignas(16) static std::array<int8_t, 1 << 16> d{};
    engine::cuda::ConvResPairInt8Args a;
    a.x = d.data();
    a.w0 = a.w1 = d.data();
    a.y = d.data() + (1 << 15);
    a.batch = 2;
    a.h = 8;
    a.w = 8;
    a.x_batch_stride = a.y_batch_stride = 8 * 8 * 64;
    const auto refused =
        refusal_checker(a, engine::cuda::conv_res_pair_int8_fits, engine::cuda::launch_conv_res_pair_int8);
    refused([](auto& b) { b.h = 0; }, "an empty image");
    refused([](auto& b) { b.x_batch_stride = 64; }, "a batch stride smaller than a sample");
    refused([](auto& b) { b.y_batch_stride += 4; }, "a batch stride not a multiple of 16");
    refused([](auto& b) { b.x = b.x + 4; }, "x not 16-byte aligned");
    refused([](auto& b) { b.y = const_cast<int8_t*>(b.x) + 16 * 64; }, "y overlapping x");
    refused([](auto& b) { b.slope1 = 0.f; }, "a zero slope");
    refused([](auto& b) { b.post_slope = 2.f; }, "a post slope above 1");
    refused([](auto& b) { b.res_fold = 0.f; }, "a zero residual scale");
    refused([](auto& b) { b.res_fold = INFINITY; }, "an infinite residual scale");
    refused([](auto& b) { b.cta = -1; }, "no such CTA shape");
}

// The fused plan's one output, host and device graph I/O, byte for byte the unfused plan's (`batch`
// samples); the host run's output.
std::vector<float> expect_same_outputs(const engine::Plan& fused, const engine::Plan& apart,
                                       const std::vector<engine::Tensor>& inputs, int batch) {
    using namespace int8_checks;
    const std::vector<float> want = run_plan(apart, inputs);
    auto engine = engine::Engine::load(fused);
    auto ctx = engine->create_context(1);
    const std::vector<engine::Tensor> host = ctx->run(inputs);
    EXPECT_EQ(host.size(), 1u);
    if (host.size() != 1) return {};
    const std::vector<float> got(host[0].data_as<float>(), host[0].data_as<float>() + host[0].numel());
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got.size() == want.size() &&
                std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0)
        << "host I/O: other outputs than the plan without the fusion";
    const std::vector<engine::Tensor> dev = cuda_test::run_device(*ctx, inputs[0], batch);
    EXPECT_EQ(dev.size(), 1u);
    EXPECT_TRUE(dev.size() == 1 && static_cast<size_t>(dev[0].numel()) == want.size() &&
                std::memcmp(dev[0].data(), want.data(), want.size() * sizeof(float)) == 0)
        << "device I/O: other outputs than the plan without the fusion";
    return got;
}

int count_op(const engine::Plan& plan, const std::string& op) {
    int n = 0;
    for (const auto& l : plan.info().layers) n += l.op == op;
    return n;
}

// image -> 3x3 conv to 32 (leaky) -> 3x3 stride 2 to 64 (leaky) -> 1x1 head to 18 (a graph output): the
// stem pair runs as one ConvPair node reading the image itself (no Reorder in the plan), and its outputs,
// host and device graph I/O, equal the plan's without the fusion byte for byte (the pair's kernel folds
// the scales as our direct tiles do, and those are what the unfused plan runs when the tactics are not
// timed) and the INT8 reference chain's within its rounding ties.
TEST(CudaConvPairInt8, APlanRunsTheStemAsOneNode) {
    SKIP_WITHOUT_CUDA();
    using namespace int8_checks;
    for (const Shape& shape : {Shape{2, 3, 16, 32}, Shape{2, 3, 13, 21}, Shape{2, 1, 20, 18}}) {
        SCOPED_TRACE(testing::PrintToString(shape));
        testing_util::GraphBuilder b(31);
        const engine::ValueId x = b.input(shape);
        const engine::ValueId c0 = b.leaky_relu(b.conv(x, 32, 3), 0.1f);
        const engine::ValueId c1 = b.leaky_relu(b.conv(c0, 64, 3, 2), 0.1f);
        const engine::ValueId h = b.conv(c1, 18, 1);
        b.output(h);
        const engine::Graph g = b.build();
        const std::vector<engine::Tensor> inputs = b.random_inputs(9);
        engine::BuildOptions o = int8_options("cuda", {{g.value(x).name, 0.9},
                                                       {g.value(c0).name, 2.5},
                                                       {g.value(c1).name, 3.0},
                                                       {g.value(h).name, 4.0}});
        o.time_tactics = false;  // our tiles, not cuDNN's: the unfused plan's epilogues are the pair's
        const engine::Plan fused = build_plan(g, o, "stem", "");
        EXPECT_EQ(count_precision(fused, "ConvPair", "i8"), 1);
        EXPECT_EQ(count_precision(fused, "Conv", "i8"), 1);
        EXPECT_EQ(count_op(fused, "Reorder"), 0) << "the image was converted by a Reorder";
        engine::BuildOptions apart_o = o;
        apart_o.disabled_passes = {"fuse_conv_pair"};
        const engine::Plan apart = build_plan(g, apart_o, "stem", "");
        EXPECT_EQ(count_op(apart, "ConvPair"), 0);
        EXPECT_EQ(count_precision(apart, "Conv", "i8"), 3);

        const std::vector<float> got = expect_same_outputs(fused, apart, inputs, static_cast<int>(shape[0]));
        ASSERT_FALSE(got.empty());

        // The INT8 reference chain (exact requantization): a value at a rounding tie may round the other way
        // in the folded epilogue, and move a few head outputs.
        ConvRef k0 = conv_ref(g, g.value(g.node(g.value(c0).producer).inputs[0]).producer);
        k0.p.act = engine::Act{engine::ActKind::LeakyRelu, 0.1f, 0};
        ConvRef k1 = conv_ref(g, g.value(g.node(g.value(c1).producer).inputs[0]).producer);
        k1.p.act = k0.p.act;
        const Q8 q0 = run_conv(k0, quantize(inputs[0], 0.9f), 2.5f);
        const Q8 q1 = run_conv(k1, q0, 3.0f);
        std::vector<float> e;
        run_conv(conv_ref(g, g.value(h).producer), q1, 0, &e);
        const auto [worst, off] = compare(got, e, 1e-5);
        EXPECT_LE(off, got.size() / 100) << "against the INT8 reference chain: worst " << worst;
    }
}

// image -> the stem (3x3 to 32, 3x3 stride 2 to 64) -> a residual block (1x1 to 32, 3x3 to 64, + the
// block's input) -> a second block -> 1x1 head to 18 (a graph output): the builder makes three ConvPair
// nodes (the stem and each block), and the plan's outputs, host and device I/O, equal those of the plan
// built without the fusion byte for byte (our direct tiles' epilogues, tactics not timed; the kernel's own
// test checks it against the INT8 reference chain).
TEST(CudaConvResPairInt8, APlanRunsEachResidualBlockAsOneNode) {
    SKIP_WITHOUT_CUDA();
    using namespace int8_checks;
    for (const Shape& shape : {Shape{2, 3, 32, 64}, Shape{2, 3, 26, 42}}) {
        SCOPED_TRACE(testing::PrintToString(shape));
        testing_util::GraphBuilder b(33);
        const engine::ValueId x = b.input(shape);
        const engine::ValueId c0 = b.leaky_relu(b.conv(x, 32, 3), 0.1f);
        const engine::ValueId c1 = b.leaky_relu(b.conv(c0, 64, 3, 2), 0.1f);
        std::vector<engine::ValueId> block_vals;  // each block's middle, 3x3 output and sum
        engine::ValueId in = c1;
        for (int i = 0; i < 2; ++i) {
            const engine::ValueId m = b.leaky_relu(b.conv(in, 32, 1), 0.1f);
            const engine::ValueId o = b.leaky_relu(b.conv(m, 64, 3), 0.1f);
            const engine::ValueId sum = b.add(o, in);
            block_vals.insert(block_vals.end(), {m, o, sum});
            in = sum;
        }
        const engine::ValueId h = b.conv(in, 18, 1);
        b.output(h);
        const engine::Graph g = b.build();
        const std::vector<engine::Tensor> inputs = b.random_inputs(10);
        std::map<std::string, double> ranges{
            {g.value(x).name, 0.9}, {g.value(c0).name, 2.5}, {g.value(c1).name, 3.0}, {g.value(h).name, 4.0}};
        for (size_t i = 0; i < block_vals.size(); ++i)
            ranges[g.value(block_vals[i]).name] = 2.0 + 0.5 * static_cast<double>(i % 3);
        engine::BuildOptions o = int8_options("cuda", ranges);
        o.time_tactics = false;
        const engine::Plan fused = build_plan(g, o, "blocks", "");
        EXPECT_EQ(count_precision(fused, "ConvPair", "i8"), 3);
        EXPECT_EQ(count_precision(fused, "Conv", "i8"), 1);
        engine::BuildOptions apart_o = o;
        apart_o.disabled_passes = {"fuse_conv_pair"};
        const engine::Plan apart = build_plan(g, apart_o, "blocks", "");
        EXPECT_EQ(count_op(apart, "ConvPair"), 0);
        EXPECT_EQ(count_precision(apart, "Conv", "i8"), 7);

        expect_same_outputs(fused, apart, inputs, static_cast<int>(shape[0]));
    }
}

// Where the kernel does not run the pair, the builder keeps the two convs: a stride-1 second conv, 48
// middle channels, a second reader of the middle value (and pairs the stem itself, the control).
TEST(CudaConvPairInt8, OnlyTheKernelsShapesArePaired) {
    SKIP_WITHOUT_CUDA();
    using namespace int8_checks;
    struct Variant {
        int mid, stride;
        bool second_reader;
    };
    for (const Variant& v :
         {Variant{32, 2, false}, Variant{32, 1, false}, Variant{48, 2, false}, Variant{32, 2, true}}) {
        testing_util::GraphBuilder b(32);
        const engine::ValueId x = b.input(Shape{2, 3, 16, 16});
        const engine::ValueId c0 = b.leaky_relu(b.conv(x, v.mid, 3), 0.1f);
        const engine::ValueId c1 = b.leaky_relu(b.conv(c0, 64, 3, v.stride), 0.1f);
        b.output(b.conv(c1, 8, 1));
        if (v.second_reader) {
            const engine::ValueId other = b.conv(c0, 8, 1);
            b.output(other);
        }
        const engine::Graph g = b.build();
        std::map<std::string, double> ranges;
        for (engine::ValueId i = 0; i < g.num_values(); ++i)
            if (g.value(i).constant == nullptr) ranges[g.value(i).name] = 2.0;
        engine::BuildOptions o = int8_options("cuda", ranges);
        o.time_tactics = false;
        const engine::Plan plan = build_plan(g, o, "no-pair", "");
        const bool pair = v.mid == 32 && v.stride == 2 && !v.second_reader;
        EXPECT_EQ(count_op(plan, "ConvPair"), pair ? 1 : 0)
            << v.mid << " middle channels, stride " << v.stride
            << (v.second_reader ? ", a second reader" : "");
    }
}

}  // namespace
