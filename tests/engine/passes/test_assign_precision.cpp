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

namespace {

// INT8: a fake backend with I8 kernels for Conv (unless named in `no_i8`) and the scale-keeping ops.
bool int8_support(const Graph& g, NodeId n, DataType dt, const std::vector<std::string>& no_i8 = {}) {
    if (dt != DataType::I8) return false;
    const Node& node = g.node(n);
    if (std::find(no_i8.begin(), no_i8.end(), node.name) != no_i8.end()) return false;
    return node.op == OpType::Conv || node.op == OpType::MaxPool || node.op == OpType::Concat ||
           node.op == OpType::Resize;
}

// conv a (range 2) -> maxpool p (range 3) -> concat(p, conv b (range 5)) -> conv c -> output; and a
// MaxPool after a float conv f, which stays float.
TEST(AssignInt8, ConvsAndScaleKeepingOpsOfInt8ProducersShareTheLargestRange) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 8, 8});
    const ValueId a = b.conv(x, 4, 3);
    const ValueId p = b.maxpool(a, 2, 2);
    const ValueId bb = b.conv(b.maxpool(x, 2, 2), 4, 1);
    const ValueId cat = b.concat({p, bb});
    const ValueId c = b.conv(cat, 2, 1);
    const ValueId f = b.conv(x, 2, 1);
    const ValueId fp = b.maxpool(f, 2, 2);
    b.output(c);
    b.output(fp);
    Graph g = b.build();
    const float ranges[] = {2, 3, 5, 4, 1};
    const ValueId ids[] = {a, p, bb, cat, c};
    for (size_t i = 0; i < 5; ++i) g.value(ids[i]).amax = ranges[i];
    const std::string float_conv = g.node(g.value(f).producer).name;
    (void)assign_precision(g, DataType::F32, [](const Graph&, NodeId, DataType) { return false; });
    const PassStats s = assign_int8(
        g, [&](const Graph& gr, NodeId n, DataType dt) { return int8_support(gr, n, dt, {float_conv}); });

    auto precision = [&](ValueId v) { return g.node(g.value(v).producer).precision; };
    EXPECT_EQ(precision(a), DataType::I8);
    EXPECT_EQ(precision(p), DataType::I8);
    EXPECT_EQ(precision(bb), DataType::I8);
    EXPECT_EQ(precision(cat), DataType::I8);
    EXPECT_EQ(precision(c), DataType::I8);
    EXPECT_EQ(precision(f), DataType::F32);
    EXPECT_EQ(precision(fp), DataType::F32);  // its input comes from a float conv
    // The maxpool on the graph input x has a float producer (none): float.
    EXPECT_EQ(g.node(g.value(g.node(g.value(bb).producer).inputs[0]).producer).precision, DataType::F32);
    EXPECT_EQ(s.rewrites, 5);
    // a, p, bb and cat form one group: the largest range, 5; c keeps its own.
    for (ValueId v : {a, p, bb, cat}) EXPECT_FLOAT_EQ(g.value(v).amax, 5.0f) << g.value(v).name;
    EXPECT_FLOAT_EQ(g.value(c).amax, 1.0f);
    // Storage: I8 between I8 nodes; an I8 conv with no I8 consumer (c: a graph output) writes F32.
    for (ValueId v : {a, p, bb, cat}) EXPECT_EQ(g.value(v).storage_dtype, DataType::I8) << g.value(v).name;
    EXPECT_EQ(g.value(c).storage_dtype, DataType::F32);
    EXPECT_EQ(written_dtype(g, g.value(c).producer, c), DataType::F32);
    EXPECT_EQ(written_dtype(g, g.value(a).producer, a), DataType::I8);
}

}  // namespace
