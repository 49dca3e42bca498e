#include "engine/builder/build_options.h"

#include "engine/core/error.h"

namespace engine {

std::string_view precision_name(Precision p) {
    switch (p) {
        case Precision::FP32:
            return "fp32";
        case Precision::FP16:
            return "fp16";
        case Precision::BF16:
            return "bf16";
        case Precision::Best:
            return "best";
        case Precision::INT8:
            return "int8";
    }
    return "?";
}

Precision precision_from_name(std::string_view s) {
    for (Precision p : {Precision::FP32, Precision::FP16, Precision::BF16, Precision::Best, Precision::INT8})
        if (precision_name(p) == s) return p;
    ENGINE_THROW("unknown precision '", s, "' (expected fp32, fp16, bf16, int8 or best)");
}

}  // namespace engine
