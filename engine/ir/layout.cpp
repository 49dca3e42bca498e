#include "engine/ir/layout.h"

#include "engine/core/checked.h"
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
    if (layout != Layout::Blocked16 || shape.size() < 2) return shape_sample_numel(shape);
    Shape s(shape.begin() + 1, shape.end());
    s[0] = checked_add(s[0], kBlockedChannels - 1, "blocked channels") / kBlockedChannels * kBlockedChannels;
    return checked_numel(s, "blocked sample");
}

int64_t storage_numel(const Shape& shape, Layout layout) {
    if (shape.empty()) return 1;
    return checked_mul(shape[0], storage_sample_numel(shape, layout), "stored element count");
}

}  // namespace engine
