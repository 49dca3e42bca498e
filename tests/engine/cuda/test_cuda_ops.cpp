// CUDA kernels other than Conv vs the reference backend: MaxPool, Resize, Concat, activations,
// Add/Mul and Reorder, in F32 and F16 storage, batch 1 and 3; the INT8 storage paths (Reorder
// quantizing, MaxPool, Resize and Concat on s8) against the INT8 reference math; and what the backend
// claims.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <memory>
#include <random>
#include <tuple>

#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/fill.cuh"
#include "engine/refmath/ref_int8.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::DataType;
using engine::Layout;
using engine::NodeId;
using engine::ValueId;
using namespace cuda_test;

class CudaOps : public ::testing::TestWithParam<DataType> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

std::string dtype_param_name(const ::testing::TestParamInfo<DataType>& info) {
    return std::string(engine::dtype_name(info.param));
}

// Runs node n on the cuda backend and the reference with random inputs at `batch`; expects a match
// within the dtype's tolerance (and no NaN left where the kernel should have written).
void expect_node_matches(engine::Graph g, NodeId n, DataType dt, int batch, uint32_t seed,
                         const std::string& what, float lo = -2.f, float hi = 2.f) {
    set_storage(g, dt);
    const std::vector<engine::Tensor> inputs = node_inputs(g, n, batch, dt, seed, lo, hi);
    NodeRun ours = run_cuda_node(g, n, inputs, batch);
    std::vector<engine::Tensor> ref = run_reference_node(g, n, inputs);
    ASSERT_EQ(ours.outputs.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
        const auto d = testing_util::compare(ours.outputs[i], ref[i]);
        EXPECT_LE(d.max_rel, tolerance(dt))
            << what << " " << engine::dtype_name(dt) << " batch " << batch << ": " << d.describe();
    }
}

// ---- MaxPool ----

// A MaxPool case: a k x k window, stride s, pads (top, left, bottom, right), on [3, c, h, w].
struct PoolCase {
    std::string name;
    int k, s;
    std::array<int32_t, 4> pads;
    bool ceil;
    int c, h, w, dilation = 1;
    bool all_negative = false;  // (INT8 cases) inputs below 0: padding taken as 0 would win at the borders
};

// x [3, c, h, w] -> MaxPool (the case's window) -> y, with y's shape computed from the ONNX rule here.
struct PoolGraph {
    testing_util::GraphBuilder b;
    ValueId y = engine::kNoValue;
    engine::Shape out;
};
std::unique_ptr<PoolGraph> pool_graph(const PoolCase& c) {
    auto pg = std::make_unique<PoolGraph>();
    const ValueId x = pg->b.input({3, c.c, c.h, c.w});
    engine::MaxPoolParams p;
    p.kernel = {c.k, c.k};
    p.stride = {c.s, c.s};
    p.dilation = {c.dilation, c.dilation};
    p.pads = c.pads;
    p.ceil_mode = c.ceil;
    pg->out = {3, c.c, 0, 0};
    for (size_t d = 0; d < 2; ++d) {
        const int64_t in = d == 0 ? c.h : c.w;
        const int64_t ext = static_cast<int64_t>(c.dilation) * (c.k - 1) + 1;
        const int64_t span = in + c.pads[d] + c.pads[d + 2] - ext;
        int64_t o = (c.ceil ? (span + c.s - 1) / c.s : span / c.s) + 1;
        if (c.ceil && (o - 1) * c.s >= in + c.pads[d]) --o;
        pg->out[2 + d] = o;
    }
    pg->y = pg->b.op(engine::OpType::MaxPool, {x}, p, {{DataType::F32, pg->out}}, true)[0];
    pg->b.output(pg->y);
    return pg;
}

TEST_P(CudaOps, MaxPoolMatchesReference) {
    const DataType dt = GetParam();
    using Case = PoolCase;
    const std::vector<Case> cases = {
        {"k2s2", 2, 2, {0, 0, 0, 0}, false, 16, 8, 10},
        {"k2s2_odd", 2, 2, {0, 0, 0, 0}, false, 16, 9, 7},
        {"k3s1p1", 3, 1, {1, 1, 1, 1}, false, 8, 7, 6},
        {"k5s1p2_spp", 5, 1, {2, 2, 2, 2}, false, 24, 6, 6},
        {"k13s1p6_spp", 13, 1, {6, 6, 6, 6}, false, 8, 13, 13},
        {"ceil_k2s2", 2, 2, {0, 0, 0, 0}, true, 16, 9, 7},
        {"ceil_k3s2p1", 3, 2, {1, 1, 1, 1}, true, 16, 8, 10},
        {"darknet_k2s1", 2, 1, {0, 0, 1, 1}, false, 16, 13, 13},  // yolov3-tiny's 13x13 maxpool
        {"asym_pads", 3, 2, {1, 0, 0, 1}, false, 16, 9, 8},
        {"dilation2", 3, 1, {2, 2, 2, 2}, false, 8, 7, 7, 2},
        {"odd_channels", 2, 2, {0, 0, 0, 0}, false, 5, 6, 6},  // no vector path
        {"c6", 3, 2, {1, 1, 1, 1}, false, 6, 6, 6},            // half2 path
    };
    for (const Case& c : cases) {
        for (int batch : {1, 3}) {
            const auto pg = pool_graph(c);
            expect_node_matches(pg->b.build(), pg->b.producer(pg->y), dt, batch, 11, c.name);
        }
    }
}

// ---- Resize ----

