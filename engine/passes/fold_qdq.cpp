// fold_qdq (builds that allow INT8 only: run_passes with PipelineOptions::int8)
//
//   x --FakeQuant(s, z, s, z)--> y --> consumers      ==>   x (amax = 127 s) --> consumers
//
// for a symmetric 8-bit fake quantization per tensor: one scale s and zero point 0 (int8) or 128
// (uint8, whose q - 128 spans int8's [-128, 127]), the same for the Q and the DQ. Then y is
// saturate_s8(round(x / s)) * s, what an INT8 kernel computes from Value::amax (scale = amax / 127,
// docs/int8.md): the builder quantizes there instead. The amax goes on x, the value the consumers read
// after the rewrite (X -> Q -> DQ -> Conv, the usual QDQ pattern, becomes X -> Conv with X's range the
// model's). 127 * s is the float nearest 127 s; amax / 127 gives s back exactly for about 99 % of
// scales, else within one ulp.
//
// When y is a graph output its name must survive: x's producer writes y (as in eliminate_identity) and
// y gets the amax, if x has a live producer, is no graph output and this is its only reader.
//
// Kept as float FakeQuants (correct results, no INT8 range; one info line per build with their count):
// asymmetric quantization (uint8 with another zero point, int8 with a nonzero one), per-axis scales on
// an activation, a Q and a DQ with different scales or zero points, a second fake quantization of x
// with another scale, a graph output that cannot be rewired.

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/passes/pass.h"

namespace engine {
namespace {

// The scale of a symmetric per-tensor 8-bit FakeQuant, or 0 with the reason it is not one.
float symmetric_scale(const Graph& g, const Node& n, std::string* why) {
    auto no = [&](std::string reason) {
        *why = std::move(reason);
        return 0.f;
    };
    const auto* p = std::get_if<QuantParams>(&n.params);
    if (p == nullptr || n.inputs.size() != 5) return no("not a FakeQuant");
    for (size_t i = 1; i < 5; ++i)
        if (!g.is_constant(n.inputs[i])) return no("its scales or zero points are not constants");
    const std::vector<float> qs = g.constant(n.inputs[1]).to_f32(), qz = g.constant(n.inputs[2]).to_f32();
    const std::vector<float> ds = g.constant(n.inputs[3]).to_f32(), dz = g.constant(n.inputs[4]).to_f32();
    if (qs.size() != 1 || ds.size() != 1) return no("per-axis scales on an activation");
    if (qs[0] != ds[0] || qz[0] != dz[0])
        return no(concat("the Q (scale ", qs[0], ", zero point ", qz[0], ") and the DQ (scale ", ds[0],
                         ", zero point ", dz[0], ") differ"));
    const float symmetric_zero = p->qtype == DataType::U8 ? 128.f : 0.f;
    if (qz[0] != symmetric_zero)
        return no(concat(dtype_name(p->qtype), " zero point ", qz[0],
                         " is asymmetric (symmetric: ", symmetric_zero, ")"));
    if (!(std::isfinite(qs[0]) && qs[0] > 0)) return no(concat("scale ", qs[0], " is not > 0"));
    return qs[0];
}

}  // namespace

PassStats fold_qdq(Graph& g) {
    PassStats stats;
    int kept = 0;
    std::string first_kept;
    auto keep = [&](const Node& n, const std::string& why) {
        engine::logger().debug("fold_qdq: node '{}' [FakeQuant] stays a float fake quantization: {}", n.name,
                               why);
        if (kept++ == 0) first_kept = concat("node '", n.name, "': ", why);
    };
    for (NodeId id : g.topo_order()) {
        const Node& n = g.node(id);
        if (n.op != OpType::FakeQuant) continue;
        std::string why;
        const float scale = symmetric_scale(g, n, &why);
        if (scale == 0.f) {
            keep(n, why);
            continue;
        }
        const float amax = 127.0f * scale;
        const ValueId x = n.inputs[0], y = n.outputs[0];
        const Value& xv = g.value(x);
        if (xv.amax > 0 && xv.amax != amax) {
            keep(n,
                 concat("its input '", xv.name, "' already has the range ", xv.amax, ", this one is ", amax));
            continue;
        }
        if (!g.value(y).is_graph_output) {
            g.value(x).amax = amax;
            g.replace_all_uses(y, x);
            g.kill_node(id);
            ++stats.rewrites;
            continue;
        }
        if (xv.producer == kNoNode || xv.is_graph_output || xv.consumers.size() != 1) {
            keep(n, concat("its output '", g.value(y).name, "' is a graph output and its input '", xv.name,
                           "' cannot write it"));
            continue;
        }
        const NodeId producer = xv.producer;
        const std::vector<ValueId>& outs = g.node(producer).outputs;
        size_t slot = 0;
        while (slot < outs.size() && outs[slot] != x) ++slot;
        g.kill_node(id);
        g.set_output(producer, slot, y);
        g.value(y).amax = amax;
        ++stats.rewrites;
    }
    if (kept > 0)
        engine::logger().info(
            "fold_qdq: {} fake quantization(s) of the model stay float ops without an INT8 range "
            "(first: {})",
            kept, first_kept);
    return stats;
}

}  // namespace engine
