#include "engine/refmath/ref_int8.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace engine {

int8_t quantize_s8(float x, float scale) {
    const float r = std::nearbyint(x / scale);  // the default rounding mode: half to even
    if (std::isnan(r)) return 0;                // (a NaN would make the cast below undefined)
    return static_cast<int8_t>(std::clamp(r, -128.0f, 127.0f));
}

void quantize_s8(const float* x, size_t n, float scale, int8_t* q) {
    ENGINE_CHECK(scale > 0 && std::isfinite(scale), "quantize: scale ", scale, " is not a finite value > 0");
    for (size_t i = 0; i < n; ++i) q[i] = quantize_s8(x[i], scale);
}

void dequantize_s8(const int8_t* q, size_t n, float scale, float* x) {
    for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(q[i]) * scale;
}

QuantizedWeights quantize_weights_per_channel(const float* w, const Shape& shape) {
    ENGINE_CHECK(!shape.empty() && shape[0] > 0, "quantize weights: shape ", shape_str(shape));
    QuantizedWeights out;
    out.shape = shape;
    const size_t o = static_cast<size_t>(shape[0]);
    const size_t per = static_cast<size_t>(shape_numel(shape)) / o;
    out.q.resize(o * per);
    out.scale.resize(o);
    for (size_t c = 0; c < o; ++c) {
        float m = 0;
        for (size_t i = 0; i < per; ++i) m = std::max(m, std::fabs(w[c * per + i]));
        out.scale[c] = m > 0 ? m / 127.0f : 1.0f;
        quantize_s8(w + c * per, per, out.scale[c], out.q.data() + c * per);
    }
    return out;
}

Shape conv_output_shape(const ConvParams& p, const Shape& x, const Shape& w) {
    ENGINE_CHECK(x.size() == 4 && w.size() == 4, "int8 conv: x ", shape_str(x), " and W ", shape_str(w),
                 " must be 4-D");
    ENGINE_CHECK(p.group >= 1 && x[1] == w[1] * p.group && w[0] % p.group == 0, "int8 conv: x ", shape_str(x),
                 ", W ", shape_str(w), " and group ", p.group, " do not fit");
    ENGINE_CHECK(w[2] == p.kernel[0] && w[3] == p.kernel[1], "int8 conv: W ", shape_str(w), " is not ",
                 p.kernel[0], "x", p.kernel[1]);
    const int64_t oh = (x[2] + p.pads[0] + p.pads[2] - p.dilation[0] * (w[2] - 1) - 1) / p.stride[0] + 1;
    const int64_t ow = (x[3] + p.pads[1] + p.pads[3] - p.dilation[1] * (w[3] - 1) - 1) / p.stride[1] + 1;
    ENGINE_CHECK(oh > 0 && ow > 0, "int8 conv: no output for x ", shape_str(x), " and W ", shape_str(w));
    return {x[0], w[0], oh, ow};
}

void ref_conv_int8(const ConvParams& p, const Int8ConvArgs& a) {
    ENGINE_CHECK(a.x != nullptr && a.w != nullptr && (a.y != nullptr) != (a.y_q != nullptr),
                 "int8 conv: needs x, W and exactly one output (float or int8)");
    ENGINE_CHECK(a.x_scale > 0 && (a.y_q == nullptr || a.y_scale > 0), "int8 conv: scales must be > 0");
    ENGINE_CHECK(!p.residual || a.residual != nullptr, "int8 conv: residual set but not given");
    const Shape& xs = a.x_shape;
    const Shape& ws = a.w->shape;
    const Shape ys = conv_output_shape(p, xs, ws);
    const int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
    const int64_t o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
    const int64_t oh = ys[2], ow = ys[3], og = o / p.group;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t oc = 0; oc < o; ++oc) {
            const int64_t g = oc / og;
            const float mult = a.x_scale * a.w->scale[static_cast<size_t>(oc)];
            for (int64_t y = 0; y < oh; ++y)
                for (int64_t x = 0; x < ow; ++x) {
                    int32_t acc = 0;
                    for (int64_t ic = 0; ic < cg; ++ic)
                        for (int64_t i = 0; i < kh; ++i) {
                            const int64_t iy = y * p.stride[0] - p.pads[0] + i * p.dilation[0];
                            if (iy < 0 || iy >= h) continue;
                            for (int64_t j = 0; j < kw; ++j) {
                                const int64_t ix = x * p.stride[1] - p.pads[1] + j * p.dilation[1];
                                if (ix < 0 || ix >= wd) continue;
                                const int32_t xv = a.x[((b * c + g * cg + ic) * h + iy) * wd + ix];
                                const int32_t wv =
                                    a.w->q[static_cast<size_t>(((oc * cg + ic) * kh + i) * kw + j)];
                                acc += xv * wv;
                            }
                        }
                    const int64_t at = ((b * o + oc) * oh + y) * ow + x;
                    float v = static_cast<float>(acc) * mult + (a.bias ? a.bias[oc] : 0.0f);
                    v = apply_act(p.act, v);
                    if (p.residual) v = apply_act(p.post_act, v + a.residual[at]);
                    if (a.y)
                        a.y[at] = v;
                    else
                        a.y_q[at] = quantize_s8(v, a.y_scale);
                }
        }
}

}  // namespace engine
