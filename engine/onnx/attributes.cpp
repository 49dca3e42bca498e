#include "engine/onnx/attributes.h"

#include <cstring>

#include "engine/core/checked.h"
#include "engine/core/error.h"

namespace engine::onnx {
namespace {

using AttrType = ::onnx::AttributeProto;

std::string_view attr_type_name(int type) {
    switch (type) {
        case AttrType::FLOAT:
            return "FLOAT";
        case AttrType::INT:
            return "INT";
        case AttrType::STRING:
            return "STRING";
        case AttrType::TENSOR:
            return "TENSOR";
        case AttrType::GRAPH:
            return "GRAPH";
        case AttrType::FLOATS:
            return "FLOATS";
        case AttrType::INTS:
            return "INTS";
        case AttrType::STRINGS:
            return "STRINGS";
        case AttrType::TENSORS:
            return "TENSORS";
        case AttrType::GRAPHS:
            return "GRAPHS";
        default:
            return "UNDEFINED";
    }
}

// Attributes written without an explicit type field (old exporters) are recognised by which field is set.
int effective_type(const ::onnx::AttributeProto& a) {
    if (a.type() != AttrType::UNDEFINED) return a.type();
    if (a.has_f()) return AttrType::FLOAT;
    if (a.has_i()) return AttrType::INT;
    if (a.has_s()) return AttrType::STRING;
    if (a.has_t()) return AttrType::TENSOR;
    if (a.floats_size() > 0) return AttrType::FLOATS;
    if (a.ints_size() > 0) return AttrType::INTS;
    if (a.strings_size() > 0) return AttrType::STRINGS;
    return AttrType::UNDEFINED;
}

}  // namespace

const ::onnx::AttributeProto* Attributes::find(std::string_view name) const {
    for (const auto& a : node_.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

const ::onnx::AttributeProto& Attributes::expect(std::string_view name, int type) const {
    const auto* a = find(name);
    ENGINE_CHECK(a != nullptr, "required attribute '", name, "' is missing");
    ENGINE_CHECK(a->ref_attr_name().empty(), "attribute '", name,
                 "' refers to a function attribute (unsupported)");
    const int actual = effective_type(*a);
    // An empty list attribute may arrive with type UNDEFINED; accept it as an empty list.
    const bool empty_list =
        actual == AttrType::UNDEFINED && (type == AttrType::INTS || type == AttrType::FLOATS);
    ENGINE_CHECK(actual == type || empty_list, "attribute '", name, "' has type ", attr_type_name(actual),
                 ", expected ", attr_type_name(type));
    return *a;
}

int64_t Attributes::get_int(std::string_view name, int64_t def) const {
    return has(name) ? expect(name, AttrType::INT).i() : def;
}

int64_t Attributes::get_int_required(std::string_view name) const { return expect(name, AttrType::INT).i(); }

float Attributes::get_float(std::string_view name, float def) const {
    return has(name) ? expect(name, AttrType::FLOAT).f() : def;
}

std::string Attributes::get_string(std::string_view name, const std::string& def) const {
    return has(name) ? expect(name, AttrType::STRING).s() : def;
}

std::vector<int64_t> Attributes::get_ints(std::string_view name, std::vector<int64_t> def) const {
    if (!has(name)) return def;
    const auto& a = expect(name, AttrType::INTS);
    return {a.ints().begin(), a.ints().end()};
}

std::vector<int64_t> Attributes::get_ints_required(std::string_view name) const {
    const auto& a = expect(name, AttrType::INTS);
    return {a.ints().begin(), a.ints().end()};
}

std::vector<float> Attributes::get_floats(std::string_view name, std::vector<float> def) const {
    if (!has(name)) return def;
    const auto& a = expect(name, AttrType::FLOATS);
    return {a.floats().begin(), a.floats().end()};
}

const ::onnx::TensorProto* Attributes::get_tensor(std::string_view name) const {
    if (!has(name)) return nullptr;
    return &expect(name, AttrType::TENSOR).t();
}

std::string onnx_type_name(int32_t elem_type) {
    if (::onnx::TensorProto_DataType_IsValid(elem_type))
        return ::onnx::TensorProto_DataType_Name(static_cast<::onnx::TensorProto_DataType>(elem_type));
    return concat("type#", elem_type);
}

DataType dtype_from_onnx(int32_t elem_type, const std::string& what) {
    switch (elem_type) {
        case ::onnx::TensorProto::FLOAT:
            return DataType::F32;
        case ::onnx::TensorProto::FLOAT16:
            return DataType::F16;
        case ::onnx::TensorProto::BFLOAT16:
            return DataType::BF16;
        case ::onnx::TensorProto::DOUBLE:
            return DataType::F64;
        case ::onnx::TensorProto::INT64:
            return DataType::I64;
        case ::onnx::TensorProto::INT32:
            return DataType::I32;
        case ::onnx::TensorProto::INT8:
            return DataType::I8;
        case ::onnx::TensorProto::UINT8:
            return DataType::U8;
        case ::onnx::TensorProto::BOOL:
            return DataType::Bool;
        default:
            ENGINE_THROW(
                what, " has element type ", onnx_type_name(elem_type),
                ", which the engine does not support (float, float16, bfloat16, double, int64, int32, "
                "int8, uint8, bool)");
    }
}

Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& what) {
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
        std::string location;
        for (const auto& kv : t.external_data())
            if (kv.key() == "location") location = kv.value();
        ENGINE_THROW(what, " stores its data in an external file ('", location,
                     "'); external data is not supported: re-export the model with the weights embedded");
    }
    ENGINE_CHECK(!t.has_segment(), what, " is a segmented tensor (unsupported)");
    const DataType dt = dtype_from_onnx(t.data_type(), what);
    const Shape shape(t.dims().begin(), t.dims().end());
    // The element count is checked against the data the proto really holds before anything is
    // allocated: a few bytes of dims must not make the import allocate (or overflow computing) terabytes.
    constexpr int64_t kMaxElements = int64_t{1} << 48;
    const int64_t count = checked_numel(shape, what);
    ENGINE_CHECK(count <= kMaxElements, what, " has shape ", shape_str(shape), ", more than 2^48 elements");
    const auto n = static_cast<size_t>(count);
    if (t.has_raw_data()) {
        const size_t bytes = checked_bytes(count, dtype_size(dt), what);
        ENGINE_CHECK(t.raw_data().size() == bytes, what, ": raw_data holds ", t.raw_data().size(),
                     " bytes but shape ", shape_str(shape), " of ", dtype_name(dt), " needs ", bytes);
        Tensor out(dt, shape);
        if (n) std::memcpy(out.data(), t.raw_data().data(), out.bytes());
        return out;
    }
    auto check_count = [&](size_t have) {
        ENGINE_CHECK(have == n, what, " holds ", have, " values but shape ", shape_str(shape), " needs ", n);
    };
    switch (dt) {
        case DataType::F32:
            check_count(static_cast<size_t>(t.float_data_size()));
            break;
        case DataType::F64:
            check_count(static_cast<size_t>(t.double_data_size()));
            break;
        case DataType::I64:
            check_count(static_cast<size_t>(t.int64_data_size()));
            break;
        default:  // I32, and the 16- and 8-bit types (stored in int32_data)
            check_count(static_cast<size_t>(t.int32_data_size()));
            break;
    }
    Tensor out(dt, shape);
    switch (dt) {
        case DataType::F32:
            for (size_t i = 0; i < n; ++i) out.data_as<float>()[i] = t.float_data(static_cast<int>(i));
            break;
        case DataType::F64:
            for (size_t i = 0; i < n; ++i) out.data_as<double>()[i] = t.double_data(static_cast<int>(i));
            break;
        case DataType::I64:
            for (size_t i = 0; i < n; ++i) out.data_as<int64_t>()[i] = t.int64_data(static_cast<int>(i));
            break;
        case DataType::I32:
            for (size_t i = 0; i < n; ++i) out.data_as<int32_t>()[i] = t.int32_data(static_cast<int>(i));
            break;
        case DataType::F16:
        case DataType::BF16:
            // 16-bit floats travel as their bit patterns in int32_data.
            for (size_t i = 0; i < n; ++i)
                out.data_as<uint16_t>()[i] = static_cast<uint16_t>(t.int32_data(static_cast<int>(i)));
            break;
        case DataType::I8:
        case DataType::U8:
        case DataType::Bool:
            for (size_t i = 0; i < n; ++i)
                out.data_as<uint8_t>()[i] = static_cast<uint8_t>(t.int32_data(static_cast<int>(i)));
            break;
    }
    return out;
}

}  // namespace engine::onnx
