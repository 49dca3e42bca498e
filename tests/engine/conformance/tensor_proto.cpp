#include "tests/engine/conformance/tensor_proto.h"

#include <cstring>
#include <fstream>

#include "engine/core/error.h"

namespace conformance {
namespace {

template <typename Proto>
Proto read_proto(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    ENGINE_CHECK(in, path, ": cannot open ", what);
    Proto proto;
    ENGINE_CHECK(proto.ParseFromIstream(&in), path, ": not a valid ", what);
    return proto;
}

// Engine DataType for an ONNX element type; false when the engine has none.
bool engine_dtype(int onnx_dtype, engine::DataType* out) {
    using P = onnx::TensorProto;
    switch (onnx_dtype) {
        case P::FLOAT:
            *out = engine::DataType::F32;
            return true;
        case P::FLOAT16:
            *out = engine::DataType::F16;
            return true;
        case P::BFLOAT16:
            *out = engine::DataType::BF16;
            return true;
        case P::DOUBLE:
            *out = engine::DataType::F64;
            return true;
        case P::INT64:
            *out = engine::DataType::I64;
            return true;
        case P::INT32:
            *out = engine::DataType::I32;
            return true;
        case P::INT8:
            *out = engine::DataType::I8;
            return true;
        case P::UINT8:
            *out = engine::DataType::U8;
            return true;
        case P::BOOL:
            *out = engine::DataType::Bool;
            return true;
        default:
            return false;
    }
}

// Stores `count` values converted to the element type of `t` (int32_data holds every narrow type;
// FLOAT16 / BFLOAT16 arrive as their 16-bit patterns).
template <typename Src>
void store_typed(engine::Tensor& t, const Src* src, int64_t count) {
    void* dst = t.data();
    for (int64_t i = 0; i < count; ++i) {
        switch (t.dtype()) {
            case engine::DataType::F32:
                static_cast<float*>(dst)[i] = static_cast<float>(src[i]);
                break;
            case engine::DataType::F64:
                static_cast<double*>(dst)[i] = static_cast<double>(src[i]);
                break;
            case engine::DataType::I64:
                static_cast<int64_t*>(dst)[i] = static_cast<int64_t>(src[i]);
                break;
            case engine::DataType::I32:
                static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(src[i]);
                break;
            case engine::DataType::I8:
                static_cast<int8_t*>(dst)[i] = static_cast<int8_t>(src[i]);
                break;
            case engine::DataType::U8:
                static_cast<uint8_t*>(dst)[i] = static_cast<uint8_t>(src[i]);
                break;
            case engine::DataType::Bool:
                static_cast<uint8_t*>(dst)[i] = src[i] != 0 ? 1 : 0;
                break;
            case engine::DataType::F16:
            case engine::DataType::BF16:
                static_cast<uint16_t*>(dst)[i] = static_cast<uint16_t>(src[i]);
                break;
        }
    }
}

}  // namespace

onnx::TensorProto read_tensor_proto(const std::string& path) {
    return read_proto<onnx::TensorProto>(path, "TensorProto");
}

onnx::ModelProto read_model_proto(const std::string& path) {
    return read_proto<onnx::ModelProto>(path, "ModelProto");
}

std::string onnx_dtype_name(int onnx_dtype) {
    if (!onnx::TensorProto_DataType_IsValid(onnx_dtype)) return engine::concat("<dtype ", onnx_dtype, ">");
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnx_dtype));
}

engine::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& source) {
    using P = onnx::TensorProto;
    engine::DataType dtype{};
    ENGINE_CHECK(engine_dtype(proto.data_type(), &dtype), source, ": element type ",
                 onnx_dtype_name(proto.data_type()), " has no engine DataType");
    ENGINE_CHECK(proto.data_location() != P::EXTERNAL, source, ": external data is not supported here");
    ENGINE_CHECK(!proto.has_segment(), source, ": segmented tensors are not supported here");

    engine::Shape shape(proto.dims().begin(), proto.dims().end());
    for (int64_t d : shape) ENGINE_CHECK(d >= 0, source, ": negative dim in ", engine::shape_str(shape));
    engine::Tensor t(dtype, shape);
    const int64_t n = t.numel();

    if (proto.has_raw_data()) {
        ENGINE_CHECK(proto.raw_data().size() == t.bytes(), source, ": raw_data has ", proto.raw_data().size(),
                     " bytes, expected ", t.bytes(), " for ", engine::dtype_name(dtype),
                     engine::shape_str(shape));
        if (t.bytes() > 0) std::memcpy(t.data(), proto.raw_data().data(), t.bytes());
        if (dtype == engine::DataType::Bool) store_typed(t, t.data_as<uint8_t>(), n);  // normalize to 0/1
        return t;
    }

    auto check_count = [&](int64_t got, const char* field) {
        ENGINE_CHECK(got == n, source, ": ", field, " has ", got, " values, expected ", n, " for ",
                     engine::shape_str(shape));
    };
    switch (proto.data_type()) {
        case P::FLOAT:
            check_count(proto.float_data_size(), "float_data");
            store_typed(t, proto.float_data().data(), n);
            break;
        case P::DOUBLE:
            check_count(proto.double_data_size(), "double_data");
            store_typed(t, proto.double_data().data(), n);
            break;
        case P::INT64:
            check_count(proto.int64_data_size(), "int64_data");
            store_typed(t, proto.int64_data().data(), n);
            break;
        default:  // INT32, INT8, UINT8, BOOL, FLOAT16, BFLOAT16 all live in int32_data
            check_count(proto.int32_data_size(), "int32_data");
            store_typed(t, proto.int32_data().data(), n);
            break;
    }
    return t;
}

}  // namespace conformance