TEST_P(CudaOps, ResizeMatchesReference) {
    const DataType dt = GetParam();
    using engine::ResizeCoord;
    using engine::ResizeNearest;
    struct Case {
        std::string name;
        float fh, fw;
        ResizeCoord coord;
        ResizeNearest nearest;
        int c = 16;
    };
    const std::vector<Case> cases = {
        {"darknet_x2", 2, 2, ResizeCoord::Asymmetric, ResizeNearest::Floor},
        {"x2_round_prefer_floor", 2, 2, ResizeCoord::Asymmetric, ResizeNearest::RoundPreferFloor},
        {"x3_half_pixel", 3, 3, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor},
        {"x2_align_corners", 2, 2, ResizeCoord::AlignCorners, ResizeNearest::RoundPreferCeil},
        {"x1.5_ceil", 1.5f, 1.5f, ResizeCoord::Asymmetric, ResizeNearest::Ceil},
        {"down_half", 0.5f, 0.5f, ResizeCoord::HalfPixel, ResizeNearest::Floor},
        {"x2_odd_c", 2, 2, ResizeCoord::Asymmetric, ResizeNearest::Floor, 3},
        {"x4x2", 4, 2, ResizeCoord::Asymmetric, ResizeNearest::Floor, 12},
    };
    for (const Case& c : cases) {
        for (int batch : {1, 3}) {
            testing_util::GraphBuilder b;
            const ValueId x = b.input({3, c.c, 6, 8});
            const ValueId y = b.resize(x, {1.f, 1.f, c.fh, c.fw}, c.coord, c.nearest);
            b.output(y);
            expect_node_matches(b.build(), b.producer(y), dt, batch, 21, c.name);
        }
    }
}

// ---- Concat ----

TEST_P(CudaOps, ConcatMatchesReference) {
    const DataType dt = GetParam();
    const std::vector<std::vector<int>> channel_sets = {{16, 32}, {8, 8, 16}, {3, 5, 7}, {1, 2}, {256, 128}};
    for (const auto& chans : channel_sets) {
        for (int batch : {1, 3}) {
            testing_util::GraphBuilder b;
            std::vector<ValueId> xs;
            for (int c : chans) xs.push_back(b.input({3, c, 5, 7}));
            const ValueId y = b.concat(xs, 1);
            b.output(y);
            engine::Graph g = b.build();
            std::get<engine::ConcatParams>(g.node(b.producer(y)).params).in_place = false;
            expect_node_matches(g, b.producer(y), dt, batch, 31, "concat " + std::to_string(chans.size()));
        }
    }
}

// ---- activations ----

TEST_P(CudaOps, ActivationsMatchReference) {
    const DataType dt = GetParam();
    struct Case {
        engine::OpType op;
        engine::UnaryParams p;
    };
    const std::vector<Case> cases = {
        {engine::OpType::Relu, {}},
        {engine::OpType::LeakyRelu, {0.1f, 0.f}},
        {engine::OpType::Sigmoid, {}},
        {engine::OpType::Tanh, {}},
        {engine::OpType::Softplus, {}},
        {engine::OpType::Mish, {}},
        {engine::OpType::Silu, {}},
        {engine::OpType::Clip, {-0.5f, 1.5f}},
        {engine::OpType::HardSigmoid, {0.2f, 0.5f}},
    };
    for (const Case& c : cases) {
        for (const engine::Shape& s :
             {engine::Shape{3, 16, 5, 7}, engine::Shape{3, 5, 3, 3}, engine::Shape{3, 10}}) {
            for (int batch : {1, 3}) {
                testing_util::GraphBuilder b;
                const ValueId x = b.input(s);
                const ValueId y = b.unary(c.op, x, c.p);
                b.output(y);
                // Wide range: exercises softplus's cut-off at 20 and the saturated tails.
                expect_node_matches(b.build(), b.producer(y), dt, batch, 41,
                                    std::string(engine::op_type_name(c.op)) + " " + engine::shape_str(s),
                                    -25.f, 25.f);
            }
        }
    }
}

// ---- Add / Mul ----

