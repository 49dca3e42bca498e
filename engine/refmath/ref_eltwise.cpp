// Reference elementwise ops: activations, binary ops with broadcasting, BatchNorm, Softmax.
#include <cmath>
#include <limits>

#include "engine/refmath/ref_act.h"
#include "engine/refmath/ref_ops.h"
#include "engine/refmath/ref_util.h"

namespace engine {

using ref::strides_of;

void ref_activation(const Act& act, const KernelArgs& args) {
    ref::check_same_shape_f32(args, "activation");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::for_each_run(x, y, [&](const float* s, float* d, int64_t n) {
        if (s != d) std::copy(s, s + n, d);
        ref::act_inplace(act, d, n);
    });
}

namespace {

struct AddF {
    static float f(float a, float b) { return a + b; }
};
struct SubF {
    static float f(float a, float b) { return a - b; }
};
struct MulF {
    static float f(float a, float b) { return a * b; }
};
struct DivF {
    static float f(float a, float b) { return a / b; }
};

// Strides of `t` aligned to the last dims of `out` (rank <= out rank), 0 where t broadcasts.
std::vector<int64_t> broadcast_strides(const TensorRef& t, const Shape& out) {
    const std::vector<int64_t> s = strides_of(t);
    std::vector<int64_t> b(out.size(), 0);
    const size_t shift = out.size() - t.shape.size();
    for (size_t d = 0; d < t.shape.size(); ++d)
        if (t.shape[d] != 1) b[d + shift] = s[d];
    return b;
}

template <typename Op>
void binary_loop(const TensorRef& a, const TensorRef& b, const TensorRef& y) {
    const ref::Loop<3> l = ref::make_loop<3>(
        y.shape, {strides_of(y), broadcast_strides(a, y.shape), broadcast_strides(b, y.shape)});
    float* yp = y.f32();
    const float* ap = a.f32();
    const float* bp = b.f32();
    ref::for_each_row(l, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& in) {
        float* yr = yp + off[0];
        const float* ar = ap + off[1];
        const float* br = bp + off[2];
        if (in[0] == 1 && in[1] == 1 && in[2] == 1) {
            for (int64_t i = 0; i < n; ++i) yr[i] = Op::f(ar[i], br[i]);
        } else if (in[0] == 1 && in[1] == 1 && in[2] == 0) {
            const float bv = br[0];
            for (int64_t i = 0; i < n; ++i) yr[i] = Op::f(ar[i], bv);
        } else if (in[0] == 1 && in[1] == 0 && in[2] == 1) {
            const float av = ar[0];
            for (int64_t i = 0; i < n; ++i) yr[i] = Op::f(av, br[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) yr[i * in[0]] = Op::f(ar[i * in[1]], br[i * in[2]]);
        }
    });
}

}  // namespace

void ref_binary(BinaryOp op, const KernelArgs& args) {
    ref::check_arity(args, 2, 2, 1, "binary");
    const TensorRef& a = args.inputs[0];
    const TensorRef& b = args.inputs[1];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(a, "binary op", "input 0");
    ref::check_f32(b, "binary op", "input 1");
    ref::check_f32(y, "binary op", "output");
    const size_t rank = std::max(a.shape.size(), b.shape.size());
    Shape want(rank, 1);
    for (size_t d = 0; d < rank; ++d) {
        const int64_t da = d + a.shape.size() >= rank ? a.shape[d + a.shape.size() - rank] : 1;
        const int64_t db = d + b.shape.size() >= rank ? b.shape[d + b.shape.size() - rank] : 1;
        ENGINE_CHECK(da == db || da == 1 || db == 1, "binary op: shapes ", shape_str(a.shape), " and ",
                     shape_str(b.shape), " do not broadcast");
        want[d] = da == 1 ? db : da;
    }
    ENGINE_CHECK(y.shape == want, "binary op: output ", shape_str(y.shape), " is not the broadcast of ",
                 shape_str(a.shape), " and ", shape_str(b.shape));
    switch (op) {
        case BinaryOp::Add:
            return binary_loop<AddF>(a, b, y);
        case BinaryOp::Sub:
            return binary_loop<SubF>(a, b, y);
        case BinaryOp::Mul:
            return binary_loop<MulF>(a, b, y);
        case BinaryOp::Div:
            return binary_loop<DivF>(a, b, y);
    }
}

void ref_batch_norm(const BatchNormParams& p, const KernelArgs& args) {
    ref::check_arity(args, 5, 5, 1, "BatchNorm");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    for (const TensorRef& t : args.inputs) ref::check_f32(t, "BatchNorm", "every input");
    ref::check_f32(y, "BatchNorm", "output");
    ENGINE_CHECK(x.shape.size() >= 2 && y.shape == x.shape, "BatchNorm: input ", shape_str(x.shape),
                 ", output ", shape_str(y.shape), " (need rank >= 2 and equal shapes)");
    const int64_t c = x.shape[1];
    for (size_t i = 1; i < 5; ++i)
        ENGINE_CHECK(shape_numel(args.inputs[i].shape) == c, "BatchNorm: parameter ", i, " shape ",
                     shape_str(args.inputs[i].shape), " does not have ", c, " channels");
    const float* scale = args.inputs[1].f32();
    const float* bias = args.inputs[2].f32();
    const float* mean = args.inputs[3].f32();
    const float* var = args.inputs[4].f32();
    const int64_t spatial = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
    const int64_t xb = ref::dim0_stride(x), yb = ref::dim0_stride(y);
    for (int64_t n = 0; n < x.shape[0]; ++n) {
        for (int64_t ch = 0; ch < c; ++ch) {
            const float* s = x.f32() + n * xb + ch * spatial;
            float* d = y.f32() + n * yb + ch * spatial;
            const float m = mean[ch], sd = std::sqrt(var[ch] + p.epsilon), g = scale[ch], b = bias[ch];
            for (int64_t i = 0; i < spatial; ++i) d[i] = (s[i] - m) / sd * g + b;
        }
    }
}

namespace {

// Softmax over `len` elements at stride `step` (numerically stable: subtract the max).
void softmax_line(const float* s, float* d, int64_t len, int64_t step) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < len; ++i) mx = std::max(mx, s[i * step]);
    double sum = 0.0;
    for (int64_t i = 0; i < len; ++i) {
        const float e = std::exp(s[i * step] - mx);
        d[i * step] = e;
        sum += e;
    }
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < len; ++i) d[i * step] *= inv;
}

}  // namespace

