#include "engine/onnx/const_eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/core/half.h"

namespace engine::onnx {
namespace {

// Largest tensor const-eval will create (elements): guards against garbage sizes in a model.
constexpr int64_t kMaxConstElements = int64_t{1} << 28;

double read_f(const Tensor& t, size_t i) {
    switch (t.dtype()) {
        case DataType::F32:
            return t.data_as<float>()[i];
        case DataType::F64:
            return t.data_as<double>()[i];
        case DataType::F16:
            return fp16_to_fp32(t.data_as<uint16_t>()[i]);
        case DataType::BF16:
            return bf16_to_fp32(t.data_as<uint16_t>()[i]);
        case DataType::I64:
            return static_cast<double>(t.data_as<int64_t>()[i]);
        case DataType::I32:
            return t.data_as<int32_t>()[i];
        case DataType::I8:
            return t.data_as<int8_t>()[i];
        case DataType::U8:
            return t.data_as<uint8_t>()[i];
        case DataType::Bool:
            return t.data_as<uint8_t>()[i] != 0 ? 1.0 : 0.0;
    }
    return 0;
}

int64_t read_i(const Tensor& t, size_t i) {
    switch (t.dtype()) {
        case DataType::I64:
            return t.data_as<int64_t>()[i];
        case DataType::I32:
            return t.data_as<int32_t>()[i];
        case DataType::I8:
            return t.data_as<int8_t>()[i];
        case DataType::U8:
            return t.data_as<uint8_t>()[i];
        case DataType::Bool:
            return t.data_as<uint8_t>()[i] != 0;
        default: {
            // Float -> int truncates toward zero (numpy astype); out-of-range values saturate.
            const double v = read_f(t, i);
            if (std::isnan(v)) return 0;
            if (v >= 9.2e18) return std::numeric_limits<int64_t>::max();
            if (v <= -9.2e18) return std::numeric_limits<int64_t>::min();
            return static_cast<int64_t>(v);
        }
    }
}

void write_f(Tensor& t, size_t i, double v) {
    switch (t.dtype()) {
        case DataType::F32:
            t.data_as<float>()[i] = static_cast<float>(v);
            break;
        case DataType::F64:
            t.data_as<double>()[i] = v;
            break;
        case DataType::F16:
            t.data_as<uint16_t>()[i] = fp32_to_fp16(static_cast<float>(v));
            break;
        case DataType::BF16:
            t.data_as<uint16_t>()[i] = fp32_to_bf16(static_cast<float>(v));
            break;
        default:
            ENGINE_ASSERT(false);
    }
}

void write_i(Tensor& t, size_t i, int64_t v) {
    switch (t.dtype()) {
        case DataType::I64:
            t.data_as<int64_t>()[i] = v;
            break;
        case DataType::I32:
            t.data_as<int32_t>()[i] = static_cast<int32_t>(v);
            break;
        case DataType::I8:
            t.data_as<int8_t>()[i] = static_cast<int8_t>(v);
            break;
        case DataType::U8:
            t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v);
            break;
        case DataType::Bool:
            t.data_as<uint8_t>()[i] = v != 0 ? 1 : 0;
            break;
        default:
            ENGINE_ASSERT(false);
    }
}

void check_size(const Shape& s, const char* what) {
    ENGINE_CHECK(checked_numel(s, what) <= kMaxConstElements, what, ": constant of shape ", shape_str(s),
                 " is too large to evaluate at import");
}

// Strides of `in` for reading it broadcast to `out` (0 along broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    const auto in_strides = shape_strides(in);
    std::vector<int64_t> s(out.size(), 0);
    const size_t off = out.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d) s[off + d] = in[d] == 1 ? 0 : in_strides[d];
    return s;
}

// Calls f(idx) for every multi-index of `shape` in row-major order.
template <typename F>
void for_each_index(const Shape& shape, F&& f) {
    const int64_t n = shape_numel(shape);
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
        f(idx);
        for (size_t d = shape.size(); d-- > 0;) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
}

int64_t dot(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
    int64_t o = 0;
    for (size_t d = 0; d < idx.size(); ++d) o += idx[d] * strides[d];
    return o;
}

void copy_elem(Tensor& dst, int64_t di, const Tensor& src, int64_t si) {
    const size_t es = dtype_size(src.dtype());
    std::memcpy(static_cast<std::byte*>(dst.data()) + di * static_cast<int64_t>(es),
                static_cast<const std::byte*>(src.data()) + si * static_cast<int64_t>(es), es);
}

}  // namespace

int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
    ENGINE_CHECK(axis >= -rank && axis < rank, what, " ", axis, " is out of range for rank ", rank);
    return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        ENGINE_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
                     " are not broadcastable");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

