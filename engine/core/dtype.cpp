#include "engine/core/dtype.h"

#include <array>

#include "engine/core/error.h"

namespace engine {
namespace {
struct DtypeInfo {
    DataType dt;
    std::string_view name;
    size_t size;
};
constexpr std::array<DtypeInfo, 9> kDtypes = {{
    {DataType::F32, "f32", 4},
    {DataType::F16, "f16", 2},
    {DataType::BF16, "bf16", 2},
    {DataType::F64, "f64", 8},
    {DataType::I64, "i64", 8},
    {DataType::I32, "i32", 4},
    {DataType::I8, "i8", 1},
    {DataType::U8, "u8", 1},
    {DataType::Bool, "bool", 1},
}};
}  // namespace

size_t dtype_size(DataType dt) { return kDtypes[static_cast<size_t>(dt)].size; }
std::string_view dtype_name(DataType dt) { return kDtypes[static_cast<size_t>(dt)].name; }

DataType dtype_from_name(std::string_view name) {
    for (const auto& d : kDtypes)
        if (d.name == name) return d.dt;
    ENGINE_THROW("unknown data type '", name, "'");
}

}  // namespace engine
