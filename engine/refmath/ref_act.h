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
        case ActKind::Relu:
            return act_loop<ActKind::Relu>(a, p, n);
        case ActKind::LeakyRelu:
            return act_loop<ActKind::LeakyRelu>(a, p, n);
        case ActKind::Sigmoid:
            return act_loop<ActKind::Sigmoid>(a, p, n);
        case ActKind::Tanh:
            return act_loop<ActKind::Tanh>(a, p, n);
        case ActKind::Softplus:
            return act_loop<ActKind::Softplus>(a, p, n);
        case ActKind::Mish:
            return act_loop<ActKind::Mish>(a, p, n);
        case ActKind::Silu:
            return act_loop<ActKind::Silu>(a, p, n);
        case ActKind::Clip:
            return act_loop<ActKind::Clip>(a, p, n);
    }
}

}  // namespace engine::ref
