#include <gtest/gtest.h>

#include <algorithm>

#include "tests/engine/runtime/runtime_test_util.h"

namespace engine {
namespace {

using runtime_test::contains;
using runtime_test::error_of;

int count_layers(const PlanInfo& info, const std::string& op) {
    return static_cast<int>(std::count_if(info.layers.begin(), info.layers.end(),
                                          [&](const LayerInfo& l) { return l.op == op; }));
}

TEST(Runtime, EverySampleOfABatchEqualsItsBatchOneResult) {
    const Graph g = runtime_test::small_net(4);
    const Plan plan = build_plan(g, runtime_test::reference_options(4), "small_net", "");
    auto eng = Engine::load(plan);
    EXPECT_EQ(eng->max_batch(), 4);
    auto ctx = eng->create_context();
    const Tensor all = testing_util::random_tensor({4, 3, 8, 8}, 99);
    std::vector<std::vector<Tensor>> single;
    for (int s = 0; s < 4; ++s) single.push_back(ctx->run({runtime_test::sample_of(all, s)}));
    // Batches in an order that reuses memory from larger runs.
    for (int batch : {4, 2, 1, 3, 4}) {
        Tensor in = testing_util::random_tensor({batch, 3, 8, 8}, 0);
        std::memcpy(in.data(), all.data(), in.bytes());
        const auto out = ctx->run({in});
        ASSERT_EQ(out.size(), 2u);
        for (size_t o = 0; o < out.size(); ++o) {
            EXPECT_EQ(out[o].shape()[0], batch);
            for (int s = 0; s < batch; ++s)
                runtime_test::expect_bit_equal({runtime_test::sample_of(out[o], s)}, {single[s][o]});
        }
        runtime_test::expect_close(out, run_reference(g, {in}));
    }
}

TEST(Runtime, BatchOutOfRangeIsAnError) {
    const Plan plan = build_plan(runtime_test::small_net(4), runtime_test::reference_options(4), "m", "");
    auto ctx = Engine::load(plan)->create_context();
    EXPECT_TRUE(contains(error_of([&] { ctx->run(0); }), "batch 0 out of range"));
    EXPECT_TRUE(contains(error_of([&] { ctx->run(5); }), "batch 5 out of range"));
    EXPECT_TRUE(contains(error_of([&] {
                             (void)ctx->run({testing_util::random_tensor({5, 3, 8, 8}, 1)});
                         }),
                         "images"));
    EXPECT_TRUE(contains(error_of([&] {
                             (void)ctx->run({testing_util::random_tensor({1, 3, 8, 9}, 1)});
                         }),
                         "[1,3,8,9]"));
    EXPECT_TRUE(contains(error_of([&] { (void)ctx->run(std::vector<Tensor>{}); }), "expected 1 inputs"));
    EXPECT_NO_THROW(ctx->run(3));
}

TEST(Runtime, IoBuffersAndShapes) {
    const Plan plan = build_plan(runtime_test::small_net(2), runtime_test::reference_options(2), "m", "");
    auto eng = Engine::load(plan);
    auto ctx = eng->create_context();
    EXPECT_EQ(ctx->num_inputs(), 1u);
    EXPECT_EQ(ctx->num_outputs(), 2u);
    EXPECT_EQ(ctx->input_shape(0, 1), (Shape{1, 3, 8, 8}));
    EXPECT_EQ(ctx->output_shape(1, 2), (Shape{2, 2, 4, 4}));
    EXPECT_EQ(ctx->arena_bytes(), plan.info().arena_bytes);
    // Writing the input buffer directly and running equals the convenience path.
    const Tensor in = testing_util::random_tensor({2, 3, 8, 8}, 8);
    std::memcpy(ctx->input(0), in.data(), in.bytes());
    ctx->run(2);
    const Tensor direct =
        Tensor::from_bytes(DataType::F32, {2, 2, 4, 4}, ctx->output(1), 2 * 2 * 4 * 4 * sizeof(float));
    const auto conv = eng->create_context()->run({in});
    runtime_test::expect_bit_equal({direct}, {conv[1]});
    EXPECT_THROW((void)ctx->input(1), Error);
    EXPECT_THROW((void)ctx->output(2), Error);
}

TEST(Runtime, ProfileHasOneRowPerExecutedNode) {
    // No Concat / Identity / Reshape: every layer runs a kernel.
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 3, 8, 8});
    const ValueId a = b.relu(b.conv(x, 4, 3));
    b.output(b.sigmoid(b.maxpool(b.conv(a, 4, 1), 2, 2)));
    const Plan plan = build_plan(b.build(), runtime_test::reference_options(1), "m", "");
    auto ctx = Engine::load(plan)->create_context();
    ctx->run(1);  // not profiled
    ctx->set_profiling(true);
    ctx->run(1);
    ctx->run(1);
    ctx->set_profiling(false);
    ctx->run(1);
    const auto& prof = ctx->profile();
    ASSERT_EQ(prof.size(), plan.info().layers.size());
    for (size_t i = 0; i < prof.size(); ++i) {
        EXPECT_EQ(prof[i].name, plan.info().layers[i].name);
        EXPECT_EQ(prof[i].op, plan.info().layers[i].op);
        EXPECT_EQ(prof[i].backend, "reference");
        EXPECT_EQ(prof[i].runs, 2);
        EXPECT_GE(prof[i].total_ms, 0.0);
    }
}

