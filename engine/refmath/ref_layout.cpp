// Reference data-movement ops: Concat, Split, Slice, Transpose, Reshape/Identity/Dropout, Pad, Resize.
#include <cmath>
#include <cstring>

#include "engine/core/checked.h"
#include "engine/refmath/ref_ops.h"
#include "engine/refmath/ref_util.h"

namespace engine {
namespace ref {
namespace {

template <typename T>
void copy_rows(std::byte* dst, const std::vector<int64_t>& ds, const std::byte* src,
               const std::vector<int64_t>& ss, const Shape& shape) {
    const Loop<2> l = make_loop<2>(shape, {ds, ss});
    T* d = reinterpret_cast<T*>(dst);
    const T* s = reinterpret_cast<const T*>(src);
    for_each_row(l, [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& inner) {
        T* dr = d + off[0];
        const T* sr = s + off[1];
        if (inner[0] == 1 && inner[1] == 1) {
            std::memcpy(dr, sr, static_cast<size_t>(n) * sizeof(T));
        } else {
            for (int64_t i = 0; i < n; ++i) dr[i * inner[0]] = sr[i * inner[1]];
        }
    });
}

struct Bytes2 {
    uint8_t b[2];
};
struct Bytes1 {
    uint8_t b[1];
};

}  // namespace

void copy_strided(size_t elem, std::byte* dst, const std::vector<int64_t>& ds, const std::byte* src,
                  const std::vector<int64_t>& ss, const Shape& shape) {
    switch (elem) {
        case 1:
            return copy_rows<Bytes1>(dst, ds, src, ss, shape);
        case 2:
            return copy_rows<Bytes2>(dst, ds, src, ss, shape);
        case 4:
            return copy_rows<uint32_t>(dst, ds, src, ss, shape);
        case 8:
            return copy_rows<uint64_t>(dst, ds, src, ss, shape);
        default:
            ENGINE_THROW("copy: unsupported element size ", elem);
    }
}

void copy_flat(const TensorRef& dst, const TensorRef& src) {
    ENGINE_CHECK(src.dtype == dst.dtype, "copy: dtype ", dtype_name(src.dtype), " -> ",
                 dtype_name(dst.dtype));
    const int64_t total = shape_numel(src.shape);
    ENGINE_CHECK_EQ(total, shape_numel(dst.shape), "copy: element counts differ between ",
                    shape_str(src.shape), " and ", shape_str(dst.shape));
    const size_t elem = dtype_size(src.dtype);
    const int64_t sn_s = std::max<int64_t>(src.shape.empty() ? 1 : src.sample_numel(), 1);
    const int64_t sn_d = std::max<int64_t>(dst.shape.empty() ? 1 : dst.sample_numel(), 1);
    const int64_t bs_s = src.shape.empty() ? 0 : dim0_stride(src);
    const int64_t bs_d = dst.shape.empty() ? 0 : dim0_stride(dst);
    const std::byte* s = bytes_of(src);
    std::byte* d = bytes_of(dst);
    if (s == d && bs_s == bs_d && sn_s == sn_d) return;  // aliased in place: nothing to move
    for (int64_t i = 0; i < total;) {
        const int64_t so = i % sn_s, dof = i % sn_d;
        const int64_t run = std::min({sn_s - so, sn_d - dof, total - i});
        std::memmove(d + static_cast<size_t>((i / sn_d) * bs_d + dof) * elem,
                     s + static_cast<size_t>((i / sn_s) * bs_s + so) * elem, static_cast<size_t>(run) * elem);
        i += run;
    }
}

}  // namespace ref

using ref::bytes_of;
using ref::strides_of;

bool ref_op_is_data_movement(OpType op) {
    switch (op) {
        case OpType::Concat:
        case OpType::Split:
        case OpType::Slice:
        case OpType::Transpose:
        case OpType::Reshape:
        case OpType::Identity:
        case OpType::Dropout:
            return true;
        default:
            return false;
    }
}

void ref_concat(const ConcatParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, SIZE_MAX, 1, "Concat");
    const TensorRef& y = args.outputs[0];
    const size_t rank = y.shape.size();
    const int axis = ref::normalize_axis(p.axis, rank, "Concat");
    const size_t elem = dtype_size(y.dtype);
    const std::vector<int64_t> ys = strides_of(y);
    int64_t pos = 0;
    for (size_t i = 0; i < args.inputs.size(); ++i) {
        const TensorRef& x = args.inputs[i];
        ENGINE_CHECK(x.dtype == y.dtype, "Concat: input ", i, " dtype ", dtype_name(x.dtype),
                     " differs from output ", dtype_name(y.dtype));
        ENGINE_CHECK(x.shape.size() == rank, "Concat: input ", i, " shape ", shape_str(x.shape),
                     " has a different rank than output ", shape_str(y.shape));
        for (size_t d = 0; d < rank; ++d)
            ENGINE_CHECK(static_cast<int>(d) == axis || x.shape[d] == y.shape[d], "Concat: input ", i,
                         " shape ", shape_str(x.shape), " does not fit output ", shape_str(y.shape),
                         " on axis ", axis);
        std::byte* dst = bytes_of(y) + static_cast<size_t>(pos * ys[axis]) * elem;
        // An in-place Concat (eliminate_concat): the producer already wrote this slice.
        const bool in_place = dst == bytes_of(x) && (x.shape.empty() || ref::dim0_stride(x) == ys[0]);
        if (!in_place) ref::copy_strided(elem, dst, ys, bytes_of(x), strides_of(x), x.shape);
        pos += x.shape[axis];
    }
    ENGINE_CHECK_EQ(pos, y.shape[axis], "Concat: input sizes along axis do not add up to the output");
}

