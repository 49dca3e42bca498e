// CPU backends: "reference" (plain C++, every IR op, FP32: the oracle) and, when built with oneDNN,
// "onednn" (fast kernels for the ops it claims, FP32 and BF16).
#pragma once

#include <memory>

#include "engine/runtime/backend.h"

namespace engine {

std::unique_ptr<Backend> make_reference_backend();

}  // namespace engine
