// Resize (nearest) on oneDNN's resampling_nearest. For an integer factor F = out / in, oneDNN
// reads input index round((o + 0.5) / F - 0.5) = floor(o / F) (the fraction (j + 0.5) / F - 0.5 of
// o = k*F + j lies strictly inside (-0.5, 0.5), so no rounding tie occurs). The node is claimed only
// when N and C are unchanged, H and W scale by integers, and the IR's own index rule (coordinate
// mode + nearest mode, params.h) gives floor(o / F) for every output index: true for half_pixel
// and pytorch_half_pixel with any rounding, and for asymmetric with floor (or round_prefer_floor
// at F = 2: darknet/ONNX Upsample); false for align_corners, so those stay on the reference.
#include <cmath>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"

namespace engine::onednn {
namespace {

// The IR's input index for output index o (params.h ResizeParams formulas).
int64_t ir_source_index(const ResizeParams& p, double scale, int64_t o, int64_t in, int64_t out) {
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

}  // namespace

bool resize_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ResizeParams>(&node.params);
    if (p == nullptr || node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not a Resize");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    if (p->scales.size() != 4 || p->scales[0] != 1.f || p->scales[1] != 1.f || x[0] != y[0] || x[1] != y[1])
        return reject(why, "scales N or C");
    for (size_t d = 2; d < 4; ++d) {
        if (x[d] < 1 || y[d] % x[d] != 0) return reject(why, "non-integer H/W scale");
        const int64_t f = y[d] / x[d];
        for (int64_t o = 0; o < y[d]; ++o)
            if (ir_source_index(*p, p->scales[d], o, x[d], y[d]) != o / f)
                return reject(why, "index rule differs from oneDNN's nearest (floor(o / scale))");
    }
    return true;
}

std::unique_ptr<Kernel> make_resize_kernel(const Graph& g, NodeId n) {
    return make_fn_kernel(g, n, [](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        dnnl::resampling_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest, ins[0], outs[0]},
            base_attr(), cpu_engine());
        add_step<dnnl::resampling_forward>(plan, pd,
                                           {{DNNL_ARG_SRC, ArgSource::Input, 0, ins[0], nullptr},
                                            {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