void ref_split(const SplitParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Split");
    const TensorRef& x = args.inputs[0];
    const size_t rank = x.shape.size();
    const int axis = ref::normalize_axis(p.axis, rank, "Split");
    ENGINE_CHECK_EQ(p.sizes.size(), args.outputs.size(), "Split: one size per output");
    const size_t elem = dtype_size(x.dtype);
    const std::vector<int64_t> xs = strides_of(x);
    int64_t pos = 0;
    for (size_t i = 0; i < args.outputs.size(); ++i) {
        const TensorRef& y = args.outputs[i];
        ENGINE_CHECK(y.dtype == x.dtype, "Split: output ", i, " dtype differs from input");
        ENGINE_CHECK(y.shape.size() == rank, "Split: output ", i, " rank differs from input");
        for (size_t d = 0; d < rank; ++d) {
            const int64_t want = static_cast<int>(d) == axis ? p.sizes[i] : x.shape[d];
            ENGINE_CHECK(y.shape[d] == want, "Split: output ", i, " shape ", shape_str(y.shape),
                         " does not match input ", shape_str(x.shape), " split ", p.sizes[i], " on axis ",
                         axis);
        }
        ref::copy_strided(elem, bytes_of(y), strides_of(y),
                          bytes_of(x) + static_cast<size_t>(pos * xs[axis]) * elem, xs, y.shape);
        pos += p.sizes[i];
    }
    ENGINE_CHECK_EQ(pos, x.shape[axis], "Split: sizes do not add up to the input dim");
}

void ref_slice(const SliceParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Slice");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    const size_t rank = x.shape.size();
    ENGINE_CHECK(y.dtype == x.dtype, "Slice: output dtype differs from input");
    ENGINE_CHECK(y.shape.size() == rank && p.starts.size() == rank && p.steps.size() == rank, "Slice: input ",
                 shape_str(x.shape), ", output ", shape_str(y.shape), ", ", p.starts.size(), " starts and ",
                 p.steps.size(), " steps must all have the same rank");
    const std::vector<int64_t> xs = strides_of(x);
    std::vector<int64_t> ss(rank);
    int64_t base = 0;
    bool empty = false;
    for (size_t d = 0; d < rank; ++d) empty = empty || y.shape[d] == 0;
    for (size_t d = 0; d < rank && !empty; ++d) {
        const int64_t first = p.starts[d];
        const int64_t last =
            checked_add(first, checked_mul(y.shape[d] - 1, p.steps[d], "Slice: extent"), "Slice: extent");
        ENGINE_CHECK(first >= 0 && first < x.shape[d] && last >= 0 && last < x.shape[d], "Slice: dim ", d,
                     " reads indices ", first, "..", last, " of an input dim of ", x.shape[d]);
        base += first * xs[d];
        // A dim of one element never steps: its step may be anything (the stride would overflow).
        ss[d] = y.shape[d] == 1 ? 0 : p.steps[d] * xs[d];
    }
    if (empty) return;
    const size_t elem = dtype_size(x.dtype);
    ref::copy_strided(elem, bytes_of(y), strides_of(y), bytes_of(x) + static_cast<size_t>(base) * elem, ss,
                      y.shape);
}

