// Checked size arithmetic. Every shape, stride, element-count and byte-size computation (ONNX import,
// constant evaluation, shape inference, the memory planner, the plan reader, kernels' size checks, the
// darknet converter) goes through these: a model or plan whose sizes do not fit int64 is a one-line
// engine::Error naming what was being computed, never a count that wraps into an undersized buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace engine {

namespace detail {
[[noreturn]] void checked_overflow(std::string_view what, int64_t a, char op, int64_t b);
// Says why checked_numel() failed: the first negative dim, or the overflow.
[[noreturn]] void checked_numel_fail(std::string_view what, std::span<const int64_t> dims);
[[noreturn]] void checked_bytes_fail(std::string_view what, int64_t numel, size_t elem_size);
}  // namespace detail

// a * b. Throws engine::Error "<what>: <a> * <b> overflows int64" when the product does not fit.
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) detail::checked_overflow(what, a, '*', b);
    return r;
}

// a + b. Throws engine::Error "<what>: <a> + <b> overflows int64" when the sum does not fit.
inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) detail::checked_overflow(what, a, '+', b);
    return r;
}

// Product of dims (1 for none; 0 when a dim is 0, whatever the others). Throws engine::Error naming
// `what` and the dims when a dim is negative or the product does not fit int64.
inline int64_t checked_numel(std::span<const int64_t> dims, std::string_view what) {
    bool empty = false;
    for (int64_t d : dims) {
        if (d < 0) detail::checked_numel_fail(what, dims);
        empty = empty || d == 0;
    }
    if (empty) return 0;
    int64_t n = 1;
    for (int64_t d : dims)
        if (__builtin_mul_overflow(n, d, &n)) detail::checked_numel_fail(what, dims);
    return n;
}

// numel * elem_size as a byte count. Throws engine::Error when numel is negative or the byte count is
// above INT64_MAX (so it fits size_t, ptrdiff_t and every offset computed from it).
inline size_t checked_bytes(int64_t numel, size_t elem_size, std::string_view what) {
    int64_t r = 0;
    if (numel < 0 || elem_size > static_cast<size_t>(INT64_MAX) ||
        __builtin_mul_overflow(numel, static_cast<int64_t>(elem_size), &r))
        detail::checked_bytes_fail(what, numel, elem_size);
    return static_cast<size_t>(r);
}

}  // namespace engine
