// BuildOptions for a device, precision and max batch, the three settings most engine tests vary.
#pragma once

#include <string>

#include "engine/builder/build_options.h"

namespace testing_util {

inline engine::BuildOptions build_options(const std::string& device,
                                          engine::Precision precision = engine::Precision::FP32,
                                          int max_batch = 1) {
    engine::BuildOptions o;
    o.device = device;
    o.precision = precision;
    o.max_batch = max_batch;
    return o;
}

}  // namespace testing_util
