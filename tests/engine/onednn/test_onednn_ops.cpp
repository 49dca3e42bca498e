// oneDNN kernels other than Conv vs the reference backend: MaxPool, Resize, Concat, activations,
// Add/Mul, BatchNorm, Reorder; and what the backend claims and refuses.
#include <gtest/gtest.h>

#include "engine/backends/cpu/cpu_backend.h"
#include "tests/engine/onednn/onednn_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::DataType;
using engine::Layout;
using engine::NodeId;
using engine::ValueId;
using namespace onednn_test;

using StorageParam = std::tuple<Layout, DataType>;

std::string storage_name(const ::testing::TestParamInfo<StorageParam>& info) {
    return std::string(engine::layout_name(std::get<0>(info.param))) + "_" +
           std::string(engine::dtype_name(std::get<1>(info.param)));
}

const auto kStorages = ::testing::Combine(::testing::Values(Layout::NHWC, Layout::Blocked16, Layout::Plain),
                                          ::testing::Values(DataType::F32, DataType::BF16));

// Runs node n on both backends with random inputs at `batch`; expects a match within the
// tolerance of dt, and zero Blocked16 padding.
void expect_node_matches(engine::Graph g, NodeId n, Layout layout, DataType dt, int batch, uint32_t seed,
                         const std::string& what, float lo = -2.f, float hi = 2.f) {
    set_storage(g, layout, dt);
    std::vector<engine::Tensor> inputs;
    for (ValueId v : g.node(n).inputs) {
        if (g.is_constant(v)) continue;
        engine::Shape s = g.value(v).desc.shape;
        if (g.value(v).batched) s[0] = batch;
        engine::Tensor t = testing_util::random_tensor(s, seed++, lo, hi);
        inputs.push_back(dt == DataType::BF16 ? round_bf16(t) : t);
    }
    NodeRun ours = run_onednn_node(g, n, inputs, batch);
    std::vector<engine::Tensor> ref = run_reference_node(g, n, inputs);
    ASSERT_EQ(ours.outputs.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
        const auto d = testing_util::compare(ours.outputs[i], ref[i]);
        EXPECT_LE(d.max_rel, dt == DataType::F32 ? kF32Tolerance : kBf16Tolerance)
            << what << " " << engine::layout_name(layout) << " " << engine::dtype_name(dt) << ": "
            << d.describe();
        EXPECT_TRUE(padding_is_zero(ours.stored[i])) << what << ": Blocked16 padding channels not zero";
    }
}

// ---- MaxPool ----

