#include "engine/ir/op_type.h"

#include <array>

namespace engine {
namespace {

enum ParamsRule : bool { Req = false, Opt = true };

constexpr std::array<OpDesc, static_cast<size_t>(OpType::Count)> kOps = {{
#define ENGINE_X(Name, in_lo, in_hi, out_lo, out_hi, Params, rule, shape, attr_a, attr_b)       \
    {#Name,  in_lo, in_hi, out_lo, out_hi, params_index<Params>(), rule, act_kind_named(#Name), \
     attr_a, attr_b},
    ENGINE_OP_LIST(ENGINE_X)
#undef ENGINE_X
}};

// Every activation op is an ActKind of the same name, in the same order.
constexpr bool activations_match() {
    size_t k = 1;
    for (const OpDesc& d : kOps)
        if (d.act != ActKind::None && static_cast<size_t>(d.act) != k++) return false;
    return k == std::size(EnumNames<ActKind>::names);
}
static_assert(activations_match());

}  // namespace

const OpDesc& op_desc(OpType op) { return kOps[static_cast<size_t>(op)]; }

std::string_view op_type_name(OpType op) {
    return op < OpType::Count ? kOps[static_cast<size_t>(op)].name : std::string_view("?");
}
int op_min_inputs(OpType op) { return op_desc(op).min_inputs; }
int op_max_inputs(OpType op) { return op_desc(op).max_inputs; }

std::optional<OpType> op_type_from_name(std::string_view name) {
    for (size_t i = 0; i < kOps.size(); ++i)
        if (kOps[i].name == name) return static_cast<OpType>(i);
    return std::nullopt;
}

bool op_params_match(OpType op, const OpParams& params) {
    if (op >= OpType::Count) return false;
    const OpDesc& d = op_desc(op);
    return params.index() == d.params || (d.params_optional && params.index() == params_index<NoParams>());
}

bool op_is_activation(OpType op) { return op < OpType::Count && op_desc(op).act != ActKind::None; }

bool op_is_quantization(OpType op) {
    return op < OpType::Count && op_desc(op).params == params_index<QuantParams>();
}

Act op_activation(OpType op, const UnaryParams& p) {
    if (!op_is_activation(op)) return {};
    const OpDesc& d = op_desc(op);
    return {d.act, d.attr_a.empty() ? 0.f : p.alpha, d.attr_b.empty() ? 0.f : p.beta};
}

}  // namespace engine
