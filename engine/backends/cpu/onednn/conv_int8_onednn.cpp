#include "engine/backends/cpu/onednn/conv_int8_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"

namespace engine::onednn {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Int8Conv::Impl {
    ConvParams p;
    Shape x_shape, y_shape;
    int threads = 0;
    dnnl::memory::desc x_f32, x_s8, y_f32, y_conv;
    dnnl::reorder quantize, to_conv_y, from_conv_y;
    dnnl::convolution_forward conv;
    dnnl::memory x_q, y_q, weights, bias, scratch;
    std::string impl;
};

Int8Conv::Int8Conv(const ConvParams& p, const Shape& x_shape, const QuantizedWeights& w, const float* bias,
                   float x_scale, int threads)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.p = p;
    m.x_shape = x_shape;
    m.threads = threads;
    m.y_shape = conv_output_shape(p, x_shape, w.shape);
    ENGINE_CHECK(x_scale > 0, "int8 conv: input scale ", x_scale, " must be > 0");
    ENGINE_CHECK(cpu_has_int8(), "int8 conv: this CPU has no VNNI or AMX (oneDNN ISA ", cpu_isa_name(),
                 "); oneDNN's emulation would halve the weights' precision: use bf16 or fp32");
    set_threads(threads);
    const dnnl::engine& eng = cpu_engine();
    const dnnl::memory::dims xd(x_shape.begin(), x_shape.end()), yd(m.y_shape.begin(), m.y_shape.end());
    const int64_t o = w.shape[0];
    const bool grouped = p.group > 1;
    const dnnl::memory::dims wd =
        grouped ? dnnl::memory::dims{p.group, o / p.group, w.shape[1], w.shape[2], w.shape[3]}
                : dnnl::memory::dims{o, w.shape[1], w.shape[2], w.shape[3]};
    m.x_f32 = dnnl::memory::desc(xd, dt::f32, tag::nchw);
    m.y_f32 = dnnl::memory::desc(yd, dt::f32, tag::nchw);
    const dnnl::memory::desc x_any(xd, dt::s8, tag::any), w_any(wd, dt::s8, tag::any),
        b_md({o}, dt::f32, tag::a);

    // Output scales per output channel: x_scale * w_scale[c]; the post-ops run on the scaled value.
    std::vector<float> scales(static_cast<size_t>(o));
    for (size_t c = 0; c < scales.size(); ++c) scales[c] = x_scale * w.scale[c];
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_output_scales(1 << 1, scales);
    dnnl::post_ops po;
    append_act(po, p.act);
    if (p.residual) {
        po.append_sum(1.f);
        append_act(po, p.post_act);
    }
    attr.set_post_ops(po);
    // The output in the format the primitive picks (plain NCHW output would leave only oneDNN's
    // reference int8 implementation), reordered to NCHW after.
    const dnnl::memory::desc y_any(yd, dt::f32, tag::any);
    const dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, x_any, w_any, b_md, y_any,
        {p.stride[0], p.stride[1]}, {p.dilation[0] - 1, p.dilation[1] - 1}, {p.pads[0], p.pads[1]},
        {p.pads[2], p.pads[3]});
    const dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
    m.impl = pd.impl_info_str();
    m.conv = dnnl::convolution_forward(pd);

    // Weights: plain s8 -> the primitive's format (with the s8 x s8 compensation it asks for).
    const dnnl::memory w_plain(dnnl::memory::desc(wd, dt::s8, grouped ? tag::goihw : tag::oihw), eng,
                               const_cast<int8_t*>(w.q.data()));
    m.weights = dnnl::memory(pd.weights_desc(), eng);
    dnnl::stream s(eng);
    dnnl::reorder(w_plain, m.weights).execute(s, const_cast<dnnl::memory&>(w_plain), m.weights);
    // Bias in the accumulator's units (oneDNN 2.x scales after adding it).
    m.bias = dnnl::memory(b_md, eng);
    auto* b = static_cast<float*>(m.bias.get_data_handle());
    for (size_t c = 0; c < scales.size(); ++c) b[c] = bias ? bias[c] / scales[c] : 0.0f;

    // Input quantization: F32 NCHW -> s8 in the primitive's source format, scale 1 / x_scale (a
    // reorder rounds to nearest even and saturates).
    m.x_s8 = pd.src_desc();
    m.x_q = dnnl::memory(m.x_s8, eng);
    dnnl::primitive_attr qattr;
    qattr.set_output_scales(0, {1.0f / x_scale});
    m.quantize = dnnl::reorder(dnnl::reorder::primitive_desc(eng, m.x_f32, eng, m.x_s8, qattr));
    m.y_conv = pd.dst_desc();
    m.y_q = dnnl::memory(m.y_conv, eng);
    m.to_conv_y = dnnl::reorder(dnnl::reorder::primitive_desc(eng, m.y_f32, eng, m.y_conv));
    m.from_conv_y = dnnl::reorder(dnnl::reorder::primitive_desc(eng, m.y_conv, eng, m.y_f32));
    m.scratch = dnnl::memory(pd.scratchpad_desc(), eng);
    s.wait();
}

Int8Conv::~Int8Conv() = default;

const Shape& Int8Conv::output_shape() const { return impl_->y_shape; }

std::string Int8Conv::impl() const { return impl_->impl; }

void Int8Conv::run(const float* x, const float* residual, float* y) {
    Impl& m = *impl_;
    ENGINE_CHECK(!m.p.residual || residual != nullptr, "int8 conv: residual set but not given");
    set_threads(m.threads);
    const dnnl::engine& eng = cpu_engine();
    dnnl::stream s(eng);
    dnnl::memory xm(m.x_f32, eng, const_cast<float*>(x)), ym(m.y_f32, eng, y);
    m.quantize.execute(s, xm, m.x_q);
    if (m.p.residual) {
        // The sum post-op accumulates onto the output: start from the residual.
        dnnl::memory rm(m.y_f32, eng, const_cast<float*>(residual));
        m.to_conv_y.execute(s, rm, m.y_q);
    }
    m.conv.execute(s, {{DNNL_ARG_SRC, m.x_q},
                       {DNNL_ARG_WEIGHTS, m.weights},
                       {DNNL_ARG_BIAS, m.bias},
                       {DNNL_ARG_DST, m.y_q},
                       {DNNL_ARG_SCRATCHPAD, m.scratch}});
    m.from_conv_y.execute(s, m.y_q, ym);
    s.wait();
}

}  // namespace engine::onednn
