#include "engine/onnx/import_context.h"

#include "engine/core/error.h"

namespace engine::onnx {

ValueId ImportContext::lookup(const std::string& name) {
    auto it = names_.find(name);
    if (it != names_.end()) return it->second;
    if (resolve_initializer) {
        const ValueId v = resolve_initializer(name);
        if (v != kNoValue) {
            bind(name, v);
            return v;
        }
    }
    return kNoValue;
}

void ImportContext::bind(const std::string& name, ValueId v) {
    ENGINE_CHECK(names_.emplace(name, v).second, "value '", name,
                 "' is defined twice (ONNX names are single-assignment)");
    used_names_.insert(name);
    if (graph_.is_constant(v)) static_values_.insert(v);
}

std::string ImportContext::unique_name(const std::string& base) {
    std::string name = base;
    for (int k = 1; used_names_.count(name) > 0; ++k) name = concat(base, "_", k);
    used_names_.insert(name);
    return name;
}

ValueId ImportContext::input(const ::onnx::NodeProto& node, int i) {
    ENGINE_CHECK(has_input(node, i), "required input ", i, " is missing");
    const std::string& name = node.input(i);
    const ValueId v = lookup(name);
    ENGINE_CHECK(v != kNoValue, "input ", i, " '", name,
                 "' is not defined (no initializer, graph input or earlier node output has this name)");
    return v;
}

const Tensor& ImportContext::const_input(const ::onnx::NodeProto& node, int i, std::string_view what) {
    const ValueId v = input(node, i);
    ENGINE_CHECK(is_constant(v), what, " (input ", i, " '", node.input(i),
                 "') must be a constant known at import, but it is computed at run time");
    return graph_.constant(v);
}

std::vector<int64_t> ImportContext::const_ints(const ::onnx::NodeProto& node, int i, std::string_view what) {
    const Tensor& t = const_input(node, i, what);
    ENGINE_CHECK(!is_float(t.dtype()), what, " (input ", i, " '", node.input(i), "') must be integers, got ",
                 dtype_name(t.dtype()));
    return t.to_i64();
}

std::vector<float> ImportContext::const_floats(const ::onnx::NodeProto& node, int i, std::string_view what) {
    const Tensor& t = const_input(node, i, what);
    ENGINE_CHECK(t.dtype() == DataType::F32 || t.dtype() == DataType::F64, what, " (input ", i, " '",
                 node.input(i), "') must be float, got ", dtype_name(t.dtype()));
    return t.to_f32();
}

bool ImportContext::is_static(ValueId v) const { return is_constant(v) || static_values_.count(v) > 0; }

ValueId ImportContext::static_input(const ::onnx::NodeProto& node, int i, std::string_view what) {
    const ValueId v = input(node, i);
    ENGINE_CHECK(is_static(v), what, " (input ", i, " '", node.input(i),
                 "') must be a constant (initializer); values computed at run time are not supported");
    return v;
}

void ImportContext::bind_constant(const ::onnx::NodeProto& node, int i, Tensor t) {
    ENGINE_CHECK(i < node.output_size() && !node.output(i).empty(), "output ", i, " is missing");
    const ValueId v = graph_.add_constant(node.output(i), std::move(t));
    bind(node.output(i), v);
}

ValueId ImportContext::add_constant(const std::string& base_name, Tensor t) {
    const std::string name = unique_name(base_name);
    const ValueId v = graph_.add_constant(name, std::move(t));
    static_values_.insert(v);
    return v;
}

NodeId ImportContext::emit(OpType op, const ::onnx::NodeProto& node, std::vector<ValueId> inputs,
                           OpParams params, int num_outputs, const std::vector<Shape>& out_shapes) {
    bool all_static = true;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Value& in = graph_.value(inputs[k]);
        // The quantization ops read integers (their shape rules check every operand's type).
        ENGINE_CHECK(in.desc.dtype == DataType::F32 || op_is_quantization(op), "input '", in.name,
                     "' has type ", dtype_name(in.desc.dtype), "; ", op_type_name(op),
                     " runs on float32 tensors only");
        all_static = all_static && is_static(inputs[k]);
    }
    ENGINE_CHECK(num_outputs <= node.output_size(), "expected ", num_outputs, " outputs, the node has ",
                 node.output_size());
    std::vector<ValueId> outs;
    for (int k = 0; k < num_outputs; ++k) {
        Value v;
        const bool named = !node.output(k).empty();
        v.name = named ? node.output(k) : unique_name(concat(node_name_, "_out", k));
        v.desc.dtype = DataType::F32;
        if (static_cast<size_t>(k) < out_shapes.size()) v.desc.shape = out_shapes[k];
        const ValueId id = graph_.add_value(std::move(v));
        if (named) bind(node.output(k), id);
        if (all_static) static_values_.insert(id);
        outs.push_back(id);
    }
    const NodeId n = graph_.add_node(op, node_name_, std::move(inputs), std::move(outs), std::move(params));
    infer_node(graph_, n);
    return n;
}

}  // namespace engine::onnx
