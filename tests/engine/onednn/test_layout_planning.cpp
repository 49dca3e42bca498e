// Layouts in the IR and the memory planner: storage sizes (Blocked16 pads channels to 16), which
// in-place Concats each layout allows, and that Identity/Reshape alias only plain values.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/ir/layout.h"
#include "engine/plan/memory_planner.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::Layout;
using engine::ValueId;

TEST(Layout, StorageSizes) {
    EXPECT_EQ(engine::storage_sample_numel({2, 20, 3, 5}, Layout::Plain), 20 * 15);
    EXPECT_EQ(engine::storage_sample_numel({2, 20, 3, 5}, Layout::NHWC), 20 * 15);
    EXPECT_EQ(engine::storage_sample_numel({2, 20, 3, 5}, Layout::Blocked16), 32 * 15);
    EXPECT_EQ(engine::storage_sample_numel({2, 32, 3, 5}, Layout::Blocked16), 32 * 15);
    EXPECT_EQ(engine::storage_numel({2, 20, 3, 5}, Layout::Blocked16), 2 * 32 * 15);
    EXPECT_EQ(engine::storage_numel({}, Layout::Plain), 1);
    for (Layout l : {Layout::Plain, Layout::Blocked16, Layout::NHWC})
        EXPECT_EQ(engine::layout_from_name(engine::layout_name(l)), l);
    EXPECT_THROW(engine::layout_from_name("nchw16"), engine::Error);
}

// x -> conv a (C0) and conv b (C1) -> Concat -> conv: every value in `layout`.
struct ConcatGraph {
    engine::Graph g;
    ValueId a, b, cat;
    engine::NodeId concat;
};

ConcatGraph concat_graph(Layout layout, int c0, int c1, int batch = 2) {
    testing_util::GraphBuilder gb;
    const ValueId x = gb.input({batch, 8, 4, 4});
    ConcatGraph cg;
    cg.a = gb.conv(x, c0, 1);
    cg.b = gb.conv(x, c1, 1);
    cg.cat = gb.concat({cg.a, cg.b});
    gb.output(gb.conv(cg.cat, 4, 1));
    cg.g = gb.build();
    cg.concat = gb.producer(cg.cat);
    std::get<engine::ConcatParams>(cg.g.node(cg.concat).params).in_place = true;
    for (ValueId v : {cg.a, cg.b, cg.cat}) cg.g.value(v).layout = layout;
    return cg;
}

TEST(LayoutMemoryPlan, SizesByStorageAndSlicesWhereTheLayoutAllows) {
    struct Case {
        Layout layout;
        int c0, c1;
        bool in_place;
    };
    for (const Case& c : {Case{Layout::Plain, 12, 8, true}, Case{Layout::Blocked16, 16, 8, true},
                          Case{Layout::Blocked16, 12, 8, false}, Case{Layout::NHWC, 16, 16, false}}) {
        ConcatGraph cg = concat_graph(c.layout, c.c0, c.c1);
        const engine::MemoryPlan mp = engine::plan_memory(cg.g, cg.g.topo_order());
        EXPECT_EQ(mp.skip[cg.concat] != 0, c.in_place) << engine::layout_name(c.layout) << " " << c.c0;
        const int64_t cat_sample = engine::storage_sample_numel(cg.g.value(cg.cat).desc.shape, c.layout);
        EXPECT_EQ(mp.values[cg.cat].batch_stride, cat_sample);
        if (c.in_place) {
            // b starts c0 channels in: c0*H*W elements in plain and in blocked16 (c0 a multiple of 16).
            EXPECT_EQ(mp.values[cg.b].offset - mp.values[cg.a].offset, static_cast<size_t>(c.c0 * 16 * 4));
            EXPECT_EQ(mp.values[cg.b].batch_stride, cat_sample);
        } else {
            EXPECT_EQ(mp.values[cg.a].batch_stride,
                      engine::storage_sample_numel(cg.g.value(cg.a).desc.shape, c.layout));
        }
        // Every slot fits its storage, padding included.
        for (ValueId v : {cg.a, cg.b, cg.cat})
            EXPECT_LE(mp.values[v].offset +
                          static_cast<size_t>(engine::located_extent(cg.g.value(v), mp.values[v])) * 4,
                      mp.arena_bytes);
    }
}

TEST(LayoutMemoryPlan, BlockedValuesGetPaddedSlots) {
    testing_util::GraphBuilder gb;
    const ValueId x = gb.input({1, 8, 4, 4});
    const ValueId a = gb.conv(x, 20, 1);
    const ValueId b = gb.conv(a, 20, 1);
    gb.output(gb.conv(b, 4, 1));
    engine::Graph g = gb.build();
    g.value(a).layout = Layout::Blocked16;
    g.value(b).layout = Layout::Blocked16;
    const engine::MemoryPlan mp = engine::plan_memory(g, g.topo_order());
    // a and b are live together: their slots (32 channels each, 2 KiB) must not overlap.
    const size_t sa = mp.values[a].offset, sb = mp.values[b].offset, bytes = 32 * 16 * 4;
    EXPECT_TRUE(sa + bytes <= sb || sb + bytes <= sa) << sa << " " << sb;
}

TEST(LayoutMemoryPlan, ReshapeAliasesOnlyPlainValues) {
    for (Layout l : {Layout::Plain, Layout::NHWC}) {
        testing_util::GraphBuilder gb;
        const ValueId x = gb.input({1, 8, 4, 4});
        const ValueId a = gb.conv(x, 16, 1);
        const ValueId r = gb.reshape(a, {1, 16, 16});
        gb.output(gb.relu(r));
        engine::Graph g = gb.build();
        g.value(a).layout = l;
        const engine::MemoryPlan mp = engine::plan_memory(g, g.topo_order());
        EXPECT_EQ(mp.skip[gb.producer(r)] != 0, l == Layout::Plain) << engine::layout_name(l);
    }
}

}  // namespace
