// Helpers shared by the reference kernels: strides of a TensorRef (dim 0 at batch_stride), N-d
// loops over rows, copies in row-major order. Internal to engine/refmath.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/kernel_args.h"
#include "engine/core/tensor.h"

namespace engine::ref {

// Distance between consecutive dim-0 entries (batch_stride; 0 means dense).
inline int64_t dim0_stride(const TensorRef& t) {
    const int64_t sn = t.sample_numel();
    return t.batch_stride > 0 ? t.batch_stride : sn;
}

// Whether all of t's elements are contiguous in row-major order.
inline bool is_dense(const TensorRef& t) {
    return t.shape.empty() || t.shape[0] <= 1 || dim0_stride(t) == t.sample_numel();
}

// Element strides of t: dense, except dim 0 which is batch_stride.
inline std::vector<int64_t> strides_of(const TensorRef& t) {
    std::vector<int64_t> s = shape_strides(t.shape);
    if (!s.empty()) s[0] = dim0_stride(t);
    return s;
}

inline std::byte* bytes_of(const TensorRef& t) { return static_cast<std::byte*>(t.data); }

// Normalises an axis in [-rank, rank) to [0, rank).
inline int normalize_axis(int64_t axis, size_t rank, std::string_view op) {
    const auto r = static_cast<int64_t>(rank);
    ENGINE_CHECK(axis >= -r && axis < r, op, ": axis ", axis, " out of range for rank ", r);
    return static_cast<int>(axis < 0 ? axis + r : axis);
}

inline void check_f32(const TensorRef& t, std::string_view op, std::string_view what) {
    ENGINE_CHECK(t.dtype == DataType::F32, op, ": ", what, " must be f32 (got ", dtype_name(t.dtype), ")");
}

inline void check_arity(const KernelArgs& a, size_t min_in, size_t max_in, size_t min_out,
                        std::string_view op) {
    ENGINE_CHECK(a.inputs.size() >= min_in && a.inputs.size() <= max_in, op, ": expected ", min_in, "..",
                 max_in, " inputs (got ", a.inputs.size(), ")");
    ENGINE_CHECK(a.outputs.size() >= min_out, op, ": expected at least ", min_out, " outputs (got ",
                 a.outputs.size(), ")");
}

// One F32 input and one F32 output of the same shape (activations, Softmax): checks all of it.
inline void check_same_shape_f32(const KernelArgs& a, std::string_view op) {
    check_arity(a, 1, 1, 1, op);
    check_f32(a.inputs[0], op, "input");
    check_f32(a.outputs[0], op, "output");
    ENGINE_CHECK(a.inputs[0].shape == a.outputs[0].shape, op, ": output ", shape_str(a.outputs[0].shape),
                 " differs from input ", shape_str(a.inputs[0].shape));
}

// An N-d iteration space over N operands with per-operand element strides. make_loop() drops dims
// of size 1 and merges dims that are contiguous for every operand, so inner rows are as long as
// possible. The loop always has rank >= 1.
template <size_t N>
struct Loop {
    Shape shape;
    std::array<std::vector<int64_t>, N> strides;
};

template <size_t N>
Loop<N> make_loop(const Shape& shape, const std::array<std::vector<int64_t>, N>& strides) {
    Loop<N> l;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        const size_t r = l.shape.size();
        bool merge = r > 0;
        for (size_t t = 0; t < N && merge; ++t) merge = l.strides[t][r - 1] == strides[t][d] * shape[d];
        if (merge) {
            l.shape[r - 1] *= shape[d];
            for (size_t t = 0; t < N; ++t) l.strides[t][r - 1] = strides[t][d];
        } else {
            l.shape.push_back(shape[d]);
            for (size_t t = 0; t < N; ++t) l.strides[t].push_back(strides[t][d]);
        }
    }
    if (l.shape.empty()) {
        l.shape.push_back(1);
        for (size_t t = 0; t < N; ++t) l.strides[t].push_back(0);
    }
    return l;
}

// Calls f(offsets, n, inner_strides) once per row: offsets[t] is operand t's element offset of the
// row's first element, n the row length, inner_strides[t] the element step along the row.
template <size_t N, typename F>
void for_each_row(const Loop<N>& l, F&& f) {
    const size_t r = l.shape.size();
    for (int64_t d : l.shape)
        if (d == 0) return;
    const int64_t n = l.shape[r - 1];
    std::array<int64_t, N> inner{};
    for (size_t t = 0; t < N; ++t) inner[t] = l.strides[t][r - 1];
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < r; ++d) rows *= l.shape[d];
    std::vector<int64_t> idx(r, 0);
    std::array<int64_t, N> off{};
    for (int64_t row = 0; row < rows; ++row) {
        f(off, n, inner);
        for (size_t d = r - 1; d-- > 0;) {
            for (size_t t = 0; t < N; ++t) off[t] += l.strides[t][d];
            if (++idx[d] < l.shape[d]) break;
            for (size_t t = 0; t < N; ++t) off[t] -= l.shape[d] * l.strides[t][d];
            idx[d] = 0;
        }
    }
}

// Copies `shape` elements of size `elem` from src (strides ss) to dst (strides ds).
void copy_strided(size_t elem, std::byte* dst, const std::vector<int64_t>& ds, const std::byte* src,
                  const std::vector<int64_t>& ss, const Shape& shape);

// Copies all elements of src into dst in row-major order (numel must match; shapes may differ).
void copy_flat(const TensorRef& dst, const TensorRef& src);

// Calls f(src, dst, n) over runs that are contiguous in both tensors, in row-major order; src and
// dst have the same numel (F32).
template <typename F>
void for_each_run(const TensorRef& src, const TensorRef& dst, F&& f) {
    const int64_t total = shape_numel(src.shape);
    const int64_t sn_s = std::max<int64_t>(src.shape.empty() ? 1 : src.sample_numel(), 1);
    const int64_t sn_d = std::max<int64_t>(dst.shape.empty() ? 1 : dst.sample_numel(), 1);
    const int64_t bs_s = src.shape.empty() ? 0 : dim0_stride(src);
    const int64_t bs_d = dst.shape.empty() ? 0 : dim0_stride(dst);
    const float* s = src.f32();
    float* d = dst.f32();
    for (int64_t i = 0; i < total;) {
        const int64_t so = i % sn_s, dof = i % sn_d;
        const int64_t run = std::min({sn_s - so, sn_d - dof, total - i});
        f(s + (i / sn_s) * bs_s + so, d + (i / sn_d) * bs_d + dof, run);
        i += run;
    }
}

}  // namespace engine::ref
