// oneDNN Conv kernel vs the reference backend: every fused activation, residual (both tactics) and
// post_act, groups/depthwise, stride 2, dilation, asymmetric pads, batch 1..3, in each activation
// layout and storage type.
#include <gtest/gtest.h>

#include <sstream>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/core/error.h"
#include "tests/engine/onednn/onednn_test_util.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::Act;
using engine::ActKind;
using engine::ConvParams;
using engine::DataType;
using engine::Layout;
using namespace onednn_test;

struct ConvCase {
    std::string name;
    int c = 8, o = 16, h = 9, w = 7;
    int k = 3, stride = 1, dilation = 1, group = 1;
    std::array<int32_t, 4> pads{1, 1, 1, 1};
    Act act;
    bool residual = false;
    Act post_act;
    int max_batch = 1, batch = 1;
    bool bias = true;
};

void PrintTo(const ConvCase& cc, std::ostream* os) { *os << cc.name; }

std::vector<ConvCase> conv_cases() {
    std::vector<ConvCase> v;
    auto add = [&](std::string name, auto&& edit) {
        ConvCase c;
        c.name = std::move(name);
        edit(c);
        v.push_back(c);
    };
    add("plain3x3", [](ConvCase&) {});
    add("no_bias", [](ConvCase& c) { c.bias = false; });
    add("relu", [](ConvCase& c) { c.act = {ActKind::Relu}; });
    add("leaky", [](ConvCase& c) { c.act = {ActKind::LeakyRelu, 0.1f}; });
    add("sigmoid", [](ConvCase& c) { c.act = {ActKind::Sigmoid}; });
    add("tanh", [](ConvCase& c) { c.act = {ActKind::Tanh}; });
    add("softplus", [](ConvCase& c) { c.act = {ActKind::Softplus}; });
    add("mish", [](ConvCase& c) { c.act = {ActKind::Mish}; });
    add("silu", [](ConvCase& c) { c.act = {ActKind::Silu}; });
    add("clip", [](ConvCase& c) { c.act = {ActKind::Clip, -0.25f, 0.5f}; });
    add("residual", [](ConvCase& c) { c.residual = true; });
    add("residual_leaky", [](ConvCase& c) {
        c.residual = true;
        c.act = {ActKind::LeakyRelu, 0.1f};
    });
    add("residual_post_mish", [](ConvCase& c) {
        c.residual = true;
        c.act = {ActKind::Silu};
        c.post_act = {ActKind::Mish};
    });
    add("residual_post_only", [](ConvCase& c) {
        c.residual = true;
        c.post_act = {ActKind::Relu};
    });
    add("pointwise", [](ConvCase& c) {
        c.k = 1;
        c.pads = {0, 0, 0, 0};
    });
    add("stride2", [](ConvCase& c) {
        c.stride = 2;
        c.h = 10;
        c.w = 11;
    });
    add("asym_pads", [](ConvCase& c) { c.pads = {0, 1, 2, 0}; });
    add("dilation2", [](ConvCase& c) {
        c.dilation = 2;
        c.pads = {2, 2, 2, 2};
    });
    add("group2", [](ConvCase& c) { c.group = 2; });
    add("depthwise", [](ConvCase& c) {
        c.c = 16;
        c.o = 16;
        c.group = 16;
        c.act = {ActKind::LeakyRelu, 0.1f};
    });
    add("depthwise_s2", [](ConvCase& c) {
        c.c = 24;
        c.o = 24;
        c.group = 24;
        c.stride = 2;
    });
    add("odd_channels", [](ConvCase& c) {
        c.c = 20;
        c.o = 40;
        c.residual = true;
        c.act = {ActKind::Sigmoid};
    });
    add("image_input", [](ConvCase& c) {
        c.c = 3;
        c.o = 32;
        c.h = 16;
        c.w = 16;
    });
    add("batch3", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 3;
        c.residual = true;
    });
    add("batch2_of_3", [](ConvCase& c) {
        c.max_batch = 3;
        c.batch = 2;
        c.act = {ActKind::Mish};
    });
    add("batch1_of_2", [](ConvCase& c) {
        c.max_batch = 2;
        c.batch = 1;
    });
    return v;
}

struct ConvGraph {
    engine::Graph g;
    engine::NodeId conv = 0;
};

