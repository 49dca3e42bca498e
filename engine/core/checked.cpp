#include "engine/core/checked.h"

#include "engine/core/error.h"
#include "engine/core/shape.h"

namespace engine::detail {

void checked_overflow(std::string_view what, int64_t a, char op, int64_t b) {
    ENGINE_THROW(what, ": ", a, " ", op, " ", b, " overflows int64");
}

void checked_numel_fail(std::string_view what, std::span<const int64_t> dims) {
    const Shape s(dims.begin(), dims.end());
    for (int64_t d : dims) ENGINE_CHECK(d >= 0, what, " ", shape_str(s), " has a negative dim ", d);
    ENGINE_THROW(what, " ", shape_str(s), ": the element count overflows int64");
}

void checked_bytes_fail(std::string_view what, int64_t numel, size_t elem_size) {
    ENGINE_CHECK(numel >= 0, what, ": negative element count ", numel);
    ENGINE_THROW(what, ": ", numel, " elements of ", elem_size, " bytes overflow int64");
}

}  // namespace engine::detail
