// Single-Conv test cases shared by the backends' conv tests (tests/engine/onednn, tests/engine/cuda):
// every fused activation, residual and post_act, pointwise, stride 2, dilation, groups/depthwise, odd
// channel counts, the 3-channel image input, partial batches. Each backend's test adds the cases only
// it has (asymmetric pads on oneDNN; cuDNN's symmetric-pad rule and the 255-output head on CUDA) and
// checks one node built by make_conv_graph() against the reference backend.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "engine/ir/graph.h"
#include "tests/testing/graph_builder.h"

namespace testing_util {

struct ConvCase {
    std::string name;
    int c = 16, o = 32, h = 9, w = 7;
    int k = 3, stride = 1, dilation = 1, group = 1;
    std::array<int32_t, 4> pads{1, 1, 1, 1};
    engine::Act act;
    bool residual = false;
    engine::Act post_act;
    int max_batch = 1, batch = 1;
    bool bias = true;
};
// gtest prints parameters in test listings (ctest's test names): the case's name, not its bytes.
inline void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

// Appends a case: `base` (its channels c -> o) with `edit` applied, named `name`.
template <typename Edit>
void add_conv_case(std::vector<ConvCase>& v, const ConvCase& base, std::string name, Edit&& edit) {
    ConvCase c = base;
    c.name = std::move(name);
    edit(c);
    v.push_back(c);
}

// The cases every backend runs, from `base` (channels and spatial size; the edits set the rest).
inline std::vector<ConvCase> shared_conv_cases(const ConvCase& base = {}) {
    using engine::ActKind;
    std::vector<ConvCase> v;
    auto add = [&](std::string name, auto&& edit) { add_conv_case(v, base, std::move(name), edit); };
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
    add("residual_post_relu", [](ConvCase& c) {  // post_act alone (linear conv)
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
    add("image_input", [](ConvCase& c) {  // C = 3 (the first conv of a network)
        c.c = 3;
        c.o = 32;
        c.h = 16;
        c.w = 16;
        c.act = {ActKind::LeakyRelu, 0.1f};
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
    return v;
}

struct ConvGraph {
    engine::Graph g;
    engine::NodeId conv = 0;
};

// x [max_batch, c, h, w] -> Conv (random weights in [-0.5, 0.5), bias, fused act / residual /
// post_act as the case says) -> y; the residual is a second graph input.
inline ConvGraph make_conv_graph(const ConvCase& c) {
    GraphBuilder b(17);
    const engine::ValueId x = b.input({c.max_batch, c.c, c.h, c.w});
    engine::ConvParams p;
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
        std::get<engine::ConvParams>(b.graph().node(cg.conv).params).residual = true;
    }
    b.output(y);
    cg.g = b.build();
    return cg;
}

}  // namespace testing_util
