// Activation loops for the reference kernels: one loop per ActKind, so apply_act's switch is
// resolved outside the loop. Internal to engine/refmath.
#pragma once

#include <cstdint>

#include "engine/ir/params.h"

namespace engine::ref {

template <ActKind K>
void act_loop(const Act& a, float* p, int64_t n) {
    const Act k{K, a.alpha, a.beta};
    for (int64_t i = 0; i < n; ++i) p[i] = apply_act(k, p[i]);
}

// p[i] = apply_act(a, p[i]) for i < n.
inline void act_inplace(const Act& a, float* p, int64_t n) {
    switch (a.kind) {
        case ActKind::None:
            return;
#define ENGINE_ACT_CASE(Name, ...) \
    case ActKind::Name:            \
        return act_loop<ActKind::Name>(a, p, n);
            ENGINE_ACTIVATION_LIST(ENGINE_ACT_CASE)
#undef ENGINE_ACT_CASE
    }
}

}  // namespace engine::ref
