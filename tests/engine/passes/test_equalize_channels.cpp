// equalize_channels (cross-layer equalization for INT8): the outputs stay the same, and each
// equalized pair's per-channel weight ranges become sqrt(r1 r2), by hand.
#include <cmath>

#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using testing_util::GraphBuilder;

// Conv (act) fed straight into another conv: the weights of both, as the pass left them.
struct Pair {
    Tensor w1, b1, w2;
};
Pair weights_of(const Graph& g, NodeId c1, NodeId c2) {
    return {g.constant(g.node(c1).inputs[1]), g.constant(g.node(c1).inputs[2]),
            g.constant(g.node(c2).inputs[1])};
}

float out_range(const Tensor& w, int64_t c) {
    const int64_t per = w.numel() / w.shape()[0];
    float r = 0;
    for (int64_t k = 0; k < per; ++k) r = std::max(r, std::fabs(w.data_as<float>()[c * per + k]));
    return r;
}
float in_range(const Tensor& w, int64_t c, bool depthwise) {
    if (depthwise) return out_range(w, c);
    const int64_t o = w.shape()[0], ch = w.shape()[1], per = w.shape()[2] * w.shape()[3];
    float r = 0;
    for (int64_t i = 0; i < o; ++i)
        for (int64_t k = 0; k < per; ++k)
            r = std::max(r, std::fabs(w.data_as<float>()[(i * ch + c) * per + k]));
    return r;
}

void check_pair(bool depthwise) {
    GraphBuilder b(21);
    const ValueId x = b.input({2, 3, 8, 8});
    const ValueId y = b.leaky_relu(b.conv(x, 6, 3), 0.1f);
    const ValueId z = depthwise ? b.conv(y, 6, 3, 1, 6) : b.conv(y, 4, 1);
    b.output(z);
    Graph g = b.build();
    const std::vector<Tensor> inputs = b.random_inputs(2);
    run_passes(g);  // the conv and its leaky fused, as in a build
    ASSERT_EQ(count_ops(g, OpType::Conv), 2u);
    const std::vector<NodeId> convs = g.nodes_of(OpType::Conv);
    // Make channel ranges far apart: scale conv 1's channel c by 4^c (its bias too) and the next
    // layer's input channel c by 4^-c; the graph computes the same function.
    Tensor w1 = g.constant(g.node(convs[0]).inputs[1]), b1 = g.constant(g.node(convs[0]).inputs[2]);
    Tensor w2 = g.constant(g.node(convs[1]).inputs[1]);
    Tensor nw1(DataType::F32, w1.shape()), nb1(DataType::F32, b1.shape()), nw2(DataType::F32, w2.shape());
    const int64_t per1 = w1.numel() / 6, per2 = w2.shape()[2] * w2.shape()[3], cin2 = w2.shape()[1];
    for (int64_t c = 0; c < 6; ++c) {
        const float s = std::pow(4.0f, static_cast<float>(c));
        for (int64_t k = 0; k < per1; ++k)
            nw1.data_as<float>()[c * per1 + k] = w1.data_as<float>()[c * per1 + k] * s;
        nb1.data_as<float>()[c] = b1.data_as<float>()[c] * s;
    }
    for (int64_t o = 0; o < w2.shape()[0]; ++o)
        for (int64_t j = 0; j < cin2; ++j) {
            const float s = std::pow(4.0f, -static_cast<float>(depthwise ? o : j));
            for (int64_t k = 0; k < per2; ++k)
                nw2.data_as<float>()[(o * cin2 + j) * per2 + k] =
                    w2.data_as<float>()[(o * cin2 + j) * per2 + k] * s;
        }
    g.set_input(convs[0], 1, g.add_constant("w1", nw1));
    g.set_input(convs[0], 2, g.add_constant("b1", nb1));
    g.set_input(convs[1], 1, g.add_constant("w2", nw2));
    const Pair before = weights_of(g, convs[0], convs[1]);

    EXPECT_EQ(pass_test::apply_and_compare(g, equalize_channels, inputs, 1e-4), 1);
    const std::vector<NodeId> after_convs = g.nodes_of(OpType::Conv);
    const Pair after = weights_of(g, after_convs[0], after_convs[1]);
    for (int64_t c = 0; c < 6; ++c) {
        const float r1 = out_range(before.w1, c), r2 = in_range(before.w2, c, depthwise);
        const float want = std::sqrt(r1 * r2);
        // After the first sweep the pair is balanced; later sweeps leave it (within rounding).
        EXPECT_NEAR(out_range(after.w1, c), want, 1e-4f * want) << c;
        EXPECT_NEAR(in_range(after.w2, c, depthwise), want, 1e-4f * want) << c;
    }
    // The 4^c spread is gone: conv 1's channel ranges are now within the original weights' spread.
    float lo = 1e30f, hi = 0;
    for (int64_t c = 0; c < 6; ++c) {
        lo = std::min(lo, out_range(after.w1, c));
        hi = std::max(hi, out_range(after.w1, c));
    }
    EXPECT_LT(hi / lo, 30.0f);
}

TEST(EqualizeChannels, DenseAndDepthwisePairsKeepTheOutputsAndBalanceTheRanges) {
    check_pair(false);
    check_pair(true);
}

TEST(EqualizeChannels, LeavesPairsItCannotScaleThrough) {
    // A sigmoid between the convs (not positively homogeneous), a conv output read twice, and a
    // graph output in the middle: nothing to equalize.
    GraphBuilder b(22);
    const ValueId x = b.input({1, 3, 6, 6});
    const ValueId s = b.sigmoid(b.conv(x, 4, 3));
    const ValueId t = b.conv(s, 4, 1);
    const ValueId u = b.conv(t, 4, 1);
    const ValueId v = b.add(b.conv(t, 4, 1), u);
    const ValueId mid = b.leaky_relu(b.conv(v, 4, 1), 0.1f);
    b.output(b.conv(mid, 2, 1));
    b.output(mid);
    Graph g = b.build();
    run_passes(g);
    const std::vector<Tensor> inputs = b.random_inputs(1);
    EXPECT_EQ(pass_test::apply_and_compare(g, equalize_channels, inputs, 1e-4), 0);
}

}  // namespace