SliceSpec resolve_slice(const Shape& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                        const std::vector<int64_t>& axes_in, const std::vector<int64_t>& steps_in) {
    const auto rank = static_cast<int64_t>(in.size());
    ENGINE_CHECK(starts.size() == ends.size(), "Slice: starts has ", starts.size(), " entries but ends has ",
                 ends.size());
    std::vector<int64_t> axes = axes_in;
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    std::vector<int64_t> steps = steps_in;
    if (steps.empty()) steps.assign(starts.size(), 1);
    ENGINE_CHECK(axes.size() == starts.size(), "Slice: axes has ", axes.size(), " entries but starts has ",
                 starts.size());
    ENGINE_CHECK(steps.size() == starts.size(), "Slice: steps has ", steps.size(), " entries but starts has ",
                 starts.size());
    SliceSpec spec;
    spec.starts.assign(in.size(), 0);
    spec.steps.assign(in.size(), 1);
    spec.out = in;
    std::vector<char> seen(in.size(), 0);
    for (size_t k = 0; k < axes.size(); ++k) {
        const int64_t axis = normalize_axis(axes[k], rank, "Slice: axis");
        ENGINE_CHECK(!seen[axis], "Slice: axis ", axis, " is listed twice");
        seen[axis] = 1;
        int64_t step = steps[k];
        ENGINE_CHECK(step != 0, "Slice: step for axis ", axis, " is 0");
        if (step == std::numeric_limits<int64_t>::min()) step = -std::numeric_limits<int64_t>::max();
        const int64_t dim = in[axis];
        int64_t s = starts[k];
        int64_t e = ends[k];
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        int64_t len = 0;
        if (step > 0) {
            s = std::clamp<int64_t>(s, 0, dim);
            e = std::clamp<int64_t>(e, 0, dim);
            len = e > s ? (e - s - 1) / step + 1 : 0;
        } else if (dim > 0) {
            s = std::clamp<int64_t>(s, 0, dim - 1);
            e = std::clamp<int64_t>(e, -1, dim - 1);
            len = s > e ? (s - e - 1) / (-step) + 1 : 0;
        } else {
            s = 0;
        }
        spec.starts[axis] = s;
        spec.steps[axis] = step;
        spec.out[axis] = len;
    }
    return spec;
}

Shape resolve_reshape(const Shape& in, const std::vector<int64_t>& target, bool allowzero) {
    Shape out(target.size());
    int infer = -1;
    for (size_t i = 0; i < target.size(); ++i) {
        const int64_t v = target[i];
        if (v == 0 && !allowzero) {
            ENGINE_CHECK(i < in.size(), "Reshape: target ", shape_str(target), " copies dim ", i,
                         " (0) but the input ", shape_str(in), " has only ", in.size(), " dims");
            out[i] = in[i];
        } else if (v == -1) {
            ENGINE_CHECK(infer < 0, "Reshape: target ", shape_str(target), " has more than one -1");
            infer = static_cast<int>(i);
            out[i] = 1;
        } else {
            ENGINE_CHECK(v >= 0, "Reshape: target ", shape_str(target), " has invalid dim ", v);
            out[i] = v;
        }
    }
    const int64_t n = shape_numel(in);
    if (infer >= 0) {
        const int64_t known = shape_numel(out);
        ENGINE_CHECK(known > 0 && n % known == 0, "Reshape: cannot infer the -1 dim of ", shape_str(target),
                     " for input ", shape_str(in), " (", n, " elements)");
        out[infer] = n / known;
    }
    ENGINE_CHECK(shape_numel(out) == n, "Reshape: cannot reshape ", shape_str(in), " (", n, " elements) to ",
                 shape_str(out), " (", shape_numel(out), " elements)");
    return out;
}

Shape squeeze_shape(const Shape& in, const std::vector<int64_t>& axes) {
    const auto rank = static_cast<int64_t>(in.size());
    std::vector<char> drop(in.size(), 0);
    if (axes.empty()) {
        for (size_t d = 0; d < in.size(); ++d) drop[d] = in[d] == 1;
    } else {
        for (int64_t a : axes) {
            const int64_t ax = normalize_axis(a, rank, "Squeeze: axis");
            ENGINE_CHECK(in[ax] == 1, "Squeeze: dim ", ax, " of ", shape_str(in), " is ", in[ax], ", not 1");
            drop[ax] = 1;
        }
    }
    Shape out;
    for (size_t d = 0; d < in.size(); ++d)
        if (!drop[d]) out.push_back(in[d]);
    return out;
}

