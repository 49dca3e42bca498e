// FakeQuant on the onednn backend (fake_quant_onednn.cpp) against values worked out by hand (half steps
// rounding to even, saturation, NaN, the zero point) and against the reference backend on random
// inputs, in the three layouts a plan stores 4-D values in (Plain, NHWC, Blocked16 with padded
// channels), with parameters per tensor and per channel; and what it leaves to the reference
// (per-axis parameters on another axis, different zero points).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "engine/core/error.h"
#include "tests/engine/onednn/onednn_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::concat;
using engine::DataType;
using engine::Layout;
using engine::Tensor;
using engine::ValueId;
using namespace onednn_test;

Tensor scalar(float v) {
    Tensor t(DataType::F32, {1});
    t.data_as<float>()[0] = v;
    return t;
}

// Values in [-4, 4) (about 80 to 230 quantization steps of the cases' scales either side of 0).
Tensor uniform(const engine::Shape& shape, uint32_t seed) {
    Tensor t(DataType::F32, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-4.f, 4.f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = d(rng);
    return t;
}

struct FqGraph {
    engine::Graph g;
    engine::NodeId node = 0;
};

// x [2, c, 3, 2] -> FakeQuant(q_scale, q_zero, dq_scale, dq_zero) -> y (per-axis operands on `axis`).
FqGraph fake_quant_graph(int c, DataType qtype, Tensor qs, Tensor qz, Tensor ds, Tensor dz, int axis = 1) {
    testing_util::GraphBuilder b;
    const engine::Shape shape{2, c, 3, 2};
    const ValueId x = b.input(shape);
    engine::QuantParams p;
    p.qtype = qtype;
    p.axis = axis;
    const ValueId y = b.op(engine::OpType::FakeQuant,
                           {x, b.constant(std::move(qs)), b.constant(std::move(qz)),
                            b.constant(std::move(ds)), b.constant(std::move(dz))},
                           p, {{DataType::F32, shape}}, true)[0];
    b.output(y);
    FqGraph fg;
    fg.node = b.producer(y);
    fg.g = b.build();
    return fg;
}

// Runs the node on oneDNN and on the reference backend; expects every element equal (bit for bit) and
// returns oneDNN's output.
std::vector<float> expect_equal_to_reference(const FqGraph& fg, const std::vector<Tensor>& in, int batch,
                                             const std::string& what) {
    const NodeRun ours = run_onednn_node(fg.g, fg.node, in, batch);
    const std::vector<Tensor> ref = run_reference_node(fg.g, fg.node, in);
    const float* a = ours.outputs[0].data_as<float>();
    const float* b = ref[0].data_as<float>();
    int64_t off = 0;
    for (int64_t i = 0; i < ref[0].numel(); ++i) off += a[i] != b[i];
    EXPECT_EQ(off, 0) << what << " batch " << batch;
    return {a, a + ref[0].numel()};
}

TEST(OneDnnFakeQuant, HalfStepsSaturationAndNanByHand) {
    // scale 1/8 (exact), zero point 0 (i8) and 128 (u8): x / scale -> q, written out by hand.
    struct Row {
        float x;
        float i8, u8;  // the dequantized results
    };
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<Row> rows = {
        {0.0625f, 0.f, 0.f},           // 0.5 -> 0 (even)
        {0.1875f, 0.25f, 0.25f},       // 1.5 -> 2
        {0.3125f, 0.25f, 0.25f},       // 2.5 -> 2
        {-0.1875f, -0.25f, -0.25f},    // -1.5 -> -2
        {-0.3125f, -0.25f, -0.25f},    // -2.5 -> -2
        {15.9375f, 15.875f, 15.875f},  // 127.5 -> 128: i8 saturates at 127; u8: 128 + 128 -> 255 -> 127
        {-16.0625f, -16.f, -16.f},     // -128.5 -> -128 (i8 -128; u8 0 - 128 -> 0 -> -128)
        {1000.f, 15.875f, 15.875f},    // saturated
        {-1000.f, -16.f, -16.f},
        {inf, 15.875f, 15.875f},
        {-inf, -16.f, -16.f},
        {std::numeric_limits<float>::quiet_NaN(), 0.f, 0.f},  // the zero point: dequantizes to 0
    };
    for (const auto& [qtype, zero] : {std::pair{DataType::I8, 0.f}, {DataType::U8, 128.f}}) {
        for (Layout layout : {Layout::Plain, Layout::NHWC, Layout::Blocked16}) {
            FqGraph fg =
                fake_quant_graph(2, qtype, scalar(0.125f), scalar(zero), scalar(0.125f), scalar(zero));
            set_storage(fg.g, layout, DataType::F32);
            Tensor x(DataType::F32, {2, 2, 3, 2});
            for (int64_t i = 0; i < x.numel(); ++i)
                x.data_as<float>()[i] = rows[static_cast<size_t>(i) % rows.size()].x;
            const NodeRun r = run_onednn_node(fg.g, fg.node, {x}, 2);
            for (int64_t i = 0; i < x.numel(); ++i) {
                const Row& row = rows[static_cast<size_t>(i) % rows.size()];
                EXPECT_EQ(r.outputs[0].data_as<float>()[i], qtype == DataType::I8 ? row.i8 : row.u8)
                    << "x " << row.x << " " << engine::dtype_name(qtype) << " "
                    << engine::layout_name(layout);
            }
        }
    }
}

TEST(OneDnnFakeQuant, MatchesTheReferenceInEveryLayoutAndBatch) {
    for (const auto& [qtype, zero, scale] : {std::tuple{DataType::I8, 0.f, 0.05f},
                                             {DataType::I8, -3.f, 0.0173f},
                                             {DataType::U8, 128.f, 0.02f}}) {
        for (Layout layout : {Layout::Plain, Layout::NHWC, Layout::Blocked16}) {
            FqGraph fg =
                fake_quant_graph(20, qtype, scalar(scale), scalar(zero), scalar(scale), scalar(zero));
            set_storage(fg.g, layout, DataType::F32);
            for (int batch : {1, 2}) {
                const std::vector<Tensor> in = {uniform({batch, 20, 3, 2}, 7 + static_cast<uint32_t>(batch))};
                const std::vector<float> a = expect_equal_to_reference(
                    fg, in, batch,
                    concat(engine::dtype_name(qtype), " zero ", zero, " ", engine::layout_name(layout)));
                // And it quantizes: a value differs from its input.
                int64_t moved = 0;
                for (size_t i = 0; i < a.size(); ++i) moved += a[i] != in[0].data_as<float>()[i];
                EXPECT_GT(moved, 0);
            }
        }
    }
}

// One value per channel: c -> first + step * c.
Tensor per_channel(int c, float first, float step) {
    Tensor t(DataType::F32, {c});
    for (int i = 0; i < c; ++i) t.data_as<float>()[i] = first + step * static_cast<float>(i);
    return t;
}

// Per-channel parameters (20 channels: Blocked16 pads them to 32), alone and beside per-tensor ones,
// against the reference bit for bit; and by hand on two channels.
TEST(OneDnnFakeQuant, PerChannelMatchesTheReferenceInEveryLayout) {
    struct Case {
        const char* name;
        DataType qtype;
        Tensor qs, qz, ds, dz;
    };
    const std::vector<Case> cases = {
        {"all per channel, i8", DataType::I8, per_channel(20, 0.01f, 0.003f), per_channel(20, -5, 1),
         per_channel(20, 0.02f, 0.001f), per_channel(20, -5, 1)},
        {"q per tensor, dq per channel, u8", DataType::U8, scalar(0.03f), scalar(128),
         per_channel(20, 0.01f, 0.002f), per_channel(20, 128, 0)},
        {"zero points differing by channel, u8", DataType::U8, per_channel(20, 0.02f, 0.f),
         per_channel(20, 120, 1), per_channel(20, 0.02f, 0.f), per_channel(20, 120, 1)},
    };
    for (const Case& c : cases) {
        for (Layout layout : {Layout::Plain, Layout::NHWC, Layout::Blocked16}) {
            FqGraph fg = fake_quant_graph(20, c.qtype, c.qs, c.qz, c.ds, c.dz);
            std::string why;
            ASSERT_TRUE(engine::make_onednn_backend()->supports(fg.g, fg.node, &why))
                << c.name << ": " << why;
            set_storage(fg.g, layout, DataType::F32);
            for (int batch : {1, 2}) {
                const std::vector<Tensor> in = {
                    uniform({batch, 20, 3, 2}, 11 + static_cast<uint32_t>(batch))};
                (void)expect_equal_to_reference(fg, in, batch,
                                                concat(c.name, " ", engine::layout_name(layout)));
            }
        }
    }
    // By hand: channel 0 scale 0.5, channel 1 scale 0.25 (zero point 0, i8): x = 0.3 -> 0.5 and 0.25.
    for (Layout layout : {Layout::Plain, Layout::NHWC, Layout::Blocked16}) {
        FqGraph fg = fake_quant_graph(2, DataType::I8, per_channel(2, 0.5f, -0.25f), per_channel(2, 0, 0),
                                      per_channel(2, 0.5f, -0.25f), per_channel(2, 0, 0));
        set_storage(fg.g, layout, DataType::F32);
        Tensor x(DataType::F32, {1, 2, 3, 2});
        for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = 0.3f;
        const NodeRun r = run_onednn_node(fg.g, fg.node, {x}, 1);
        for (int64_t i = 0; i < x.numel(); ++i)
            EXPECT_EQ(r.outputs[0].data_as<float>()[i], i < 6 ? 0.5f : 0.25f)
                << engine::layout_name(layout) << " " << i;
    }
}

TEST(OneDnnFakeQuant, LeavesOtherAxesAndUnequalZeroPointsToTheReference) {
    auto backend = engine::make_onednn_backend();
    std::string why;
    // Per-axis on the height (3 rows) instead of the channels.
    const FqGraph rows = fake_quant_graph(20, DataType::I8, per_channel(3, 0.01f, 0.01f), scalar(0),
                                          scalar(0.1f), scalar(0), 2);
    EXPECT_FALSE(backend->supports(rows.g, rows.node, &why));
    EXPECT_NE(why.find("per-axis quantization parameters on another axis"), std::string::npos) << why;
    const FqGraph zeros =
        fake_quant_graph(20, DataType::U8, scalar(0.1f), scalar(128), scalar(0.1f), scalar(127));
    EXPECT_FALSE(backend->supports(zeros.g, zeros.node, &why));
    EXPECT_NE(why.find("different zero points"), std::string::npos) << why;
    // Per channel, one channel's zero points differ.
    Tensor dz = per_channel(20, 0, 0);
    dz.data_as<float>()[7] = 1;
    const FqGraph one = fake_quant_graph(20, DataType::I8, per_channel(20, 0.1f, 0), per_channel(20, 0, 0),
                                         per_channel(20, 0.1f, 0), dz);
    EXPECT_FALSE(backend->supports(one.g, one.node, &why));
    EXPECT_NE(why.find("different zero points"), std::string::npos) << why;
    Tensor qs = per_channel(20, 0.1f, 0);
    qs.data_as<float>()[19] = 0;
    const FqGraph bad =
        fake_quant_graph(20, DataType::I8, qs, per_channel(20, 0, 0), scalar(0.1f), scalar(0));
    EXPECT_FALSE(backend->supports(bad.g, bad.node, &why));
    EXPECT_NE(why.find("scale"), std::string::npos) << why;
    // A scale and its zero point of different sizes (the reference refuses it too).
    const FqGraph sizes =
        fake_quant_graph(20, DataType::I8, per_channel(20, 0.1f, 0), scalar(0), scalar(0.1f), scalar(0));
    EXPECT_FALSE(backend->supports(sizes.g, sizes.node, &why));
    EXPECT_NE(why.find("different sizes"), std::string::npos) << why;
    const FqGraph ok = fake_quant_graph(20, DataType::I8, scalar(0.1f), scalar(0), scalar(0.1f), scalar(0));
    EXPECT_TRUE(backend->supports(ok.g, ok.node, &why)) << why;
    EXPECT_FALSE(backend->supports_precision(ok.g, ok.node, DataType::BF16)) << "FakeQuant computes in F32";
}

}  // namespace
