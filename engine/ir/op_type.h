// OpType and its descriptor: what engine/ir/op_list.h says about each op, looked up by op_desc().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/ir/op_list.h"
#include "engine/ir/params.h"

namespace engine {

enum class OpType : uint16_t {
#define ENGINE_X(Name, ...) Name,
    ENGINE_OP_LIST(ENGINE_X)
#undef ENGINE_X
        Count
};

// One row of ENGINE_OP_LIST.
struct OpDesc {
    std::string_view name;  // "LeakyRelu": the IR's, plans' and dumps' name of the op
    int min_inputs = 0;
    int max_inputs = 0;
    int min_outputs = 0;
    int max_outputs = 0;
    size_t params = 0;             // index of the OpParams alternative it carries
    bool params_optional = false;  // may carry NoParams instead
    ActKind act = ActKind::None;   // the activation it applies elementwise; None: not an activation
    std::string_view attr_a;       // UnaryParams ops: what alpha means ("alpha", "min"); "" unused
    std::string_view attr_b;       // UnaryParams ops: what beta means ("max"); "" unused
};

// The descriptor of op (an op < OpType::Count).
const OpDesc& op_desc(OpType op);

std::string_view op_type_name(OpType op);
std::optional<OpType> op_type_from_name(std::string_view name);
int op_min_inputs(OpType op);
int op_max_inputs(OpType op);
// Whether `params` is an alternative op may carry (verify, backends' supports()).
bool op_params_match(OpType op, const OpParams& params);
// Elementwise unary activations (ENGINE_ACTIVATION_LIST): what fuse_conv_act can fold into a Conv.
bool op_is_activation(OpType op);
// The quantization ops (QuantParams: QuantizeLinear, DequantizeLinear, FakeQuant): the ops whose
// inputs or outputs may be integer tensors; their shape rules check every operand's dtype.
bool op_is_quantization(OpType op);
// The Act an activation op applies: its ActKind and the UnaryParams fields it reads (others zero).
// ActKind::None for an op that is not an activation.
Act op_activation(OpType op, const UnaryParams& p);

}  // namespace engine
