// Turning what the user names on the command line into an ONNX model or a plan. The logic lives in
// detector/plan_cache.h (shared with the Detector's plan cache); these names keep the app's commands short.
#pragma once

#include "detector/plan_cache.h"

namespace app {

using detector::cache_dir;
using detector::default_plan_path;
using detector::load_or_build_plan;
using detector::resolve_onnx_model;

}  // namespace app