void ref_softmax(const SoftmaxParams& p, const KernelArgs& args) {
    ref::check_same_shape_f32(args, "Softmax");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    const size_t rank = x.shape.size();
    if (rank == 0) {
        y.f32()[0] = 1.f;
        return;
    }
    const int axis = ref::normalize_axis(p.axis, rank, "Softmax");
    // Work on dense copies unless both tensors are dense (only strided batched views need this).
    const bool dense = ref::is_dense(x) && ref::is_dense(y);
    std::vector<float> xin, yout;
    const float* src = x.f32();
    float* dst = y.f32();
    const int64_t total = shape_numel(x.shape);
    if (!dense) {
        xin.resize(static_cast<size_t>(total));
        yout.resize(static_cast<size_t>(total));
        TensorRef tmp{xin.data(), DataType::F32, x.shape, x.sample_numel()};
        ref::copy_flat(tmp, x);
        src = xin.data();
        dst = yout.data();
    }
    int64_t outer = 1, len = 1, inner = 1;
    for (size_t d = 0; d < rank; ++d) {
        const auto di = static_cast<int>(d);
        if (di < axis)
            outer *= x.shape[d];
        else if (di == axis || p.coerce_2d)
            len *= x.shape[d];
        else
            inner *= x.shape[d];
    }
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i)
            softmax_line(src + o * len * inner + i, dst + o * len * inner + i, len, inner);
    if (!dense) {
        TensorRef tmp{yout.data(), DataType::F32, y.shape, y.sample_numel()};
        ref::copy_flat(y, tmp);
    }
}

}  // namespace engine
