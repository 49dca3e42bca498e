#include "engine/core/shape.h"

#include "engine/core/checked.h"

namespace engine {

int64_t shape_numel(const Shape& s) { return checked_numel(s, "shape"); }

int64_t shape_sample_numel(const Shape& s) {
    return s.empty() ? 1 : checked_numel(std::span<const int64_t>(s).subspan(1), "sample of shape");
}

std::string shape_str(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += ",";
        out += std::to_string(s[i]);
    }
    return out + "]";
}

std::vector<int64_t> shape_strides(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t i = s.size(); i-- > 1;) st[i - 1] = checked_mul(st[i], s[i], "row-major stride");
    return st;
}

}  // namespace engine
