#include "engine/ir/layout.h"

#include "engine/core/error.h"

namespace engine {

std::string_view layout_name(Layout l) {
    switch (l) {
        case Layout::Plain:
            return "plain";
        case Layout::Blocked16:
            return "blocked16";
        case Layout::NHWC:
            return "nhwc";
    }
    return "?";
}

Layout layout_from_name(std::string_view name) {
    for (Layout l : {Layout::Plain, Layout::Blocked16, Layout::NHWC})
        if (layout_name(l) == name) return l;
    ENGINE_THROW("unknown layout '", name, "' (expected plain, blocked16 or nhwc)");
}

int64_t storage_sample_numel(const Shape& shape, Layout layout) {
    int64_t n = 1;
    for (size_t d = 1; d < shape.size(); ++d) {
        int64_t dim = shape[d];
        if (d == 1 && layout == Layout::Blocked16)
            dim = (dim + kBlockedChannels - 1) / kBlockedChannels * kBlockedChannels;
        n *= dim;
    }
    return n;
}

int64_t storage_numel(const Shape& shape, Layout layout) {
    if (shape.empty()) return 1;
    return shape[0] * storage_sample_numel(shape, layout);
}

}  // namespace engine