class OneDnnMaxPool : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnMaxPool, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    struct Case {
        std::string name;
        int k, s;
        std::array<int32_t, 4> pads;
        bool ceil;
        int h, w, dilation = 1;
    };
    const std::vector<Case> cases = {
        {"k2s2", 2, 2, {0, 0, 0, 0}, false, 8, 10},
        {"k2s2_odd", 2, 2, {0, 0, 0, 0}, false, 9, 7},
        {"k3s1p1", 3, 1, {1, 1, 1, 1}, false, 7, 6},
        {"k5s1p2_spp", 5, 1, {2, 2, 2, 2}, false, 6, 6},
        {"ceil_k2s2", 2, 2, {0, 0, 0, 0}, true, 9, 7},
        {"ceil_k3s2p1", 3, 2, {1, 1, 1, 1}, true, 8, 10},
        // Darknet maxpool size 2 stride 1: one extra row/column at the end (yolov3-tiny's 13x13).
        {"darknet_k2s1", 2, 1, {0, 0, 1, 1}, false, 13, 13},
        {"asym_pads", 3, 2, {1, 0, 0, 1}, false, 9, 8},
        {"dilation2", 3, 1, {2, 2, 2, 2}, false, 7, 7, 2},
    };
    for (const Case& c : cases) {
        for (int batch : {1, 3}) {
            testing_util::GraphBuilder b;
            const ValueId x = b.input({3, 20, c.h, c.w});
            engine::MaxPoolParams p;
            p.kernel = {c.k, c.k};
            p.stride = {c.s, c.s};
            p.dilation = {c.dilation, c.dilation};
            p.pads = c.pads;
            p.ceil_mode = c.ceil;
            engine::Shape out = {3, 20, 0, 0};
            for (int d = 0; d < 2; ++d) {
                const int64_t in = d == 0 ? c.h : c.w;
                const int64_t ext = static_cast<int64_t>(c.dilation) * (c.k - 1) + 1;
                const int64_t span =
                    in + c.pads[static_cast<size_t>(d)] + c.pads[static_cast<size_t>(d) + 2] - ext;
                int64_t o = (c.ceil ? (span + c.s - 1) / c.s : span / c.s) + 1;
                if (c.ceil && (o - 1) * c.s >= in + c.pads[static_cast<size_t>(d)]) --o;
                out[2 + static_cast<size_t>(d)] = o;
            }
            const ValueId y = b.op(engine::OpType::MaxPool, {x}, p, {{DataType::F32, out}}, true)[0];
            b.output(y);
            expect_node_matches(b.build(), b.producer(y), layout, dt, batch, 11, c.name);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnMaxPool, kStorages, storage_name);

// ---- Resize ----

class OneDnnResize : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnResize, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    using engine::ResizeCoord;
    using engine::ResizeNearest;
    struct Case {
        std::string name;
        float f;
        ResizeCoord coord;
        ResizeNearest nearest;
    };
    const std::vector<Case> cases = {
        {"x2_asymmetric_floor", 2.f, ResizeCoord::Asymmetric, ResizeNearest::Floor},
        {"x2_asymmetric_round", 2.f, ResizeCoord::Asymmetric, ResizeNearest::RoundPreferFloor},
        {"x2_half_pixel", 2.f, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferFloor},
        {"x3_half_pixel_ceil", 3.f, ResizeCoord::HalfPixel, ResizeNearest::RoundPreferCeil},
        {"x4_asymmetric_floor", 4.f, ResizeCoord::Asymmetric, ResizeNearest::Floor},
    };
    for (const Case& c : cases) {
        testing_util::GraphBuilder b;
        const ValueId x = b.input({2, 18, 5, 4});
        const ValueId y = b.resize(x, {1.f, 1.f, c.f, c.f}, c.coord, c.nearest);
        b.output(y);
        expect_node_matches(b.build(), b.producer(y), layout, dt, 2, 3, c.name);
        expect_node_matches(b.build(), b.producer(y), layout, dt, 1, 3, c.name + " batch 1");
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnResize, kStorages, storage_name);

TEST(OneDnnResizeClaim, RefusesIndexRulesOtherThanFloor) {
    auto backend = engine::make_onednn_backend();
    using engine::ResizeCoord;
    using engine::ResizeNearest;
    struct Case {
        float f;
        ResizeCoord coord;
        ResizeNearest nearest;
        bool claimed;
    };
    const std::vector<Case> cases = {
        {2.f, ResizeCoord::Asymmetric, ResizeNearest::Floor, true},
        {3.f, ResizeCoord::Asymmetric, ResizeNearest::RoundPreferFloor, false},  // o=2: 0.67 rounds to 1
        {2.f, ResizeCoord::AlignCorners, ResizeNearest::Floor, false},           // o=2: 6/7 floors to 0
        {2.f, ResizeCoord::HalfPixel, ResizeNearest::Ceil, false},
        {1.5f, ResizeCoord::HalfPixel, ResizeNearest::Floor, false},
    };
    for (const Case& c : cases) {
        testing_util::GraphBuilder b;
        const ValueId x = b.input({1, 4, 4, 4});
        const ValueId y = b.resize(x, {1.f, 1.f, c.f, c.f}, c.coord, c.nearest);
        b.output(y);
        const engine::Graph g = b.build();
        std::string why;
        EXPECT_EQ(backend->supports(g, b.producer(y), &why), c.claimed)
            << "scale " << c.f << " coord " << static_cast<int>(c.coord) << ": " << why;
    }
}

// ---- Concat (copy) ----

class OneDnnConcat : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnConcat, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    for (const std::vector<int64_t>& channels :
         std::vector<std::vector<int64_t>>{{16, 32}, {8, 20, 3}, {24, 24}}) {
        testing_util::GraphBuilder b;
        std::vector<ValueId> xs;
        for (int64_t c : channels) xs.push_back(b.input({2, c, 5, 6}));
        const ValueId y = b.concat(xs);
        b.output(y);
        for (int batch : {1, 2})
            expect_node_matches(b.build(), b.producer(y), layout, dt, batch, 5, "concat");
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnConcat, kStorages, storage_name);

// ---- activations ----

class OneDnnEltwise : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnEltwise, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    struct Case {
        engine::OpType op;
        engine::UnaryParams p;
    };
    const std::vector<Case> cases = {
        {engine::OpType::Relu, {}},         {engine::OpType::LeakyRelu, {0.1f, 0.f}},
        {engine::OpType::Sigmoid, {}},      {engine::OpType::Tanh, {}},
        {engine::OpType::Softplus, {}},     {engine::OpType::Mish, {}},
        {engine::OpType::Silu, {}},         {engine::OpType::Clip, {-0.5f, 1.f}},
        {engine::OpType::Clip, {0.f, 6.f}},
    };
    for (const Case& c : cases) {
        testing_util::GraphBuilder b;
        const ValueId x = b.input({3, 20, 4, 5});
        const ValueId y = b.unary(c.op, x, c.p);
        b.output(y);
        for (int batch : {1, 3})
            expect_node_matches(b.build(), b.producer(y), layout, dt, batch, 9,
                                std::string(engine::op_type_name(c.op)), -6.f, 6.f);
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnEltwise, kStorages, storage_name);

// An activation writing into a slice of an in-place Concat output (source and destination memory
// differ: the binary fallback).
TEST(OneDnnEltwiseSlice, WritesIntoConcatSlice) {
    for (Layout layout : {Layout::Plain, Layout::Blocked16}) {
        testing_util::GraphBuilder b;
        const int batch = 2;
        const ValueId x = b.input({batch, 16, 3, 4});
        const ValueId z = b.input({batch, 16, 3, 4});
        const ValueId a = b.relu(z);
        const ValueId m = b.mish(x);
        const ValueId y = b.concat({a, m});
        b.output(y);
        engine::Graph g = b.build();
        std::get<engine::ConcatParams>(g.node(b.producer(y)).params).in_place = true;
        set_storage(g, layout, DataType::F32);
        const NodeId n = b.producer(m);
        const engine::Tensor xin = testing_util::random_tensor({batch, 16, 3, 4}, 21, -3.f, 3.f);
        auto backend = engine::make_onednn_backend();
        const engine::PackContext opts;
        std::vector<engine::Tensor> packed = backend->pack(g, n, opts);
        auto kernel = backend->create_kernel(g, n, packed);
        Stored in = to_stored(xin, layout, DataType::F32);
        Stored whole = make_stored({batch, 32, 3, 4}, layout, DataType::F32);
        Stored slice = whole;
        slice.shape = {batch, 16, 3, 4};
        slice.offset = 16 * 3 * 4;
        std::vector<engine::TensorRef> ins = {in.ref()}, outs = {slice.ref()};
        std::vector<std::byte> ws(kernel->workspace_bytes(batch) + 64);
        kernel->run({ins, outs, ws.data(), batch});
        const auto d = testing_util::compare(from_stored(slice), run_reference_node(g, n, {xin})[0]);
        EXPECT_LE(d.max_rel, kF32Tolerance) << engine::layout_name(layout) << ": " << d.describe();
    }
}

// ---- Add / Mul ----

class OneDnnBinary : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnBinary, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    for (engine::OpType op : {engine::OpType::Add, engine::OpType::Mul}) {
        testing_util::GraphBuilder b;
        const ValueId x0 = b.input({2, 20, 3, 7});
        const ValueId x1 = b.input({2, 20, 3, 7});
        const ValueId y = b.binary(op, x0, x1);
        b.output(y);
        for (int batch : {1, 2})
            expect_node_matches(b.build(), b.producer(y), layout, dt, batch, 13,
                                std::string(engine::op_type_name(op)));
    }
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnBinary, kStorages, storage_name);

