#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/core/error.h"
#include "engine/plan/memory_planner.h"
#include "tests/testing/graph_builder.h"

namespace engine {
namespace {

bool steps_overlap(const Lifetime& a, const Lifetime& b) {
    return a.first_step <= b.last_step && b.first_step <= a.last_step;
}
bool bytes_overlap(const Lifetime& a, const Lifetime& b) {
    return a.bytes && b.bytes && a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

// The invariant, checked pair by pair.
void expect_valid_assignment(const std::vector<Lifetime>& ls, size_t arena, size_t alignment) {
    EXPECT_EQ(arena % alignment, 0u);
    for (size_t i = 0; i < ls.size(); ++i) {
        EXPECT_EQ(ls[i].offset % alignment, 0u) << "value " << ls[i].value;
        EXPECT_LE(ls[i].offset + ls[i].bytes, arena) << "value " << ls[i].value;
        for (size_t j = i + 1; j < ls.size(); ++j) {
            if (!steps_overlap(ls[i], ls[j])) continue;
            EXPECT_FALSE(bytes_overlap(ls[i], ls[j])) << "values " << ls[i].value << " and " << ls[j].value;
        }
    }
}

TEST(AssignOffsets, RandomLifetimesNeverOverlap) {
    std::mt19937 rng(42);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<Lifetime> ls;
        const int n = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
            const int a = static_cast<int>(rng() % 30);
            const int b = a + static_cast<int>(rng() % 8);
            ls.push_back({static_cast<ValueId>(i), a, b, 1 + rng() % 5000, 0});
        }
        const size_t alignment = size_t{1} << (rng() % 8);
        const size_t arena = assign_offsets(ls, alignment);
        expect_valid_assignment(ls, arena, alignment);
        // Never worse than giving everything its own slot.
        size_t separate = 0;
        for (const auto& l : ls) separate += (l.bytes + alignment - 1) / alignment * alignment;
        EXPECT_LE(arena, separate);
    }
}

TEST(AssignOffsets, ChainReusesMemory) {
    // a -> b -> c -> d, each read only by the next: two slots suffice.
    std::vector<Lifetime> ls = {
        {0, 0, 1, 1000, 0}, {1, 1, 2, 1000, 0}, {2, 2, 3, 1000, 0}, {3, 3, 4, 1000, 0}};
    const size_t arena = assign_offsets(ls, 64);
    expect_valid_assignment(ls, arena, 64);
    EXPECT_EQ(arena, 2 * 1024u);
    EXPECT_EQ(ls[0].offset, ls[2].offset);
    EXPECT_EQ(ls[1].offset, ls[3].offset);
}

TEST(AssignOffsets, DisjointLifetimesShareOneSlot) {
    std::vector<Lifetime> ls = {{0, 0, 0, 512, 0}, {1, 1, 1, 512, 0}, {2, 2, 2, 512, 0}};
    EXPECT_EQ(assign_offsets(ls, 64), 512u);
    for (const auto& l : ls) EXPECT_EQ(l.offset, 0u);
}

TEST(AssignOffsets, BestFitPicksTheSmallestGap) {
    // After steps 0-2, B and D end and leave two holes among the whole-run values A, C, E:
    // [1024, 1792) (768 bytes) and [2304, 2560) (256 bytes). F (200 bytes) goes into the smaller one.
    std::vector<Lifetime> ls = {
        {0, 0, 5, 1024, 0},  // A
        {1, 0, 2, 768, 0},   // B
        {2, 0, 5, 512, 0},   // C
        {3, 0, 2, 256, 0},   // D
        {4, 0, 5, 256, 0},   // E
        {5, 3, 5, 200, 0},   // F
    };
    const size_t arena = assign_offsets(ls, 64);
    expect_valid_assignment(ls, arena, 64);
    EXPECT_EQ(ls[3].offset, 2304u);
    EXPECT_EQ(ls[5].offset, ls[3].offset);
    EXPECT_EQ(arena, 2816u);
}

TEST(AssignOffsets, AlignsEveryOffset) {
    std::vector<Lifetime> ls = {{0, 0, 3, 10, 0}, {1, 0, 3, 3, 0}, {2, 0, 3, 100, 0}};
    const size_t arena = assign_offsets(ls, 128);
    expect_valid_assignment(ls, arena, 128);
    EXPECT_EQ(arena, 3 * 128u);
}

TEST(AssignOffsets, RejectsBadInput) {
    std::vector<Lifetime> ls = {{0, 0, 1, 10, 0}};
    EXPECT_THROW(assign_offsets(ls, 48), Error);
    EXPECT_THROW(assign_offsets(ls, 0), Error);
    std::vector<Lifetime> backwards = {{0, 3, 1, 10, 0}};
    EXPECT_THROW(assign_offsets(backwards, 64), Error);
    std::vector<Lifetime> none;
    EXPECT_EQ(assign_offsets(none, 64), 0u);
}

// Live step range of each located root, recomputed from the graph (independently of the planner).
struct Range {
    int first = INT32_MAX, last = INT32_MIN;
};

void expect_no_live_overlap(const Graph& g, const std::vector<NodeId>& order, const MemoryPlan& mp) {
    std::vector<int> step(g.num_nodes());
    for (size_t i = 0; i < order.size(); ++i) step[order[i]] = static_cast<int>(i);
    const int end = static_cast<int>(order.size());
    std::vector<Range> range(g.num_values());
    for (size_t v = 0; v < g.num_values(); ++v) {
        const ValueLocation& loc = mp.values[v];
        if (!loc.valid) continue;
        const Value& val = g.value(static_cast<ValueId>(v));
        int first = val.producer != kNoNode ? step[val.producer] : 0, last = first;
        for (NodeId c : val.consumers) last = std::max(last, step[c]);
        if (val.is_graph_input || val.is_graph_output) first = 0, last = end;
        Range& r = range[loc.root];
        r.first = std::min(r.first, first);
        r.last = std::max(r.last, last);
    }
    for (size_t a = 0; a < g.num_values(); ++a)
        for (size_t b = a + 1; b < g.num_values(); ++b) {
            const ValueLocation& la = mp.values[a];
            const ValueLocation& lb = mp.values[b];
            if (!la.valid || !lb.valid || la.root == lb.root) continue;
            const Range& ra = range[la.root];
            const Range& rb = range[lb.root];
            if (ra.first > rb.last || rb.first > ra.last) continue;
            const Value& va = g.value(static_cast<ValueId>(a));
            const Value& vb = g.value(static_cast<ValueId>(b));
            const size_t ea = static_cast<size_t>(located_extent(va, la)) * dtype_size(va.storage_dtype);
            const size_t eb = static_cast<size_t>(located_extent(vb, lb)) * dtype_size(vb.storage_dtype);
            EXPECT_FALSE(la.offset < lb.offset + eb && lb.offset < la.offset + ea)
                << "'" << va.name << "' and '" << vb.name << "' are live together and overlap";
        }
}

TEST(PlanMemory, InPlaceConcatInputsAreSlicesOfTheOutput) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({2, 3, 8, 8});
    const ValueId c1 = b.conv(x, 4, 3);
    const ValueId c2 = b.conv(x, 6, 1);
    const ValueId cat = b.concat({c1, c2}, 1);
    b.output(b.conv(cat, 2, 1));
    Graph g = b.build();
    const NodeId cat_node = g.value(cat).producer;
    std::get<ConcatParams>(g.node(cat_node).params).in_place = true;
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);

    EXPECT_TRUE(mp.skip[cat_node]);
    const ValueLocation& lo = mp.values[cat];
    EXPECT_EQ(mp.values[c1].root, cat);
    EXPECT_EQ(mp.values[c2].root, cat);
    EXPECT_EQ(mp.values[c1].offset, lo.offset);
    EXPECT_EQ(mp.values[c2].offset, lo.offset + 4 * 8 * 8 * sizeof(float));  // after 4 channels of 8x8
    EXPECT_EQ(mp.values[c1].batch_stride, 10 * 8 * 8);
    EXPECT_EQ(mp.values[c2].batch_stride, 10 * 8 * 8);
    EXPECT_EQ(lo.batch_stride, 10 * 8 * 8);
    expect_no_live_overlap(g, order, mp);
}

