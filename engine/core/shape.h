// Shapes: dims as int64 (ONNX's type), row-major, dim 0 is the batch where a tensor has one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

using Shape = std::vector<int64_t>;

// Product of dims (1 for a scalar shape {}).
int64_t shape_numel(const Shape& s);
// "[1,3,416,416]"
std::string shape_str(const Shape& s);
// Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& s);

}  // namespace engine
