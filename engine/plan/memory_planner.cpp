#include "engine/plan/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace engine {
namespace {

size_t round_up(size_t x, size_t a) {
    return static_cast<size_t>(
               checked_add(static_cast<int64_t>(x), static_cast<int64_t>(a - 1), "arena size")) /
           a * a;
}

// End of a placed value in the arena; both terms are at most INT64_MAX (checked_bytes).
size_t arena_end(const Lifetime& l) {
    return static_cast<size_t>(
        checked_add(static_cast<int64_t>(l.offset), static_cast<int64_t>(l.bytes), "arena offset"));
}

// How a value is placed relative to another (its parent in the view tree).
enum class Link : uint8_t { None, ConcatSlice, Alias };

struct Placement {
    Link link = Link::None;
    ValueId parent = kNoValue;
    int64_t offset = 0;  // elements into the parent
};

bool is_runtime(const Value& v) { return v.constant == nullptr; }

// Whether Concat node n can be done in place, given the placements decided so far; fills the
// element offset of each input in the output.
bool concat_in_place_ok(const Graph& g, NodeId n, const std::vector<Placement>& place,
                        std::vector<int64_t>& offsets, std::string& why) {
    auto no = [&](const char* reason) {
        why = reason;
        return false;
    };
    const Node& node = g.node(n);
    if (node.outputs.size() != 1) return no("not one output");
    const Value& out = g.value(node.outputs[0]);
    if (!is_runtime(out)) return no("constant output");
    const Shape& os = out.desc.shape;
    const auto rank = static_cast<int32_t>(os.size());
    int32_t axis = std::get<ConcatParams>(node.params).axis;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return no("axis out of range");
    const int32_t first = out.batched ? 1 : 0;
    if (out.batched && axis == 0) return no("concat over the batch");
    for (int32_t d = first; d < axis; ++d)
        if (os[static_cast<size_t>(d)] != 1) return no("slices are not contiguous per sample");
    const int64_t inner = checked_numel(std::span<const int64_t>(os).subspan(static_cast<size_t>(axis) + 1),
                                        "concat inner dims");
    offsets.clear();
    int64_t along = 0;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
        const ValueId vid = node.inputs[k];
        const Value& v = g.value(vid);
        if (!is_runtime(v)) return no("constant input");
        if (v.is_graph_input || v.is_graph_output) return no("graph input/output as input");
        if (v.producer == kNoNode) return no("input without producer");
        if (place[vid].link != Link::None) return no("input already placed elsewhere");
        if (std::count(node.inputs.begin(), node.inputs.end(), vid) != 1) return no("input used twice");
        if (v.batched != out.batched || v.storage_dtype != out.storage_dtype)
            return no("input batch flag or storage type differs");
        if (v.layout != out.layout) return no("input layout differs");
        if (v.desc.shape.size() != os.size()) return no("rank differs");
        for (int32_t d = 0; d < rank; ++d)
            if (d != axis && v.desc.shape[static_cast<size_t>(d)] != os[static_cast<size_t>(d)])
                return no("shape differs");
        offsets.push_back(checked_mul(along, inner, "concat slice offset"));
        along = checked_add(along, v.desc.shape[static_cast<size_t>(axis)], "concat extent");
    }
    if (along != os[static_cast<size_t>(axis)]) return no("input sizes do not add up");
    // NHWC: a channel slice is not contiguous per sample. Blocked16: a slice must start at a whole
    // block of 16 channels (the element offset is then c0*H*W, as in plain).
    if (out.layout == Layout::NHWC) return no("nhwc channel slices are not contiguous");
    if (out.layout == Layout::Blocked16) {
        if (axis != 1 || rank != 4) return no("blocked16 concat not over channels");
        for (int64_t off : offsets)
            if ((off / inner) % kBlockedChannels != 0)
                return no("blocked16 slice not at a multiple of 16 channels");
    }
    return true;
}

