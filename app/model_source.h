// Turning what the user names on the command line into an ONNX model or a plan.
#pragma once

#include <string>

#include "engine/plan/build_options.h"
#include "engine/plan/plan.h"

namespace app {

// The cache folder for converted models and plans: $RTDET_CACHE, else $XDG_CACHE_HOME/rtdet, else
// ~/.cache/rtdet (created on demand).
std::string cache_dir();
// MODEL.onnx -> itself; MODEL.cfg -> converted (with MODEL.weights beside it) to a cached ONNX file,
// reconverted when the cfg or weights change. Throws engine::Error naming the missing file.
std::string resolve_onnx_model(const std::string& model);
// "<dir>/<stem>.<device>.<precision>.plan" beside the model.
std::string default_plan_path(const std::string& onnx, const std::string& device, const std::string& precision);
// A .plan file is loaded; anything else is resolved to ONNX and built in memory with `options`.
engine::Plan load_or_build_plan(const std::string& model, const engine::BuildOptions& options);

}  // namespace app
