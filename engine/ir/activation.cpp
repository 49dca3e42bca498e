#include "engine/ir/activation.h"

#include "engine/core/error.h"

namespace engine {

Act activation_of(OpType op, const UnaryParams& p) {
    switch (op) {
        case OpType::Relu:
            return {ActKind::Relu, 0.f, 0.f};
        case OpType::LeakyRelu:
            return {ActKind::LeakyRelu, p.alpha, 0.f};
        case OpType::Sigmoid:
            return {ActKind::Sigmoid, 0.f, 0.f};
        case OpType::Tanh:
            return {ActKind::Tanh, 0.f, 0.f};
        case OpType::Softplus:
            return {ActKind::Softplus, 0.f, 0.f};
        case OpType::Mish:
            return {ActKind::Mish, 0.f, 0.f};
        case OpType::Silu:
            return {ActKind::Silu, 0.f, 0.f};
        case OpType::Clip:
            return {ActKind::Clip, p.alpha, p.beta};
        default:
            ENGINE_THROW("op ", op_type_name(op), " is not an activation");
    }
}

}  // namespace engine
