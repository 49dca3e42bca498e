// Reference CPU kernels: plain C++ FP32, one function per IR op. They are the correctness oracle for
// every fast backend and the fallback that runs anything.
//
// Tensor conventions (engine/core/kernel_args.h): each TensorRef carries the shape of this run and
// batch_stride; sample b of a tensor starts at data + b * batch_stride elements and the dims after 0
// are dense. Every input and output is read and written through that rule, so a kernel can read a
// slice of a bigger tensor and write into a slice of a Concat output. For an unbatched tensor
// (constants) dim 0 is just the outermost dim and batch_stride is its dense stride; batch_stride 0 is
// taken as dense. Outputs must not alias inputs. Shapes are checked; a mismatch throws engine::Error.
// Math ops need F32 (QuantizeLinear / DequantizeLinear write / read integers); the data-movement ops
// (Concat, Reshape, Identity, Dropout, Transpose, Slice, Split) work on any dtype by element size.
#pragma once

#include <cstddef>

#include "engine/core/kernel_args.h"
#include "engine/core/shape.h"
#include "engine/ir/op_type.h"
#include "engine/ir/params.h"

namespace engine {

// Conv: inputs {x, W[, B[, r]]}: y = post_act(act(conv(x, W) + B) + r) (params.h). im2col per group
// plus a blocked GEMM; 1x1 stride-1 unpadded convs skip im2col. Large GEMMs are split by output
// columns over up to 8 std::threads (results do not depend on the split). Uses args.workspace when
// non-null (ref_conv_workspace_bytes(...) bytes), else allocates.
void ref_conv(const ConvParams& p, const KernelArgs& args);
size_t ref_conv_workspace_bytes(const ConvParams& p, const Shape& x, const Shape& w, const Shape& y);

// ConvPair: inputs {x, W0, B0, W1, B1[, r]}: ref_conv with params.first into a middle tensor it
// allocates, then ref_conv with params.second from it (and r as its residual when second.residual;
// params.h).
void ref_conv_pair(const ConvPairParams& p, const KernelArgs& args);

// BatchNorm over dim 1: y = (x - mean) / sqrt(var + eps) * scale + bias.
void ref_batch_norm(const BatchNormParams& p, const KernelArgs& args);
// Elementwise activation (Relu ... Clip), see apply_act().
void ref_activation(const Act& act, const KernelArgs& args);

enum class BinaryOp : uint8_t { Add, Sub, Mul, Div };
// Elementwise with numpy broadcasting over the run shapes (any rank); the output shape must be the
// broadcast shape.
void ref_binary(BinaryOp op, const KernelArgs& args);

void ref_concat(const ConcatParams& p, const KernelArgs& args);
void ref_split(const SplitParams& p, const KernelArgs& args);
void ref_slice(const SliceParams& p, const KernelArgs& args);
void ref_transpose(const TransposeParams& p, const KernelArgs& args);
// Reshape / Identity / Dropout: copies the elements in row-major order (numel must match). A second
// Dropout output (the mask) is filled with ones.
void ref_copy(const KernelArgs& args);
void ref_resize(const ResizeParams& p, const KernelArgs& args);
void ref_maxpool(const MaxPoolParams& p, const KernelArgs& args);
void ref_softmax(const SoftmaxParams& p, const KernelArgs& args);
void ref_pad(const PadParams& p, const KernelArgs& args);

// QuantizeLinear {x f32, scale, zero point} -> y i8/u8; DequantizeLinear {x i8/u8/i32, scale, zero
// point} -> y f32; FakeQuant {x, q scale, q zero point, dq scale, dq zero point} -> y, all f32. The
// formulas: QuantParams (engine/ir/params.h); element rules in ref_quant.h. Scales must be finite and
// > 0 and zero points within the quantized type, or they throw.
void ref_quantize_linear(const QuantParams& p, const KernelArgs& args);
void ref_dequantize_linear(const QuantParams& p, const KernelArgs& args);
void ref_fake_quant(const QuantParams& p, const KernelArgs& args);

// Runs `op` with its params (the OpParams alternative must match the op).
void ref_run(OpType op, const OpParams& params, const KernelArgs& args);
// True for the ops that only move data (any dtype).
bool ref_op_is_data_movement(OpType op);

}  // namespace engine