TEST_P(CudaOps, AddMulMatchReference) {
    const DataType dt = GetParam();
    for (engine::OpType op : {engine::OpType::Add, engine::OpType::Mul}) {
        for (const engine::Shape& s : {engine::Shape{3, 16, 5, 7}, engine::Shape{3, 3, 3, 3}}) {
            for (int batch : {1, 3}) {
                testing_util::GraphBuilder b;
                const ValueId x = b.input(s);
                const ValueId z = b.input(s);
                const ValueId y = b.binary(op, x, z);
                b.output(y);
                expect_node_matches(b.build(), b.producer(y), dt, batch, 51,
                                    std::string(engine::op_type_name(op)));
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, CudaOps, ::testing::Values(DataType::F32, DataType::F16), dtype_param_name);

// ---- Reorder (device side) ----

struct ReorderCase {
    Layout from_layout;
    DataType from_dt;
    Layout to_layout;
    DataType to_dt;
};

class CudaReorder : public ::testing::TestWithParam<ReorderCase> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

TEST_P(CudaReorder, ConvertsLayoutAndType) {
    const ReorderCase rc = GetParam();
    // Channel counts that take the few-rows/few-columns paths (1, 3, 8) and the tiled path (40, 33);
    // the few-rows path four columns a thread where H x W is a multiple of 4 (1x4x5, 8x6x6, 3x16x20;
    // 3x17x19 one a thread).
    for (const engine::Shape& s :
         {engine::Shape{2, 3, 17, 19}, engine::Shape{2, 40, 9, 35}, engine::Shape{2, 1, 4, 5},
          engine::Shape{2, 8, 6, 6}, engine::Shape{2, 33, 33, 2}, engine::Shape{2, 3, 16, 20}}) {
        for (int batch : {1, 2}) {
            testing_util::GraphBuilder b;
            const ValueId x = b.input(s);
            const ValueId y = b.unary(engine::OpType::Identity, x);
            b.output(y);
            engine::Graph g = b.build();
            const NodeId n = b.producer(y);
            g.node(n).op = engine::OpType::Reorder;
            g.node(n).params = std::monostate{};
            g.node(n).backend = "cuda";
            g.value(x).layout = rc.from_layout;
            g.value(x).storage_dtype = rc.from_dt;
            g.value(y).layout = rc.to_layout;
            g.value(y).storage_dtype = rc.to_dt;
            engine::Shape bs = s;
            bs[0] = batch;
            engine::Tensor in = testing_util::random_tensor(bs, 61, -3.f, 3.f);
            if (rc.from_dt == DataType::F16 || rc.to_dt == DataType::F16) in = round_f16(in);
            NodeRun ours = run_cuda_node(g, n, {in}, batch);
            // A Reorder only moves (and exactly re-rounds) values: equality, after F16 rounding.
            const auto d = testing_util::compare(ours.outputs[0], in);
            EXPECT_EQ(d.max_abs, 0.0) << engine::shape_str(bs) << ": " << d.describe();
        }
    }
}

std::vector<ReorderCase> reorder_cases() {
    std::vector<ReorderCase> v;
    for (Layout a : {Layout::Plain, Layout::NHWC})
        for (DataType da : {DataType::F32, DataType::F16})
            for (Layout b : {Layout::Plain, Layout::NHWC})
                for (DataType db : {DataType::F32, DataType::F16})
                    if (a != b || da != db) v.push_back({a, da, b, db});
    return v;
}

std::string reorder_name(const ::testing::TestParamInfo<ReorderCase>& info) {
    const ReorderCase& c = info.param;
    return std::string(engine::layout_name(c.from_layout)) + "_" +
           std::string(engine::dtype_name(c.from_dt)) + "_to_" +
           std::string(engine::layout_name(c.to_layout)) + "_" + std::string(engine::dtype_name(c.to_dt));
}

INSTANTIATE_TEST_SUITE_P(Storage, CudaReorder, ::testing::ValuesIn(reorder_cases()), reorder_name);

// ---- INT8 storage (docs/int8.md) ----
//
// Reorder quantizing, dequantizing and rescaling, and MaxPool, Resize and Concat moving s8 values. The
// expected values come from engine/refmath/ref_int8.h applied here element by element, max pooling and
// concatenation done by hand, and a table of half steps written out by hand; I8 tensors go in and come
// out of the helpers as their integers (stored_tensor.h). Every comparison is exact: the kernels do the
// reference's FP32 operations, so any difference is a bug.

// amax 127/8 gives the scale 1/8 exactly: x = (k + 0.5) / 8 is then a true half step of x / scale.
constexpr float kAmaxEighth = 15.875f;

float scale_of(float amax) { return amax / 127.0f; }

class CudaInt8 : public ::testing::Test {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

// Gives every runtime value of g I8 NHWC storage (Plain below 4-D) with range `amax` (one scale group,
// as assign_int8 makes for MaxPool, Resize and Concat), every node the precision I8 and the cuda backend.
void set_int8_storage(engine::Graph& g, float amax) {
    set_storage(g, DataType::I8);
    for (ValueId v = 0; v < g.num_values(); ++v)
        if (!g.value(v).constant) g.value(v).amax = amax;
}

// Integers in [lo, hi] other than -1 (the byte of an output element the kernel did not write:
// make_stored), as a plain F32 tensor; every 7th element is `lo` so the extremes occur.
engine::Tensor random_s8(const engine::Shape& s, uint32_t seed, int lo = -128, int hi = 127) {
    engine::Tensor t(DataType::F32, s);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    int64_t i = 0;
    for (float& v : t.f32()) {
        int q = i++ % 7 == 0 ? lo : d(rng);
        while (q == -1) q = d(rng);
        v = static_cast<float>(q);
    }
    return t;
}

// Exact equality of two plain F32 tensors (NaN never equal), naming the first mismatches.
void expect_exact(const engine::Tensor& ours, const engine::Tensor& expected, const std::string& what) {
    ASSERT_EQ(ours.shape(), expected.shape()) << what;
    const auto a = ours.f32();
    const auto b = expected.f32();
    size_t bad = 0;
    std::string first;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] == b[i]) continue;
        if (++bad <= 5)
            first += " [" + std::to_string(i) + "] " + std::to_string(a[i]) + " != " + std::to_string(b[i]);
    }
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << a.size() << " differ:" << first;
}

// A Reorder x -> y of shape s, with each side's layout, storage type and range; node and values named
// for the error messages.
struct ReorderGraph {
    engine::Graph g;
    NodeId n = 0;
    ValueId x = 0, y = 0;
};
ReorderGraph reorder_graph(const engine::Shape& s, Layout xl, DataType xt, float xa, Layout yl, DataType yt,
                           float ya) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input(s, true, "x_in");
    const ValueId y = b.unary(engine::OpType::Identity, x);
    b.output(y);
    ReorderGraph r{b.build(), b.producer(y), x, y};
    engine::Node& node = r.g.node(r.n);
    node.op = engine::OpType::Reorder;
    node.params = std::monostate{};
    node.backend = "cuda";
    node.name = "reorder_q";
    r.g.value(y).name = "y_out";
    for (auto [v, l, t, a] : {std::tuple{x, xl, xt, xa}, std::tuple{y, yl, yt, ya}}) {
        r.g.value(v).layout = l;
        r.g.value(v).storage_dtype = t;
        r.g.value(v).amax = a;
    }
    return r;
}

