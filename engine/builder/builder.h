// Builder: ONNX model -> optimized Plan (TensorRT's IBuilder + buildSerializedNetwork).
//   import (engine/onnx) -> passes (engine/passes) -> backend assignment and precision ->
//   weight packing -> memory planning -> serialization.
#pragma once

#include <string>

#include "engine/builder/build_options.h"
#include "engine/plan/plan.h"

namespace engine {

class Graph;  // engine/ir/graph.h (internal: not installed)

// Throws engine::Error naming the file / node on any failure.
Plan build_plan_from_onnx(const std::string& onnx_path, const BuildOptions& options);
// From an already imported graph (tests build graphs in code). model_sha256 is recorded as given.
Plan build_plan(Graph graph, const BuildOptions& options, const std::string& model_name,
                const std::string& model_sha256);

}  // namespace engine
