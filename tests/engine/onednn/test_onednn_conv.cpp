// oneDNN Conv kernel vs the reference backend: every fused activation, residual (both tactics) and
// post_act, groups/depthwise, stride 2, dilation, asymmetric pads, batch 1..3, in each activation
// layout and storage type.
#include <gtest/gtest.h>

#include <sstream>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/core/error.h"
#include "tests/engine/onednn/onednn_test_util.h"
#include "tests/testing/conv_cases.h"

namespace {

using engine::DataType;
using engine::Layout;
using namespace onednn_test;

using testing_util::ConvCase;
using testing_util::ConvGraph;
using testing_util::make_conv_graph;

// The shared cases (at 8 -> 16 channels) plus oneDNN's own: asymmetric pads, a partial batch of 2.
std::vector<ConvCase> conv_cases() {
    ConvCase base;
    base.c = 8;
    base.o = 16;
    std::vector<ConvCase> v = testing_util::shared_conv_cases(base);
    auto add = [&](std::string name, auto&& edit) {
        testing_util::add_conv_case(v, base, std::move(name), edit);
    };
    add("asym_pads", [](ConvCase& c) { c.pads = {0, 1, 2, 0}; });
    add("batch1_of_2", [](ConvCase& c) {
        c.max_batch = 2;
        c.batch = 1;
    });
    return v;
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
    const engine::PackContext opts;
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
    const engine::PackContext opts;
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