Shape unsqueeze_shape(const Shape& in, const std::vector<int64_t>& axes) {
    const auto rank = static_cast<int64_t>(in.size() + axes.size());
    std::vector<char> ins(static_cast<size_t>(rank), 0);
    for (int64_t a : axes) {
        const int64_t ax = normalize_axis(a, rank, "Unsqueeze: axis");
        ENGINE_CHECK(!ins[ax], "Unsqueeze: axis ", ax, " is listed twice");
        ins[ax] = 1;
    }
    Shape out;
    size_t k = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(ins[d] ? 1 : in[k++]);
    return out;
}

Shape flatten_shape(const Shape& in, int64_t axis) {
    const auto rank = static_cast<int64_t>(in.size());
    ENGINE_CHECK(axis >= -rank && axis <= rank, "Flatten: axis ", axis, " is out of range for rank ", rank);
    if (axis < 0) axis += rank;
    const std::span<const int64_t> dims(in);
    return {checked_numel(dims.first(static_cast<size_t>(axis)), "Flatten: outer dims"),
            checked_numel(dims.subspan(static_cast<size_t>(axis)), "Flatten: inner dims")};
}

Tensor eval_slice(const Tensor& t, const SliceSpec& spec) {
    check_size(spec.out, "Slice");
    Tensor out(t.dtype(), spec.out);
    const auto in_strides = shape_strides(t.shape());
    int64_t o = 0;
    for_each_index(spec.out, [&](const std::vector<int64_t>& idx) {
        int64_t off = 0;
        for (size_t d = 0; d < idx.size(); ++d)
            off += (spec.starts[d] + idx[d] * spec.steps[d]) * in_strides[d];
        copy_elem(out, o++, t, off);
    });
    return out;
}

Tensor eval_transpose(const Tensor& t, const std::vector<int64_t>& perm) {
    const Shape& in = t.shape();
    ENGINE_CHECK(perm.size() == in.size(), "Transpose: perm has ", perm.size(), " entries for rank ",
                 in.size());
    std::vector<char> seen(in.size(), 0);
    Shape out(in.size());
    for (size_t i = 0; i < perm.size(); ++i) {
        ENGINE_CHECK(perm[i] >= 0 && perm[i] < static_cast<int64_t>(in.size()) && !seen[perm[i]],
                     "Transpose: perm is not a permutation of 0..", in.size() - 1);
        seen[perm[i]] = 1;
        out[i] = in[perm[i]];
    }
    const auto in_strides = shape_strides(in);
    std::vector<int64_t> strides(in.size());
    for (size_t i = 0; i < perm.size(); ++i) strides[i] = in_strides[perm[i]];
    Tensor res(t.dtype(), out);
    int64_t o = 0;
    for_each_index(out, [&](const std::vector<int64_t>& idx) { copy_elem(res, o++, t, dot(idx, strides)); });
    return res;
}

Tensor eval_gather(const Tensor& data, const Tensor& indices, int64_t axis) {
    ENGINE_CHECK(!is_float(indices.dtype()), "Gather: indices must be integers, got ",
                 dtype_name(indices.dtype()));
    const Shape& ds = data.shape();
    const auto rank = static_cast<int64_t>(ds.size());
    ENGINE_CHECK(rank >= 1, "Gather: data must have rank >= 1");
    axis = normalize_axis(axis, rank, "Gather: axis");
    const std::vector<int64_t> ind = indices.to_i64();
    const int64_t dim = ds[axis];
    Shape out(ds.begin(), ds.begin() + axis);
    out.insert(out.end(), indices.shape().begin(), indices.shape().end());
    out.insert(out.end(), ds.begin() + axis + 1, ds.end());
    check_size(out, "Gather");
    const auto dstr = shape_strides(ds);
    const size_t ir = indices.shape().size();
    const auto istr = shape_strides(indices.shape());
    Tensor res(data.dtype(), out);
    int64_t o = 0;
    for_each_index(out, [&](const std::vector<int64_t>& idx) {
        int64_t off = 0;
        for (int64_t d = 0; d < axis; ++d) off += idx[d] * dstr[d];
        int64_t flat = 0;
        for (size_t k = 0; k < ir; ++k) flat += idx[axis + k] * istr[k];
        int64_t k = ind[static_cast<size_t>(flat)];
        ENGINE_CHECK(k >= -dim && k < dim, "Gather: index ", k, " is out of range for dim ", dim);
        if (k < 0) k += dim;
        off += k * dstr[axis];
        for (int64_t d = axis + 1; d < rank; ++d) off += idx[d - 1 + ir] * dstr[d];
        copy_elem(res, o++, data, off);
    });
    return res;
}

