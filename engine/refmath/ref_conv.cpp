// Reference Conv (im2col + GEMM per group and sample, then the fused epilogue) and MaxPool.
#include <algorithm>
#include <cmath>
#include <limits>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/core/checked.h"
#include "engine/refmath/ref_act.h"
#include "engine/refmath/ref_gemm.h"
#include "engine/refmath/ref_ops.h"
#include "engine/refmath/ref_util.h"

namespace engine {
namespace {

// ceil(a / b) and floor(a / b) for b > 0 and any sign of a.
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct ConvGeom {
    int64_t n, c, h, w;     // input
    int64_t o, cg, kh, kw;  // weight [O, C/group, kh, kw]
    int64_t oh, ow;         // output spatial
    int64_t sh, sw, dh, dw, pt, pl, pb, pr, group;
    int64_t og() const { return o / group; }
    int64_t k() const { return cg * kh * kw; }
    int64_t p() const { return oh * ow; }
    bool direct() const {
        return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
    }
};

ConvGeom conv_geom(const ConvParams& p, const Shape& x, const Shape& w) {
    ENGINE_CHECK(x.size() == 4, "Conv: input ", shape_str(x), " must be NCHW");
    ENGINE_CHECK(w.size() == 4, "Conv: weight ", shape_str(w), " must be [O, C/group, kh, kw]");
    ConvGeom g{};
    g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
    g.o = w[0], g.cg = w[1], g.kh = w[2], g.kw = w[3];
    g.sh = p.stride[0], g.sw = p.stride[1], g.dh = p.dilation[0], g.dw = p.dilation[1];
    g.pt = p.pads[0], g.pl = p.pads[1], g.pb = p.pads[2], g.pr = p.pads[3];
    g.group = p.group;
    ENGINE_CHECK(g.kh == p.kernel[0] && g.kw == p.kernel[1], "Conv: weight ", shape_str(w),
                 " does not match kernel ", p.kernel[0], "x", p.kernel[1]);
    ENGINE_CHECK(g.group >= 1 && g.c == g.cg * g.group && g.o % g.group == 0, "Conv: input ", shape_str(x),
                 " and weight ", shape_str(w), " do not fit group ", g.group);
    ENGINE_CHECK(g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1,
                 "Conv: strides and dilations must be >= 1");
    ENGINE_CHECK(g.pt >= 0 && g.pl >= 0 && g.pb >= 0 && g.pr >= 0, "Conv: pads must be >= 0");
    g.oh = floor_div(g.h + g.pt + g.pb - g.dh * (g.kh - 1) - 1, g.sh) + 1;
    g.ow = floor_div(g.w + g.pl + g.pr - g.dw * (g.kw - 1) - 1, g.sw) + 1;
    ENGINE_CHECK(g.oh >= 1 && g.ow >= 1, "Conv: kernel larger than the padded input ", shape_str(x));
    return g;
}

// col[(c*kh + ky)*kw + kx][oy*ow + ox] = x[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw] (0 outside).
void im2col(const ConvGeom& g, const float* x, float* col) {
    const int64_t p = g.p();
    for (int64_t c = 0; c < g.cg; ++c) {
        const float* xc = x + c * g.h * g.w;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            for (int64_t kx = 0; kx < g.kw; ++kx) {
                float* row = col + ((c * g.kh + ky) * g.kw + kx) * p;
                const int64_t x0 = kx * g.dw - g.pl;  // ix = ox*sw + x0
                const int64_t lo = std::clamp<int64_t>(ceil_div(-x0, g.sw), 0, g.ow);
                const int64_t hi = std::clamp<int64_t>(ceil_div(g.w - x0, g.sw), lo, g.ow);
                for (int64_t oy = 0; oy < g.oh; ++oy) {
                    float* dst = row + oy * g.ow;
                    const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
                    if (iy < 0 || iy >= g.h) {
                        std::fill(dst, dst + g.ow, 0.f);
                        continue;
                    }
                    const float* src = xc + iy * g.w;
                    std::fill(dst, dst + lo, 0.f);
                    if (g.sw == 1) {
                        std::copy(src + lo + x0, src + hi + x0, dst + lo);
                    } else {
                        for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox * g.sw + x0];
                    }
                    std::fill(dst + hi, dst + g.ow, 0.f);
                }
            }
        }
    }
}

size_t col_floats(const ConvGeom& g) {
    if (g.direct()) return 0;
    return static_cast<size_t>(checked_mul(checked_mul(g.cg, g.kh * g.kw, "Conv: im2col rows"),
                                           checked_mul(g.oh, g.ow, "Conv: im2col columns"),
                                           "Conv: im2col size"));
}