// What a Reorder from (xt, scale sx) to (yt, scale sy) gives for the element v it reads (v an integer
// for I8, F16-representable for F16), by the reference's functions.
float expected_reorder(float v, DataType xt, float sx, DataType yt, float sy) {
    float real = v;
    if (xt == DataType::I8) {
        const int8_t q = static_cast<int8_t>(v);
        engine::dequantize_s8(&q, 1, sx, &real);
    }
    if (yt == DataType::I8) return static_cast<float>(engine::quantize_s8(real, sy));
    if (yt == DataType::F16) return engine::fp16_to_fp32(engine::fp32_to_fp16(real));
    return real;
}

// Real values to quantize with scale s: the half steps (k + 0.5) * s for k in [-130, 129] and their
// float neighbours (where x / s and x * (1 / s) part ways), the range's ends and beyond, zeros; NaN
// and +-inf when `specials`; shuffled, then random values over 1.5x the range to fill `n`.
std::vector<float> quantize_inputs(size_t n, float s, bool specials, uint32_t seed) {
    std::vector<float> v;
    for (int k = -130; k < 130; ++k) {
        const float x = (static_cast<float>(k) + 0.5f) * s;
        v.insert(v.end(), {x, std::nextafter(x, INFINITY), std::nextafter(x, -INFINITY)});
    }
    v.insert(v.end(), {0.f, -0.f, 127 * s, -128 * s, 1000 * s, -1000 * s, 1e30f, -1e30f});
    if (specials) v.insert(v.end(), {NAN, INFINITY, -INFINITY});
    std::mt19937 rng(seed);
    std::shuffle(v.begin(), v.end(), rng);
    std::uniform_real_distribution<float> d(-190.f * s, 190.f * s);
    while (v.size() < n) v.push_back(d(rng));
    v.resize(n);
    return v;
}

// The input of a Reorder from xt at `batch` of shape s: integers for I8 (all 256 of them), else real
// values around the output's range (rounded to F16 for F16).
engine::Tensor reorder_input(const engine::Shape& s, DataType xt, DataType yt, float sy, uint32_t seed) {
    engine::Tensor t(DataType::F32, s);
    auto f = t.f32();
    if (xt == DataType::I8) {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> d(-128, 127);
        for (size_t i = 0; i < f.size(); ++i)
            f[i] = static_cast<float>(i < 256 ? static_cast<int>(i) - 128 : d(rng));
        std::shuffle(f.begin(), f.end(), rng);
        return t;
    }
    // NaN and inf only where the output is I8 (quantize_s8 defines them; float outputs would need NaN-aware
    // comparison).
    const std::vector<float> v =
        quantize_inputs(f.size(), yt == DataType::I8 ? sy : 0.05f, yt == DataType::I8, seed);
    std::copy(v.begin(), v.end(), f.begin());
    return xt == DataType::F16 ? round_f16(t) : t;
}

TEST_F(CudaInt8, QuantizesHalfStepsToEvenAndSaturates) {
    // x / scale (scale 1/8) -> the s8 value, written out by hand (not by quantize_s8).
    const std::vector<std::pair<float, int>> table = {
        {0.5f, 0},       {1.5f, 2},         {2.5f, 2},       {3.5f, 4},       {-0.5f, 0},      {-1.5f, -2},
        {-2.5f, -2},     {-3.5f, -4},       {63.5f, 64},     {64.5f, 64},     {-63.5f, -64},   {-64.5f, -64},
        {126.5f, 126},   {127.5f, 127},     {-127.5f, -128}, {-128.5f, -128}, {0.25f, 0},      {0.75f, 1},
        {-0.75f, -1},    {2.75f, 3},        {5.f, 5},        {-7.f, -7},      {0.f, 0},        {127.f, 127},
        {-128.f, -128},  {129.f, 127},      {-129.f, -128},  {1000.f, 127},   {-1000.f, -128}, {NAN, 0},
        {INFINITY, 127}, {-INFINITY, -128},
    };
    const float s = scale_of(kAmaxEighth);
    ASSERT_EQ(s, 0.125f);
    for (const auto& [u, q] : table) ASSERT_EQ(engine::quantize_s8(u * s, s), q) << u;  // the oracle agrees
    for (DataType xt : {DataType::F32, DataType::F16}) {
        for (Layout xl : {Layout::Plain, Layout::NHWC}) {
            for (int batch : {1, 3}) {
                const engine::Shape shape = {3, 4, 2, 3};
                ReorderGraph r = reorder_graph(shape, xl, xt, 0.f, Layout::NHWC, DataType::I8, kAmaxEighth);
                engine::Tensor in(DataType::F32, {batch, 4, 2, 3});
                engine::Tensor expected(DataType::F32, {batch, 4, 2, 3});
                for (size_t i = 0; i < in.f32().size(); ++i) {
                    const auto& [u, q] = table[(i * 5 + i / 24) % table.size()];
                    in.f32()[i] = u * s;  // exact in F16 too
                    expected.f32()[i] = static_cast<float>(q);
                }
                NodeRun ours = run_cuda_node(r.g, r.n, {in}, batch);
                expect_exact(ours.outputs[0], expected,
                             std::string(engine::dtype_name(xt)) + " " +
                                 std::string(engine::layout_name(xl)) + " batch " + std::to_string(batch));
            }
        }
    }
}

struct Int8ReorderCase {
    std::string name;
    Layout xl;
    DataType xt;
    float xa;
    Layout yl;
    DataType yt;
    float ya;
};