Tensor eval_concat(const std::vector<const Tensor*>& inputs, int64_t axis) {
    ENGINE_CHECK(!inputs.empty(), "Concat: no inputs");
    const Tensor& first = *inputs[0];
    const auto rank = static_cast<int64_t>(first.shape().size());
    ENGINE_CHECK(rank >= 1, "Concat: inputs must have rank >= 1");
    axis = normalize_axis(axis, rank, "Concat: axis");
    Shape out = first.shape();
    out[axis] = 0;
    for (const Tensor* t : inputs) {
        ENGINE_CHECK(t->dtype() == first.dtype(), "Concat: inputs mix ", dtype_name(first.dtype()), " and ",
                     dtype_name(t->dtype()));
        ENGINE_CHECK(static_cast<int64_t>(t->shape().size()) == rank, "Concat: input shapes ",
                     shape_str(first.shape()), " and ", shape_str(t->shape()), " differ in rank");
        for (int64_t d = 0; d < rank; ++d)
            ENGINE_CHECK(d == axis || t->shape()[d] == first.shape()[d], "Concat: input shapes ",
                         shape_str(first.shape()), " and ", shape_str(t->shape()), " differ outside axis ",
                         axis);
        out[axis] = checked_add(out[axis], t->shape()[axis], "Concat: concatenated dim");
    }
    check_size(out, "Concat");
    Tensor res(first.dtype(), out);
    const std::span<const int64_t> dims(out);
    const int64_t outer = checked_numel(dims.first(static_cast<size_t>(axis)), "Concat: outer dims");
    const int64_t inner = checked_numel(dims.subspan(static_cast<size_t>(axis) + 1), "Concat: inner dims");
    const auto es = static_cast<int64_t>(dtype_size(first.dtype()));
    auto* dst = static_cast<std::byte*>(res.data());
    for (int64_t o = 0; o < outer; ++o) {
        for (const Tensor* t : inputs) {
            const int64_t block =
                checked_mul(checked_mul(t->shape()[axis], inner, "Concat: block"), es, "Concat: block bytes");
            if (block == 0) continue;
            std::memcpy(dst, static_cast<const std::byte*>(t->data()) + o * block,
                        static_cast<size_t>(block));
            dst += block;
        }
    }
    return res;
}

Tensor eval_cast(const Tensor& t, DataType to) {
    Tensor out(to, t.shape());
    const auto n = static_cast<size_t>(t.numel());
    for (size_t i = 0; i < n; ++i) {
        if (is_float(to)) {
            write_f(out, i, read_f(t, i));
        } else if (to == DataType::Bool) {
            write_i(out, i, is_float(t.dtype()) ? read_f(t, i) != 0.0 : read_i(t, i) != 0);
        } else {
            write_i(out, i, read_i(t, i));
        }
    }
    return out;
}

Tensor eval_binary(BinaryKind kind, const Tensor& a, const Tensor& b) {
    ENGINE_CHECK(a.dtype() == b.dtype(), "inputs have different types (", dtype_name(a.dtype()), " and ",
                 dtype_name(b.dtype()), ")");
    const Shape out = broadcast_shapes(a.shape(), b.shape());
    check_size(out, "binary op");
    const auto sa = broadcast_strides(a.shape(), out);
    const auto sb = broadcast_strides(b.shape(), out);
    const bool fl = is_float(a.dtype());
    Tensor res(kind == BinaryKind::Equal ? DataType::Bool : a.dtype(), out);
    size_t o = 0;
    for_each_index(out, [&](const std::vector<int64_t>& idx) {
        const auto ia = static_cast<size_t>(dot(idx, sa));
        const auto ib = static_cast<size_t>(dot(idx, sb));
        if (kind == BinaryKind::Equal) {
            write_i(res, o++, fl ? read_f(a, ia) == read_f(b, ib) : read_i(a, ia) == read_i(b, ib));
        } else if (fl) {
            const double x = read_f(a, ia), y = read_f(b, ib);
            double r = 0;
            switch (kind) {
                case BinaryKind::Add:
                    r = x + y;
                    break;
                case BinaryKind::Sub:
                    r = x - y;
                    break;
                case BinaryKind::Mul:
                    r = x * y;
                    break;
                default:
                    r = x / y;
                    break;
            }
            write_f(res, o++, r);
        } else {
            // Wrap-around arithmetic as int64 hardware does (no UB): computed in uint64.
            const auto x = static_cast<uint64_t>(read_i(a, ia)), y = static_cast<uint64_t>(read_i(b, ib));
            int64_t r = 0;
            switch (kind) {
                case BinaryKind::Add:
                    r = static_cast<int64_t>(x + y);
                    break;
                case BinaryKind::Sub:
                    r = static_cast<int64_t>(x - y);
                    break;
                case BinaryKind::Mul:
                    r = static_cast<int64_t>(x * y);
                    break;
                default: {
                    const int64_t xs = read_i(a, ia), ys = read_i(b, ib);
                    ENGINE_CHECK(ys != 0, "integer division by zero");
                    r = (xs == std::numeric_limits<int64_t>::min() && ys == -1) ? xs : xs / ys;
                    break;
                }
            }
            write_i(res, o++, r);
        }
    });
    return res;
}

