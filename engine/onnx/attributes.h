// Reading ONNX protobuf messages: node attributes (typed, with defaults) and TensorProto -> Tensor.
// Internal to engine/onnx (includes the libonnx-dev protobuf classes).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/tensor.h"

namespace engine::onnx {

// Typed access to the attributes of one node. Every getter throws engine::Error naming the attribute
// when it is present with another type (or, for the *_required getters, when it is absent).
class Attributes {
  public:
    explicit Attributes(const ::onnx::NodeProto& node) : node_(node) {}

    bool has(std::string_view name) const { return find(name) != nullptr; }
    int64_t get_int(std::string_view name, int64_t def) const;
    int64_t get_int_required(std::string_view name) const;
    float get_float(std::string_view name, float def) const;
    std::string get_string(std::string_view name, const std::string& def) const;
    std::vector<int64_t> get_ints(std::string_view name, std::vector<int64_t> def = {}) const;
    std::vector<int64_t> get_ints_required(std::string_view name) const;
    std::vector<float> get_floats(std::string_view name, std::vector<float> def = {}) const;
    // nullptr when absent.
    const ::onnx::TensorProto* get_tensor(std::string_view name) const;
    const ::onnx::AttributeProto* find(std::string_view name) const;

  private:
    const ::onnx::AttributeProto& expect(std::string_view name, int type) const;
    const ::onnx::NodeProto& node_;
};

// ONNX TensorProto element type -> engine DataType; throws naming `what` for types the engine does not
// hold (strings, complex, 16/32/64-bit unsigned, ...).
DataType dtype_from_onnx(int32_t elem_type, const std::string& what);
// "FLOAT", "INT64", ... (or the number when unknown).
std::string onnx_type_name(int32_t elem_type);
// Copies a TensorProto (raw_data or the typed repeated fields) into a Tensor. External data, segments
// and sizes that disagree with the dims throw, naming `what`.
Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& what);

}  // namespace engine::onnx