class CudaInt8Reorder : public ::testing::TestWithParam<Int8ReorderCase> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

TEST_P(CudaInt8Reorder, MatchesReferenceQuantization) {
    const Int8ReorderCase c = GetParam();
    const float sx = c.xt == DataType::I8 ? scale_of(c.xa) : 1.f;
    const float sy = c.yt == DataType::I8 ? scale_of(c.ya) : 1.f;
    // Channel counts of the few-rows/few-columns paths (1, 3, 8; four columns a thread where H x W is
    // a multiple of 4: 3x16x20, the network input's case), the tiled path (40, 33), and a 2-D tensor
    // (Plain on both sides: the elementwise path).
    for (const engine::Shape& s :
         {engine::Shape{3, 3, 17, 19}, engine::Shape{3, 40, 9, 35}, engine::Shape{3, 1, 4, 5},
          engine::Shape{3, 8, 6, 6}, engine::Shape{3, 33, 33, 2}, engine::Shape{3, 300},
          engine::Shape{3, 3, 16, 20}}) {
        for (int batch : {1, 3}) {
            const bool plain = s.size() != 4;
            ReorderGraph r = reorder_graph(s, plain ? Layout::Plain : c.xl, c.xt, c.xa,
                                           plain ? Layout::Plain : c.yl, c.yt, c.ya);
            engine::Shape bs = s;
            bs[0] = batch;
            const engine::Tensor in = reorder_input(bs, c.xt, c.yt, sy, 71 + batch);
            engine::Tensor expected = in;
            for (float& v : expected.f32()) v = expected_reorder(v, c.xt, sx, c.yt, sy);
            NodeRun ours = run_cuda_node(r.g, r.n, {in}, batch);
            expect_exact(ours.outputs[0], expected, c.name + " " + engine::shape_str(bs));
        }
    }
}

std::vector<Int8ReorderCase> int8_reorder_cases() {
    const Layout P = Layout::Plain, H = Layout::NHWC;
    const DataType F32 = DataType::F32, F16 = DataType::F16, I8 = DataType::I8;
    return {
        {"f32_plain_to_i8_nhwc", P, F32, 0.f, H, I8, kAmaxEighth},   // the graph input quantized
        {"f32_plain_to_i8_nhwc_amax3_7", P, F32, 0.f, H, I8, 3.7f},  // a scale that is no power of 2
        {"f32_nhwc_to_i8_nhwc", H, F32, 0.f, H, I8, 3.7f},
        {"f32_plain_to_i8_plain", P, F32, 0.f, P, I8, 3.7f},
        {"i8_nhwc_to_f32_plain", H, I8, 3.7f, P, F32, 0.f},  // a head dequantized into the graph output
        {"i8_nhwc_to_f32_nhwc", H, I8, kAmaxEighth, H, F32, 0.f},
        {"i8_plain_to_f32_nhwc", P, I8, 3.7f, H, F32, 0.f},
        {"f16_nhwc_to_i8_nhwc", H, F16, 0.f, H, I8, 3.7f},
        {"f16_plain_to_i8_nhwc", P, F16, 0.f, H, I8, kAmaxEighth},
        {"i8_nhwc_to_f16_nhwc", H, I8, 3.7f, H, F16, 0.f},
        {"i8_nhwc_to_f16_plain", H, I8, 250.f, P, F16, 0.f},
        {"i8_nhwc_to_i8_nhwc_narrower", H, I8, kAmaxEighth, H, I8, 6.f},  // saturates
        {"i8_nhwc_to_i8_nhwc_wider", H, I8, 6.f, H, I8, kAmaxEighth},     // rounds
        {"i8_plain_to_i8_nhwc_rescale", P, I8, 3.7f, H, I8, 2.9f},
        {"i8_nhwc_to_i8_plain_same_range", H, I8, 3.7f, P, I8, 3.7f},
        {"i8_nhwc_to_i8_nhwc_double", H, I8, 2.f, H, I8, 4.f},  // q / 2: every odd q a half step
    };
}

std::string int8_reorder_name(const ::testing::TestParamInfo<Int8ReorderCase>& info) {
    return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Storage, CudaInt8Reorder, ::testing::ValuesIn(int8_reorder_cases()),
                         int8_reorder_name);

// Runs Reorder node n at `batch` with its input (host_in) or its output (otherwise) in pageable host
// memory, as a graph input or output is: the kernel stages that side through its workspace.
engine::Tensor run_reorder_across(const engine::Graph& g, NodeId n, const engine::Tensor& in, int batch,
                                  bool host_in) {
    using engine::cuda::DeviceBuffer;
    auto backend = engine::make_cuda_backend();
    auto kernel = backend->create_kernel(g, n, {});
    const engine::Value& xv = g.value(g.node(n).inputs[0]);
    const engine::Value& yv = g.value(g.node(n).outputs[0]);
    engine::Shape ys = yv.desc.shape;
    ys[0] = batch;
    Stored x = to_stored(in, xv.layout, xv.storage_dtype);
    Stored y = make_stored(ys, yv.layout, yv.storage_dtype);
    DeviceBuffer dx(x.size_bytes()), dy(y.size_bytes());
    if (!host_in) dx.upload(x.data(), x.size_bytes());
    if (host_in) dy.upload(y.data(), y.size_bytes());  // NaN bytes
    DeviceBuffer ws(kernel->workspace_bytes(batch) + 256);
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<engine::TensorRef> ins = {
        {host_in ? x.data() : dx.get(), xv.storage_dtype, in.shape(), x.batch_stride}};
    const std::vector<engine::TensorRef> outs = {
        {host_in ? dy.get() : y.data(), yv.storage_dtype, ys, y.batch_stride}};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.get();
    args.batch = batch;
    kernel->run(args);
    CUDA_CHECK(cudaDeviceSynchronize());
    if (host_in) dy.download(y.data(), y.size_bytes());
    return from_stored(y);
}