TEST(Runtime, InPlaceConcatRunsWithoutACopy) {
    testing_util::GraphBuilder b(5);
    const ValueId x = b.input({3, 4, 8, 8});
    const ValueId a = b.leaky_relu(b.conv(x, 6, 3), 0.1f);
    const ValueId c = b.silu(b.conv(x, 2, 1));
    const ValueId d = b.conv(a, 3, 1);
    const ValueId cat = b.concat({a, c, d}, 1);
    b.output(b.conv(cat, 5, 3));
    const Graph g = b.build();
    const Plan plan = build_plan(g, runtime_test::reference_options(3), "m", "");
    ASSERT_EQ(count_layers(plan.info(), "Concat"), 1);
    auto ctx = Engine::load(plan)->create_context();
    ctx->set_profiling(true);
    for (int batch : {1, 3, 2}) {
        const std::vector<Tensor> in = {testing_util::random_tensor({batch, 4, 8, 8}, 20u + batch)};
        runtime_test::expect_close(ctx->run(in), run_reference(g, in));
    }
    // The Concat ran in place: no profile row for it.
    for (const LayerTiming& t : ctx->profile()) EXPECT_NE(t.op, "Concat") << t.name;
    EXPECT_EQ(ctx->profile().size(), plan.info().layers.size() - 1);
}

TEST(Runtime, ConcatOfAGraphInputRunsAsACopy) {
    testing_util::GraphBuilder b(6);
    const ValueId x = b.input({2, 2, 4, 4});
    const ValueId cat = b.concat({x, b.conv(x, 3, 1)}, 1);
    b.output(b.relu(cat));
    const Graph g = b.build();
    const Plan plan = build_plan(g, runtime_test::reference_options(2), "m", "");
    const std::vector<Tensor> in = {testing_util::random_tensor({2, 2, 4, 4}, 1)};
    runtime_test::expect_close(runtime_test::run_plan(plan, in), run_reference(g, in));
}

TEST(Runtime, ResidualGraphMatchesReference) {
    testing_util::GraphBuilder b(8);
    const ValueId x = b.input({2, 4, 8, 8});
    const ValueId h = b.leaky_relu(b.batch_norm(b.conv(x, 8, 1)), 0.1f);
    const ValueId r = b.leaky_relu(b.batch_norm(b.conv(h, 8, 3)), 0.1f);
    const ValueId s = b.add(h, r);  // darknet shortcut
    const ValueId t = b.relu(b.add(b.conv(s, 8, 3), s));
    b.output(t);
    const Graph g = b.build();
    const Plan plan = build_plan(g, runtime_test::reference_options(2), "m", "");
    EXPECT_EQ(count_layers(plan.info(), "BatchNorm"), 0);  // passes ran
    for (int batch : {1, 2}) {
        const std::vector<Tensor> in = {testing_util::random_tensor({batch, 4, 8, 8}, 30u + batch)};
        runtime_test::expect_close(runtime_test::run_plan(plan, in), run_reference(g, in));
    }
}

