#include "engine/ir/params.h"

namespace engine {

std::string_view act_kind_name(ActKind k) {
    switch (k) {
        case ActKind::None: return "None";
        case ActKind::Relu: return "Relu";
        case ActKind::LeakyRelu: return "LeakyRelu";
        case ActKind::Sigmoid: return "Sigmoid";
        case ActKind::Tanh: return "Tanh";
        case ActKind::Softplus: return "Softplus";
        case ActKind::Mish: return "Mish";
        case ActKind::Silu: return "Silu";
        case ActKind::Clip: return "Clip";
    }
    return "?";
}

}  // namespace engine
