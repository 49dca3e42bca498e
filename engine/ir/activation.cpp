#include "engine/ir/activation.h"

#include "engine/core/error.h"

namespace engine {

Act activation_of(OpType op, const UnaryParams& p) {
    ENGINE_CHECK(op_is_activation(op), "op ", op_type_name(op), " is not an activation");
    return op_activation(op, p);
}

}  // namespace engine
