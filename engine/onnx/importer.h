// ONNX import: ModelProto (protobuf classes of libonnx-dev) -> engine::Graph with inferred shapes.
//
// Supported: opsets 9-17 of the default domain, the ops listed in engine/onnx/op_importers.cpp.
// Constant Shape/Gather/Unsqueeze/Squeeze/Concat/Cast/Slice/arithmetic chains are evaluated at
// import (engine/onnx/const_eval.cpp) and become constants. Anything unsupported or malformed throws
// engine::Error with one line naming the file, node, op, opset and reason; a checker pass first lists
// every unsupported op of the model in one message.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "engine/ir/graph.h"

namespace engine::onnx {

struct ImportOptions {
    // When > 0, dim 0 of every graph input is set to this (the plan's max batch), whatever the model
    // says (a fixed 1 or a symbolic name).
    int batch = 0;
    // Full shapes for named inputs, overriding the model (needed for symbolic non-batch dims).
    std::map<std::string, Shape> input_shapes;
};

Graph import_file(const std::string& path, const ImportOptions& options = {});
// `source` names the model in errors.
Graph import_bytes(const void* data, size_t size, const std::string& source,
                   const ImportOptions& options = {});

}  // namespace engine::onnx
