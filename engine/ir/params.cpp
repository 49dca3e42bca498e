#include "engine/ir/params.h"

#include <cmath>

namespace engine {

std::string snake_case(std::string_view camel) {
    std::string s;
    for (size_t i = 0; i < camel.size(); ++i) {
        const char c = camel[i];
        if (c >= 'A' && c <= 'Z') {
            if (i > 0) s += '_';
            s += static_cast<char>(c - 'A' + 'a');
        } else {
            s += c;
        }
    }
    return s;
}

#define ENGINE_PARAMS_NAME(Name) , #Name
namespace {
constexpr std::string_view kParamsNames[] = {"None" ENGINE_PARAMS_LIST(ENGINE_PARAMS_NAME)};
static_assert(std::size(kParamsNames) == std::variant_size_v<OpParams>);
}  // namespace

std::string_view params_kind_key(size_t index) {
    static const auto keys = [] {
        std::vector<std::string> k;
        for (std::string_view n : kParamsNames) k.push_back(snake_case(n));
        return k;
    }();
    return index < keys.size() ? std::string_view(keys[index]) : std::string_view("?");
}

std::optional<size_t> params_index_of_key(std::string_view key) {
    for (size_t i = 0; i < std::size(kParamsNames); ++i)
        if (params_kind_key(i) == key) return i;
    return std::nullopt;
}

int64_t resize_nearest_source(const ResizeParams& p, double scale, int64_t o, int64_t in, int64_t out) {
    const double od = static_cast<double>(o);
    double x = 0.0;
    switch (p.coord) {
        case ResizeCoord::HalfPixel:
            x = (od + 0.5) / scale - 0.5;
            break;
        case ResizeCoord::Asymmetric:
            x = od / scale;
            break;
        case ResizeCoord::AlignCorners:
            x = out > 1 ? od * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
            break;
        case ResizeCoord::PytorchHalfPixel:
            x = out > 1 ? (od + 0.5) / scale - 0.5 : 0.0;
            break;
        case ResizeCoord::TfHalfPixelForNearest:
            x = (od + 0.5) / scale;
            break;
    }
    const double fl = std::floor(x);
    const double frac = x - fl;
    double i = fl;
    switch (p.nearest) {
        case ResizeNearest::RoundPreferFloor:
            i = frac <= 0.5 ? fl : fl + 1.0;
            break;
        case ResizeNearest::RoundPreferCeil:
            i = frac < 0.5 ? fl : fl + 1.0;
            break;
        case ResizeNearest::Floor:
            i = fl;
            break;
        case ResizeNearest::Ceil:
            i = std::ceil(x);
            break;
    }
    if (i < 0.0) return 0;
    if (i > static_cast<double>(in - 1)) return in - 1;
    return static_cast<int64_t>(i);
}

}  // namespace engine
