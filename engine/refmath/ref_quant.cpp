// Reference QuantizeLinear, DequantizeLinear and FakeQuant (engine/refmath/ref_quant.h).
#include "engine/refmath/ref_quant.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/refmath/ref_ops.h"
#include "engine/refmath/ref_util.h"

namespace engine {

QuantRange quant_range(DataType qtype) {
    switch (qtype) {
        case DataType::I8:
            return {-128.f, 127.f};
        case DataType::U8:
            return {0.f, 255.f};
        case DataType::I32:
            return {-2147483648.f, 2147483647.f};
        default:
            break;
    }
    ENGINE_THROW("quantized type ", dtype_name(qtype), " is not supported (i8, u8, i32)");
}

namespace {

// Element i of a dense tensor of any integer or float type, as int64 (zero points, quantized values).
int64_t int_at(const TensorRef& t, int64_t i) {
    switch (t.dtype) {
        case DataType::I8:
            return static_cast<const int8_t*>(t.data)[i];
        case DataType::U8:
            return static_cast<const uint8_t*>(t.data)[i];
        case DataType::I32:
            return static_cast<const int32_t*>(t.data)[i];
        case DataType::F32: {  // FakeQuant's zero points: integers held as f32
            const float v = static_cast<const float*>(t.data)[i];
            ENGINE_CHECK(std::isfinite(v) && std::fabs(v) < 2147483648.f && v == std::nearbyint(v),
                         "quantization: zero point ", v, " is not an integer");
            return static_cast<int64_t>(v);
        }
        default:
            break;
    }
    ENGINE_THROW("quantization: unsupported integer type ", dtype_name(t.dtype));
}

// A scale and zero point pair (inputs i, i + 1) read for a tensor of `shape`: one value, or one per
// index along `axis` (the layout QuantParams describes). Element `flat` (row-major over the whole
// tensor) uses index (flat / inner) % count.
struct AxisParams {
    std::vector<float> scale;
    std::vector<int64_t> zero_point;
    int64_t inner = 1;
};

AxisParams read_params(std::string_view op, const KernelArgs& a, size_t i, const QuantParams& p,
                       const Shape& shape, DataType zero_point_dtype) {
    const TensorRef& s = a.inputs[i];
    const TensorRef& z = a.inputs[i + 1];
    ref::check_f32(s, op, "scale");
    ENGINE_CHECK(z.dtype == zero_point_dtype, op, ": zero point is ", dtype_name(z.dtype), ", expected ",
                 dtype_name(zero_point_dtype));
    const int64_t count = shape_numel(s.shape);
    ENGINE_CHECK(count >= 1 && shape_numel(z.shape) == count, op, ": scale ", shape_str(s.shape),
                 " and zero point ", shape_str(z.shape), " must have the same number of elements (>= 1)");
    AxisParams out;
    for (int64_t k = 0; k < count; ++k) {
        const float v = s.f32()[k];
        ENGINE_CHECK(valid_quant_scale(v), op, ": scale ", v, " (element ", k, ") is not a finite value > 0");
        out.scale.push_back(v);
        out.zero_point.push_back(int_at(z, k));
    }
    if (count == 1) {
        out.inner = shape_numel(shape);  // per tensor: one run over everything
        return out;
    }
    const auto axis = static_cast<size_t>(p.axis);
    ENGINE_CHECK(p.axis >= 0 && axis < shape.size() && shape[axis] == count, op, ": per-axis scale of ",
                 count, " elements does not match dim ", p.axis, " of ", shape_str(shape));
    out.inner = shape_numel(Shape(shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, shape.end()));
    return out;
}

// Calls f(x_offset, y_offset, n, k) over runs of n elements that share parameter index k. A run never
// crosses a sample: for axis 0 a run is one sample, for a later axis `inner` divides a sample.
template <typename F>
void for_each_param_run(const TensorRef& x, const TensorRef& y, const AxisParams& p, F&& f) {
    const int64_t total = shape_numel(x.shape);
    if (total == 0) return;
    const int64_t n0 = x.shape.empty() ? 1 : x.shape[0];
    const int64_t per = total / n0;
    const int64_t xs = x.shape.empty() ? 0 : ref::dim0_stride(x);
    const int64_t ys = y.shape.empty() ? 0 : ref::dim0_stride(y);
    const auto count = static_cast<int64_t>(p.scale.size());
    const int64_t run = std::min(p.inner, per);
    for (int64_t b = 0; b < n0; ++b)
        for (int64_t e = 0; e < per; e += run) {
            const int64_t k = count == 1 ? 0 : ((b * per + e) / p.inner) % count;
            f(b * xs + e, b * ys + e, run, static_cast<size_t>(k));
        }
}

void check_same_shape(std::string_view op, const KernelArgs& a) {
    ENGINE_CHECK(a.inputs[0].shape == a.outputs[0].shape, op, ": output ", shape_str(a.outputs[0].shape),
                 " differs from input ", shape_str(a.inputs[0].shape));
}

template <typename T>
void quantize_to(const TensorRef& x, const TensorRef& y, const AxisParams& ap, QuantRange r) {
    const float* xp = x.f32();
    T* yp = static_cast<T*>(y.data);
    for_each_param_run(x, y, ap, [&](int64_t xo, int64_t yo, int64_t n, size_t k) {
        const float s = ap.scale[k];
        const auto z = static_cast<float>(ap.zero_point[k]);
        for (int64_t i = 0; i < n; ++i) yp[yo + i] = static_cast<T>(quantize_value(xp[xo + i], s, z, r));
    });
}

template <typename T>
void dequantize_from(const TensorRef& x, const TensorRef& y, const AxisParams& ap) {
    const T* xp = static_cast<const T*>(x.data);
    float* yp = y.f32();
    for_each_param_run(x, y, ap, [&](int64_t xo, int64_t yo, int64_t n, size_t k) {
        const float s = ap.scale[k];
        const int64_t z = ap.zero_point[k];
        for (int64_t i = 0; i < n; ++i)
            yp[yo + i] = static_cast<float>(static_cast<int64_t>(xp[xo + i]) - z) * s;
    });
}

void check_zero_points(std::string_view op, const AxisParams& ap, QuantRange r, DataType qtype) {
    for (int64_t z : ap.zero_point)
        ENGINE_CHECK(static_cast<float>(z) >= r.lo && static_cast<float>(z) <= r.hi, op, ": zero point ", z,
                     " is outside the range of ", dtype_name(qtype));
}

}  // namespace

void ref_quantize_linear(const QuantParams& p, const KernelArgs& args) {
    constexpr std::string_view op = "QuantizeLinear";
    ref::check_arity(args, 3, 3, 1, op);
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(x, op, "input");
    check_same_shape(op, args);
    ENGINE_CHECK(y.dtype == p.qtype && (p.qtype == DataType::I8 || p.qtype == DataType::U8), op, ": output ",
                 dtype_name(y.dtype), " must be the quantized type ", dtype_name(p.qtype), " (i8 or u8)");
    const AxisParams ap = read_params(op, args, 1, p, x.shape, p.qtype);
    const QuantRange r = quant_range(p.qtype);
    check_zero_points(op, ap, r, p.qtype);
    if (p.qtype == DataType::I8)
        quantize_to<int8_t>(x, y, ap, r);
    else
        quantize_to<uint8_t>(x, y, ap, r);
}

void ref_dequantize_linear(const QuantParams& p, const KernelArgs& args) {
    constexpr std::string_view op = "DequantizeLinear";
    ref::check_arity(args, 3, 3, 1, op);
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(y, op, "output");
    check_same_shape(op, args);
    ENGINE_CHECK(x.dtype == p.qtype, op, ": input ", dtype_name(x.dtype), " must be the quantized type ",
                 dtype_name(p.qtype));
    const AxisParams ap = read_params(op, args, 1, p, x.shape, p.qtype);
    check_zero_points(op, ap, quant_range(p.qtype), p.qtype);
    switch (p.qtype) {
        case DataType::I8:
            return dequantize_from<int8_t>(x, y, ap);
        case DataType::U8:
            return dequantize_from<uint8_t>(x, y, ap);
        case DataType::I32:
            return dequantize_from<int32_t>(x, y, ap);
        default:
            ENGINE_THROW(op, ": quantized type ", dtype_name(p.qtype), " is not supported (i8, u8, i32)");
    }
}

void ref_fake_quant(const QuantParams& p, const KernelArgs& args) {
    constexpr std::string_view op = "FakeQuant";
    ref::check_arity(args, 5, 5, 1, op);
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(x, op, "input");
    ref::check_f32(y, op, "output");
    check_same_shape(op, args);
    ENGINE_CHECK(p.qtype == DataType::I8 || p.qtype == DataType::U8, op, ": quantized type ",
                 dtype_name(p.qtype), " is not supported (i8, u8)");
    const QuantRange r = quant_range(p.qtype);
    const AxisParams q = read_params(op, args, 1, p, x.shape, DataType::F32);
    const AxisParams dq = read_params(op, args, 3, p, x.shape, DataType::F32);
    check_zero_points(op, q, r, p.qtype);
    check_zero_points(op, dq, r, p.qtype);
    const float* xp = x.f32();
    float* yp = y.f32();
    if (q.scale.size() == dq.scale.size() && q.inner == dq.inner) {
        // Both per tensor or per axis alike (every real pair): one run loop.
        for_each_param_run(x, y, q, [&](int64_t xo, int64_t yo, int64_t n, size_t k) {
            const float qs = q.scale[k], ds = dq.scale[k];
            const auto qz = static_cast<float>(q.zero_point[k]), dz = static_cast<float>(dq.zero_point[k]);
            for (int64_t i = 0; i < n; ++i)
                yp[yo + i] = dequantize_value(quantize_value(xp[xo + i], qs, qz, r), ds, dz);
        });
        return;
    }
    // One per tensor and one per axis: quantize, then dequantize in place (y is written, then reread
    // at the same offsets).
    for_each_param_run(x, y, q, [&](int64_t xo, int64_t yo, int64_t n, size_t k) {
        const float qs = q.scale[k];
        const auto qz = static_cast<float>(q.zero_point[k]);
        for (int64_t i = 0; i < n; ++i) yp[yo + i] = quantize_value(xp[xo + i], qs, qz, r);
    });
    for_each_param_run(y, y, dq, [&](int64_t, int64_t yo, int64_t n, size_t k) {
        const float ds = dq.scale[k];
        const auto dz = static_cast<float>(dq.zero_point[k]);
        for (int64_t i = 0; i < n; ++i) yp[yo + i] = dequantize_value(yp[yo + i], ds, dz);
    });
}

}  // namespace engine
