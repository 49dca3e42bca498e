// assign_layouts' graph outputs (engine/builder/assign_layout.h, step 2): a graph output written in the
// plan's layout gets its own Reorder to Plain F32, unless its producer's backend writes it Plain F32
// itself (Backend::writes_plain_f32_output); and its graph inputs (step 4): a node reading one in the
// plan's layout gets a Reorder, unless its backend reads it Plain F32 itself
// (Backend::reads_plain_f32_input). A backend of the test's own, which claims every node, keeps NHWC
// and says which nodes write their graph outputs or read their graph inputs Plain F32; the
// expectations are by hand.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/builder/assign_layout.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::Backend;
using engine::DataType;
using engine::Graph;
using engine::Layout;
using engine::NodeId;
using engine::OpType;
using engine::ValueId;

class NhwcBackend final : public Backend {
  public:
    explicit NhwcBackend(std::set<std::string> plain_writers, std::set<std::string> plain_readers = {})
        : plain_writers_(std::move(plain_writers)), plain_readers_(std::move(plain_readers)) {}
    std::string_view name() const override { return "nhwc"; }
    std::string device_signature() const override { return "test"; }
    bool supports(const Graph&, NodeId, std::string*) const override { return true; }
    std::unique_ptr<engine::Kernel> create_kernel(const Graph&, NodeId,
                                                  std::span<const engine::Tensor>) override {
        return nullptr;
    }
    std::vector<Layout> activation_layouts() const override { return {Layout::NHWC}; }
    bool writes_plain_f32_output(const Graph& g, NodeId n, ValueId v) const override {
        (void)v;
        asked.insert(g.node(n).name);
        return plain_writers_.count(g.node(n).name) > 0;
    }
    bool reads_plain_f32_input(const Graph& g, NodeId n, size_t slot) const override {
        asked_in.insert(g.node(n).name + "/" + std::to_string(slot));
        return plain_readers_.count(g.node(n).name) > 0;
    }
    mutable std::set<std::string> asked;     // the nodes the pass asked about (outputs)
    mutable std::set<std::string> asked_in;  // "node/slot" it asked about (inputs)

  private:
    std::set<std::string> plain_writers_, plain_readers_;
};

// Three convs named names[0..2]: x (`channels`) -> first -> second; third reads x (third_reads_x) or
// second's value. Graph outputs: first's value (first_is_output) or second's, then third's.
struct ThreeConvs {
    const char* names[3];
    int channels;
    bool first_is_output;
    bool third_reads_x;
};
Graph three_convs(const ThreeConvs& t) {
    testing_util::GraphBuilder b(3);
    const ValueId x = b.input({1, t.channels, 6, 6}, true, "x");
    const ValueId a = b.conv(x, 8, 3);
    const ValueId m = b.conv(a, 8, 3);
    const ValueId h = b.conv(t.third_reads_x ? x : m, t.third_reads_x ? 4 : 5, 1);
    if (t.first_is_output) b.output(a);
    if (!t.first_is_output) b.output(m);
    b.output(h);
    Graph g = b.build();
    g.node(g.value(a).producer).name = t.names[0];
    g.node(g.value(m).producer).name = t.names[1];
    g.node(g.value(h).producer).name = t.names[2];
    return g;
}
// x -> conv "head_a" (graph output a) -> conv "mid" -> conv "head_b" (graph output b).
Graph two_heads() { return three_convs({{"head_a", "mid", "head_b"}, 4, true, false}); }

int count_reorders(const Graph& g) {
    int n = 0;
    for (NodeId id : g.nodes_of(OpType::Reorder)) n += g.node(id).dead ? 0 : 1;
    return n;
}

NodeId node_named(const Graph& g, const std::string& name) {
    for (NodeId n = 0; n < g.num_nodes(); ++n)
        if (!g.node(n).dead && g.node(n).name == name) return n;
    return engine::kNoNode;
}

TEST(AssignLayout, GraphOutputsWrittenNhwcGetAReorderToPlainF32) {
    Graph g = two_heads();
    NhwcBackend nhwc({});
    for (NodeId n = 0; n < g.num_nodes(); ++n) g.node(n).backend = "nhwc";
    Backend* backends[] = {&nhwc};
    // The input (Plain) to head_a's NHWC read, and one Reorder per graph output.
    EXPECT_EQ(engine::assign_layouts(g, Layout::NHWC, backends), 3);
    EXPECT_EQ(count_reorders(g), 3);
    for (ValueId v : g.outputs()) {
        const engine::Value& val = g.value(v);
        EXPECT_EQ(val.layout, Layout::Plain) << val.name;
        EXPECT_EQ(val.storage_dtype, DataType::F32) << val.name;
        EXPECT_EQ(g.node(val.producer).op, OpType::Reorder) << val.name;
    }
    // "mid" reads head_a's NHWC value, not the Plain graph output.
    const ValueId mid_in = g.node(node_named(g, "mid")).inputs[0];
    EXPECT_EQ(g.value(mid_in).layout, Layout::NHWC);
    EXPECT_EQ(g.node(g.value(mid_in).producer).name, "head_a");
    EXPECT_EQ(nhwc.asked, (std::set<std::string>{"head_a", "head_b"}));
}

