#include "engine/ir/node_checks.h"

#include <variant>

namespace engine {

bool reject(std::string* why, std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
}

bool is_runtime_4d(const Graph& g, ValueId v) {
    const Value& val = g.value(v);
    return val.constant == nullptr && val.desc.shape.size() == 4 && val.desc.dtype == DataType::F32;
}

bool check_conv_operands(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvParams>(&node.params);
    if (p == nullptr) return reject(why, "params are not ConvParams");
    if (node.inputs.size() < 2 || node.outputs.size() != 1)
        return reject(why, "needs inputs {x, W, ...} and one output");
    if (p->residual && node.inputs.size() != 4) return reject(why, "residual without input 3");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    for (size_t i = 1; i < node.inputs.size() && i < 3; ++i) {
        const Value& v = g.value(node.inputs[i]);
        if (v.constant == nullptr || v.desc.dtype != DataType::F32)
            return reject(why, "weights/bias not F32 constants");
    }
    const Shape& w = g.value(node.inputs[1]).desc.shape;
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    if (w.size() != 4 || p->group < 1 || w[0] % p->group != 0 || x[1] != w[1] * p->group)
        return reject(why, "weight shape does not match the input channels and group");
    if (node.inputs.size() >= 3 && g.value(node.inputs[2]).desc.shape != Shape{w[0]})
        return reject(why, "bias is not [O]");
    if (p->residual) {
        const Value& r = g.value(node.inputs[3]);
        if (!is_runtime_4d(g, node.inputs[3]) || r.desc.shape != g.value(node.outputs[0]).desc.shape)
            return reject(why, "residual is not a runtime tensor of the output's shape");
    }
    return true;
}

bool check_channel_concat(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConcatParams>(&node.params);
    if (p == nullptr || node.inputs.empty() || node.outputs.size() != 1) return reject(why, "not a Concat");
    if (!is_runtime_4d(g, node.outputs[0])) return reject(why, "output is not a runtime 4-D tensor");
    const int32_t axis = p->axis < 0 ? p->axis + 4 : p->axis;
    if (axis != 1) return reject(why, "axis is not the channels");
    for (ValueId v : node.inputs)
        if (!is_runtime_4d(g, v)) return reject(why, "an input is not a runtime 4-D tensor");
    return true;
}

}  // namespace engine