ConvGraph make_conv_graph(const ConvCase& c) {
    testing_util::GraphBuilder b(17);
    const engine::ValueId x = b.input({c.max_batch, c.c, c.h, c.w});
    ConvParams p;
    p.kernel = {c.k, c.k};
    p.stride = {c.stride, c.stride};
    p.dilation = {c.dilation, c.dilation};
    p.pads = c.pads;
    p.group = c.group;
    p.act = c.act;
    p.post_act = c.post_act;
    const engine::ValueId w = b.random_constant({c.o, c.c / c.group, c.k, c.k}, -0.5f, 0.5f);
    const engine::ValueId bias = c.bias || c.residual ? b.random_constant({c.o}) : engine::kNoValue;
    const engine::ValueId y = b.conv_with(x, w, bias, p);
    ConvGraph cg;
    cg.conv = b.producer(y);
    if (c.residual) {
        const engine::ValueId r = b.input(b.shape(y));
        b.graph().add_input(cg.conv, r);
        std::get<ConvParams>(b.graph().node(cg.conv).params).residual = true;
    }
    b.output(y);
    cg.g = b.build();
    return cg;
}

using ConvParam = std::tuple<ConvCase, Layout, DataType>;

class OneDnnConv : public ::testing::TestWithParam<ConvParam> {};

void check_conv(const ConvCase& c, Layout layout, DataType dt, int tactic) {
    ConvGraph cg = make_conv_graph(c);
    set_storage(cg.g, layout, dt);
    // The first conv of a network reads its few channels in a plain layout (backend input_layout).
    std::vector<engine::Tensor> inputs;
    uint32_t seed = 100;
    for (engine::ValueId v : cg.g.node(cg.conv).inputs) {
        if (cg.g.is_constant(v)) continue;
        engine::Shape s = cg.g.value(v).desc.shape;
        s[0] = c.batch;
        engine::Tensor t = testing_util::random_tensor(s, seed++);
        // The kernel sees its inputs in the storage type; the reference gets the same values.
        inputs.push_back(dt == DataType::BF16 ? round_bf16(t) : t);
    }
    auto patch = [&](std::vector<engine::Tensor>& packed) {
        if (tactic != 0) packed = engine::onednn::conv_pack_mode(cg.g, cg.conv, tactic);
    };
    NodeRun ours = run_onednn_node(cg.g, cg.conv, inputs, c.batch, patch);
    std::vector<engine::Tensor> ref = run_reference_node(cg.g, cg.conv, inputs);
    const auto d = testing_util::compare(ours.outputs[0], ref[0]);
    EXPECT_LE(d.max_rel, dt == DataType::F32 ? kF32Tolerance : kBf16Tolerance)
        << c.name << " " << engine::layout_name(layout) << " " << engine::dtype_name(dt) << " tactic "
        << tactic << ": " << d.describe();
    EXPECT_TRUE(padding_is_zero(ours.stored[0])) << c.name << ": Blocked16 padding channels not zero";
}