void ref_transpose(const TransposeParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Transpose");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    const size_t rank = x.shape.size();
    std::vector<int32_t> perm = p.perm;
    if (perm.empty())
        for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int32_t>(d));
    ENGINE_CHECK(perm.size() == rank && y.shape.size() == rank, "Transpose: perm of ", perm.size(),
                 " entries for input ", shape_str(x.shape), " and output ", shape_str(y.shape));
    ENGINE_CHECK(y.dtype == x.dtype, "Transpose: output dtype differs from input");
    const std::vector<int64_t> xs = strides_of(x);
    std::vector<int64_t> ss(rank);
    std::vector<bool> used(rank, false);
    for (size_t i = 0; i < rank; ++i) {
        const int32_t src = perm[i];
        ENGINE_CHECK(src >= 0 && static_cast<size_t>(src) < rank && !used[static_cast<size_t>(src)],
                     "Transpose: perm is not a permutation of 0..", rank - 1);
        used[static_cast<size_t>(src)] = true;
        ENGINE_CHECK(y.shape[i] == x.shape[static_cast<size_t>(src)], "Transpose: output ",
                     shape_str(y.shape), " is not input ", shape_str(x.shape), " permuted");
        ss[i] = xs[static_cast<size_t>(src)];
    }
    ref::copy_strided(dtype_size(x.dtype), bytes_of(y), strides_of(y), bytes_of(x), ss, y.shape);
}

void ref_copy(const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Copy");
    ref::copy_flat(args.outputs[0], args.inputs[0]);
    // Dropout's optional mask output: all kept.
    for (size_t i = 1; i < args.outputs.size(); ++i) {
        const TensorRef& m = args.outputs[i];
        const int64_t n = shape_numel(m.shape);
        const int64_t sn = std::max<int64_t>(m.shape.empty() ? 1 : m.sample_numel(), 1);
        const int64_t bs = m.shape.empty() ? 0 : ref::dim0_stride(m);
        for (int64_t j = 0; j < n; ++j) {
            const int64_t at = (j / sn) * bs + j % sn;
            switch (m.dtype) {
                case DataType::F32:
                    m.f32()[at] = 1.f;
                    break;
                case DataType::Bool:
                case DataType::U8:
                case DataType::I8:
                    static_cast<uint8_t*>(m.data)[at] = 1;
                    break;
                default:
                    ENGINE_THROW("Dropout: unsupported mask dtype ", dtype_name(m.dtype));
            }
        }
    }
}

namespace {

// Odometer over every index of dims [0, rank-1) of `shape` (one call for rank <= 1).
template <typename F>
void for_each_outer(const Shape& shape, F&& f) {
    const size_t r = shape.size();
    const size_t outer = r > 0 ? r - 1 : 0;
    for (int64_t d : shape)
        if (d == 0) return;
    std::vector<int64_t> idx(outer, 0);
    while (true) {
        f(idx);
        size_t d = outer;
        while (d > 0) {
            --d;
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
            if (d == 0) return;
        }
        if (outer == 0) return;
    }
}

}  // namespace

