// The backends this build of rtdet has, by name and per device, in priority order. The one place that
// knows which backends were compiled in.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backends/backend.h"

namespace engine {

// Names of the backends in this build, in priority order (fastest first, "reference" last).
std::vector<std::string> available_backends();
// A new instance of the named backend; nullptr when this build does not have it.
std::unique_ptr<Backend> make_backend(std::string_view name);
// The backends that may run nodes for a BuildOptions::device, in priority order:
//   "cpu": onednn (when built with it), then reference;   "reference": reference only.
// Throws engine::Error for a device this build lacks ("device 'cuda' not available in this build") or
// an unknown one.
std::vector<std::unique_ptr<Backend>> make_device_backends(const std::string& device);

}  // namespace engine