TEST_F(CudaInt8, ReorderStagesHostSides) {
    // The graph input (F32 Plain, host) quantized into device I8 NHWC, and device I8 NHWC dequantized
    // into the graph output (F32 Plain, host).
    for (const engine::Shape& s : {engine::Shape{3, 3, 17, 19}, engine::Shape{3, 40, 9, 35}}) {
        for (int batch : {1, 3}) {
            engine::Shape bs = s;
            bs[0] = batch;
            const std::string what = engine::shape_str(bs);
            {
                ReorderGraph r =
                    reorder_graph(s, Layout::Plain, DataType::F32, 0.f, Layout::NHWC, DataType::I8, 3.7f);
                const float sy = scale_of(3.7f);
                const engine::Tensor in = reorder_input(bs, DataType::F32, DataType::I8, sy, 81);
                engine::Tensor expected = in;
                for (float& v : expected.f32()) v = expected_reorder(v, DataType::F32, 1.f, DataType::I8, sy);
                expect_exact(run_reorder_across(r.g, r.n, in, batch, true), expected,
                             "host f32 -> i8 " + what);
            }
            {
                ReorderGraph r =
                    reorder_graph(s, Layout::NHWC, DataType::I8, 3.7f, Layout::Plain, DataType::F32, 0.f);
                const float sx = scale_of(3.7f);
                const engine::Tensor in = reorder_input(bs, DataType::I8, DataType::F32, 1.f, 82);
                engine::Tensor expected = in;
                for (float& v : expected.f32()) v = expected_reorder(v, DataType::I8, sx, DataType::F32, 1.f);
                expect_exact(run_reorder_across(r.g, r.n, in, batch, false), expected,
                             "i8 -> host f32 " + what);
            }
        }
    }
}

TEST_F(CudaInt8, MaxPoolTakesTheLargestStoredInteger) {
    using Case = PoolCase;
    const std::vector<Case> cases = {
        {"k3s1p1_c16", 3, 1, {1, 1, 1, 1}, false, 16, 7, 6, 1, true},  // 16 channels a thread
        {"k2s2_c8", 2, 2, {0, 0, 0, 0}, false, 8, 8, 10, 1, false},    // 4 a thread
        {"k5s1p2_c5", 5, 1, {2, 2, 2, 2}, false, 5, 6, 6, 1, true},    // 1 a thread
        {"k13s1p6_c32_spp", 13, 1, {6, 6, 6, 6}, false, 32, 13, 13, 1, true},
        {"darknet_k2s1_c3", 2, 1, {0, 0, 1, 1}, false, 3, 13, 13, 1, true},
        {"ceil_k3s2p1_c20", 3, 2, {1, 1, 1, 1}, true, 20, 8, 10, 1, true},
        {"asym_pads_c48", 3, 2, {1, 0, 0, 1}, false, 48, 9, 8, 1, false},
        {"dilation2_c4", 3, 1, {2, 2, 2, 2}, false, 4, 7, 7, 2, true},
    };
    for (const Case& c : cases) {
        for (int batch : {1, 3}) {
            const auto pg = pool_graph(c);
            const ValueId y = pg->y;
            const engine::Shape& out = pg->out;
            testing_util::GraphBuilder& b = pg->b;
            engine::Graph g = b.build();
            set_int8_storage(g, 4.f);
            const engine::Tensor in =
                random_s8({batch, c.c, c.h, c.w}, 91 + batch, -128, c.all_negative ? -2 : 127);
            NodeRun ours = run_cuda_node(g, b.producer(y), {in}, batch);
            // By hand: the max over the window's positions inside the input.
            engine::Tensor expected(DataType::F32, {batch, c.c, out[2], out[3]});
            const float* xi = in.data_as<float>();
            float* e = expected.data_as<float>();
            for (int64_t n = 0; n < batch; ++n)
                for (int64_t ch = 0; ch < c.c; ++ch)
                    for (int64_t oy = 0; oy < out[2]; ++oy)
                        for (int64_t ox = 0; ox < out[3]; ++ox) {
                            int m = INT32_MIN;
                            for (int ky = 0; ky < c.k; ++ky)
                                for (int kx = 0; kx < c.k; ++kx) {
                                    const int64_t iy = oy * c.s - c.pads[0] + ky * c.dilation;
                                    const int64_t ix = ox * c.s - c.pads[1] + kx * c.dilation;
                                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                                    m = std::max(
                                        m, static_cast<int>(xi[((n * c.c + ch) * c.h + iy) * c.w + ix]));
                                }
                            ASSERT_NE(m, INT32_MIN) << c.name << ": a window without input";
                            e[((n * c.c + ch) * out[2] + oy) * out[3] + ox] = static_cast<float>(m);
                        }
            expect_exact(ours.outputs[0], expected, c.name + " batch " + std::to_string(batch));
        }
    }
}