TEST_P(OneDnnConv, MatchesReference) {
    const auto& [c, layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    check_conv(c, layout, dt, 0);
    // Both residual tactics (1: binary post-op, not with oneDNN's AMX BF16 conv, which gets it
    // wrong; 2: sum post-op after copying r into y).
    if (c.residual) {
        if (dt == DataType::F32 || layout != Layout::NHWC) check_conv(c, layout, dt, 1);
        check_conv(c, layout, dt, 2);
    }
}

std::string conv_name(const ::testing::TestParamInfo<ConvParam>& info) {
    const auto& [c, layout, dt] = info.param;
    return c.name + "_" + std::string(engine::layout_name(layout)) + "_" +
           std::string(engine::dtype_name(dt));
}

INSTANTIATE_TEST_SUITE_P(Cases, OneDnnConv,
                         ::testing::Combine(::testing::ValuesIn(conv_cases()),
                                            ::testing::Values(Layout::NHWC, Layout::Blocked16, Layout::Plain),
                                            ::testing::Values(DataType::F32, DataType::BF16)),
                         conv_name);

// A conv writing into its channel slice of an in-place Concat output: the output is a view with the
// Concat output's batch stride; the channels around it must stay untouched.
class OneDnnConvSlice : public ::testing::TestWithParam<std::tuple<Layout, DataType>> {};

TEST_P(OneDnnConvSlice, WritesOnlyItsSlice) {
    const auto& [layout, dt] = GetParam();
    SKIP_WITHOUT_BF16(dt);
    testing_util::GraphBuilder b(5);
    const int batch = 2;
    const engine::ValueId x = b.input({batch, 8, 6, 5});
    const engine::ValueId a = b.conv(x, 16, 3);
    const engine::ValueId c2 = b.conv(x, 20, 1);
    const engine::ValueId y = b.concat({a, c2});
    b.output(y);
    engine::Graph g = b.build();
    std::get<engine::ConcatParams>(g.node(b.producer(y)).params).in_place = true;
    set_storage(g, layout, dt);
    // The second conv's output starts at channel 16 of the concat output.
    const engine::NodeId conv = b.producer(c2);
    engine::Tensor xin = testing_util::random_tensor({batch, 8, 6, 5}, 3);
    if (dt == DataType::BF16) xin = round_bf16(xin);

    auto backend = engine::make_onednn_backend();
    engine::BuildOptions opts;
    std::vector<engine::Tensor> packed = backend->pack(g, conv, opts);
    auto kernel = backend->create_kernel(g, conv, packed);
    Stored in = to_stored(xin, layout, dt);
    Stored whole = make_stored({batch, 36, 6, 5}, layout, dt);
    for (auto& byte : *whole.bytes) byte = std::byte{0};
    Stored slice = whole;
    slice.shape = {batch, 20, 6, 5};
    slice.offset = 16 * 6 * 5;  // channel 16: 16*H*W elements in plain and in blocked16 (one block)
    std::vector<engine::TensorRef> ins = {in.ref(), constant_ref(g, g.node(conv).inputs[1]),
                                          constant_ref(g, g.node(conv).inputs[2])};
    std::vector<engine::TensorRef> outs = {slice.ref()};
    std::vector<std::byte> ws(kernel->workspace_bytes(batch) + 64);
    engine::KernelArgs args{ins, outs, ws.data(), batch};
    kernel->run(args);

    const engine::Tensor ref = run_reference_node(g, conv, {xin})[0];
    const engine::Tensor got_whole = from_stored(whole);
    engine::Tensor got(DataType::F32, {batch, 20, 6, 5});
    for_each_index(got.shape(), [&](const std::vector<int64_t>& idx, int64_t i) {
        got.data_as<float>()[i] =
            got_whole.data_as<float>()[((idx[0] * 36 + 16 + idx[1]) * 6 + idx[2]) * 5 + idx[3]];
    });
    const auto d = testing_util::compare(got, ref);
    EXPECT_LE(d.max_rel, dt == DataType::F32 ? kF32Tolerance : kBf16Tolerance) << d.describe();
    // Channels 0..15 belong to the other producer: still zero.
    for_each_index(engine::Shape{batch, 16, 6, 5}, [&](const std::vector<int64_t>& idx, int64_t) {
        const float v = got_whole.data_as<float>()[((idx[0] * 36 + idx[1]) * 6 + idx[2]) * 5 + idx[3]];
        ASSERT_EQ(v, 0.f) << "channel " << idx[1] << " overwritten";
    });
}

INSTANTIATE_TEST_SUITE_P(Layouts, OneDnnConvSlice,
                         ::testing::Combine(::testing::Values(Layout::Plain, Layout::Blocked16),
                                            ::testing::Values(DataType::F32, DataType::BF16)));

TEST(OneDnnConvPack, RejectsPackedWeightsOfAnotherSize) {
    ConvCase c;
    ConvGraph cg = make_conv_graph(c);
    set_storage(cg.g, Layout::NHWC, DataType::F32);
    auto backend = engine::make_onednn_backend();
    engine::BuildOptions opts;
    std::vector<engine::Tensor> packed = backend->pack(cg.g, cg.conv, opts);
    packed[1] = engine::Tensor(DataType::F32, {packed[1].numel() + 16});
    try {
        backend->create_kernel(cg.g, cg.conv, packed);
        FAIL() << "expected an error";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("another CPU"), std::string::npos) << e.what();
    }
}

}  // namespace