// GEMMs of at least this many multiply-adds are split over threads by output columns.
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;
constexpr int64_t kColumnAlign = 8;

// Threads the conv GEMM may use: the hardware's, at most 8.
int gemm_threads() {
    static const int n = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    return n;
}

// C[m, n] = A[m, k] * B[k, n] (ldb = ldc = n), columns split over up to gemm_threads() threads, each
// with its own pack buffer. Every column is computed the same way whatever the split, so results
// do not depend on the thread count.
void conv_gemm(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float* packs) {
    int64_t threads = gemm_threads();
    if (m * n * k < kMinParallelMacs) threads = 1;
    threads = std::min(threads, (n + kColumnAlign - 1) / kColumnAlign);
    if (threads <= 1) {
        ref_gemm(m, n, k, a, k, b, n, c, n, packs);
        return;
    }
    const int64_t chunk = ((n + threads - 1) / threads + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
    const auto pack_floats = static_cast<int64_t>(ref_gemm_pack_floats());
    auto part = [&](int64_t t) {
        const int64_t n0 = t * chunk, n1 = std::min(n, n0 + chunk);
        if (n0 < n1) ref_gemm(m, n1 - n0, k, a, k, b + n0, n, c + n0, n, packs + t * pack_floats);
    };
    std::vector<std::thread> pool;
    int64_t t = 1;
    try {
        for (; t < threads; ++t) pool.emplace_back(part, t);
    } catch (const std::system_error&) {  // no more threads: do the rest here
        for (; t < threads; ++t) part(t);
    }
    part(0);
    for (std::thread& th : pool) th.join();
}

size_t workspace_floats(const ConvGeom& g) {
    return col_floats(g) + ref_gemm_pack_floats() * static_cast<size_t>(gemm_threads());
}

}  // namespace

size_t ref_conv_workspace_bytes(const ConvParams& p, const Shape& x, const Shape& w, const Shape& y) {
    (void)y;
    return checked_bytes(static_cast<int64_t>(workspace_floats(conv_geom(p, x, w))), sizeof(float),
                         "Conv: workspace");
}

void ref_conv(const ConvParams& p, const KernelArgs& args) {
    ref::check_arity(args, 2, 4, 1, "Conv");
    const TensorRef& x = args.inputs[0];
    const TensorRef& w = args.inputs[1];
    const TensorRef& y = args.outputs[0];
    const TensorRef* b = args.inputs.size() >= 3 ? &args.inputs[2] : nullptr;
    const TensorRef* r = nullptr;
    if (p.residual) {
        ENGINE_CHECK(args.inputs.size() == 4, "Conv: residual set but ", args.inputs.size(),
                     " inputs (need 4)");
        r = &args.inputs[3];
    }
    for (const TensorRef& t : args.inputs) ref::check_f32(t, "Conv", "every input");
    ref::check_f32(y, "Conv", "output");
    const ConvGeom g = conv_geom(p, x.shape, w.shape);
    const Shape want{g.n, g.o, g.oh, g.ow};
    ENGINE_CHECK(y.shape == want, "Conv: output ", shape_str(y.shape), " expected ", shape_str(want));
    if (b)
        ENGINE_CHECK(shape_numel(b->shape) == g.o, "Conv: bias ", shape_str(b->shape), " needs ", g.o,
                     " values");
    if (r)
        ENGINE_CHECK(r->shape == want, "Conv: residual ", shape_str(r->shape), " expected ", shape_str(want));

    std::vector<float> own;
    float* ws = static_cast<float*>(args.workspace);
    if (!ws) {
        own.resize(workspace_floats(g));
        ws = own.data();
    }
    float* col = ws;
    float* pack = ws + col_floats(g);

    const int64_t og = g.og(), k = g.k(), np = g.p();
    const int64_t xb = ref::dim0_stride(x), yb = ref::dim0_stride(y), rb = r ? ref::dim0_stride(*r) : 0;
    for (int64_t n = 0; n < g.n; ++n) {
        const float* xs = x.f32() + n * xb;
        float* ys = y.f32() + n * yb;
        for (int64_t grp = 0; grp < g.group; ++grp) {
            const float* xg = xs + grp * g.cg * g.h * g.w;
            const float* bmat = xg;
            if (!g.direct()) {
                im2col(g, xg, col);
                bmat = col;
            }
            conv_gemm(og, np, k, w.f32() + grp * og * k, bmat, ys + grp * og * np, pack);
        }
        // Epilogue, per output channel: y = post_act(act(y + B) + r).
        for (int64_t o = 0; o < g.o; ++o) {
            float* row = ys + o * np;
            if (b) {
                const float bv = b->f32()[o];
                for (int64_t i = 0; i < np; ++i) row[i] += bv;
            }
            ref::act_inplace(p.act, row, np);
            if (r) {
                const float* rr = r->f32() + n * rb + o * np;
                for (int64_t i = 0; i < np; ++i) row[i] += rr[i];
            }
            ref::act_inplace(p.post_act, row, np);
        }
    }
}

