// Element types of tensors in the IR, the plan and the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace engine {

enum class DataType : uint8_t { F32, F16, BF16, F64, I64, I32, I8, U8, Bool };

size_t dtype_size(DataType dt);
std::string_view dtype_name(DataType dt);  // "f32", "f16", ...
// Parses dtype_name() output; throws engine::Error on an unknown name.
DataType dtype_from_name(std::string_view name);
inline bool is_float(DataType dt) {
    return dt == DataType::F32 || dt == DataType::F16 || dt == DataType::BF16 || dt == DataType::F64;
}

}  // namespace engine