void ref_pad(const PadParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Pad");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(x, "Pad", "input");
    ref::check_f32(y, "Pad", "output");
    const size_t rank = x.shape.size();
    ENGINE_CHECK(p.pads.size() == 2 * rank && y.shape.size() == rank, "Pad: ", p.pads.size(),
                 " pads for input ", shape_str(x.shape), " (expected ", 2 * rank, ")");
    const std::vector<int64_t> xs = strides_of(x);
    const std::vector<int64_t> ys = strides_of(y);
    // Per dim: output index -> input element offset, or -1 for a constant-padded position.
    std::vector<std::vector<int64_t>> map(rank);
    for (size_t d = 0; d < rank; ++d) {
        const int64_t in = x.shape[d], begin = p.pads[d];
        ENGINE_CHECK(y.shape[d] == in + begin + p.pads[d + rank], "Pad: output ", shape_str(y.shape),
                     " does not match input ", shape_str(x.shape), " with the pads");
        if (y.shape[d] > 0 && p.mode != PadMode::Constant)
            ENGINE_CHECK(in > 0, "Pad: reflect/edge padding of an empty dim ", d);
        map[d].resize(static_cast<size_t>(y.shape[d]));
        for (int64_t o = 0; o < y.shape[d]; ++o) {
            int64_t i = o - begin;
            if (i < 0 || i >= in) {
                if (p.mode == PadMode::Constant) {
                    i = -1;
                } else if (p.mode == PadMode::Edge) {
                    i = std::clamp<int64_t>(i, 0, in - 1);
                } else if (in == 1) {
                    i = 0;
                } else {  // reflect about the edges, not repeating them: period 2*(in-1)
                    const int64_t period = 2 * (in - 1);
                    i %= period;
                    if (i < 0) i += period;
                    if (i >= in) i = period - i;
                }
            }
            map[d][static_cast<size_t>(o)] = i < 0 ? -1 : i * xs[d];
        }
    }
    const float* src = x.f32();
    float* dst = y.f32();
    if (rank == 0) {
        dst[0] = src[0];
        return;
    }
    const std::vector<int64_t>& inner = map[rank - 1];
    const int64_t n = y.shape[rank - 1];
    for_each_outer(y.shape, [&](const std::vector<int64_t>& idx) {
        int64_t so = 0, doff = 0;
        bool pad_row = false;
        for (size_t d = 0; d + 1 < rank; ++d) {
            const int64_t m = map[d][static_cast<size_t>(idx[d])];
            pad_row = pad_row || m < 0;
            so += m;
            doff += idx[d] * ys[d];
        }
        float* dr = dst + doff;
        if (pad_row) {
            std::fill(dr, dr + n, p.value);
            return;
        }
        for (int64_t o = 0; o < n; ++o) {
            const int64_t m = inner[static_cast<size_t>(o)];
            dr[o] = m < 0 ? p.value : src[so + m];
        }
    });
}

void ref_resize(const ResizeParams& p, const KernelArgs& args) {
    ref::check_arity(args, 1, 1, 1, "Resize");
    const TensorRef& x = args.inputs[0];
    const TensorRef& y = args.outputs[0];
    ref::check_f32(x, "Resize", "input");
    ref::check_f32(y, "Resize", "output");
    const size_t rank = x.shape.size();
    ENGINE_CHECK(y.shape.size() == rank && p.scales.size() == rank, "Resize: input ", shape_str(x.shape),
                 ", output ", shape_str(y.shape), " and ", p.scales.size(),
                 " scales must have the same rank");
    const std::vector<int64_t> xs = strides_of(x);
    const std::vector<int64_t> ys = strides_of(y);
    std::vector<std::vector<int64_t>> map(rank);
    for (size_t d = 0; d < rank; ++d) {
        const int64_t in = x.shape[d], out = y.shape[d];
        ENGINE_CHECK(out == 0 || in > 0, "Resize: empty input dim ", d, " with output ", shape_str(y.shape));
        const double scale = p.scales[d];
        ENGINE_CHECK(scale > 0.0, "Resize: scale ", scale, " on dim ", d, " must be positive");
        map[d].resize(static_cast<size_t>(out));
        for (int64_t o = 0; o < out; ++o)
            map[d][static_cast<size_t>(o)] = resize_nearest_source(p, scale, o, in, out) * xs[d];
    }
    const float* src = x.f32();
    float* dst = y.f32();
    if (rank == 0) {
        dst[0] = src[0];
        return;
    }
    const std::vector<int64_t>& inner = map[rank - 1];
    const int64_t n = y.shape[rank - 1];
    for_each_outer(y.shape, [&](const std::vector<int64_t>& idx) {
        int64_t so = 0, doff = 0;
        for (size_t d = 0; d + 1 < rank; ++d) {
            so += map[d][static_cast<size_t>(idx[d])];
            doff += idx[d] * ys[d];
        }
        const float* sr = src + so;
        float* dr = dst + doff;
        for (int64_t o = 0; o < n; ++o) dr[o] = sr[inner[static_cast<size_t>(o)]];
    });
}

}  // namespace engine
