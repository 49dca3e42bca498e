// Shapes: dims as int64 (ONNX's type), row-major, dim 0 is the batch where a tensor has one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

using Shape = std::vector<int64_t>;

// Product of dims (1 for a scalar shape {}). Throws engine::Error on a negative dim or when the product
// overflows int64 (engine/core/checked.h).
int64_t shape_numel(const Shape& s);
// Product of the dims after dim 0 (1 for rank 0 and 1): the elements of one sample. Checked the same way.
int64_t shape_sample_numel(const Shape& s);
// "[1,3,416,416]"
std::string shape_str(const Shape& s);
// Row-major strides in elements (checked: throws engine::Error when one overflows int64).
std::vector<int64_t> shape_strides(const Shape& s);

}  // namespace engine