TEST(AssignLayout, AProducerThatWritesPlainF32ItselfNeedsNoReorder) {
    Graph g = two_heads();
    NhwcBackend nhwc({"head_b"});
    for (NodeId n = 0; n < g.num_nodes(); ++n) g.node(n).backend = "nhwc";
    Backend* backends[] = {&nhwc};
    // The input's Reorder and head_a's; head_b writes its graph output itself.
    EXPECT_EQ(engine::assign_layouts(g, Layout::NHWC, backends), 2);
    const ValueId b = g.outputs()[1];
    EXPECT_EQ(g.value(b).layout, Layout::Plain);
    EXPECT_EQ(g.value(b).storage_dtype, DataType::F32);
    EXPECT_EQ(g.node(g.value(b).producer).name, "head_b");
    EXPECT_EQ(g.node(g.value(b).producer).op, OpType::Conv);
    // head_a writes Plain F32 too when asked, and "mid", which reads NHWC, gets a Reorder from it.
    Graph g2 = two_heads();
    NhwcBackend both({"head_a", "head_b"});
    for (NodeId n = 0; n < g2.num_nodes(); ++n) g2.node(n).backend = "nhwc";
    Backend* backends2[] = {&both};
    EXPECT_EQ(engine::assign_layouts(g2, Layout::NHWC, backends2), 2);
    const ValueId a = g2.outputs()[0];
    EXPECT_EQ(g2.value(a).layout, Layout::Plain);
    EXPECT_EQ(g2.node(g2.value(a).producer).name, "head_a");
    const ValueId mid_in = g2.node(node_named(g2, "mid")).inputs[0];
    EXPECT_EQ(g2.value(mid_in).layout, Layout::NHWC);
    EXPECT_EQ(g2.node(g2.value(mid_in).producer).op, OpType::Reorder);
    EXPECT_EQ(g2.node(g2.value(mid_in).producer).inputs[0], a);
}

TEST(AssignLayout, OnlyF32OutputsInAnotherLayoutAreOffered) {
    // An F16 graph output (the node's precision) still gets its Reorder: the hook is not asked.
    Graph g = two_heads();
    NhwcBackend nhwc({"head_a", "head_b"});
    for (NodeId n = 0; n < g.num_nodes(); ++n) {
        g.node(n).backend = "nhwc";
        if (g.node(n).op == OpType::Conv) g.node(n).precision = DataType::F16;
    }
    Backend* backends[] = {&nhwc};
    engine::assign_layouts(g, Layout::NHWC, backends);
    EXPECT_TRUE(nhwc.asked.empty());
    for (ValueId v : g.outputs()) EXPECT_EQ(g.node(g.value(v).producer).op, OpType::Reorder);
    // In a Plain plan nothing needs converting and nothing is asked.
    Graph p = two_heads();
    NhwcBackend plain({"head_a"});
    for (NodeId n = 0; n < p.num_nodes(); ++n) p.node(n).backend = "nhwc";
    Backend* pb[] = {&plain};
    EXPECT_EQ(engine::assign_layouts(p, Layout::Plain, pb), 0);
    EXPECT_TRUE(plain.asked.empty());
}

// x -> conv "stem" -> conv "tail" (graph output); x also read by conv "side" (graph output).
Graph shared_input() { return three_convs({{"stem", "tail", "side"}, 3, false, true}); }

TEST(AssignLayout, ANodeThatReadsAGraphInputItselfNeedsNoReorder) {
    // stem reads x itself; side does not (a Reorder to NHWC for it alone); tail says it would, but its
    // input is no graph input: it reads stem's NHWC value, and the pass does not ask. The graph
    // outputs are written Plain F32 by their producers (no Reorders there).
    Graph g = shared_input();
    NhwcBackend nhwc({"tail", "side"}, {"stem", "tail"});
    for (NodeId n = 0; n < g.num_nodes(); ++n) g.node(n).backend = "nhwc";
    Backend* backends[] = {&nhwc};
    EXPECT_EQ(engine::assign_layouts(g, Layout::NHWC, backends), 1);
    EXPECT_EQ(count_reorders(g), 1);
    const ValueId x = g.inputs()[0];
    const ValueId stem_in = g.node(node_named(g, "stem")).inputs[0];
    EXPECT_EQ(stem_in, x);
    EXPECT_EQ(g.value(x).layout, Layout::Plain);
    EXPECT_EQ(g.value(x).storage_dtype, DataType::F32);
    const ValueId side_in = g.node(node_named(g, "side")).inputs[0];
    ASSERT_NE(side_in, x);
    EXPECT_EQ(g.node(g.value(side_in).producer).op, OpType::Reorder);
    EXPECT_EQ(g.node(g.value(side_in).producer).inputs[0], x);
    EXPECT_EQ(g.value(side_in).layout, Layout::NHWC);
    const ValueId tail_in = g.node(node_named(g, "tail")).inputs[0];
    EXPECT_EQ(g.node(g.value(tail_in).producer).name, "stem");
    EXPECT_EQ(g.value(tail_in).layout, Layout::NHWC);
    // Asked only where a graph input needed converting: the weights (constants) and tail's NHWC input
    // are not offered.
    EXPECT_EQ(nhwc.asked_in, (std::set<std::string>{"stem/0", "side/0"}));
    // Without readers, both convs reading x share one Reorder.
    Graph g2 = shared_input();
    NhwcBackend none({"tail", "side"});
    for (NodeId n = 0; n < g2.num_nodes(); ++n) g2.node(n).backend = "nhwc";
    Backend* backends2[] = {&none};
    EXPECT_EQ(engine::assign_layouts(g2, Layout::NHWC, backends2), 1);
    EXPECT_EQ(g2.node(node_named(g2, "stem")).inputs[0], g2.node(node_named(g2, "side")).inputs[0]);
    EXPECT_NE(g2.node(node_named(g2, "stem")).inputs[0], g2.inputs()[0]);
}

}  // namespace