void ref_conv_pair(const ConvPairParams& p, const KernelArgs& args) {
    ref::check_arity(args, 5, 6, 1, "ConvPair");
    ENGINE_CHECK(!p.first.residual, "ConvPair: the first conv has a residual");
    ENGINE_CHECK(p.second.residual == (args.inputs.size() == 6), "ConvPair: the second conv's residual flag ",
                 p.second.residual, " does not match its ", args.inputs.size(), " inputs");
    const ConvGeom g = conv_geom(p.first, args.inputs[0].shape, args.inputs[1].shape);
    // The middle tensor, dense: the two Convs as the graph had them before fuse_conv_pairs.
    const int64_t sample = checked_mul(checked_mul(g.o, g.oh, "ConvPair: middle"), g.ow, "ConvPair: middle");
    std::vector<float> mid(static_cast<size_t>(checked_mul(sample, g.n, "ConvPair: middle")));
    const TensorRef m{mid.data(), DataType::F32, {g.n, g.o, g.oh, g.ow}, sample};
    const TensorRef first_out[] = {m};
    ref_conv(p.first, {args.inputs.subspan(0, 3), first_out, nullptr, args.batch});
    // The second conv's residual (input 5), when it has one, is its input 3.
    std::vector<TensorRef> second_in{m, args.inputs[3], args.inputs[4]};
    if (p.second.residual) second_in.push_back(args.inputs[5]);
    ref_conv(p.second, {second_in, args.outputs, nullptr, args.batch});
}

void ref_maxpool(const MaxPoolParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "MaxPool");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(x, "MaxPool", "input");
    ref::check_f32(y, "MaxPool", "output");
    ENGINE_CHECK(x.shape.size() == 4, "MaxPool: input ", shape_str(x.shape), " must be NCHW");
    const int64_t kh = p.kernel[0], kw = p.kernel[1], sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1], pt = p.pads[0], pl = p.pads[1];
    ENGINE_CHECK(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && dh >= 1 && dw >= 1,
                 "MaxPool: kernel, strides and dilations must be >= 1");
    const int64_t h = x.shape[2], w = x.shape[3];
    auto out_dim = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
        const int64_t num = in + pb + pe - d * (k - 1) - 1;
        int64_t out = (p.ceil_mode ? ceil_div(num, s) : floor_div(num, s)) + 1;
        if (p.ceil_mode && (out - 1) * s >= in + pb) --out;
        return out;
    };
    const int64_t oh = out_dim(h, kh, sh, dh, pt, p.pads[2]);
    const int64_t ow = out_dim(w, kw, sw, dw, pl, p.pads[3]);
    const Shape want{x.shape[0], x.shape[1], oh, ow};
    ENGINE_CHECK(y.shape == want, "MaxPool: output ", shape_str(y.shape), " expected ", shape_str(want));
    const int64_t xb = ref::dim0_stride(x), yb = ref::dim0_stride(y);
    for (int64_t n = 0; n < x.shape[0]; ++n) {
        for (int64_t c = 0; c < x.shape[1]; ++c) {
            const float* src = x.f32() + n * xb + c * h * w;
            float* dst = y.f32() + n * yb + c * oh * ow;
            for (int64_t oy = 0; oy < oh; ++oy) {
                for (int64_t ox = 0; ox < ow; ++ox) {
                    float m = -std::numeric_limits<float>::infinity();
                    for (int64_t ky = 0; ky < kh; ++ky) {
                        const int64_t iy = oy * sh - pt + ky * dh;
                        if (iy < 0 || iy >= h) continue;
                        for (int64_t kx = 0; kx < kw; ++kx) {
                            const int64_t ix = ox * sw - pl + kx * dw;
                            if (ix < 0 || ix >= w) continue;
                            m = std::max(m, src[iy * w + ix]);
                        }
                    }
                    dst[oy * ow + ox] = m;
                }
            }
        }
    }
}

}  // namespace engine
