// The single list of IR ops: one descriptor row per op. Everything the engine knows about an op
// beyond its kernels comes from here (engine/ir/op_type.h: op_desc()): its name (the IR's, the plan
// file's and the dump's), arity, params type, shape rule, what verify() checks and what dump()
// prints. A new op is a row here, its kernels and its tests (engine/README.md lists the files).
//
// X(Name, in_lo, in_hi, out_lo, out_hi, Params, params_rule, shape, attr_a, attr_b)
//   Name         OpType::Name; also its name in plans and dumps
//   in_lo/in_hi  number of inputs;  out_lo/out_hi  number of outputs
//   Params       the OpParams alternative the op carries (engine/ir/params.h; NoParams: none)
//   params_rule  Req: exactly Params;  Opt: Params or NoParams (activations: UnaryParams optional)
//   shape        its shape rule: infer_<shape>() in engine/ir/shape_inference.cpp
//   attr_a/b     UnaryParams ops: what alpha / beta mean (dump prints "name=value"); "" when unused
//
// Activations (elementwise unary ops that fuse_conv_act folds into a Conv) are listed separately in
// ENGINE_ACTIVATION_LIST, in the same row format: each is also an ActKind (engine/ir/params.h) of the
// same name, whose math is apply_act().
//
// ONNX-level ops that only compute shapes (Shape, Gather, Unsqueeze, Cast, ...) never reach the IR:
// the importer folds them (engine/onnx/const_eval.cpp). Upsample imports as Resize, Flatten/Squeeze/
// Unsqueeze of runtime tensors as Reshape, Constant as an initializer. Reorder is never imported: the
// builder inserts it to convert a value's memory layout and storage type (engine/ir/layout.h).
//
// ConvPair (two Convs in one node, ConvPairParams) is never imported: the builder makes it, after
// backends and precisions are assigned, where the backend of both convs runs them as one kernel
// (Backend::fuses_conv_pair, engine/passes/fuse_conv_pair.cpp).
//
// Quantization ops (QuantParams, engine/ir/params.h; docs/int8.md): QuantizeLinear and
// DequantizeLinear are ONNX's, and read or write integer tensors (their shape rules check the dtypes).
// Integer tensors never flow at run time: fold_constants evaluates them on constants (quantized
// weights), fuse_qdq turns each QuantizeLinear -> DequantizeLinear pair on a run-time value into one
// FakeQuant (the same math in float), and the builder refuses what is left, naming the node.
// FakeQuant is never imported; where INT8 is allowed fold_qdq removes the symmetric ones and keeps
// their scale as Value::amax.
#pragma once

// clang-format off
#define ENGINE_ACTIVATION_LIST(X)                                          \
    X(Relu,      1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(LeakyRelu, 1, 1, 1, 1, UnaryParams,     Req, unary, "alpha", "")    \
    X(Sigmoid,   1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(Tanh,      1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(Softplus,  1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(Mish,      1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(Silu,      1, 1, 1, 1, UnaryParams,     Opt, unary, "",      "")    \
    X(Clip,      1, 1, 1, 1, UnaryParams,     Req, unary, "min",   "max")   \
    X(HardSigmoid, 1, 1, 1, 1, UnaryParams,   Req, unary, "alpha", "beta")

#define ENGINE_OP_LIST(X)                                                  \
    X(Conv,      2, 4, 1, 1, ConvParams,      Req, conv,      "", "")     \
    X(ConvPair,  5, 6, 1, 1, ConvPairParams,  Req, conv_pair, "", "")     \
    X(BatchNorm, 5, 5, 1, 1, BatchNormParams, Req, batchnorm, "", "")     \
    ENGINE_ACTIVATION_LIST(X)                                              \
    X(Add,       2, 2, 1, 1, NoParams,        Req, binary,    "", "")     \
    X(Sub,       2, 2, 1, 1, NoParams,        Req, binary,    "", "")     \
    X(Mul,       2, 2, 1, 1, NoParams,        Req, binary,    "", "")     \
    X(Div,       2, 2, 1, 1, NoParams,        Req, binary,    "", "")     \
    X(Concat,    1, 4096, 1, 1, ConcatParams, Req, concat,    "", "")     \
    X(Resize,    1, 1, 1, 1, ResizeParams,    Req, resize,    "", "")     \
    X(MaxPool,   1, 1, 1, 1, MaxPoolParams,   Req, maxpool,   "", "")     \
    X(Reshape,   1, 1, 1, 1, NoParams,        Req, reshape,   "", "")     \
    X(Transpose, 1, 1, 1, 1, TransposeParams, Req, transpose, "", "")     \
    X(Slice,     1, 1, 1, 1, SliceParams,     Req, slice,     "", "")     \
    X(Split,     1, 1, 1, 4096, SplitParams,  Req, split,     "", "")     \
    X(Softmax,   1, 1, 1, 1, SoftmaxParams,   Req, softmax,   "", "")     \
    X(Identity,  1, 1, 1, 1, UnaryParams,     Opt, unary,     "", "")     \
    X(Dropout,   1, 1, 1, 1, UnaryParams,     Opt, unary,     "", "")     \
    X(Pad,       1, 1, 1, 1, PadParams,       Req, pad,       "", "")     \
    X(QuantizeLinear,   3, 3, 1, 1, QuantParams, Req, quantize,   "", "") \
    X(DequantizeLinear, 3, 3, 1, 1, QuantParams, Req, dequantize, "", "") \
    X(FakeQuant,        5, 5, 1, 1, QuantParams, Req, fake_quant, "", "") \
    X(Reorder,   1, 1, 1, 1, NoParams,        Req, unary,     "", "")
// clang-format on
