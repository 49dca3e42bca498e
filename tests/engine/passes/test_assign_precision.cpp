#include <algorithm>

#include "engine/passes/assign_precision.h"
#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using testing_util::GraphBuilder;

// A fake backend: reduced precision for the ops in `ops` only, counting the questions.
struct FakeSupport {
    std::vector<OpType> ops;
    int* calls;
    bool operator()(const Graph& g, NodeId n, DataType dt) const {
        ++*calls;
        EXPECT_EQ(dt, DataType::F16);
        return std::find(ops.begin(), ops.end(), g.node(n).op) != ops.end();
    }
};

TEST(AssignPrecision, ReducedWhereSupportedF32ElsewhereAndAtGraphBoundaries) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId c1 = b.conv(x, 4, 3);
    const ValueId r = b.relu(c1);
    const ValueId c2 = b.conv(r, 4, 1);
    const ValueId head = b.conv(c2, 2, 1);
    const ValueId s = b.sigmoid(c2);
    b.output(head);
    b.output(s);
    Graph g = b.build();

    int calls = 0;
    EXPECT_EQ(assign_precision(g, DataType::F16, FakeSupport{{OpType::Conv}, &calls}).rewrites, 3);
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(g.node(g.value(c1).producer).precision, DataType::F16);
    EXPECT_EQ(g.node(g.value(r).producer).precision, DataType::F32);
    EXPECT_EQ(g.node(g.value(head).producer).precision, DataType::F16);
    EXPECT_EQ(g.node(g.value(s).producer).precision, DataType::F32);

    EXPECT_EQ(g.value(x).storage_dtype, DataType::F32);   // graph input
    EXPECT_EQ(g.value(c1).storage_dtype, DataType::F16);  // producer's precision
    EXPECT_EQ(g.value(r).storage_dtype, DataType::F32);
    EXPECT_EQ(g.value(c2).storage_dtype, DataType::F16);
    EXPECT_EQ(g.value(head).storage_dtype, DataType::F32);  // graph output of an F16 node
    EXPECT_EQ(g.value(s).storage_dtype, DataType::F32);
    const Node& conv = g.node(g.value(c1).producer);
    EXPECT_EQ(g.value(conv.inputs[1]).storage_dtype, DataType::F32);  // constants untouched
}

TEST(AssignPrecision, F32AsksNothing) {
    GraphBuilder b;
    b.output(b.relu(b.conv(b.input({1, 2, 3, 3}), 2, 1)));
    Graph g = b.build();

    int calls = 0;
    EXPECT_EQ(assign_precision(g, DataType::F32, FakeSupport{{OpType::Conv}, &calls}).rewrites, 0);
    EXPECT_EQ(calls, 0);
    for (NodeId n : g.topo_order()) EXPECT_EQ(g.node(n).precision, DataType::F32);
}

// conv a, relu(conv) b -> in-place Concat: one precision for the Concat and both producers.
Graph in_place_concat_graph(ValueId* cat, ValueId* a, ValueId* b_out) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    *a = b.conv(x, 2, 1);
    *b_out = b.relu(b.conv(x, 2, 3));
    *cat = b.concat({*a, *b_out});
    b.output(b.conv(*cat, 2, 1));
    Graph g = b.build();
    EXPECT_EQ(eliminate_concat(g).rewrites, 1);
    return g;
}

TEST(AssignPrecision, InPlaceConcatGroupFallsBackToF32Together) {
    ValueId cat = 0, a = 0, r = 0;
    Graph g = in_place_concat_graph(&cat, &a, &r);
    int calls = 0;
    // Relu (producer of one slice) has no F16 kernel: the whole group stays F32.
    assign_precision(g, DataType::F16, FakeSupport{{OpType::Conv, OpType::Concat}, &calls});
    EXPECT_EQ(g.node(g.value(cat).producer).precision, DataType::F32);
    EXPECT_EQ(g.node(g.value(a).producer).precision, DataType::F32);
    EXPECT_EQ(g.node(g.value(r).producer).precision, DataType::F32);
    EXPECT_EQ(g.value(a).storage_dtype, DataType::F32);
    EXPECT_EQ(g.value(cat).storage_dtype, DataType::F32);
}

TEST(AssignPrecision, InPlaceConcatGroupGoesReducedWhenAllSupportIt) {
    ValueId cat = 0, a = 0, r = 0;
    Graph g = in_place_concat_graph(&cat, &a, &r);
    int calls = 0;
    assign_precision(g, DataType::F16, FakeSupport{{OpType::Conv, OpType::Concat, OpType::Relu}, &calls});
    EXPECT_EQ(g.value(cat).storage_dtype, DataType::F16);
    EXPECT_EQ(g.value(a).storage_dtype, DataType::F16);
    EXPECT_EQ(g.value(r).storage_dtype, DataType::F16);
}

}  // namespace
