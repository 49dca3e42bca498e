#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/ir/op_list.h"

namespace engine {

enum class OpType : uint16_t {
#define ENGINE_X(name, lo, hi) name,
    ENGINE_OP_LIST(ENGINE_X)
#undef ENGINE_X
        Count
};

std::string_view op_type_name(OpType op);
std::optional<OpType> op_type_from_name(std::string_view name);
int op_min_inputs(OpType op);
int op_max_inputs(OpType op);
// Elementwise unary activations (Relu ... Clip): what fuse_conv_act can fold into a Conv.
bool op_is_activation(OpType op);
bool op_is_binary(OpType op);  // Add Sub Mul Div (numpy broadcasting)

}  // namespace engine
