#include "engine/ir/graph.h"

#include <algorithm>
#include <queue>

#include "engine/core/error.h"

namespace engine {

ValueId Graph::add_value(Value v) {
    values_.push_back(std::move(v));
    return static_cast<ValueId>(values_.size() - 1);
}

ValueId Graph::add_constant(std::string name, Tensor t) {
    Value v;
    v.name = std::move(name);
    v.desc = {t.dtype(), t.shape()};
    v.storage_dtype = t.dtype();
    v.constant = std::make_shared<const Tensor>(std::move(t));
    return add_value(std::move(v));
}

NodeId Graph::add_node(OpType op, std::string name, std::vector<ValueId> inputs, std::vector<ValueId> outputs,
                       OpParams params) {
    const auto id = static_cast<NodeId>(nodes_.size());
    for (ValueId in : inputs) values_.at(in).consumers.push_back(id);
    for (ValueId out : outputs) values_.at(out).producer = id;
    Node n;
    n.op = op;
    n.name = std::move(name);
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.params = std::move(params);
    nodes_.push_back(std::move(n));
    return id;
}

void Graph::mark_input(ValueId v) {
    values_.at(v).is_graph_input = true;
    inputs_.push_back(v);
}

void Graph::mark_output(ValueId v) {
    values_.at(v).is_graph_output = true;
    outputs_.push_back(v);
}

size_t Graph::num_live_nodes() const {
    return static_cast<size_t>(
        std::count_if(nodes_.begin(), nodes_.end(), [](const Node& n) { return !n.dead; }));
}

ValueId Graph::find_value(const std::string& name) const {
    for (size_t i = 0; i < values_.size(); ++i)
        if (values_[i].name == name) return static_cast<ValueId>(i);
    return kNoValue;
}

const Tensor& Graph::constant(ValueId id) const {
    const Value& v = values_.at(id);
    ENGINE_CHECK(v.constant != nullptr, "value '", v.name, "' is not a constant");
    return *v.constant;
}

std::vector<NodeId> Graph::nodes_of(OpType op) const {
    std::vector<NodeId> out;
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (!nodes_[i].dead && nodes_[i].op == op) out.push_back(static_cast<NodeId>(i));
    return out;
}

std::vector<NodeId> Graph::topo_order() const {
    // Kahn's algorithm with a min-heap on node id, so the order is deterministic and close to import order.
    std::vector<int> pending(nodes_.size(), 0);
    for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].dead) continue;
        for (ValueId in : nodes_[i].inputs) {
            const NodeId p = values_.at(in).producer;
            if (p != kNoNode && !nodes_.at(p).dead) ++pending[i];
        }
    }
    std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
    size_t live = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].dead) continue;
        ++live;
        if (pending[i] == 0) ready.push(static_cast<NodeId>(i));
    }
    std::vector<NodeId> order;
    order.reserve(live);
    while (!ready.empty()) {
        const NodeId n = ready.top();
        ready.pop();
        order.push_back(n);
        for (ValueId out : nodes_[n].outputs)
            for (NodeId c : values_.at(out).consumers)
                if (!nodes_.at(c).dead && --pending[c] == 0) ready.push(c);
    }
    ENGINE_CHECK(order.size() == live, "graph has a cycle (", live - order.size(),
                 " nodes unreachable in order)");
    return order;
}

void Graph::replace_all_uses(ValueId from, ValueId to) {
    if (from == to) return;
    Value& src = values_.at(from);
    for (NodeId c : src.consumers) {
        for (ValueId& in : nodes_.at(c).inputs)
            if (in == from) in = to;
        values_.at(to).consumers.push_back(c);
    }
    // A node using `from` twice appears twice in consumers and had both slots rewritten above; dedupe
    // the extra pushes so consumer counts stay one per use.
    {
        std::vector<NodeId>& tc = values_.at(to).consumers;
        std::vector<NodeId> fixed;
        std::vector<NodeId> seen;
        for (NodeId c : tc) {
            if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
            seen.push_back(c);
            const auto uses = std::count(nodes_.at(c).inputs.begin(), nodes_.at(c).inputs.end(), to);
            for (int64_t k = 0; k < uses; ++k) fixed.push_back(c);
        }
        tc = std::move(fixed);
    }
    src.consumers.clear();
    for (ValueId& o : outputs_)
        if (o == from) {
            o = to;
            values_.at(to).is_graph_output = true;
        }
    if (src.is_graph_output && std::find(outputs_.begin(), outputs_.end(), from) == outputs_.end())
        src.is_graph_output = false;
}

