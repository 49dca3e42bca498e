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

namespace {

// A conv's weight w and bias b (kNoValue: none) with params p, reading `in_channels` channels: F32
// constants, w [O, C/group, kh, kw] matching in_channels and the group, b of [O].
bool check_conv_weights(const Graph& g, ValueId w, ValueId b, const ConvParams& p, int64_t in_channels,
                        std::string* why) {
    for (ValueId v : {w, b}) {
        if (v == kNoValue) continue;
        const Value& val = g.value(v);
        if (val.constant == nullptr || val.desc.dtype != DataType::F32)
            return reject(why, "weights/bias not F32 constants");
    }
    const Shape& ws = g.value(w).desc.shape;
    if (ws.size() != 4 || p.group < 1 || ws[0] % p.group != 0 || in_channels != ws[1] * p.group)
        return reject(why, "weight shape does not match the input channels and group");
    if (b != kNoValue && g.value(b).desc.shape != Shape{ws[0]}) return reject(why, "bias is not [O]");
    return true;
}

}  // namespace

bool check_conv_operands(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvParams>(&node.params);
    if (p == nullptr) return reject(why, "params are not ConvParams");
    if (node.inputs.size() < 2 || node.outputs.size() != 1)
        return reject(why, "needs inputs {x, W, ...} and one output");
    if (p->residual && node.inputs.size() != 4) return reject(why, "residual without input 3");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    const ValueId bias = node.inputs.size() >= 3 ? node.inputs[2] : kNoValue;
    if (!check_conv_weights(g, node.inputs[1], bias, *p, g.value(node.inputs[0]).desc.shape[1], why))
        return false;
    if (p->residual) {
        const Value& r = g.value(node.inputs[3]);
        if (!is_runtime_4d(g, node.inputs[3]) || r.desc.shape != g.value(node.outputs[0]).desc.shape)
            return reject(why, "residual is not a runtime tensor of the output's shape");
    }
    return true;
}

bool check_conv_pair_operands(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvPairParams>(&node.params);
    if (p == nullptr) return reject(why, "params are not ConvPairParams");
    if (p->first.residual) return reject(why, "the first conv of the pair has a residual");
    const size_t inputs = p->second.residual ? 6 : 5;
    if (node.inputs.size() != inputs || node.outputs.size() != 1)
        return reject(why, p->second.residual ? "needs inputs {x, W0, B0, W1, B1, residual} and one output"
                                              : "needs inputs {x, W0, B0, W1, B1} and one output");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    const auto& in = node.inputs;
    // The second conv reads the first's output channels (W0's dim 0, checked 4-D first).
    if (!check_conv_weights(g, in[1], in[2], p->first, g.value(in[0]).desc.shape[1], why) ||
        !check_conv_weights(g, in[3], in[4], p->second, g.value(in[1]).desc.shape[0], why))
        return false;
    // The second conv's residual as a Conv's (check_conv_operands).
    if (p->second.residual &&
        (!is_runtime_4d(g, in[5]) || g.value(in[5]).desc.shape != g.value(node.outputs[0]).desc.shape))
        return reject(why, "residual is not a runtime tensor of the output's shape");
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
