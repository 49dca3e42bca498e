#include "engine/ir/params.h"

#include <cmath>

namespace engine {

std::string_view act_kind_name(ActKind k) {
    switch (k) {
        case ActKind::None:
            return "None";
        case ActKind::Relu:
            return "Relu";
        case ActKind::LeakyRelu:
            return "LeakyRelu";
        case ActKind::Sigmoid:
            return "Sigmoid";
        case ActKind::Tanh:
            return "Tanh";
        case ActKind::Softplus:
            return "Softplus";
        case ActKind::Mish:
            return "Mish";
        case ActKind::Silu:
            return "Silu";
        case ActKind::Clip:
            return "Clip";
    }
    return "?";
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