void Graph::set_input(NodeId n, size_t slot, ValueId v) {
    Node& node = nodes_.at(n);
    const ValueId old = node.inputs.at(slot);
    auto& oc = values_.at(old).consumers;
    auto it = std::find(oc.begin(), oc.end(), n);
    if (it != oc.end()) oc.erase(it);
    node.inputs[slot] = v;
    values_.at(v).consumers.push_back(n);
}

void Graph::add_input(NodeId n, ValueId v) {
    nodes_.at(n).inputs.push_back(v);
    values_.at(v).consumers.push_back(n);
}

void Graph::set_output(NodeId n, size_t slot, ValueId v) {
    Node& node = nodes_.at(n);
    const ValueId old = node.outputs.at(slot);
    if (values_.at(old).producer == n) values_.at(old).producer = kNoNode;
    node.outputs[slot] = v;
    values_.at(v).producer = n;
}

void Graph::kill_node(NodeId n) {
    Node& node = nodes_.at(n);
    if (node.dead) return;
    node.dead = true;
    for (ValueId in : node.inputs) {
        auto& c = values_.at(in).consumers;
        auto it = std::find(c.begin(), c.end(), n);
        if (it != c.end()) c.erase(it);
    }
    for (ValueId out : node.outputs)
        if (values_.at(out).producer == n) values_.at(out).producer = kNoNode;
}

void Graph::set_constant(ValueId v, Tensor t) {
    Value& val = values_.at(v);
    val.desc = {t.dtype(), t.shape()};
    val.storage_dtype = t.dtype();
    val.batched = false;
    val.constant = std::make_shared<const Tensor>(std::move(t));
    if (val.producer != kNoNode) {
        Node& p = nodes_.at(val.producer);
        val.producer = kNoNode;
        (void)p;
    }
}

void Graph::compact() {
    // Values to keep: graph inputs/outputs and anything a live node touches.
    std::vector<char> keep_value(values_.size(), 0);
    for (ValueId v : inputs_) keep_value[v] = 1;
    for (ValueId v : outputs_) keep_value[v] = 1;
    for (const Node& n : nodes_) {
        if (n.dead) continue;
        for (ValueId v : n.inputs) keep_value[v] = 1;
        for (ValueId v : n.outputs) keep_value[v] = 1;
    }
    std::vector<ValueId> vmap(values_.size(), kNoValue);
    std::vector<Value> new_values;
    for (size_t i = 0; i < values_.size(); ++i) {
        if (!keep_value[i]) continue;
        vmap[i] = static_cast<ValueId>(new_values.size());
        new_values.push_back(std::move(values_[i]));
    }
    std::vector<NodeId> nmap(nodes_.size(), kNoNode);
    std::vector<Node> new_nodes;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].dead) continue;
        nmap[i] = static_cast<NodeId>(new_nodes.size());
        new_nodes.push_back(std::move(nodes_[i]));
    }
    for (Node& n : new_nodes) {
        for (ValueId& v : n.inputs) v = vmap[v];
        for (ValueId& v : n.outputs) v = vmap[v];
    }
    for (Value& v : new_values) {
        v.producer = v.producer == kNoNode ? kNoNode : nmap[v.producer];
        std::vector<NodeId> cons;
        for (NodeId c : v.consumers)
            if (nmap[c] != kNoNode) cons.push_back(nmap[c]);
        v.consumers = std::move(cons);
    }
    for (ValueId& v : inputs_) v = vmap[v];
    for (ValueId& v : outputs_) v = vmap[v];
    values_ = std::move(new_values);
    nodes_ = std::move(new_nodes);
}

size_t count_ops(const Graph& g, OpType op) { return g.nodes_of(op).size(); }

}  // namespace engine