TEST(PlanMemory, ConcatRunsAsCopyWhenAnInputIsAGraphInput) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId c1 = b.conv(x, 2, 1);
    const ValueId cat = b.concat({x, c1}, 1);
    b.output(b.relu(cat));
    Graph g = b.build();
    const NodeId cat_node = g.value(cat).producer;
    std::get<ConcatParams>(g.node(cat_node).params).in_place = true;
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);
    EXPECT_FALSE(mp.skip[cat_node]);
    EXPECT_EQ(mp.values[c1].root, c1);
    expect_no_live_overlap(g, order, mp);
}

TEST(PlanMemory, IdentityAndReshapeAliasTheirInput) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({2, 4, 4, 4});
    const ValueId r = b.relu(x);
    const ValueId id = b.identity(r);
    const ValueId rs = b.reshape(id, {2, 64});
    b.output(b.sigmoid(rs));
    Graph g = b.build();
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);
    EXPECT_TRUE(mp.skip[g.value(id).producer]);
    EXPECT_TRUE(mp.skip[g.value(rs).producer]);
    EXPECT_EQ(mp.values[id].offset, mp.values[r].offset);
    EXPECT_EQ(mp.values[rs].offset, mp.values[r].offset);
    EXPECT_EQ(mp.values[rs].root, r);
    expect_no_live_overlap(g, order, mp);
}

