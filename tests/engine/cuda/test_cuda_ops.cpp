// CUDA kernels other than Conv vs the reference backend: MaxPool, Resize, Concat, activations,
// Add/Mul and Reorder, in F32 and F16 storage, batch 1 and 3; and what the backend claims.
#include <gtest/gtest.h>

#include "engine/backends/cuda/cuda_kernels.h"
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

TEST_P(CudaOps, MaxPoolMatchesReference) {
    const DataType dt = GetParam();
    struct Case {
        std::string name;
        int k, s;
        std::array<int32_t, 4> pads;
        bool ceil;
        int c, h, w, dilation = 1;
    };
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
            testing_util::GraphBuilder b;
            const ValueId x = b.input({3, c.c, c.h, c.w});
            engine::MaxPoolParams p;
            p.kernel = {c.k, c.k};
            p.stride = {c.s, c.s};
            p.dilation = {c.dilation, c.dilation};
            p.pads = c.pads;
            p.ceil_mode = c.ceil;
            engine::Shape out = {3, c.c, 0, 0};
            for (size_t d = 0; d < 2; ++d) {
                const int64_t in = d == 0 ? c.h : c.w;
                const int64_t ext = static_cast<int64_t>(c.dilation) * (c.k - 1) + 1;
                const int64_t span = in + c.pads[d] + c.pads[d + 2] - ext;
                int64_t o = (c.ceil ? (span + c.s - 1) / c.s : span / c.s) + 1;
                if (c.ceil && (o - 1) * c.s >= in + c.pads[d]) --o;
                out[2 + d] = o;
            }
            const ValueId y = b.op(engine::OpType::MaxPool, {x}, p, {{DataType::F32, out}}, true)[0];
            b.output(y);
            expect_node_matches(b.build(), b.producer(y), dt, batch, 11, c.name);
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
    // Channel counts that take the few-rows/few-columns paths (1, 3, 8) and the tiled path (40, 33).
    for (const engine::Shape& s :
         {engine::Shape{2, 3, 17, 19}, engine::Shape{2, 40, 9, 35}, engine::Shape{2, 1, 4, 5},
          engine::Shape{2, 8, 6, 6}, engine::Shape{2, 33, 33, 2}}) {
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
