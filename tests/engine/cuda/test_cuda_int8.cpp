// INT8 on the CUDA backend (docs/int8.md): the tensor-core conv kernel against the INT8 reference math
// (engine/refmath/ref_int8.h: the same quantized input and per-channel weights, the integer dot
// product, the epilogue in float, requantization) for every tile configuration, output storage (s8,
// F16, F32) and residual storage (s8, F16, F32), the shared conv cases (activations, residual +
// post_act, stride, dilation, 1x1, the image's 3 channels, odd channel counts, partial batches) and
// the YOLO head's 255 outputs; depthwise convs on their own kernel (each vector width: 8, 4 and 1
// channels a thread); what the backend refuses to run in INT8 (other grouped convs);
// and whole INT8 plans built by the builder (tests/testing/int8_plan_checks.h, shared with oneDNN).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>

#include "engine/backends/cuda/conv_graph.h"
#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/reorder.cuh"
#include "engine/refmath/ref_int8.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/conv_cases.h"
#include "tests/testing/int8_plan_checks.h"

namespace {

using engine::DataType;
using engine::Layout;
using engine::Shape;
using namespace cuda_test;
using testing_util::ConvCase;
using testing_util::ConvGraph;
using testing_util::make_conv_graph;

// NCHW [n, c, h, w] -> NHWC, any element type.
template <typename T>
std::vector<T> to_nhwc(const std::vector<T>& v, const Shape& s) {
    std::vector<T> out(v.size());
    const int64_t c = s[1], hw = s[2] * s[3];
    for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < hw; ++p)
                out[static_cast<size_t>((n * hw + p) * c + ch)] =
                    v[static_cast<size_t>((n * c + ch) * hw + p)];
    return out;
}
template <typename T>
std::vector<T> to_nchw(const std::vector<T>& v, const Shape& s) {
    std::vector<T> out(v.size());
    const int64_t c = s[1], hw = s[2] * s[3];
    for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < hw; ++p)
                out[static_cast<size_t>((n * c + ch) * hw + p)] =
                    v[static_cast<size_t>((n * hw + p) * c + ch)];
    return out;
}

std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

float f16_round(float v) { return engine::fp16_to_fp32(engine::fp32_to_fp16(v)); }

struct Int8Case {
    ConvCase conv;
    DataType out = DataType::I8;
    DataType res = DataType::I8;  // the residual's storage (when the case has one)
    bool nchw = false;            // the output NCHW F32 (a graph output the conv writes itself)
};
void PrintTo(const Int8Case& c, std::ostream* os) {
    *os << c.conv.name << "_" << engine::dtype_name(c.out) << "_r" << engine::dtype_name(c.res)
        << (c.nchw ? "_nchw" : "");
}

bool depthwise(const ConvCase& c) { return c.group > 1 && c.group == c.c && c.o == c.c; }

