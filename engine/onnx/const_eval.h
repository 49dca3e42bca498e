// Evaluation of ONNX shape-computing ops on constant tensors at import time, plus the shape rules the
// importer shares between the constant path and the run-time path (ONNX slice clamping, reshape
// 0/-1 rules, squeeze/unsqueeze/flatten). Works on any engine DataType; integers are computed in int64,
// floats in double, and results are stored in the input type (ONNX semantics).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"
#include "engine/core/tensor.h"

namespace engine::onnx {

// axis in [-rank, rank) -> [0, rank); throws naming `what` otherwise.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what);
// Numpy broadcasting; throws when the shapes are not broadcastable.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Slice resolved per ONNX (negative indices, clamping, negative steps): one entry per input dim.
struct SliceSpec {
    std::vector<int64_t> starts;
    std::vector<int64_t> steps;
    Shape out;
};
// axes and steps may be empty (all leading dims / steps of 1). Throws on bad axes or zero steps.
SliceSpec resolve_slice(const Shape& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                        const std::vector<int64_t>& axes, const std::vector<int64_t>& steps);
// ONNX Reshape target: 0 copies the input dim (unless allowzero), one -1 is inferred.
Shape resolve_reshape(const Shape& in, const std::vector<int64_t>& target, bool allowzero);
// Squeeze: axes empty removes every dim of size 1; listed dims must be 1.
Shape squeeze_shape(const Shape& in, const std::vector<int64_t>& axes);
Shape unsqueeze_shape(const Shape& in, const std::vector<int64_t>& axes);
// Flatten to 2-D at axis (in [-rank, rank]).
Shape flatten_shape(const Shape& in, int64_t axis);

Tensor eval_slice(const Tensor& t, const SliceSpec& spec);
Tensor eval_transpose(const Tensor& t, const std::vector<int64_t>& perm);
Tensor eval_gather(const Tensor& data, const Tensor& indices, int64_t axis);
Tensor eval_concat(const std::vector<const Tensor*>& inputs, int64_t axis);
Tensor eval_cast(const Tensor& t, DataType to);

enum class BinaryKind : uint8_t { Add, Sub, Mul, Div, Equal };
// Broadcasting arithmetic; both inputs must have the same type (Equal yields Bool).
Tensor eval_binary(BinaryKind kind, const Tensor& a, const Tensor& b);
Tensor eval_where(const Tensor& cond, const Tensor& x, const Tensor& y);
// Range(start, limit, delta) on scalars of one type.
Tensor eval_range(const Tensor& start, const Tensor& limit, const Tensor& delta);
// ConstantOfShape: `shape` is a 1-D integer tensor, `value` a one-element tensor (nullptr: float 0).
Tensor eval_constant_of_shape(const Tensor& shape, const Tensor* value);

}  // namespace engine::onnx
