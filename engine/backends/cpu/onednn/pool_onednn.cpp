// MaxPool on oneDNN (pooling_v2, which has dilation). oneDNN's max pooling ignores padded
// positions, as the IR requires. The IR output size (floor or ceil mode, ONNX's rule of dropping a
// window that would start in the end padding) is given by shape inference; oneDNN computes
// out = floor((in + pad_l + pad_r - ext) / stride) + 1, so the end padding is adjusted to the
// smallest pad_r >= 0 that gives the IR's size:
//   pad_r' = max(0, (out - 1) * stride + ext - in - pad_l),   ext = dilation * (kernel - 1) + 1
// (ceil mode adds end padding that only extends the last window, which then ignores it).
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"

namespace engine::onednn {
namespace {

struct PoolGeometry {
    dnnl::memory::dims kernel, strides, dilation, pad_l, pad_r;
};

// False when no pad_r >= 0 reproduces the IR's output size.
bool pool_geometry(const MaxPoolParams& p, const Shape& x, const Shape& y, PoolGeometry& out) {
    out = {};
    for (int d = 0; d < 2; ++d) {
        const int64_t in = x[2 + static_cast<size_t>(d)];
        const int64_t o = y[2 + static_cast<size_t>(d)];
        const int64_t ext = static_cast<int64_t>(p.dilation[d]) * (p.kernel[d] - 1) + 1;
        const int64_t pl = p.pads[d];
        const int64_t pr = std::max<int64_t>(0, (o - 1) * p.stride[d] + ext - in - pl);
        if ((in + pl + pr - ext) < 0 || (in + pl + pr - ext) / p.stride[d] + 1 != o) return false;
        // oneDNN also wants each padding smaller than the window.
        if (pl >= ext || pr >= ext) return false;
        out.kernel.push_back(p.kernel[d]);
        out.strides.push_back(p.stride[d]);
        out.dilation.push_back(p.dilation[d] - 1);
        out.pad_l.push_back(pl);
        out.pad_r.push_back(pr);
    }
    return true;
}

}  // namespace

bool pool_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<MaxPoolParams>(&node.params);
    if (p == nullptr || node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not a MaxPool");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    PoolGeometry geo;
    const Shape& xs = g.value(node.inputs[0]).desc.shape;
    const Shape& ys = g.value(node.outputs[0]).desc.shape;
    if (!pool_geometry(*p, xs, ys, geo)) return reject(why, "padding not expressible for oneDNN pooling");
    try {
        const auto f32 = dnnl::memory::data_type::f32;
        const dnnl::memory::desc src({xs.begin(), xs.end()}, f32, dnnl::memory::format_tag::nchw);
        const dnnl::memory::desc dst({ys.begin(), ys.end()}, f32, dnnl::memory::format_tag::nchw);
        dnnl::pooling_v2_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst, geo.strides,
             geo.kernel, geo.dilation, geo.pad_l, geo.pad_r},
            cpu_engine());
    } catch (const dnnl::error& e) {
        return reject(why, concat("oneDNN pooling refuses the geometry (", e.what(), ")"));
    }
    return true;
}

std::unique_ptr<Kernel> make_pool_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    PoolGeometry geo;
    ENGINE_CHECK(pool_geometry(std::get<MaxPoolParams>(node.params), g.value(node.inputs[0]).desc.shape,
                               g.value(node.outputs[0]).desc.shape, geo),
                 "onednn: ", node_label(g, n), ": padding not expressible for oneDNN pooling");
    return make_fn_kernel(g, n, [geo](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        dnnl::pooling_v2_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, ins[0], outs[0], geo.strides,
             geo.kernel, geo.dilation, geo.pad_l, geo.pad_r},
            base_attr(), cpu_engine());
        add_step<dnnl::pooling_v2_forward>(plan, pd,
                                           {{DNNL_ARG_SRC, ArgSource::Input, 0, ins[0], nullptr},
                                            {DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