TEST(PlanMemory, GraphOutputOfReshapeIsNotAnAlias) {
    testing_util::GraphBuilder b;
    const ValueId x = b.input({2, 4, 4, 4});
    const ValueId r = b.relu(x);
    const ValueId rs = b.reshape(r, {2, 64});
    b.output(rs);
    Graph g = b.build();
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);
    EXPECT_FALSE(mp.skip[g.value(rs).producer]);
    EXPECT_EQ(mp.values[rs].root, rs);
    expect_no_live_overlap(g, order, mp);
}

TEST(PlanMemory, ChainReusesAndIoKeepsItsOwnSlots) {
    testing_util::GraphBuilder b;
    ValueId v = b.input({1, 8, 16, 16});
    const ValueId in = v;
    for (int i = 0; i < 6; ++i) v = b.conv(v, 8, 3);
    b.output(v);
    Graph g = b.build();
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);
    const size_t one = 8 * 16 * 16 * sizeof(float);
    // input + output + two ping-pong intermediates.
    EXPECT_EQ(mp.arena_bytes, 4 * one);
    EXPECT_NE(mp.values[in].offset, mp.values[v].offset);
    expect_no_live_overlap(g, order, mp);
}

TEST(PlanMemory, BranchyGraphHasNoLiveOverlap) {
    testing_util::GraphBuilder b(7);
    const ValueId x = b.input({2, 4, 8, 8});
    const ValueId a = b.conv(x, 8, 3);
    const ValueId p = b.maxpool(a, 2, 2);
    const ValueId c = b.conv(p, 8, 1);
    const ValueId u = b.upsample(c, 2);
    const ValueId s = b.add(u, a);
    const ValueId cat = b.concat({s, b.conv(x, 4, 1)}, 1);
    const auto parts = b.split(cat, 1, {6, 6});
    b.output(b.mul(parts[0], parts[1]));
    b.output(b.sigmoid(c));
    Graph g = b.build();
    std::get<ConcatParams>(g.node(g.value(cat).producer).params).in_place = true;
    const auto order = g.topo_order();
    const MemoryPlan mp = plan_memory(g, order, 64);
    expect_no_live_overlap(g, order, mp);
}

}  // namespace
}  // namespace engine