TEST_F(CudaInt8, ResizeCopiesStoredIntegers) {
    using engine::ResizeCoord;
    using engine::ResizeNearest;
    // Channel counts for every word width: 16 bytes (16, 48), 8 (8), 4 (4, 12), 2 (2, 6), 1 (1, 3, 5).
    for (int c : {1, 2, 3, 4, 5, 6, 8, 12, 16, 48}) {
        for (const auto& [fh, fw, coord, nearest] :
             {std::tuple{2.f, 2.f, ResizeCoord::Asymmetric, ResizeNearest::Floor},
              std::tuple{3.f, 1.5f, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor},
              std::tuple{0.5f, 0.5f, ResizeCoord::HalfPixel, ResizeNearest::Floor}}) {
            for (int batch : {1, 3}) {
                testing_util::GraphBuilder b;
                const ValueId x = b.input({3, c, 6, 8});
                const ValueId y = b.resize(x, {1.f, 1.f, fh, fw}, coord, nearest);
                b.output(y);
                engine::Graph g = b.build();
                set_int8_storage(g, 4.f);
                const NodeId n = b.producer(y);
                const std::vector<engine::Tensor> in = {random_s8({batch, c, 6, 8}, 101 + c)};
                NodeRun ours = run_cuda_node(g, n, in, batch);
                // The reference's nearest Resize copies the (integer-valued) floats: the same index maps.
                const std::vector<engine::Tensor> ref = run_reference_node(g, n, in);
                expect_exact(
                    ours.outputs[0], ref[0],
                    "c " + std::to_string(c) + " x" + std::to_string(fh) + " batch " + std::to_string(batch));
            }
        }
    }
}

TEST_F(CudaInt8, ConcatCopiesStoredIntegers) {
    // Odd channel counts (byte copies), aligned ones (16-byte words) and mixes.
    const std::vector<std::vector<int>> channel_sets = {
        {3, 5}, {3, 5, 7}, {1, 2}, {2, 6}, {4, 12}, {8, 8, 16}, {16, 32}, {256, 128}, {16, 3, 16}};
    for (const auto& chans : channel_sets) {
        for (int batch : {1, 3}) {
            testing_util::GraphBuilder b;
            std::vector<ValueId> xs;
            for (int c : chans) xs.push_back(b.input({3, c, 5, 7}));
            const ValueId y = b.concat(xs, 1);
            b.output(y);
            engine::Graph g = b.build();
            std::get<engine::ConcatParams>(g.node(b.producer(y)).params).in_place = false;
            set_int8_storage(g, 4.f);
            std::vector<engine::Tensor> in;
            int total = 0;
            for (size_t i = 0; i < chans.size(); ++i) {
                in.push_back(random_s8({batch, chans[i], 5, 7}, 111 + static_cast<uint32_t>(i)));
                total += chans[i];
            }
            NodeRun ours = run_cuda_node(g, b.producer(y), in, batch);
            // By hand: input i's channels at its offset.
            engine::Tensor expected(DataType::F32, {batch, total, 5, 7});
            float* e = expected.data_as<float>();
            int offset = 0;
            for (size_t i = 0; i < chans.size(); ++i) {
                const float* xi = in[i].data_as<float>();
                for (int64_t n = 0; n < batch; ++n)
                    for (int64_t ch = 0; ch < chans[i]; ++ch)
                        for (int64_t p = 0; p < 35; ++p)
                            e[(n * total + offset + ch) * 35 + p] = xi[(n * chans[i] + ch) * 35 + p];
                offset += chans[i];
            }
            std::string what = "concat";
            for (int c : chans) what.append(" ").append(std::to_string(c));
            expect_exact(ours.outputs[0], expected, what + " batch " + std::to_string(batch));
        }
    }
}

TEST_F(CudaInt8, FillsS8InStoredUnits) {
    // Timing data for INT8 layers: uniform over [-200, 200) in stored units, rounded and saturated, so
    // about 72/400 of the values are -128 and as many 127.
    const int64_t n = 100000;
    engine::cuda::DeviceBuffer buf(static_cast<size_t>(n));
    engine::cuda::launch_fill_uniform(buf.get(), engine::cuda::ElemType::S8, n, 7, -200.f, 200.f,
                                      cudaStreamPerThread);
    CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
    std::vector<int8_t> q(static_cast<size_t>(n));
    buf.download(q.data(), q.size());
    const auto low = std::count(q.begin(), q.end(), int8_t{-128});
    const auto high = std::count(q.begin(), q.end(), int8_t{127});
    EXPECT_GT(low, n / 8);
    EXPECT_LT(low, n / 4);
    EXPECT_GT(high, n / 8);
    EXPECT_LT(high, n / 4);
    EXPECT_GT(std::count(q.begin(), q.end(), int8_t{0}), n / 800);  // ~1/400 each in between
}

TEST_F(CudaInt8, BackendClaimsInt8ForTheMovingOps) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 8, 8, 8});
    const ValueId conv = b.conv(x, 8, 3);
    const ValueId pool = b.maxpool(conv, 2, 2);
    const ValueId up = b.upsample(pool, 2);
    const ValueId cat = b.concat({up, conv}, 1);
    const ValueId act = b.relu(cat);
    const ValueId sum = b.add(act, act);
    b.output(sum);
    engine::Graph g = b.build();
    auto backend = engine::make_cuda_backend();
    // Conv too (sm_80 and later: conv_int8.cpp; CudaInt8Claims covers which convs); activations and
    // Add/Mul stay float.
    for (ValueId v : {conv, pool, up, cat})
        EXPECT_TRUE(backend->supports_precision(g, b.producer(v), DataType::I8)) << g.value(v).name;
    for (ValueId v : {act, sum})
        EXPECT_FALSE(backend->supports_precision(g, b.producer(v), DataType::I8)) << g.value(v).name;
    ReorderGraph r =
        reorder_graph({1, 8, 4, 4}, Layout::Plain, DataType::F32, 0.f, Layout::NHWC, DataType::I8, 2.f);
    EXPECT_TRUE(backend->supports_precision(r.g, r.n, DataType::I8));
}

// ---- INT8 errors (no device needed) ----