bool is_alias_op(OpType op) {
    return op == OpType::Identity || op == OpType::Dropout || op == OpType::Reshape;
}

}  // namespace

size_t assign_offsets(std::vector<Lifetime>& lifetimes, size_t alignment) {
    ENGINE_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "memory alignment ", alignment,
                 " is not a power of two");
    for (const Lifetime& l : lifetimes)
        ENGINE_CHECK(l.first_step <= l.last_step, "value ", l.value, " has an empty lifetime [", l.first_step,
                     ", ", l.last_step, "]");
    std::vector<size_t> order(lifetimes.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const Lifetime& la = lifetimes[a];
        const Lifetime& lb = lifetimes[b];
        if (la.bytes != lb.bytes) return la.bytes > lb.bytes;
        return la.first_step < lb.first_step;
    });

    struct Interval {
        size_t begin, end;
    };
    std::vector<size_t> placed;
    std::vector<Interval> busy;
    size_t arena = 0;
    for (size_t i : order) {
        Lifetime& l = lifetimes[i];
        l.offset = 0;
        if (l.bytes == 0) continue;
        busy.clear();
        for (size_t p : placed) {
            const Lifetime& o = lifetimes[p];
            if (o.first_step <= l.last_step && l.first_step <= o.last_step)
                busy.push_back({o.offset, arena_end(o)});
        }
        std::sort(busy.begin(), busy.end(),
                  [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
        // Best fit: the smallest gap between busy intervals that holds the value; else past the end.
        size_t cursor = 0;
        size_t best = SIZE_MAX;
        size_t best_gap = SIZE_MAX;
        for (const Interval& b : busy) {
            if (b.begin > cursor) {
                const size_t gap = b.begin - cursor;
                if (gap >= l.bytes && gap < best_gap) {
                    best = cursor;
                    best_gap = gap;
                }
            }
            cursor = std::max(cursor, round_up(b.end, alignment));
        }
        l.offset = best != SIZE_MAX ? best : cursor;
        arena = std::max(arena, arena_end(l));
        placed.push_back(i);
    }
    return round_up(arena, alignment);
}

int64_t located_extent(const Value& v, const ValueLocation& loc) {
    const Shape& s = v.desc.shape;
    if (!v.batched || s.empty()) return shape_numel(s);
    if (s[0] == 0) return 0;
    return checked_add(checked_mul(s[0] - 1, loc.batch_stride, "batched extent"),
                       storage_sample_numel(s, v.layout), "batched extent");
}

MemoryPlan plan_memory(const Graph& g, const std::vector<NodeId>& order, size_t alignment) {
    MemoryPlan mp;
    mp.alignment = alignment;
    mp.values.assign(g.num_values(), {});
    mp.skip.assign(g.num_nodes(), 0);
    std::vector<Placement> place(g.num_values());

    // 1. In-place Concats: each input becomes a slice of the output.
    std::vector<int64_t> offsets;
    for (NodeId n : order) {
        const Node& node = g.node(n);
        if (node.op != OpType::Concat) continue;
        const auto* p = std::get_if<ConcatParams>(&node.params);
        if (!p || !p->in_place) continue;
        std::string why;
        if (!concat_in_place_ok(g, n, place, offsets, why)) {
            engine::logger().debug("memory plan: Concat '{}' runs as a copy ({})", node.name, why);
            continue;
        }
        for (size_t k = 0; k < node.inputs.size(); ++k)
            place[node.inputs[k]] = {Link::ConcatSlice, node.outputs[0], offsets[k]};
        mp.skip[n] = 1;
    }

    // 2. Aliases: Identity/Dropout/Reshape outputs share their (dense) input's memory.
    auto in_concat_slice = [&](ValueId v) {
        for (; v != kNoValue && place[v].link != Link::None; v = place[v].parent)
            if (place[v].link == Link::ConcatSlice) return true;
        return false;
    };
    for (NodeId n : order) {
        const Node& node = g.node(n);
        if (!is_alias_op(node.op) || node.inputs.size() != 1 || node.outputs.size() != 1) continue;
        const ValueId in = node.inputs[0];
        const ValueId out = node.outputs[0];
        const Value& vi = g.value(in);
        const Value& vo = g.value(out);
        if (!is_runtime(vi) || !is_runtime(vo) || vo.is_graph_output || vo.is_graph_input) continue;
        if (place[out].link != Link::None || in_concat_slice(in)) continue;
        if (vi.storage_dtype != vo.storage_dtype || vi.batched != vo.batched) continue;
        if (vi.layout != Layout::Plain || vo.layout != Layout::Plain) continue;
        if (shape_numel(vi.desc.shape) != shape_numel(vo.desc.shape)) continue;
        if (vi.batched && (vi.desc.shape[0] != vo.desc.shape[0])) continue;
        place[out] = {Link::Alias, in, 0};
        mp.skip[n] = 1;
    }

    // 3. Which values need memory, and their roots.
    std::vector<char> touched(g.num_values(), 0);
    for (NodeId n : order) {
        for (ValueId v : g.node(n).inputs) touched[v] = 1;
        for (ValueId v : g.node(n).outputs) touched[v] = 1;
    }
    for (ValueId v : g.inputs()) touched[v] = 1;
    for (ValueId v : g.outputs()) touched[v] = 1;

    const int num_steps = static_cast<int>(order.size());
    std::vector<int> step_of(g.num_nodes(), 0);
    for (size_t i = 0; i < order.size(); ++i) step_of[order[i]] = static_cast<int>(i);

    std::vector<Lifetime> lifetimes;
    std::vector<size_t> root_slot(g.num_values(), SIZE_MAX);
    for (size_t i = 0; i < g.num_values(); ++i) {
        const auto vid = static_cast<ValueId>(i);
        const Value& v = g.value(vid);
        // Constants need memory only when they are graph outputs (copied in once per context).
        if (!touched[i] || (!is_runtime(v) && !v.is_graph_output)) continue;
        ValueId root = vid;
        int64_t off = 0;
        bool sliced = false;
        while (place[root].link != Link::None) {
            sliced = sliced || place[root].link == Link::ConcatSlice;
            off += place[root].offset;
            root = place[root].parent;
        }
        ValueLocation& loc = mp.values[i];
        loc.valid = true;
        loc.root = root;
        loc.root_offset = off;
        const Value& rv = g.value(root);
        loc.batch_stride = sliced && v.batched ? storage_sample_numel(rv.desc.shape, rv.layout)
                                               : storage_sample_numel(v.desc.shape, v.layout);

        int first = v.producer != kNoNode ? step_of[v.producer] : 0;
        int last = first;
        for (NodeId c : v.consumers)
            if (!g.node(c).dead) last = std::max(last, step_of[c]);
        if (v.is_graph_input || v.is_graph_output || !is_runtime(v)) {
            first = 0;
            last = num_steps;
        }
        if (root_slot[root] == SIZE_MAX) {
            root_slot[root] = lifetimes.size();
            const Value& r = g.value(root);
            lifetimes.push_back({root, first, last,
                                 checked_bytes(storage_numel(r.desc.shape, r.layout),
                                               dtype_size(r.storage_dtype), concat("value '", r.name, "'")),
                                 0});
        } else {
            Lifetime& l = lifetimes[root_slot[root]];
            l.first_step = std::min(l.first_step, first);
            l.last_step = std::max(l.last_step, last);
        }
    }

    mp.arena_bytes = assign_offsets(lifetimes, alignment);
    for (size_t i = 0; i < g.num_values(); ++i) {
        ValueLocation& loc = mp.values[i];
        if (!loc.valid) continue;
        const Lifetime& l = lifetimes[root_slot[loc.root]];
        loc.offset = l.offset + checked_bytes(loc.root_offset, dtype_size(g.value(loc.root).storage_dtype),
                                              "offset in the root value");
    }
    return mp;
}

}  // namespace engine
