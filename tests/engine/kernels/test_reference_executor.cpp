// The reference executor (run_reference, eval_node_reference) and the "reference" Backend.
#include <gtest/gtest.h>

#include <string>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/refmath/ref_ops.h"
#include "engine/refmath/reference_executor.h"
#include "tests/engine/kernels/kernel_test_util.h"
#include "tests/testing/tensor_compare.h"

namespace {

using engine::ConvParams;
using engine::DataType;
using engine::Graph;
using engine::NodeId;
using engine::OpType;
using engine::Shape;
using engine::Tensor;
using engine::Value;
using engine::ValueId;
using kt::f32;

ValueId add_value(Graph& g, const std::string& name, Shape shape, bool batched, DataType dt = DataType::F32) {
    Value v;
    v.name = name;
    v.desc = {dt, std::move(shape)};
    v.batched = batched;
    return g.add_value(std::move(v));
}

// x[N,1,1,2] -> Relu -> Add(const [2] = {10, 20}) -> y
Graph relu_add_graph() {
    Graph g;
    const ValueId x = add_value(g, "x", {1, 1, 1, 2}, true);
    g.mark_input(x);
    const ValueId r = add_value(g, "r", {1, 1, 1, 2}, true);
    const ValueId c = g.add_constant("c", f32({2}, {10, 20}));
    const ValueId y = add_value(g, "y", {1, 1, 1, 2}, true);
    g.add_node(OpType::Relu, "relu", {x}, {r});
    g.add_node(OpType::Add, "add", {r, c}, {y});
    g.mark_output(y);
    return g;
}

TEST(RunReference, HandComputedGraph) {
    const Graph g = relu_add_graph();
    const auto out = engine::run_reference(g, {f32({1, 1, 1, 2}, {-3, 4})});
    ASSERT_EQ(out.size(), 1u);
    kt::expect_values(out[0], {1, 1, 1, 2}, {10, 24});
    // Batch 3 at run time (desc says 1): dim 0 follows the input.
    const auto out3 = engine::run_reference(g, {f32({3, 1, 1, 2}, {-3, 4, 1, -1, 0, 2})});
    kt::expect_values(out3[0], {3, 1, 1, 2}, {10, 24, 11, 20, 10, 22});
}

TEST(RunReference, RejectsBadInputs) {
    const Graph g = relu_add_graph();
    EXPECT_THROW(engine::run_reference(g, {}), engine::Error);
    EXPECT_THROW(engine::run_reference(g, {f32({1, 1, 2, 1}, {1, 2})}), engine::Error);
    EXPECT_THROW(engine::run_reference(g, {Tensor(DataType::I64, {1, 1, 1, 2})}), engine::Error);
}

TEST(RunReference, NodeErrorsNameTheNode) {
    Graph g;
    const ValueId x = add_value(g, "x", {1, 2}, true);
    g.mark_input(x);
    const ValueId y = add_value(g, "y", {1, 5}, true);  // wrong: Relu keeps the shape
    g.add_node(OpType::Relu, "bad_relu", {x}, {y});
    g.mark_output(y);
    try {
        engine::run_reference(g, {f32({1, 2}, {1, 2})});
        FAIL() << "expected an error";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad_relu"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("Relu"), std::string::npos) << e.what();
    }
}

// A small YOLO-ish graph: conv -> leaky -> {maxpool, upsample-branch} -> concat -> conv (+residual).
Graph yolo_like_graph(int64_t batch) {
    Graph g;
    const ValueId x = add_value(g, "x", {batch, 3, 8, 8}, true);
    g.mark_input(x);
    ConvParams p;
    p.kernel = {3, 3};
    p.pads = {1, 1, 1, 1};
    const ValueId w1 = g.add_constant("w1", testing_util::random_tensor({4, 3, 3, 3}, 5));
    const ValueId b1 = g.add_constant("b1", testing_util::random_tensor({4}, 6));
    const ValueId c1 = add_value(g, "c1", {batch, 4, 8, 8}, true);
    g.add_node(OpType::Conv, "conv1", {x, w1, b1}, {c1}, p);
    const ValueId a1 = add_value(g, "a1", {batch, 4, 8, 8}, true);
    g.add_node(OpType::LeakyRelu, "leaky1", {c1}, {a1}, engine::UnaryParams{0.1f, 0.f});
    engine::MaxPoolParams mp;
    mp.kernel = {2, 2};
    mp.stride = {2, 2};
    const ValueId m1 = add_value(g, "m1", {batch, 4, 4, 4}, true);
    g.add_node(OpType::MaxPool, "pool1", {a1}, {m1}, mp);
    const ValueId u1 = add_value(g, "u1", {batch, 4, 8, 8}, true);
    g.add_node(
        OpType::Resize, "up1", {m1}, {u1},
        engine::ResizeParams{{1, 1, 2, 2}, engine::ResizeCoord::Asymmetric, engine::ResizeNearest::Floor});
    const ValueId cat = add_value(g, "cat", {batch, 8, 8, 8}, true);
    g.add_node(OpType::Concat, "cat", {a1, u1}, {cat}, engine::ConcatParams{1, false});
    ConvParams p2;
    p2.kernel = {1, 1};
    p2.act = {engine::ActKind::Silu, 0.f, 0.f};
    p2.residual = true;
    const ValueId w2 = g.add_constant("w2", testing_util::random_tensor({4, 8, 1, 1}, 7));
    const ValueId b2 = g.add_constant("b2", testing_util::random_tensor({4}, 8));
    const ValueId y = add_value(g, "y", {batch, 4, 8, 8}, true);
    g.add_node(OpType::Conv, "conv2", {cat, w2, b2, a1}, {y}, p2);
    g.mark_output(y);
    g.mark_output(m1);
    return g;
}

TEST(RunReference, Batch2EqualsTwoBatch1Runs) {
    const Graph g = yolo_like_graph(2);
    const Tensor x = testing_util::random_tensor({2, 3, 8, 8}, 9);
    const auto both = engine::run_reference(g, {x});
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(both[0].shape(), (Shape{2, 4, 8, 8}));
    EXPECT_EQ(both[1].shape(), (Shape{2, 4, 4, 4}));
    const int64_t in_n = x.numel() / 2;
    for (int64_t i = 0; i < 2; ++i) {
        const Tensor xi =
            Tensor::from_f32({1, 3, 8, 8}, std::span<const float>(x.data_as<float>() + i * in_n, in_n));
        const auto one = engine::run_reference(g, {xi});
        for (size_t o = 0; o < 2; ++o) {
            const int64_t n = one[o].numel();
            for (int64_t k = 0; k < n; ++k)
                ASSERT_EQ(one[o].data_as<float>()[k], both[o].data_as<float>()[i * n + k]) << "output " << o;
        }
    }
}

TEST(EvalNodeReference, FoldsConstants) {
    Graph g;
    const ValueId a = g.add_constant("a", f32({2, 3}, {1, 2, 3, 4, 5, 6}));
    const ValueId t = add_value(g, "t", {3, 2}, false);
    const NodeId n = g.add_node(OpType::Transpose, "tr", {a}, {t}, engine::TransposeParams{{1, 0}});
    const auto out = engine::eval_node_reference(g, n, {&g.constant(a)});
    ASSERT_EQ(out.size(), 1u);
    kt::expect_values(out[0], {3, 2}, {1, 4, 2, 5, 3, 6});
    // Integer constants through a data-movement op.
    const ValueId i1 = g.add_constant("i1", Tensor::from_i64({2}, std::vector<int64_t>{7, 8}));
    const ValueId i2 = g.add_constant("i2", Tensor::from_i64({1}, std::vector<int64_t>{9}));
    const ValueId ic = add_value(g, "ic", {3}, false, DataType::I64);
    const NodeId cn = g.add_node(OpType::Concat, "icat", {i1, i2}, {ic}, engine::ConcatParams{0, false});
    const auto iout = engine::eval_node_reference(g, cn, {&g.constant(i1), &g.constant(i2)});
    EXPECT_EQ(iout[0].to_i64(), (std::vector<int64_t>{7, 8, 9}));
    EXPECT_THROW(engine::eval_node_reference(g, cn, {&g.constant(i1)}), engine::Error);
}

TEST(ReferenceBackend, ClaimsF32AndRunsKernels) {
    auto be = engine::make_reference_backend();
    EXPECT_EQ(be->name(), "reference");
    EXPECT_EQ(be->device_signature(), "cpu reference");
    Graph g = yolo_like_graph(1);
    for (NodeId n : g.topo_order()) {
        std::string why;
        EXPECT_TRUE(be->supports(g, n, &why)) << g.node(n).name << ": " << why;
    }
    // An integer Add is refused with a reason; an integer Concat is fine.
    const ValueId a = add_value(g, "ia", {2}, false, DataType::I64);
    const ValueId b = add_value(g, "ib", {2}, false, DataType::I64);
    const ValueId s = add_value(g, "is", {2}, false, DataType::I64);
    const NodeId add = g.add_node(OpType::Add, "iadd", {a, b}, {s});
    std::string why;
    EXPECT_FALSE(be->supports(g, add, &why));
    EXPECT_NE(why.find("i64"), std::string::npos) << why;
    const ValueId c = add_value(g, "ic", {4}, false, DataType::I64);
    const NodeId cat = g.add_node(OpType::Concat, "icat", {a, b}, {c}, engine::ConcatParams{0, false});
    EXPECT_TRUE(be->supports(g, cat, &why));
    // Wrong params alternative.
    const ValueId r = add_value(g, "r", {2}, false);
    const ValueId ro = add_value(g, "ro", {2}, false);
    const NodeId bad = g.add_node(OpType::Softmax, "bad", {r}, {ro}, engine::ConcatParams{});
    EXPECT_FALSE(be->supports(g, bad, &why));

    // The conv kernel from create_kernel, run with the workspace it asks for, matches run_reference.
    Graph one;
    const ValueId x = add_value(one, "x", {1, 2, 5, 5}, true);
    one.mark_input(x);
    ConvParams p;
    p.kernel = {3, 3};
    p.stride = {2, 2};
    p.pads = {1, 1, 1, 1};
    const Tensor wt = testing_util::random_tensor({3, 2, 3, 3}, 1);
    const Tensor bt = testing_util::random_tensor({3}, 2);
    const ValueId w = one.add_constant("w", wt);
    const ValueId bv = one.add_constant("b", bt);
    const ValueId y = add_value(one, "y", {1, 3, 3, 3}, true);
    const NodeId conv = one.add_node(OpType::Conv, "conv", {x, w, bv}, {y}, p);
    one.mark_output(y);
    const Tensor xt = testing_util::random_tensor({1, 2, 5, 5}, 3);
    const Tensor want = engine::run_reference(one, {xt})[0];
    auto kernel = be->create_kernel(one, conv, {});
    ASSERT_NE(kernel, nullptr);
    std::vector<float> ws(kernel->workspace_bytes(1) / sizeof(float) + 1, 0.f);
    Tensor out(DataType::F32, {1, 3, 3, 3});
    std::vector<engine::TensorRef> ins{kt::dense_ref(xt), kt::dense_ref(wt), kt::dense_ref(bt)};
    std::vector<engine::TensorRef> outs{kt::dense_ref(out)};
    engine::KernelArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.data();
    kernel->run(args);
    const auto d = testing_util::compare(out, want);
    EXPECT_EQ(d.max_abs, 0.0) << d.describe();
    EXPECT_GT(d.ref_max_abs, 0.0);
}

}  // namespace