TEST(CudaInt8Errors, UncalibratedI8ValueIsOneLineNamingNodeAndValue) {
    for (float amax : {0.f, -1.f, NAN}) {
        for (bool input_side : {true, false}) {
            ReorderGraph r = input_side ? reorder_graph({1, 3, 4, 4}, Layout::NHWC, DataType::I8, amax,
                                                        Layout::Plain, DataType::F32, 0.f)
                                        : reorder_graph({1, 3, 4, 4}, Layout::Plain, DataType::F32, 0.f,
                                                        Layout::NHWC, DataType::I8, amax);
            const std::string value = input_side ? "x_in" : "y_out";
            std::string why;
            EXPECT_FALSE(engine::cuda::reorder_supported(r.g, r.n, &why));
            EXPECT_NE(why.find("'" + value + "'"), std::string::npos) << why;
            try {
                (void)engine::cuda::make_reorder_kernel(r.g, r.n);
                ADD_FAILURE() << "an i8 value with amax " << amax << " was accepted";
            } catch (const engine::Error& e) {
                const std::string msg = e.what();
                EXPECT_NE(msg.find("node 'reorder_q'"), std::string::npos) << msg;
                EXPECT_NE(msg.find("value '" + value + "'"), std::string::npos) << msg;
                EXPECT_NE(msg.find("no calibrated range"), std::string::npos) << msg;
                EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
            }
        }
    }
    // A float value's amax does not matter (scale 1).
    ReorderGraph ok =
        reorder_graph({1, 3, 4, 4}, Layout::Plain, DataType::F32, 0.f, Layout::NHWC, DataType::F16, 0.f);
    EXPECT_TRUE(engine::cuda::reorder_supported(ok.g, ok.n, nullptr));
}

TEST(CudaInt8Errors, MovingOpsRefuseRangesThatDiffer) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 8, 6, 6}, true, "pool_in");
    const ValueId y = b.maxpool(x, 2, 2);
    const ValueId z = b.input({1, 8, 3, 3}, true, "other");
    const ValueId cat = b.concat({y, z}, 1);
    b.output(cat);
    engine::Graph g = b.build();
    std::get<engine::ConcatParams>(g.node(b.producer(cat)).params).in_place = false;
    set_int8_storage(g, 4.f);
    g.node(b.producer(y)).name = "pool";
    // One range: the kernels are made (no device work at creation).
    EXPECT_NO_THROW((void)engine::cuda::make_pool_kernel(g, b.producer(y)));
    EXPECT_NO_THROW((void)engine::cuda::make_concat_kernel(g, b.producer(cat)));
    g.value(z).amax = 5.f;
    EXPECT_THROW((void)engine::cuda::make_concat_kernel(g, b.producer(cat)), engine::Error);
    g.value(x).amax = 2.f;
    try {
        (void)engine::cuda::make_pool_kernel(g, b.producer(y));
        ADD_FAILURE() << "a MaxPool between ranges 2 and 4 was accepted";
    } catch (const engine::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("node 'pool'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'pool_in' (amax 2)"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

TEST(CudaInt8Errors, FloatOpsRefuseI8Storage) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 8, 6, 6});
    const ValueId y = b.relu(x);
    const ValueId z = b.add(y, y);
    b.output(z);
    engine::Graph g = b.build();
    set_int8_storage(g, 4.f);
    EXPECT_THROW((void)engine::cuda::make_act_kernel(g, b.producer(y)), engine::Error);
    EXPECT_THROW((void)engine::cuda::make_binary_kernel(g, b.producer(z)), engine::Error);
}

// ---- claims (no device needed) ----

TEST(CudaClaims, RefusesWhatItCannotRun) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 6});
    const ValueId bc = b.input({1, 4, 1, 1});
    const ValueId add = b.add(x, bc);  // broadcasting
    const ValueId sm = b.op(engine::OpType::Softmax, {add}, engine::SoftmaxParams{1, false},
                            {{DataType::F32, {1, 4, 6, 6}}}, true)[0];
    engine::ConvParams asym;
    asym.kernel = {3, 3};
    asym.pads = {0, 0, 2, 2};  // end padding that adds outputs: cuDNN cannot express it
    const ValueId w = b.random_constant({4, 4, 3, 3});
    const ValueId conv = b.conv_with(sm, w, b.random_constant({4}), asym);
    b.output(conv);
    const engine::Graph g = b.build();
    std::string why;
    EXPECT_FALSE(engine::cuda::binary_supported(g, b.producer(add), &why));
    EXPECT_NE(why.find("broadcast"), std::string::npos) << why;
    EXPECT_FALSE(engine::cuda::conv_supported(g, b.producer(conv), &why));
    EXPECT_NE(why.find("asymmetric"), std::string::npos) << why;
    EXPECT_FALSE(engine::cuda::act_supported(g, b.producer(sm), &why));

    // Asymmetric end padding that adds no output (stride 2, darknet-style) is claimed.
    testing_util::GraphBuilder b2;
    const ValueId x2 = b2.input({1, 8, 8, 8});
    engine::ConvParams s2;
    s2.kernel = {3, 3};
    s2.stride = {2, 2};
    s2.pads = {1, 1, 0, 0};
    const ValueId y2 = b2.conv_with(x2, b2.random_constant({8, 8, 3, 3}), b2.random_constant({8}), s2);
    b2.output(y2);
    const engine::Graph g2 = b2.build();
    ASSERT_EQ(g2.value(y2).desc.shape[2], 4);
    EXPECT_TRUE(engine::cuda::conv_supported(g2, b2.producer(y2), &why)) << why;
}

}  // namespace
