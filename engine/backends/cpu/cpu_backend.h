// CPU backends: "reference" (engine/refmath's plain C++, every IR op, FP32: the oracle) and, when built with
// oneDNN (RTDET_WITH_ONEDNN=1), "onednn" (fast kernels for the ops it claims, FP32 and BF16).
#pragma once

#include <memory>
#include <string>

#include "engine/backends/backend.h"

namespace engine {

std::unique_ptr<Backend> make_reference_backend();

// --- oneDNN (defined only in builds with RTDET_WITH_ONEDNN=1) ---

// The "onednn" backend: Conv (fused activations, residual), MaxPool, nearest Resize, channel
// Concat, activations, same-shape Add/Mul, BatchNorm and Reorder; FP32, and BF16 where the CPU has
// AVX512-BF16 or AMX. Its device signature names the ISA oneDNN uses ("cpu x86_64 onednn
// avx512_core_amx"), so a plan built here refuses to load on a CPU that would pick other kernels.
std::unique_ptr<Backend> make_onednn_backend();
// The instruction set oneDNN dispatches to on this CPU ("avx512_core_amx", "avx2", ...), after
// DNNL_MAX_CPU_ISA.
std::string onednn_cpu_isa();
// Whether oneDNN has native BF16 kernels here (AVX512-BF16 or AMX): BF16 precision is offered only
// then.
bool onednn_cpu_has_bf16();
// Whether oneDNN has native INT8 convolutions here (VNNI, AVX-VNNI or AMX): INT8 is offered only then.
bool onednn_cpu_has_int8();

}  // namespace engine
