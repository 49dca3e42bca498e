// Structural checks of a Graph (see graph.h): the invariants passes and the builder rely on.
#include <algorithm>
#include <variant>

#include "engine/core/error.h"
#include "engine/ir/graph.h"

namespace engine {
namespace {

std::string node_ref(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    return concat("node #", n, " '", node.name, "' [", op_type_name(node.op), "]");
}

}  // namespace

void verify(const Graph& g) {
    const size_t nv = g.num_values();
    const size_t nn = g.num_nodes();
    auto value_ok = [nv](ValueId v) { return v < nv; };

    // Uses per value by live nodes, to compare with the consumer lists.
    std::vector<size_t> uses(nv, 0);
    for (NodeId n = 0; n < nn; ++n) {
        const Node& node = g.node(n);
        if (node.dead) continue;
        ENGINE_CHECK(node.op < OpType::Count, node_ref(g, n), ": invalid op");
        const auto ni = static_cast<int>(node.inputs.size());
        const OpDesc& d = op_desc(node.op);
        ENGINE_CHECK(ni >= d.min_inputs && ni <= d.max_inputs, node_ref(g, n), ": has ", ni,
                     " inputs, the op takes ", d.min_inputs, "..", d.max_inputs);
        const auto no = static_cast<int>(node.outputs.size());
        if (d.min_outputs == d.max_outputs) {
            ENGINE_CHECK(no == d.min_outputs, node_ref(g, n), ": has ", no, " outputs, expected ",
                         d.min_outputs);
        } else {
            ENGINE_CHECK(no >= d.min_outputs && no <= d.max_outputs, node_ref(g, n), ": has ", no,
                         " outputs, the op gives ", d.min_outputs, "..", d.max_outputs);
        }
        ENGINE_CHECK(op_params_match(node.op, node.params), node_ref(g, n), ": params (variant index ",
                     node.params.index(), ") do not belong to this op");
        if (const auto* cp = std::get_if<ConvParams>(&node.params))
            ENGINE_CHECK(cp->residual == (ni == 4), node_ref(g, n), ": residual flag ", cp->residual,
                         " does not match its ", ni, " inputs");
        if (const auto* pp = std::get_if<ConvPairParams>(&node.params)) {
            ENGINE_CHECK(
                !pp->first.residual, node_ref(g, n),
                ": its first conv has the residual flag set; only a ConvPair's second conv takes one");
            ENGINE_CHECK(pp->second.residual == (ni == 6), node_ref(g, n), ": second conv's residual flag ",
                         pp->second.residual, " does not match its ", ni, " inputs");
        }
        for (ValueId in : node.inputs) {
            ENGINE_CHECK(value_ok(in), node_ref(g, n), ": input id ", in, " out of range (", nv, " values)");
            ++uses[in];
            const Value& v = g.value(in);
            const bool produced = v.producer != kNoNode && v.producer < nn && !g.node(v.producer).dead;
            ENGINE_CHECK(produced || v.constant || v.is_graph_input, node_ref(g, n), ": input '", v.name,
                         "' has no live producer and is neither a constant nor a graph input");
        }
        for (ValueId out : node.outputs) {
            ENGINE_CHECK(value_ok(out), node_ref(g, n), ": output id ", out, " out of range (", nv,
                         " values)");
            const Value& v = g.value(out);
            ENGINE_CHECK(v.producer == n, node_ref(g, n), ": output '", v.name, "' names producer ",
                         v.producer == kNoNode ? std::string("none") : concat("#", v.producer));
            ENGINE_CHECK(!v.constant, node_ref(g, n), ": output '", v.name, "' is also a constant");
            ENGINE_CHECK(!v.is_graph_input, node_ref(g, n), ": output '", v.name, "' is also a graph input");
        }
    }

    for (ValueId v = 0; v < nv; ++v) {
        const Value& val = g.value(v);
        if (val.producer != kNoNode) {
            ENGINE_CHECK(val.producer < nn, "value '", val.name, "': producer id ", val.producer,
                         " out of range");
            const Node& p = g.node(val.producer);
            ENGINE_CHECK(p.dead || std::count(p.outputs.begin(), p.outputs.end(), v) == 1, "value '",
                         val.name, "': its producer ", node_ref(g, val.producer),
                         " does not list it as an output");
        }
        size_t live_consumers = 0;
        for (NodeId c : val.consumers) {
            ENGINE_CHECK(c < nn, "value '", val.name, "': consumer id ", c, " out of range");
            ENGINE_CHECK(!g.node(c).dead, "value '", val.name, "': consumer ", node_ref(g, c), " is dead");
            const auto& ins = g.node(c).inputs;
            ENGINE_CHECK(std::find(ins.begin(), ins.end(), v) != ins.end(), "value '", val.name,
                         "': consumer ", node_ref(g, c), " does not read it");
            ++live_consumers;
        }
        ENGINE_CHECK(live_consumers == uses[v], "value '", val.name, "': consumer list has ", live_consumers,
                     " entries but live nodes use it ", uses[v], " times");
        if (val.constant)
            ENGINE_CHECK(val.constant->shape() == val.desc.shape, "constant '", val.name, "': desc shape ",
                         shape_str(val.desc.shape), " differs from its tensor ",
                         shape_str(val.constant->shape()));
    }

    for (ValueId v : g.inputs()) {
        ENGINE_CHECK(value_ok(v), "graph input id ", v, " out of range");
        ENGINE_CHECK(g.value(v).is_graph_input, "graph input '", g.value(v).name, "' is not flagged as one");
        ENGINE_CHECK(g.value(v).producer == kNoNode, "graph input '", g.value(v).name, "' has a producer");
    }
    for (ValueId v : g.outputs()) {
        ENGINE_CHECK(value_ok(v), "graph output id ", v, " out of range");
        const Value& val = g.value(v);
        const bool produced = val.producer != kNoNode && !g.node(val.producer).dead;
        ENGINE_CHECK(produced || val.constant || val.is_graph_input, "graph output '", val.name,
                     "' is not produced by a live node and is neither a constant nor a graph input");
    }

    (void)g.topo_order();  // throws on a cycle
}

}  // namespace engine
