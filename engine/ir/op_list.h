// The single list of IR ops. Adding an op starts here: X(Name, min_inputs, max_inputs).
// ONNX-level ops that only compute shapes (Shape, Gather, Unsqueeze, Cast, ...) never reach the IR:
// the importer folds them (engine/onnx/const_eval.cpp). Upsample imports as Resize, Flatten/Squeeze/
// Unsqueeze of runtime tensors as Reshape, Constant as an initializer. Reorder is never imported: the
// builder inserts it to convert a value's memory layout and storage type (engine/ir/layout.h).
#pragma once

// clang-format off
#define ENGINE_OP_LIST(X)   \
    X(Conv,      2, 4)      \
    X(BatchNorm, 5, 5)      \
    X(Relu,      1, 1)      \
    X(LeakyRelu, 1, 1)      \
    X(Sigmoid,   1, 1)      \
    X(Tanh,      1, 1)      \
    X(Softplus,  1, 1)      \
    X(Mish,      1, 1)      \
    X(Silu,      1, 1)      \
    X(Clip,      1, 1)      \
    X(Add,       2, 2)      \
    X(Sub,       2, 2)      \
    X(Mul,       2, 2)      \
    X(Div,       2, 2)      \
    X(Concat,    1, 4096)   \
    X(Resize,    1, 1)      \
    X(MaxPool,   1, 1)      \
    X(Reshape,   1, 1)      \
    X(Transpose, 1, 1)      \
    X(Slice,     1, 1)      \
    X(Split,     1, 1)      \
    X(Softmax,   1, 1)      \
    X(Identity,  1, 1)      \
    X(Dropout,   1, 1)      \
    X(Pad,       1, 1)      \
    X(Reorder,   1, 1)
// clang-format on
