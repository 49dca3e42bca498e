// Dispatch from an IR op and its params to the reference kernel.
#include "engine/refmath/ref_ops.h"

#include "engine/core/error.h"
#include "engine/ir/activation.h"

namespace engine {
namespace {

template <typename P>
const P& params_as(OpType op, const OpParams& params) {
    const P* p = std::get_if<P>(&params);
    ENGINE_CHECK(p != nullptr, "reference: ", op_type_name(op), " node carries the wrong params type (index ",
                 params.index(), ")");
    return *p;
}

// Unary activations may carry UnaryParams or nothing (Relu, Sigmoid, ...).
UnaryParams unary_params(OpType op, const OpParams& params) {
    if (std::holds_alternative<std::monostate>(params)) return {};
    return params_as<UnaryParams>(op, params);
}

}  // namespace

void ref_run(OpType op, const OpParams& params, const KernelArgs& args) {
    // Every activation (engine/ir/op_list.h) through apply_act.
    if (op_is_activation(op)) return ref_activation(activation_of(op, unary_params(op, params)), args);
    switch (op) {
        case OpType::Conv:
            return ref_conv(params_as<ConvParams>(op, params), args);
        case OpType::ConvPair:
            return ref_conv_pair(params_as<ConvPairParams>(op, params), args);
        case OpType::BatchNorm:
            return ref_batch_norm(params_as<BatchNormParams>(op, params), args);
        case OpType::Add:
            return ref_binary(BinaryOp::Add, args);
        case OpType::Sub:
            return ref_binary(BinaryOp::Sub, args);
        case OpType::Mul:
            return ref_binary(BinaryOp::Mul, args);
        case OpType::Div:
            return ref_binary(BinaryOp::Div, args);
        case OpType::Concat:
            return ref_concat(params_as<ConcatParams>(op, params), args);
        case OpType::Resize:
            return ref_resize(params_as<ResizeParams>(op, params), args);
        case OpType::MaxPool:
            return ref_maxpool(params_as<MaxPoolParams>(op, params), args);
        case OpType::Reshape:
        case OpType::Identity:
        case OpType::Dropout:
            return ref_copy(args);
        case OpType::Transpose:
            return ref_transpose(params_as<TransposeParams>(op, params), args);
        case OpType::Slice:
            return ref_slice(params_as<SliceParams>(op, params), args);
        case OpType::Split:
            return ref_split(params_as<SplitParams>(op, params), args);
        case OpType::Softmax:
            return ref_softmax(params_as<SoftmaxParams>(op, params), args);
        case OpType::Pad:
            return ref_pad(params_as<PadParams>(op, params), args);
        case OpType::QuantizeLinear:
            return ref_quantize_linear(params_as<QuantParams>(op, params), args);
        case OpType::DequantizeLinear:
            return ref_dequantize_linear(params_as<QuantParams>(op, params), args);
        case OpType::FakeQuant:
            return ref_fake_quant(params_as<QuantParams>(op, params), args);
        default:  // Reorder (layout conversion): no reference kernel
            break;
    }
    ENGINE_THROW("reference: no kernel for op ", op_type_name(op));
}

}  // namespace engine