std::vector<Int8Case> int8_cases() {
    std::vector<ConvCase> base = testing_util::shared_conv_cases();
    auto add = [&](std::string name, auto&& edit) {
        testing_util::add_conv_case(base, ConvCase{}, std::move(name), edit);
    };
    add("c64_k3", [](ConvCase& c) {  // the 64-deep tiles
        c.c = 64;
        c.o = 48;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    add("c96_s2", [](ConvCase& c) {  // 96 channels: only the 32-deep tiles
        c.c = 96;
        c.o = 64;
        c.stride = 2;
        c.h = 12;
        c.w = 13;
        c.pads = {1, 1, 1, 1};
    });
    add("yolo_head", [](ConvCase& c) {  // linear 1x1 with 255 outputs (odd: no paired stores)
        c.c = 64;
        c.o = 255;
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    auto big_m = [](ConvCase& c) {  // several M tiles per sample, partial last tile (x8 tiles: 2 CTAs)
        c.c = 32;
        c.o = 160;
        c.h = 23;
        c.w = 19;
        c.max_batch = 3;
        c.batch = 3;
        c.residual = true;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    };
    add("big_m", big_m);
    // The same on 64-deep tiles: several M tiles of 256 pixels, a partial last one, a partial N tile.
    add("c64_residual_big_m", [&](ConvCase& c) {
        big_m(c);
        c.c = 64;
    });
    // 256 channels: the 128-deep warp-specialized tiles' two channel blocks a tap (their TMA boxes' channel
    // coordinate and the weights' column), partial M and N tiles, the residual.
    add("c256_residual_big_m", [&](ConvCase& c) {
        big_m(c);
        c.c = 256;
    });
    // 64-deep tiles (the warp-specialized ones and their TMA copies: the im2col box's corners, strides
    // and tap offsets) with a stride of 2, H != W and pads differing between H and W (7 x 4 outputs: the
    // box's lower corner (W, H) is (0, -1), its upper one (-3, -1): W and H swapped would read other rows).
    add("c64_s2_pads", [](ConvCase& c) {
        c.c = c.o = 64;
        c.h = 13;
        c.w = 10;
        c.stride = 2;
        c.pads = {1, 0, 1, 0};  // H begin, W begin, H end, W end
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    // Dilation 2 over two images of 9 x 7 (the box running on from one image into the next).
    add("c64_dilation2_batch2", [](ConvCase& c) {
        c.c = 64;
        c.o = 32;
        c.dilation = 2;
        c.pads = {2, 2, 2, 2};
        c.max_batch = c.batch = 2;
    });
    // The direct tiles' shapes (YOLOv3's layer_1 to layer_3, layer_6): 23 x 19 images, several warp tiles an
    // image and a partial last one; c input channels to o, a k x k kernel (padding 1 for 3x3), leaky ReLU.
    auto direct_shape = [](ConvCase& c, int ci, int o, int k, int batch) {
        c.c = ci;
        c.o = o;
        c.k = k;
        c.pads = k == 1 ? std::array<int32_t, 4>{0, 0, 0, 0} : std::array<int32_t, 4>{1, 1, 1, 1};
        c.h = 23;
        c.w = 19;
        c.max_batch = c.batch = batch;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    };
    add("c32_o64_s2_big_m", [&](ConvCase& c) {  // a stride of 2, pads differing between H and W
        direct_shape(c, 32, 64, 3, 3);
        c.stride = 2;
        c.pads = {1, 0, 1, 1};
    });
    add("c32_o64_residual_big_m", [&](ConvCase& c) {
        direct_shape(c, 32, 64, 3, 3);
        c.residual = true;
    });
    // 1x1: 50 channels (read padded to 64) to 32 with a residual; 128 to 64 with a stride of 2.
    add("c50_o32_k1_residual_big_m", [&](ConvCase& c) {
        direct_shape(c, 50, 32, 1, 2);
        c.residual = true;
    });
    add("c128_o64_k1_s2_big_m", [&](ConvCase& c) {
        direct_shape(c, 128, 64, 1, 2);
        c.stride = 2;
    });
    // 3x3 from 64 channels (YOLOv3's layer_5, layer_7): 128 outputs in two parts of 64 or four of 32, with
    // a residual; with a stride of 2 and uneven pads, the grid capped below the parts' groups.
    add("c64_o128_residual_big_m", [&](ConvCase& c) {
        direct_shape(c, 64, 128, 3, 3);
        c.residual = true;
    });
    add("c64_o128_s2_big_m", [&](ConvCase& c) {
        direct_shape(c, 64, 128, 3, 2);
        c.stride = 2;
        c.pads = {0, 1, 1, 1};
    });
    // The heads' 1x1 convs to 255 (NCHW F32 on the direct tiles: four parts, the last ragged) from 256
    // (leaky) and from 512 (linear) with a stride of 2.
    add("c256_o255_k1_big_m", [&](ConvCase& c) { direct_shape(c, 256, 255, 1, 2); });
    add("c512_o255_k1_s2_big_m", [&](ConvCase& c) {
        direct_shape(c, 512, 255, 1, 2);
        c.stride = 2;
        c.act = {};
    });
    add("residual_leaky_batch1_of_3", [](ConvCase& c) {  // cuDNN's plan made at a batch below max
        c.c = 32;
        c.o = 64;
        c.max_batch = 3;
        c.batch = 1;
        c.residual = true;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    add("image_s2_o48_residual", [](ConvCase& c) {  // packed taps; a partial N tile; a residual
        c.c = 3;
        c.o = 48;
        c.h = 15;
        c.w = 17;
        c.stride = 2;
        c.residual = true;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    // Packed taps over 25 M tiles: the x8 tiles' loop, a ragged last CTA.
    add("image_big_m", [](ConvCase& c) {
        c.c = 3;
        c.o = 32;
        c.h = 40;
        c.w = 40;
        c.max_batch = 2;
        c.batch = 2;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    // An odd channel count with a residual: the element-at-a-time epilogue's residual reads.
    add("odd_k_residual", [](ConvCase& c) {
        c.c = 32;
        c.o = 37;
        c.residual = true;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    add("image_c4_k1", [](ConvCase& c) {  // 4 channels (no padding), one tap
        c.c = 4;
        c.o = 32;
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    add("depthwise_c20_residual", [](ConvCase& c) {  // 4 channels a thread; a residual
        c.c = 20;
        c.o = 20;
        c.group = 20;
        c.residual = true;
        c.act = {engine::ActKind::LeakyRelu, 0.1f};
    });
    add("depthwise_c6_dilation2_batch2_of_3", [](ConvCase& c) {  // one channel a thread
        c.c = 6;
        c.o = 6;
        c.group = 6;
        c.dilation = 2;
        c.pads = {2, 2, 2, 2};
        c.max_batch = 3;
        c.batch = 2;
    });
    std::vector<Int8Case> v;
    for (const ConvCase& c : base) {
        if (c.group != 1 && !depthwise(c)) continue;  // GroupedConvsStayFloat covers them
        for (DataType out : {DataType::I8, DataType::F32, DataType::F16})
            v.push_back({c, out, c.residual ? DataType::I8 : DataType::F32});
        // NCHW F32 output: group 1 without a residual (conv_int8_writes_plain).
        if (c.group == 1 && !c.residual) v.push_back({c, DataType::F32, DataType::F32, true});
        if (c.residual)
            for (DataType r : {DataType::F32, DataType::F16}) v.push_back({c, DataType::I8, r});
    }
    return v;
}

class CudaInt8Conv : public ::testing::TestWithParam<Int8Case> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

constexpr float kXAmax = 2.0f, kRAmax = 1.5f;

// "(n, k, h, w)" of element i of an NCHW tensor of shape s (where a kernel's wrong outputs are: a
// whole channel range, a row of pixels, ...).
std::string nchw_position(const Shape& s, size_t i) {
    const auto hw = static_cast<size_t>(s[2] * s[3]), chw = static_cast<size_t>(s[1]) * hw;
    return engine::concat("(n ", i / chw, ", k ", i % chw / hw, ", h ", i % hw / static_cast<size_t>(s[3]),
                          ", w ", i % static_cast<size_t>(s[3]), ")");
}

// One case on one tactic (our tile `choice`, or cuDNN's graph configuration of rank `choice` in the lists
// of heuristics modes A, B and fallback): ours vs ref_conv_int8. Returns how many configurations mode A
// offers for the case (graph; nothing is checked when `choice` is beyond all three lists), or 0.
int check_tactic(const Int8Case& tc, bool graph, int choice) {
    const ConvCase& c = tc.conv;
    ConvGraph cg = make_conv_graph(c);
    engine::Graph& g = cg.g;
    const engine::Node& node = g.node(cg.conv);
    const engine::ValueId xv = node.inputs[0], yv = node.outputs[0];
    const Shape ys_max = g.value(yv).desc.shape;
    const int batch = c.batch;
    const Shape xs{batch, c.c, c.h, c.w}, ys{batch, ys_max[1], ys_max[2], ys_max[3]};
    const size_t xn = static_cast<size_t>(engine::shape_numel(xs)),
                 yn = static_cast<size_t>(engine::shape_numel(ys));

    // Inputs: x quantized with its range (some values beyond it: saturation); the residual in its storage.
    const std::vector<float> xf = uniform(xn, -1.1f * kXAmax, 1.1f * kXAmax, 5);
    std::vector<int8_t> xq(xn);
    engine::quantize_s8(xf.data(), xn, kXAmax / 127, xq.data());
    std::vector<float> rf;
    std::vector<int8_t> rq;
    if (c.residual) {
        rf = uniform(yn, -kRAmax, kRAmax, 6);
        if (tc.res == DataType::I8) {
            rq.resize(yn);
            engine::quantize_s8(rf.data(), yn, kRAmax / 127, rq.data());
            engine::dequantize_s8(rq.data(), yn, kRAmax / 127, rf.data());
        } else if (tc.res == DataType::F16) {
            for (float& v : rf) v = f16_round(v);
        }
    }
    // The reference in float first (its range sets the output's, so that some values saturate).
    const engine::Tensor& wt = g.constant(node.inputs[1]);
    const engine::QuantizedWeights qw = engine::quantize_weights_per_channel(wt.data_as<float>(), wt.shape());
    const float* bias = node.inputs.size() >= 3 && node.inputs[2] != engine::kNoValue
                            ? g.constant(node.inputs[2]).data_as<float>()
                            : nullptr;
    const auto& p = std::get<engine::ConvParams>(node.params);
    engine::Int8ConvArgs a =
        engine::int8_conv_inputs(xq.data(), xs, kXAmax / 127, qw, bias, c.residual ? rf.data() : nullptr);
    std::vector<float> ref_f(yn);
    a.y = ref_f.data();
    engine::ref_conv_int8(p, a);
    float ref_max = 0;
    for (float v : ref_f) ref_max = std::max(ref_max, std::fabs(v));
    const float y_amax = std::max(0.9f * ref_max, 1e-3f);
    std::vector<int8_t> ref_q;
    if (tc.out == DataType::I8) {
        ref_q.resize(yn);
        a.y = nullptr;
        a.y_q = ref_q.data();
        a.y_scale = y_amax / 127;
        engine::ref_conv_int8(p, a);
    }

    // The graph as the builder leaves it for an INT8 conv.
    for (engine::ValueId v = 0; v < g.num_values(); ++v) {
        engine::Value& val = g.value(v);
        if (val.constant) continue;
        val.layout = Layout::NHWC;
        val.storage_dtype = DataType::F32;
    }
    g.value(xv).storage_dtype = DataType::I8;
    g.value(xv).amax = kXAmax;
    g.value(yv).storage_dtype = tc.out;
    g.value(yv).amax = y_amax;
    if (tc.nchw) g.value(yv).layout = Layout::Plain;
    if (c.residual) {
        g.value(node.inputs[3]).storage_dtype = tc.res;
        g.value(node.inputs[3]).amax = kRAmax;
    }
    g.node(cg.conv).backend = "cuda";
    g.node(cg.conv).precision = DataType::I8;
    engine::cuda::CudaState state;
    EXPECT_TRUE(engine::cuda::conv_int8_supported(state, g, cg.conv)) << c.name;
    const int configs = graph ? engine::cuda::conv_int8_graph_configs(state, g, cg.conv) : 0;
    if (graph && choice >= engine::cuda::conv_int8_graph_configs(state, g, cg.conv, true)) return configs;
    std::vector<engine::Tensor> packed =
        engine::cuda::conv_int8_pack_forced(state, g, cg.conv, graph, choice);
    auto kernel = engine::cuda::make_conv_int8_kernel(state, g, cg.conv, packed);

    using engine::cuda::DeviceBuffer;
    const std::vector<int8_t> x_nhwc = to_nhwc(xq, xs);
    DeviceBuffer dx(xn), dy(yn * engine::dtype_size(tc.out) + 16), dr(yn * 4 + 16),
        ws(kernel->workspace_bytes(batch) + 256);
    dx.upload(x_nhwc.data(), xn);
    CUDA_CHECK(cudaMemset(dy.get(), 0x7F, dy.bytes()));  // no stale zeros pass for results
    if (c.residual) {
        if (tc.res == DataType::I8) {
            const auto r = to_nhwc(rq, ys);
            dr.upload(r.data(), yn);
        } else if (tc.res == DataType::F16) {
            std::vector<uint16_t> h(yn);
            const auto r = to_nhwc(rf, ys);
            for (size_t i = 0; i < yn; ++i) h[i] = engine::fp32_to_fp16(r[i]);
            dr.upload(h.data(), yn * 2);
        } else {
            const auto r = to_nhwc(rf, ys);
            dr.upload(r.data(), yn * 4);
        }
    }
    std::vector<engine::TensorRef> ins;
    ins.push_back({dx.get(), DataType::I8, xs, static_cast<int64_t>(xn) / batch});
    for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (i == 3)
            ins.push_back({dr.get(), tc.res, ys, static_cast<int64_t>(yn) / batch});
        else if (node.inputs[i] != engine::kNoValue)
            ins.push_back(constant_ref(g, node.inputs[i]));
        else
            ins.push_back({});
    }
    const std::vector<engine::TensorRef> outs{{dy.get(), tc.out, ys, static_cast<int64_t>(yn) / batch}};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.get();
    args.batch = batch;
    kernel->run(args);
    CUDA_CHECK(cudaDeviceSynchronize());
    // NCHW: into device memory above; into pinned host memory (host graph I/O: the kernel's staging and
    // copy) here, which must hold the same.
    std::vector<float> host_got;
    if (tc.nchw) {
        engine::cuda::PinnedBuffer hy(yn * 4);
        std::memset(hy.get(), 0x7F, yn * 4);
        const std::vector<engine::TensorRef> host_outs{
            {hy.get(), tc.out, ys, static_cast<int64_t>(yn) / batch}};
        args.outputs = host_outs;
        kernel->run(args);
        CUDA_CHECK(cudaDeviceSynchronize());
        const auto* h = static_cast<const float*>(hy.get());
        host_got.assign(h, h + yn);
    }

    const std::string what = engine::concat(
        c.name, graph ? " cuDNN graph #" : " tile ",
        graph ? std::to_string(choice) : std::string(engine::cuda::conv_int8_tile_name(choice)), " out ",
        engine::dtype_name(tc.out), " residual ", engine::dtype_name(tc.res));
    // A conv of at most 4 input channels also reads the network's F32 image itself (x a graph input
    // stored Plain F32: conv_int8_reads_plain), quantizing it in its own pass with the same scale: the
    // same output bytes as from the s8 input above (checked against the reference below).
    if (c.c <= engine::cuda::kPackedC && c.group == 1) {
        engine::Value& xval = g.value(xv);
        xval.is_graph_input = true;
        xval.layout = Layout::Plain;
        xval.storage_dtype = DataType::F32;
        auto plain = engine::cuda::make_conv_int8_kernel(
            state, g, cg.conv, engine::cuda::conv_int8_pack_forced(state, g, cg.conv, graph, choice));
        DeviceBuffer dxf(xn * 4), dyp(dy.bytes()), wsp(plain->workspace_bytes(batch) + 256);
        dxf.upload(xf.data(), xn * 4);
        CUDA_CHECK(cudaMemset(dyp.get(), 0x7F, dyp.bytes()));
        std::vector<engine::TensorRef> pins = ins;
        pins[0] = {dxf.get(), DataType::F32, xs, static_cast<int64_t>(xn) / batch};
        std::vector<engine::TensorRef> pouts = outs;
        pouts[0].data = dyp.get();
        engine::KernelArgs pargs = args;
        pargs.inputs = pins;
        pargs.outputs = pouts;
        pargs.workspace = wsp.get();
        plain->run(pargs);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<uint8_t> a_bytes(dy.bytes()), b_bytes(dy.bytes());
        dy.download(a_bytes.data(), a_bytes.size());
        dyp.download(b_bytes.data(), b_bytes.size());
        EXPECT_EQ(std::memcmp(a_bytes.data(), b_bytes.data(), a_bytes.size()), 0)
            << what << ": from the F32 image, another output than from its s8 copy";
    }
    if (tc.out == DataType::I8) {
        std::vector<int8_t> got(yn);
        dy.download(got.data(), yn);
        got = to_nchw(got, ys);
        // Bit for bit, but for libm's last-bit differences in exp/tanh/log1p (sigmoid, mish, ...) moving
        // a value across a rounding tie: at most one step, on very few elements.
        size_t off = 0, worst_at = 0;
        int worst = 0;
        for (size_t i = 0; i < yn; ++i) {
            const int d = std::abs(int{got[i]} - int{ref_q[i]});
            if (d > worst) worst_at = i;
            worst = std::max(worst, d);
            off += d != 0;
        }
        EXPECT_LE(worst, 1) << what << "; the worst " << nchw_position(ys, worst_at) << ": "
                            << int{got[worst_at]} << " against " << int{ref_q[worst_at]};
        EXPECT_LE(off, yn / 500) << what << ": " << off << " of " << yn << " differ";
    } else {
        std::vector<float> got(yn);
        if (tc.out == DataType::F16) {
            std::vector<uint16_t> h(yn);
            dy.download(h.data(), yn * 2);
            for (size_t i = 0; i < yn; ++i) got[i] = engine::fp16_to_fp32(h[i]);
        } else {
            dy.download(got.data(), yn * 4);
        }
        if (tc.nchw)
            EXPECT_EQ(std::memcmp(got.data(), host_got.data(), yn * 4), 0) << what << ": host output";
        else
            got = to_nchw(got, ys);
        double worst = 0;
        size_t worst_at = 0;
        for (size_t i = 0; i < yn; ++i) {
            const float want = tc.out == DataType::F16 ? f16_round(ref_f[i]) : ref_f[i];
            const double d = std::fabs(got[i] - want);
            if (d > worst) worst_at = i;
            worst = std::max(worst, d);
        }
        // F32: the same float operations (libm's last bits aside); F16: one rounding of the same value.
        const double tol = (tc.out == DataType::F16 ? 1e-3 : 1e-6) * std::max(1.0f, ref_max);
        EXPECT_LE(worst, tol) << what << "; the worst " << nchw_position(ys, worst_at) << ": "
                              << got[worst_at] << " against " << ref_f[worst_at];
    }
    return configs;
}

bool inline_act(const engine::Act& a) {  // the activations compiled into the kernels (EpiAct)
    return a.kind == engine::ActKind::None ||
           (a.kind == engine::ActKind::LeakyRelu && a.alpha > 0.f && a.alpha <= 1.f);
}
// The folded S8 epilogue's cases (the kernel's fold_scales): an s8 output in whole 16-byte runs, act
// none or leaky ReLU (slope in (0, 1]), no residual or an s8 one with post_act none or leaky.
bool foldable(const Int8Case& tc) {
    const ConvCase& c = tc.conv;
    return tc.out == DataType::I8 && !tc.nchw && c.o % 16 == 0 && inline_act(c.act) &&
           (!c.residual || (tc.res == DataType::I8 && inline_act(c.post_act)));
}

TEST_P(CudaInt8Conv, EveryTileMatchesTheInt8Reference) {
    const Int8Case& tc = GetParam();
    if (depthwise(tc.conv)) {  // one form, our depthwise kernel
        check_tactic(tc, false, 0);
        return;
    }
    const ConvGraph cg = make_conv_graph(tc.conv);
    int ran = 0, packed = 0, wgmma = 0, two_taps = 0, folded_only = 0, direct = 0;
    // RTDET_TEST_INT8_TILES=TEXT: only the tiles whose names contain TEXT (a device call's time spent on
    // the tiles in question; of the counts below, only the direct tiles' is then checked, for "direct").
    const char* only_env = std::getenv("RTDET_TEST_INT8_TILES");
    const std::string only = only_env ? only_env : "";
    for (int t = 0; t < engine::cuda::conv_int8_tile_count(); ++t) {
        if (!engine::cuda::conv_int8_tile_runs(cg.g, cg.conv, t)) continue;
        if (!only.empty() &&
            std::string(engine::cuda::conv_int8_tile_name(t)).find(only) == std::string::npos)
            continue;
        if (engine::cuda::conv_int8_tile_folded_only(t) && !foldable(tc)) continue;
        if (engine::cuda::conv_int8_tile_nchw_only(t) && !(tc.nchw && inline_act(tc.conv.act))) continue;
        check_tactic(tc, false, t);
        const bool direct_t = std::string(engine::cuda::conv_int8_tile_name(t)).starts_with("direct ");
        if (engine::cuda::conv_int8_tile_folded_only(t) || direct_t) {
            // The persistent grid capped at 5 CTAs: each takes two or more tiles in turn (their N tiles
            // differ), as on a GPU whose SMs are fewer than the tiles.
            engine::cuda::conv_int8_ws_grid_cap(5);
            check_tactic(tc, false, t);
            engine::cuda::conv_int8_ws_grid_cap(0);
        }
        ++ran;
        folded_only += engine::cuda::conv_int8_tile_folded_only(t);
        packed += engine::cuda::conv_int8_tile_packed(t);
        wgmma += std::string(engine::cuda::conv_int8_tile_name(t)).find(" wg") != std::string::npos;
        two_taps += engine::cuda::conv_int8_tile_taps(t) == 2;
        direct += direct_t;
    }
    // The direct tiles: with the folded epilogue, 3x3 from at most 32 input channels to 32 or 64 and from
    // 64 (33-64) to any multiple of 32, 1x1 from 64 to 32 and from 128 (97-128) to 64; with an NCHW F32
    // output (act none or leaky, no residual), 1x1 from 256 or 512 to any count.
    const int rc = (tc.conv.c + 31) / 32 * 32, o = tc.conv.o;
    const bool direct_fits =
        (foldable(tc) && ((tc.conv.k == 3 && rc == 32 && (o == 32 || o == 64)) ||
                          (tc.conv.k == 3 && rc == 64 && o % 32 == 0) ||
                          (tc.conv.k == 1 && ((rc == 64 && o == 32) || (rc == 128 && o == 64))))) ||
        (tc.nchw && inline_act(tc.conv.act) && tc.conv.k == 1 && (rc == 256 || rc == 512));
    if (only == "direct") {
        EXPECT_EQ(direct > 0, direct_fits) << direct << " direct tiles ran";
    }
    if (!only.empty()) return;  // the other counts need every tile
    EXPECT_GE(ran, 2) << "tiles run";
    EXPECT_EQ(direct > 0, direct_fits) << direct << " direct tiles ran";
    // Two taps a 64-deep block: wherever the tiles read 32 channels (x's padded to 32: any conv of at most
    // 32 channels).
    const bool c32 = tc.conv.c <= 32;
    EXPECT_EQ(two_taps > 0, c32) << two_taps << " tiles of two taps a block ran";
    // The wgmma tiles (32- and 64-deep blocks) run wherever this build has them (sm_90a); channels that
    // are a multiple of 64 fit both depths.
    if (engine::cuda::conv_int8_wgmma_built()) {
        if (tc.conv.c % 64 == 0) {
            EXPECT_GT(wgmma, 0) << "wgmma tiles run";
        }
        // The warp-specialized tiles (wgmma) wherever the folded epilogue runs: the 32-deep ones fit any
        // channel count (the input read padded to a multiple of 32), the 64-deep ones multiples of 64.
        EXPECT_EQ(folded_only > 0, foldable(tc)) << folded_only << " warp-specialized tiles ran";
    }
    // The image's channels (at most 4, 3x3 or smaller) also run on the packed tiles.
    const bool packable = tc.conv.c <= engine::cuda::kPackedC && tc.conv.k <= 3;
    EXPECT_EQ(packed > 0, packable) << packed << " packed tiles ran";
}

// cuDNN's INT8 graph engines (the first three configurations its heuristics offer), where the epilogue
// has a graph form. cuDNN's conversion and its pointwise ops round as they like (a fused multiply-add,
// the output multiplied by 1 / y_scale rather than divided): the S8 bound allows one step on a few
// elements, as for libm's last bits.
TEST_P(CudaInt8Conv, CudnnGraphMatchesTheInt8Reference) {
    const Int8Case& tc = GetParam();
    const ConvCase& c = tc.conv;
    if (depthwise(c)) GTEST_SKIP() << "depthwise: our kernel only";
    if (tc.nchw) {  // our kernel only: the forced graph form is refused with a clear line
        ConvGraph cg = make_conv_graph(c);
        for (engine::ValueId v = 0; v < cg.g.num_values(); ++v)
            if (!cg.g.value(v).constant) cg.g.value(v).layout = Layout::NHWC;
        const engine::ValueId x = cg.g.node(cg.conv).inputs[0], y = cg.g.node(cg.conv).outputs[0];
        cg.g.value(x).storage_dtype = DataType::I8;
        cg.g.value(x).amax = kXAmax;
        cg.g.value(y).layout = Layout::Plain;
        cg.g.node(cg.conv).precision = DataType::I8;
        engine::cuda::CudaState state;
        EXPECT_TRUE(engine::cuda::conv_int8_writes_plain(state, cg.g, cg.conv, y));
        try {
            (void)engine::cuda::conv_int8_pack_forced(state, cg.g, cg.conv, true, 0);
            ADD_FAILURE() << "an NCHW output's graph form was not refused";
        } catch (const engine::Error& e) {
            EXPECT_NE(std::string(e.what()).find("NCHW output has no cuDNN graph form"), std::string::npos)
                << e.what();
        }
        return;
    }
    if (!engine::cuda::graph_epilogue_supported(c.act, c.post_act, c.residual))
        GTEST_SKIP() << "no cuDNN graph form for this epilogue (our kernel runs it)";
    const int configs = check_tactic(tc, true, 0);
    EXPECT_GT(configs, 0) << "cuDNN offers no INT8 graph engine";
    for (int rank = 1; rank < std::min(configs, 3); ++rank) check_tactic(tc, true, rank);
    // The first configuration past mode A's (mode B's first, or the fallback's), as the wide search
    // (RTDET_CUDA_INT8_GRAPH_SEARCH=1) times and a plan may record it.
    check_tactic(tc, true, configs);
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaInt8Conv, ::testing::ValuesIn(int8_cases()),
                         [](const ::testing::TestParamInfo<Int8Case>& param_info) {
                             std::ostringstream os;
                             PrintTo(param_info.param, &os);
                             return os.str();
                         });

// A 0/1 switch read from environment variable `var` by `on`: unset, empty and "0" off, "1" on, each of
// `bad` an error naming the variable and the value; the variable restored afterwards.
void expect_zero_one_switch(const char* var, bool (*on)(), std::initializer_list<const char*> bad) {
    const char* old = std::getenv(var);
    const std::string saved = old ? old : "";
    ::unsetenv(var);
    EXPECT_FALSE(on()) << var << " unset";
    for (const char* off : {"", "0"}) {
        ::setenv(var, off, 1);
        EXPECT_FALSE(on()) << var << "='" << off << "'";
    }
    ::setenv(var, "1", 1);
    EXPECT_TRUE(on()) << var << "='1'";
    for (const char* b : bad) {
        ::setenv(var, b, 1);
        try {
            (void)on();
            ADD_FAILURE() << var << "='" << b << "' was accepted";
        } catch (const engine::Error& e) {
            EXPECT_NE(std::string(e.what()).find(std::string(var) + "='" + b + "'"), std::string::npos)
                << e.what();
        }
    }
    if (old)
        ::setenv(var, saved.c_str(), 1);
    else
        ::unsetenv(var);
}

// RTDET_CUDA_INT8_GRAPH_SEARCH: 1 times every configuration of cuDNN's three heuristics modes; unset, empty
// or 0 mode A's first few; anything else an error (no GPU needed: the switch alone).
TEST(CudaInt8GraphSearch, TheSwitchIsOneOrZero) {
    expect_zero_one_switch("RTDET_CUDA_INT8_GRAPH_SEARCH", engine::cuda::int8_graph_search_wide,
                           {"wide", "2", " 1"});
}

// RTDET_CUDA_INT8_EXPERIMENTAL: 1 lets the builder choose the experimental tiles; unset, empty or 0 not;
// anything else is an error naming the variable and the value (no GPU needed: the switch alone). The
// tiles of two taps a block are named so (" t2") and say so (conv_int8_tile_taps).
TEST(CudaInt8Experimental, TheSwitchIsOneOrZero) {
    expect_zero_one_switch("RTDET_CUDA_INT8_EXPERIMENTAL", engine::cuda::int8_experimental_tiles_enabled,
                           {"yes", "2", "1 "});
    int two_taps = 0;
    for (int t = 0; t < engine::cuda::conv_int8_tile_count(); ++t) {
        const std::string name = engine::cuda::conv_int8_tile_name(t);
        const bool is_t2 = engine::cuda::conv_int8_tile_taps(t) == 2;
        EXPECT_EQ(is_t2, name.find(" t2") != std::string::npos) << name;
        two_taps += is_t2;
    }
    EXPECT_GT(two_taps, 0);
}

// Grouped convs other than depthwise have no INT8 kernel here: the backend says so, so the builder
// keeps them in float. Depthwise ones run INT8.
TEST(CudaInt8Claims, GroupedConvsStayFloat) {
    SKIP_WITHOUT_CUDA();
    engine::cuda::CudaState state;
    int grouped = 0, dw = 0;
    for (const ConvCase& c : testing_util::shared_conv_cases()) {
        ConvGraph cg = make_conv_graph(c);
        EXPECT_EQ(engine::cuda::conv_int8_supported(state, cg.g, cg.conv), c.group == 1 || depthwise(c))
            << c.name;
        grouped += c.group != 1 && !depthwise(c);
        dw += depthwise(c);
    }
    EXPECT_GT(grouped, 0);
    EXPECT_GT(dw, 0);
}

// Which INT8 convs write a graph output NCHW F32 themselves (the builder then gives it no Reorder): group 1
// without a residual; not depthwise ones, not those with a residual, not grouped ones (float).
TEST(CudaInt8Claims, OnlyGroupOneConvsWithoutAResidualWriteTheirOutputNchw) {
    SKIP_WITHOUT_CUDA();
    engine::cuda::CudaState state;
    int yes = 0, no = 0;
    for (const ConvCase& c : testing_util::shared_conv_cases()) {
        ConvGraph cg = make_conv_graph(c);
        const engine::ValueId y = cg.g.node(cg.conv).outputs[0];
        const bool want = c.group == 1 && !c.residual;
        EXPECT_EQ(engine::cuda::conv_int8_writes_plain(state, cg.g, cg.conv, y), want) << c.name;
        // Only the conv's own output.
        EXPECT_FALSE(engine::cuda::conv_int8_writes_plain(state, cg.g, cg.conv, cg.g.node(cg.conv).inputs[0]))
            << c.name;
        yes += want;
        no += !want;
    }
    EXPECT_GT(yes, 0);
    EXPECT_GT(no, 0);
}

// Whole INT8 plans built for the GPU against the INT8 reference chain (the same checks as oneDNN's).
TEST(CudaInt8Plan, ChainMatchesTheInt8Reference) {
    SKIP_WITHOUT_CUDA();
    int8_checks::expect_chain_matches_int8_reference("cuda");
}

TEST(CudaInt8Plan, ResidualAndConcatMatchTheInt8Reference) {
    SKIP_WITHOUT_CUDA();
    int8_checks::expect_residual_and_concat_match_int8_reference("cuda");
}

TEST(CudaInt8Plan, DepthwiseBlockMatchesTheInt8Reference) {
    SKIP_WITHOUT_CUDA();
    int8_checks::expect_depthwise_block_matches_int8_reference("cuda");
}

int count_reorders(const engine::Plan& plan) {
    int n = 0;
    for (const auto& l : plan.info().layers) n += l.op == "Reorder";
    return n;
}

// The INT8 reference of conv c1 (3x3, leaky 0.1, reading the graph input x): x quantized with its range
// x_amax, c1 requantized to c1_amax.
int8_checks::Q8 leaky_stem(const engine::Graph& g, engine::ValueId c1, const engine::Tensor& x, float x_amax,
                           float c1_amax) {
    using namespace int8_checks;
    ConvRef k1 = conv_ref(g, g.value(g.node(g.value(c1).producer).inputs[0]).producer);
    k1.p.act = engine::Act{engine::ActKind::LeakyRelu, 0.1f, 0};
    return run_conv(k1, quantize(x, x_amax), c1_amax);
}

// YOLO's heads: linear 1x1 convs with 255 (odd) and 18 outputs as graph outputs. The INT8 convs write
// them NCHW F32 themselves (CudaBackend::writes_plain_f32_output): the plan's one Reorder quantizes the
// input. Host and device graph I/O (the host outputs through the kernel's staging) give the INT8
// reference's values.
TEST(CudaInt8Plan, HeadsWriteTheirGraphOutputsThemselves) {
    SKIP_WITHOUT_CUDA();
    using namespace int8_checks;
    testing_util::GraphBuilder b(17);
    const engine::ValueId x = b.input({2, 8, 13, 11});
    const engine::ValueId c1 = b.leaky_relu(b.conv(x, 32, 3), 0.1f);
    const engine::ValueId h1 = b.conv(c1, 255, 1);
    const engine::ValueId h2 = b.conv(c1, 18, 1);
    b.output(h1);
    b.output(h2);
    const engine::Graph g = b.build();
    const std::vector<engine::Tensor> inputs = b.random_inputs(5);
    const engine::BuildOptions o = int8_options(
        "cuda",
        {{g.value(x).name, 1.0}, {g.value(c1).name, 2.5}, {g.value(h1).name, 4.0}, {g.value(h2).name, 4.0}});
    const engine::Plan plan = build_plan(g, o, "heads", "");
    EXPECT_EQ(count_precision(plan, "Conv", "i8"), 3);
    EXPECT_EQ(count_reorders(plan), 1) << "the heads' outputs were converted by Reorders";
    const Q8 c1q = leaky_stem(g, c1, inputs[0], 1.0f, 2.5f);
    std::vector<float> e1, e2;
    run_conv(conv_ref(g, g.value(h1).producer), c1q, 0, &e1);
    run_conv(conv_ref(g, g.value(h2).producer), c1q, 0, &e2);

    auto engine = engine::Engine::load(plan);
    auto ctx = engine->create_context(1);
    auto expect_heads = [&](const std::vector<engine::Tensor>& out, const char* io) {
        ASSERT_EQ(out.size(), 2u) << io;
        int i = 0;
        for (const std::vector<float>* e : {&e1, &e2}) {
            const std::vector<float> got(out[i].data_as<float>(), out[i].data_as<float>() + out[i].numel());
            // The same float operations as the reference: equal up to libm-free rounding, i.e. exactly
            // here (no activation), with a margin for the reference's own summation order.
            const auto [worst, off] = compare(got, *e, 1e-5);
            EXPECT_EQ(off, 0u) << io << " output " << i << ": worst " << worst;
            ++i;
        }
    };
    expect_heads(ctx->run(inputs), "host");
    // Device I/O: the outputs in the context's device buffers.
    expect_heads(run_device(*ctx, inputs[0], 2), "device");
}

// The network input's quantization into an INT8 conv's padded NHWC copy (launch_quantize_nchw_to_nhwc_padded,
// for convs that read the F32 input themselves) against quantize_s8 element by element, by hand: the
// four-pixel kernel (4 channels, pixels a multiple of 4, aligned) and the general one (odd pixel
// counts, 32 channels as cuDNN's form reads, an unaligned batch stride), values on half steps, past
// the range and NaN.
TEST(CudaInt8Quantize, NchwToPaddedNhwcMatchesQuantizeS8) {
    SKIP_WITHOUT_CUDA();
    struct Case {
        int batch, c, h, w, padded_c;
        int64_t extra;  // x's batch stride past the sample's elements
    };
    const float scale = 0.05f;
    for (const Case& k : {Case{2, 3, 4, 8, 4, 0}, Case{3, 1, 2, 6, 4, 4}, Case{2, 4, 4, 4, 4, 0},
                          Case{2, 3, 5, 7, 4, 0}, Case{2, 2, 3, 3, 32, 0}, Case{2, 3, 4, 8, 4, 1}}) {
        const int64_t pixels = static_cast<int64_t>(k.h) * k.w, xbs = k.c * pixels + k.extra;
        std::vector<float> x(static_cast<size_t>(k.batch * xbs));
        for (size_t i = 0; i < x.size(); ++i) {
            // Half steps (i / 2 + 0.5 quantization steps, both signs), beyond +-127 steps, and NaN.
            const float steps = static_cast<float>(static_cast<int>(i % 23) - 11) * 13.5f + 0.5f;
            x[i] = i % 17 == 5 ? std::nanf("") : steps * scale;
        }
        engine::cuda::DeviceBuffer dx(x.size() * sizeof(float)),
            dy(static_cast<size_t>(k.batch * pixels * k.padded_c));
        dx.upload(x.data(), dx.bytes());
        CUDA_CHECK(cudaMemset(dy.get(), 0x55, dy.bytes()));  // every byte must be written
        engine::cuda::launch_quantize_nchw_to_nhwc_padded(dx.as<float>(), dy.as<int8_t>(), k.batch, k.c,
                                                          pixels, k.padded_c, xbs, scale, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<int8_t> y(dy.bytes());
        dy.download(y.data(), y.size());
        int wrong = 0;
        for (int n = 0; n < k.batch; ++n)
            for (int64_t p = 0; p < pixels; ++p)
                for (int ch = 0; ch < k.padded_c; ++ch) {
                    const int8_t want =
                        ch < k.c
                            ? engine::quantize_s8(x[static_cast<size_t>(n * xbs + ch * pixels + p)], scale)
                            : 0;
                    const int8_t got = y[static_cast<size_t>((n * pixels + p) * k.padded_c + ch)];
                    if (got != want && ++wrong <= 3)
                        ADD_FAILURE()
                            << k.batch << "x" << k.c << "x" << k.h << "x" << k.w << " -> " << k.padded_c
                            << " (stride +" << k.extra << "): sample " << n << " pixel " << p << " channel "
                            << ch << ": " << int{got} << ", expected " << int{want};
                }
        EXPECT_EQ(wrong, 0);
    }
    // Bad arguments: one clear line, nothing launched.
    engine::cuda::DeviceBuffer d(64);
    EXPECT_THROW(engine::cuda::launch_quantize_nchw_to_nhwc_padded(d.as<float>(), d.as<int8_t>(), 1, 3, 4, 6,
                                                                   12, scale, nullptr),
                 engine::Error);  // 6 channels: not a multiple of 4
    EXPECT_THROW(engine::cuda::launch_quantize_nchw_to_nhwc_padded(d.as<float>(), d.as<int8_t>(), 1, 3, 4, 4,
                                                                   12, 0.f, nullptr),
                 engine::Error);  // scale 0
}

// A conv reading the network's F32 image itself (CudaBackend::reads_plain_f32_input: at most 4
// channels, a calibrated range): the plan has no Reorder at all (the heads write their outputs
// themselves), and host and device graph I/O give the INT8 reference's values, for image sizes that
// take the four-pixel quantization (16 x 20) and the general one (13 x 11), and 1 and 3 channels.
TEST(CudaInt8Plan, AConvReadsTheImageItself) {
    SKIP_WITHOUT_CUDA();
    using namespace int8_checks;
    for (const Shape& shape : {Shape{2, 3, 16, 20}, Shape{2, 3, 13, 11}, Shape{2, 1, 8, 12}}) {
        SCOPED_TRACE(testing::PrintToString(shape));
        testing_util::GraphBuilder b(23);
        const engine::ValueId x = b.input(shape);
        const engine::ValueId c1 = b.leaky_relu(b.conv(x, 32, 3), 0.1f);
        const engine::ValueId h = b.conv(c1, 18, 1);
        b.output(h);
        const engine::Graph g = b.build();
        const std::vector<engine::Tensor> inputs = b.random_inputs(9);
        const engine::BuildOptions o =
            int8_options("cuda", {{g.value(x).name, 0.9}, {g.value(c1).name, 2.5}, {g.value(h).name, 4.0}});
        const engine::Plan plan = build_plan(g, o, "image", "");
        EXPECT_EQ(count_precision(plan, "Conv", "i8"), 2);
        EXPECT_EQ(count_reorders(plan), 0) << "the image was converted by a Reorder";
        const Q8 c1q = leaky_stem(g, c1, inputs[0], 0.9f, 2.5f);
        std::vector<float> e;
        run_conv(conv_ref(g, g.value(h).producer), c1q, 0, &e);

        auto engine = engine::Engine::load(plan);
        auto ctx = engine->create_context(1);
        auto expect_out = [&](const engine::Tensor& out, const char* io) {
            const std::vector<float> got(out.data_as<float>(), out.data_as<float>() + out.numel());
            const auto [worst, off] = compare(got, e, 1e-5);
            EXPECT_EQ(off, 0u) << io << ": worst " << worst;
        };
        const std::vector<engine::Tensor> host = ctx->run(inputs);
        ASSERT_EQ(host.size(), 1u);
        expect_out(host[0], "host");
        const std::vector<engine::Tensor> dev = run_device(*ctx, inputs[0], 2);
        ASSERT_EQ(dev.size(), 1u);
        expect_out(dev[0], "device");
    }
}

// `best`: INT8 only where it measures faster than FP16 (recorded and consistent; the same check as oneDNN's).
TEST(CudaInt8Plan, BestIsTimedAndConsistent) {
    SKIP_WITHOUT_CUDA();
    int8_checks::expect_best_is_timed_and_consistent("cuda", "f16");
}

}  // namespace
