// Graph and single-node evaluation on the reference kernels: one dense Tensor per value, nodes in
// topological order, no memory planning (a value is freed after its last use).
#include "engine/refmath/reference_executor.h"

#include "engine/core/error.h"
#include "engine/refmath/ref_ops.h"

namespace engine {
namespace {

TensorRef ref_of(const Tensor& t) {
    TensorRef r;
    r.data = const_cast<void*>(t.data());
    r.dtype = t.dtype();
    r.shape = t.shape();
    r.batch_stride = r.sample_numel();
    return r;
}

// The shape of value v in a run at `batch` (< 0: no batched input, use the desc).
Shape run_shape(const Value& v, int64_t batch) {
    Shape s = v.desc.shape;
    if (v.batched && batch >= 0 && !s.empty()) s[0] = batch;
    return s;
}

// Runs node `id` on `ins` (one per node input), filling `outs` (allocated here, one per output).
std::vector<Tensor> run_node(const Graph& g, NodeId id, const std::vector<const Tensor*>& ins,
                             int64_t batch) {
    const Node& node = g.node(id);
    std::vector<Tensor> outs;
    outs.reserve(node.outputs.size());
    for (ValueId v : node.outputs) outs.emplace_back(g.value(v).desc.dtype, run_shape(g.value(v), batch));
    std::vector<TensorRef> in_refs, out_refs;
    in_refs.reserve(ins.size());
    for (const Tensor* t : ins) in_refs.push_back(ref_of(*t));
    for (const Tensor& t : outs) out_refs.push_back(ref_of(t));
    KernelArgs args;
    args.inputs = in_refs;
    args.outputs = out_refs;
    args.batch = batch >= 0 ? static_cast<int>(batch) : 1;
    try {
        ref_run(node.op, node.params, args);
    } catch (const Error& e) {
        throw Error(concat("reference: node '", node.name, "' [", op_type_name(node.op), "]: ", e.what()));
    }
    return outs;
}

}  // namespace

std::vector<Tensor> run_reference(const Graph& g, const std::vector<Tensor>& inputs,
                                  const ValueObserver& observe) {
    ENGINE_CHECK_EQ(inputs.size(), g.inputs().size(), "run_reference: wrong number of inputs");
    std::vector<const Tensor*> data(g.num_values(), nullptr);
    int64_t batch = -1;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const ValueId id = g.inputs()[i];
        const Value& v = g.value(id);
        const Tensor& t = inputs[i];
        ENGINE_CHECK(t.dtype() == v.desc.dtype, "run_reference: input '", v.name, "' has dtype ",
                     dtype_name(t.dtype()), ", graph expects ", dtype_name(v.desc.dtype));
        bool fits = t.shape().size() == v.desc.shape.size();
        for (size_t d = 0; fits && d < t.shape().size(); ++d)
            fits = t.shape()[d] == v.desc.shape[d] || (d == 0 && v.batched);
        ENGINE_CHECK(fits, "run_reference: input '", v.name, "' has shape ", shape_str(t.shape()),
                     ", graph expects ", shape_str(v.desc.shape), v.batched ? " (any batch)" : "");
        if (v.batched) {
            ENGINE_CHECK(batch < 0 || batch == t.shape()[0], "run_reference: input '", v.name, "' has batch ",
                         t.shape()[0], " but another input has ", batch);
            batch = t.shape()[0];
        }
        data[id] = &t;
        if (observe) observe(id, t);
    }
    for (size_t id = 0; id < g.num_values(); ++id)
        if (g.value(static_cast<ValueId>(id)).constant)
            data[id] = g.value(static_cast<ValueId>(id)).constant.get();

    const std::vector<NodeId> order = g.topo_order();
    // Uses left per value, so intermediates are freed as soon as nobody needs them.
    std::vector<int> uses(g.num_values(), 0);
    for (NodeId n : order)
        for (ValueId v : g.node(n).inputs) ++uses[v];
    std::vector<Tensor> owned(g.num_values());
    for (NodeId n : order) {
        const Node& node = g.node(n);
        std::vector<const Tensor*> ins;
        for (ValueId v : node.inputs) {
            ENGINE_CHECK(data[v] != nullptr, "run_reference: node '", node.name, "' reads value '",
                         g.value(v).name, "', which is neither computed, an input nor a constant");
            ins.push_back(data[v]);
        }
        std::vector<Tensor> outs = run_node(g, n, ins, batch);
        for (size_t i = 0; i < outs.size(); ++i) {
            const ValueId v = node.outputs[i];
            owned[v] = std::move(outs[i]);
            data[v] = &owned[v];
            if (observe) observe(v, owned[v]);
        }
        for (ValueId v : node.inputs) {
            if (--uses[v] == 0 && !g.value(v).is_graph_output && data[v] == &owned[v]) {
                owned[v] = Tensor();
                data[v] = nullptr;
            }
        }
    }
    std::vector<Tensor> result;
    for (ValueId v : g.outputs()) {
        ENGINE_CHECK(data[v] != nullptr, "run_reference: graph output '", g.value(v).name,
                     "' was not computed");
        result.push_back(*data[v]);
    }
    return result;
}

std::vector<Tensor> eval_node_reference(const Graph& g, NodeId n, const std::vector<const Tensor*>& inputs) {
    const Node& node = g.node(n);
    ENGINE_CHECK_EQ(inputs.size(), node.inputs.size(), "eval_node_reference: node '", node.name,
                    "' gets the wrong number of inputs");
    int64_t batch = -1;
    for (size_t i = 0; i < inputs.size(); ++i) {
        ENGINE_CHECK(inputs[i] != nullptr, "eval_node_reference: node '", node.name, "' input ", i,
                     " is null");
        const Value& v = g.value(node.inputs[i]);
        if (v.batched && !inputs[i]->shape().empty()) batch = inputs[i]->shape()[0];
    }
    return run_node(g, n, inputs, batch);
}

}  // namespace engine
