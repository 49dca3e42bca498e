// Helpers shared by the pass tests: run a graph with and without a pass on the reference executor.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "engine/ir/graph.h"
#include "engine/passes/pass.h"
#include "engine/refmath/reference_executor.h"
#include "tests/testing/graph_builder.h"
#include "tests/testing/tensor_compare.h"

namespace pass_test {

// Max relative error allowed between a graph's outputs before and after a rewrite (F32 reassociation).
inline constexpr double kTolerance = 1e-5;

inline void expect_outputs_match(const std::vector<engine::Tensor>& got,
                                 const std::vector<engine::Tensor>& want, double tolerance = kTolerance) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        const testing_util::Diff d = testing_util::compare(got[i], want[i]);
        EXPECT_TRUE(d.shape_equal) << "output " << i;
        EXPECT_LE(d.max_rel, tolerance) << "output " << i << ": " << d.describe();
    }
}

// The graph a pass left must verify, re-infer, compact and verify again.
inline void check_and_compact(engine::Graph& g) {
    engine::verify(g);
    engine::infer_shapes(g);
    g.compact();
    engine::verify(g);
}

// Runs `pass` on g (in place): outputs on `inputs` must match those before the pass. Returns the
// pass's rewrite count; g is compacted afterwards.
inline int apply_and_compare(engine::Graph& g, engine::PassFn pass, const std::vector<engine::Tensor>& inputs,
                             double tolerance = kTolerance) {
    const std::vector<engine::Tensor> before = engine::run_reference(g, inputs);
    const int rewrites = pass(g).rewrites;
    check_and_compact(g);
    expect_outputs_match(engine::run_reference(g, inputs), before, tolerance);
    return rewrites;
}

// The live node producing the value named `name` (kNoNode when absent).
inline engine::NodeId producer_of(const engine::Graph& g, const std::string& name) {
    const engine::ValueId v = g.find_value(name);
    return v == engine::kNoValue ? engine::kNoNode : g.value(v).producer;
}

inline const engine::ConvParams& conv_params(const engine::Graph& g, engine::NodeId n) {
    return std::get<engine::ConvParams>(g.node(n).params);
}

}  // namespace pass_test