TEST(Runtime, AliasingNodesWithPassesDisabled) {
    // Identity / Dropout / Reshape left in the graph become views of their input.
    testing_util::GraphBuilder b(9);
    const ValueId x = b.input({2, 4, 4, 4});
    const ValueId a = b.relu(b.conv(x, 4, 3));
    const ValueId i = b.dropout(b.identity(a));
    const ValueId r = b.reshape(i, {2, 8, 2, 4});
    const ValueId y = b.sigmoid(r);
    b.output(y);
    b.output(b.reshape(b.identity(b.conv(a, 2, 1)), {2, 32}));  // graph output behind a Reshape
    const Graph g = b.build();
    BuildOptions o = runtime_test::reference_options(2);
    o.disabled_passes = {"eliminate_identity"};
    const Plan plan = build_plan(g, o, "m", "");
    EXPECT_EQ(count_layers(plan.info(), "Identity"), 2);
    EXPECT_EQ(count_layers(plan.info(), "Reshape"), 2);
    auto ctx = Engine::load(plan)->create_context();
    for (int batch : {2, 1}) {
        const std::vector<Tensor> in = {testing_util::random_tensor({batch, 4, 4, 4}, 40u + batch)};
        runtime_test::expect_close(ctx->run(in), run_reference(g, in));
    }
}

TEST(Runtime, FixedBatchPlanRunsOnlyAtMaxBatch) {
    // Flattening the batch into a non-batch dim: the plan cannot run smaller batches.
    testing_util::GraphBuilder b(10);
    const ValueId x = b.input({2, 3, 4, 4});
    const ValueId f = b.reshape(b.relu(b.conv(x, 2, 1)), {64});
    b.output(b.sigmoid(f));
    const Graph g = b.build();
    const Plan plan = build_plan(g, runtime_test::reference_options(2), "m", "");
    EXPECT_TRUE(plan.info().fixed_batch);
    auto ctx = Engine::load(plan)->create_context();
    EXPECT_TRUE(contains(error_of([&] { ctx->run(1); }), "fixed batch 2"));
    const std::vector<Tensor> in = {testing_util::random_tensor({2, 3, 4, 4}, 3)};
    runtime_test::expect_close(ctx->run(in), run_reference(g, in));
}

TEST(Runtime, ContextsAreIndependent) {
    const Graph g = runtime_test::small_net(2);
    const Plan plan = build_plan(g, runtime_test::reference_options(2), "m", "");
    auto eng = Engine::load(plan);
    auto c1 = eng->create_context();
    auto c2 = eng->create_context();
    const std::vector<Tensor> in1 = {testing_util::random_tensor({2, 3, 8, 8}, 1)};
    const std::vector<Tensor> in2 = {testing_util::random_tensor({2, 3, 8, 8}, 2)};
    const auto o1 = c1->run(in1);
    const auto o2 = c2->run(in2);
    runtime_test::expect_bit_equal(c1->run(in1), o1);  // c2's run did not touch c1's memory
    runtime_test::expect_close(o2, run_reference(g, in2));
}

TEST(Runtime, ArenaReusesMemory) {
    testing_util::GraphBuilder b(11);
    ValueId v = b.input({1, 8, 16, 16});
    for (int i = 0; i < 8; ++i) v = b.relu(b.conv(v, 8, 3));
    b.output(v);
    const Graph g = b.build();
    const Plan plan = build_plan(g, runtime_test::reference_options(1), "m", "");
    const size_t one = 8 * 16 * 16 * sizeof(float);
    EXPECT_EQ(plan.info().arena_bytes, 4 * one);  // input, output, two intermediates
    const std::vector<Tensor> in = {testing_util::random_tensor({1, 8, 16, 16}, 12)};
    runtime_test::expect_close(runtime_test::run_plan(plan, in), run_reference(g, in));
}

}  // namespace
}  // namespace engine