TEST(OneDnnBinaryClaim, RefusesBroadcasting) {
    testing_util::GraphBuilder b;
    const ValueId x0 = b.input({1, 8, 3, 3});
    const ValueId x1 = b.input({1, 8, 1, 1});
    const ValueId y = b.add(x0, x1);
    b.output(y);
    const engine::Graph g = b.build();
    std::string why;
    EXPECT_FALSE(engine::make_onednn_backend()->supports(g, b.producer(y), &why));
    EXPECT_NE(why.find("broadcast"), std::string::npos) << why;
}

// ---- BatchNorm ----

class OneDnnBatchNorm : public ::testing::TestWithParam<StorageParam> {};

TEST_P(OneDnnBatchNorm, MatchesReference) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    testing_util::GraphBuilder b(3);
    const ValueId x = b.input({3, 20, 4, 4});
    const ValueId y = b.batch_norm(x, 1e-3f);
    b.output(y);
    for (int batch : {1, 3})
        expect_node_matches(b.build(), b.producer(y), layout, dt, batch, 17, "batch_norm");
}

INSTANTIATE_TEST_SUITE_P(Storage, OneDnnBatchNorm, kStorages, storage_name);

// ---- Reorder ----

TEST(OneDnnReorder, ConvertsEveryLayoutAndTypePair) {
    const std::vector<Layout> layouts = {Layout::Plain, Layout::NHWC, Layout::Blocked16};
    std::vector<DataType> types = {DataType::F32};
    if (cpu_has_bf16()) types.push_back(DataType::BF16);
    for (Layout from_l : layouts)
        for (Layout to_l : layouts)
            for (DataType from_t : types)
                for (DataType to_t : types) {
                    testing_util::GraphBuilder b;
                    const ValueId x = b.input({2, 20, 3, 5});
                    const ValueId y = b.op(engine::OpType::Reorder, {x}, std::monostate{},
                                           {{DataType::F32, {2, 20, 3, 5}}}, true)[0];
                    b.output(y);
                    engine::Graph g = b.build();
                    g.value(x).layout = from_l;
                    g.value(x).storage_dtype = from_t;
                    g.value(y).layout = to_l;
                    g.value(y).storage_dtype = to_t;
                    const NodeId n = b.producer(y);
                    engine::Tensor in = testing_util::random_tensor({2, 20, 3, 5}, 1);
                    if (from_t == DataType::BF16) in = round_bf16(in);
                    const NodeRun r = run_onednn_node(g, n, {in}, 2);
                    // Exact up to the target type's rounding.
                    const engine::Tensor want = to_t == DataType::BF16 ? round_bf16(in) : in;
                    const auto d = testing_util::compare(r.outputs[0], want);
                    EXPECT_EQ(d.max_abs, 0.0)
                        << engine::layout_name(from_l) << "/" << engine::dtype_name(from_t) << " -> "
                        << engine::layout_name(to_l) << "/" << engine::dtype_name(to_t) << ": "
                        << d.describe();
                    EXPECT_TRUE(padding_is_zero(r.stored[0]));
                }
}