Tensor eval_where(const Tensor& cond, const Tensor& x, const Tensor& y) {
    ENGINE_CHECK(!is_float(cond.dtype()), "Where: condition must be bool, got ", dtype_name(cond.dtype()));
    ENGINE_CHECK(x.dtype() == y.dtype(), "Where: x and y have different types (", dtype_name(x.dtype()),
                 " and ", dtype_name(y.dtype()), ")");
    const Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), x.shape()), y.shape());
    check_size(out, "Where");
    const auto sc = broadcast_strides(cond.shape(), out);
    const auto sx = broadcast_strides(x.shape(), out);
    const auto sy = broadcast_strides(y.shape(), out);
    Tensor res(x.dtype(), out);
    int64_t o = 0;
    for_each_index(out, [&](const std::vector<int64_t>& idx) {
        const bool c = read_i(cond, static_cast<size_t>(dot(idx, sc))) != 0;
        if (c)
            copy_elem(res, o++, x, dot(idx, sx));
        else
            copy_elem(res, o++, y, dot(idx, sy));
    });
    return res;
}

Tensor eval_range(const Tensor& start, const Tensor& limit, const Tensor& delta) {
    ENGINE_CHECK(start.numel() == 1 && limit.numel() == 1 && delta.numel() == 1,
                 "Range: start, limit and delta must be scalars");
    ENGINE_CHECK(start.dtype() == limit.dtype() && start.dtype() == delta.dtype(),
                 "Range: start, limit and delta must have one type");
    const DataType dt = start.dtype();
    if (is_float(dt)) {
        const double s = read_f(start, 0), l = read_f(limit, 0), d = read_f(delta, 0);
        ENGINE_CHECK(d != 0, "Range: delta is 0");
        const double count = std::max(std::ceil((l - s) / d), 0.0);
        ENGINE_CHECK(count <= static_cast<double>(kMaxConstElements), "Range: too many elements (", count,
                     ")");
        Tensor out(dt, {static_cast<int64_t>(count)});
        for (size_t i = 0; i < static_cast<size_t>(count); ++i)
            write_f(out, i, s + static_cast<double>(i) * d);
        return out;
    }
    const int64_t s = read_i(start, 0), l = read_i(limit, 0), d = read_i(delta, 0);
    ENGINE_CHECK(d != 0, "Range: delta is 0");
    const double span = (static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d);
    ENGINE_CHECK(span <= static_cast<double>(kMaxConstElements), "Range: too many elements");
    // In uint64: l - s and -d do not fit int64 for every int64 pair; each value s + i * d lies between
    // s and l, so its uint64 sum is exact.
    const auto us = static_cast<uint64_t>(s), ul = static_cast<uint64_t>(l), ud = static_cast<uint64_t>(d);
    uint64_t count = 0;
    if (d > 0 && l > s) count = (ul - us - 1) / ud + 1;
    if (d < 0 && l < s) count = (us - ul - 1) / (0 - ud) + 1;
    Tensor out(dt, {static_cast<int64_t>(count)});
    for (uint64_t i = 0; i < count; ++i)
        write_i(out, static_cast<size_t>(i), static_cast<int64_t>(us + i * ud));
    return out;
}

Tensor eval_constant_of_shape(const Tensor& shape, const Tensor* value) {
    ENGINE_CHECK(!is_float(shape.dtype()) && shape.shape().size() == 1,
                 "ConstantOfShape: the shape input must be a 1-D integer tensor");
    const std::vector<int64_t> dims = shape.to_i64();
    const Shape out(dims.begin(), dims.end());
    check_size(out, "ConstantOfShape");
    if (value == nullptr) return Tensor(DataType::F32, out);
    ENGINE_CHECK(value->numel() == 1, "ConstantOfShape: value must have one element, it has ",
                 value->numel());
    Tensor res(value->dtype(), out);
    for (int64_t i = 0; i < res.numel(); ++i) copy_elem(res, i, *value, 0);
    return res;
}

}  // namespace engine::onnx
