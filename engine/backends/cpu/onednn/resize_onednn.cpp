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
            if (resize_nearest_source(*p, p->scales[d], o, x[d], y[d]) != o / f)
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