// ---- claims ----

TEST(OneDnnBackend, ClaimsOnlyWhatItRuns) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 8, 4, 4});
    const ValueId c = b.conv(x, 8, 3);
    const ValueId s = b.sub(c, x);               // Sub: reference
    const ValueId r = b.reshape(s, {1, 8, 16});  // 3-D: reference
    const ValueId sm = b.op(engine::OpType::Softmax, {r}, engine::SoftmaxParams{-1, false},
                            {{DataType::F32, {1, 8, 16}}}, true)[0];
    b.output(sm);
    const engine::Graph g = b.build();
    auto backend = engine::make_onednn_backend();
    EXPECT_TRUE(backend->supports(g, b.producer(c), nullptr));
    std::string why;
    EXPECT_FALSE(backend->supports(g, b.producer(s), &why));
    EXPECT_FALSE(why.empty());
    EXPECT_FALSE(backend->supports(g, b.producer(r), nullptr));
    EXPECT_FALSE(backend->supports(g, b.producer(sm), nullptr));
}

// An activation oneDNN 2.6 has no algorithm for (HardSigmoid), standalone or fused into a Conv, is
// left to the reference backend.
TEST(OneDnnBackend, LeavesActivationsWithoutAnAlgorithmToTheReference) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 8, 4, 4});
    const ValueId c = b.conv(x, 8, 3);
    const ValueId h = b.unary(engine::OpType::HardSigmoid, c, {0.2f, 0.5f});
    b.output(h);
    engine::Graph g = b.build();
    auto backend = engine::make_onednn_backend();
    EXPECT_TRUE(backend->supports(g, b.producer(c), nullptr));
    EXPECT_FALSE(backend->supports(g, b.producer(h), nullptr));
    std::get<engine::ConvParams>(g.node(b.producer(c)).params).act = {engine::ActKind::HardSigmoid, 0.2f,
                                                                      0.5f};
    EXPECT_FALSE(backend->supports(g, b.producer(c), nullptr));
}

TEST(OneDnnBackend, SignatureNamesTheIsaAndBf16FollowsIt) {
    auto backend = engine::make_onednn_backend();
    const std::string sig = backend->device_signature();
    EXPECT_EQ(sig, "cpu x86_64 onednn " + engine::onednn_cpu_isa());
    testing_util::GraphBuilder b;
    const ValueId y = b.conv(b.input({1, 8, 4, 4}), 8, 3);
    b.output(y);
    const engine::Graph g = b.build();
    EXPECT_TRUE(backend->supports_precision(g, b.producer(y), DataType::F32));
    EXPECT_EQ(backend->supports_precision(g, b.producer(y), DataType::BF16), engine::onednn_cpu_has_bf16());
    EXPECT_FALSE(backend->supports_precision(g, b.producer(y), DataType::F16));
}

}  // namespace
