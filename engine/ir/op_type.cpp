#include "engine/ir/op_type.h"

#include <array>

namespace engine {
namespace {
struct OpInfo {
    std::string_view name;
    int min_inputs;
    int max_inputs;
};
constexpr std::array<OpInfo, static_cast<size_t>(OpType::Count)> kOps = {{
#define ENGINE_X(name, lo, hi) {#name, lo, hi},
    ENGINE_OP_LIST(ENGINE_X)
#undef ENGINE_X
}};
}  // namespace

std::string_view op_type_name(OpType op) { return kOps[static_cast<size_t>(op)].name; }
int op_min_inputs(OpType op) { return kOps[static_cast<size_t>(op)].min_inputs; }
int op_max_inputs(OpType op) { return kOps[static_cast<size_t>(op)].max_inputs; }

std::optional<OpType> op_type_from_name(std::string_view name) {
    for (size_t i = 0; i < kOps.size(); ++i)
        if (kOps[i].name == name) return static_cast<OpType>(i);
    return std::nullopt;
}

bool op_is_activation(OpType op) {
    switch (op) {
        case OpType::Relu:
        case OpType::LeakyRelu:
        case OpType::Sigmoid:
        case OpType::Tanh:
        case OpType::Softplus:
        case OpType::Mish:
        case OpType::Silu:
        case OpType::Clip: return true;
        default: return false;
    }
}

bool op_is_binary(OpType op) {
    return op == OpType::Add || op == OpType::Sub || op == OpType::Mul || op == OpType::Div;
}

}  // namespace engine
