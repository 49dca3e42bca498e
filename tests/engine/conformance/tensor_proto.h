// Test-side reader of ONNX TensorProto files (the input_<i>.pb / output_<i>.pb of ONNX's node
// conformance cases) into engine::Tensor. Independent of the importer on purpose: the conformance
// driver must not check the importer against its own initializer decoding.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "engine/core/tensor.h"

namespace conformance {

// Parses a serialized TensorProto file; throws engine::Error naming the path when unreadable.
onnx::TensorProto read_tensor_proto(const std::string& path);
// Parses a serialized ModelProto file; throws engine::Error naming the path when unreadable.
onnx::ModelProto read_model_proto(const std::string& path);

// Decodes raw_data or the typed fields (float_data, int32_data, int64_data, double_data,
// uint64_data) per onnx.proto. Throws engine::Error (naming `source`) for element types the engine
// has no DataType for (STRING, UINT16/32/64, INT16, complex), external data, segments, or a value
// count that does not match the dims.
engine::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& source);

// ONNX TensorProto::DataType name ("FLOAT", "INT64", ...) for messages.
std::string onnx_dtype_name(int onnx_dtype);

}  // namespace conformance
