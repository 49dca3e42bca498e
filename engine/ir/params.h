// Typed per-op parameters. Every IR node carries one OpParams alternative (std::monostate for ops
// without attributes). Shapes live on the values, not here: a node's output shapes come from
// shape inference (engine/ir/shape_inference.cpp).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/ir/op_list.h"

namespace engine {

// ---- named enums ----
// Each enum below has one name table, EnumNames<E>::names: its enumerators as spelled in the code.
// enum_name() gives that spelling ("LeakyRelu": messages, dumps of activations, timing-cache keys);
// enum_key() its snake_case form ("leaky_relu": plan files, dumps of modes, ONNX attribute values);
// enum_from_key() the inverse of enum_key().
template <typename E>
struct EnumNames;

#define ENGINE_ENUM_ROW(Name, ...) Name,
#define ENGINE_ENUM_NAME_ROW(Name, ...) #Name,

// "LeakyRelu" -> "leaky_relu", "TfHalfPixelForNearest" -> "tf_half_pixel_for_nearest".
std::string snake_case(std::string_view camel);

template <typename E>
std::string_view enum_name(E e) {
    const auto i = static_cast<size_t>(e);
    return i < std::size(EnumNames<E>::names) ? EnumNames<E>::names[i] : std::string_view("?");
}

template <typename E>
std::string_view enum_key(E e) {
    static const auto keys = [] {
        std::vector<std::string> k;
        for (std::string_view n : EnumNames<E>::names) k.push_back(snake_case(n));
        return k;
    }();
    const auto i = static_cast<size_t>(e);
    return i < keys.size() ? std::string_view(keys[i]) : std::string_view("?");
}

template <typename E>
std::optional<E> enum_from_key(std::string_view key) {
    for (size_t i = 0; i < std::size(EnumNames<E>::names); ++i)
        if (enum_key(static_cast<E>(i)) == key) return static_cast<E>(i);
    return std::nullopt;
}

// The keys of E, comma-separated (error messages).
template <typename E>
std::string enum_keys(std::string_view sep = ", ") {
    std::string s;
    for (size_t i = 0; i < std::size(EnumNames<E>::names); ++i) {
        if (i) s += sep;
        s += enum_key(static_cast<E>(i));
    }
    return s;
}

// Activation functions an op applies elementwise (standalone or fused into a Conv): None and the ops
// of ENGINE_ACTIVATION_LIST (engine/ir/op_list.h), in that order.
//   Relu: max(x, 0)             LeakyRelu: x >= 0 ? x : alpha*x      Sigmoid: 1/(1+e^-x)
//   Tanh                        Softplus: ln(1+e^x)                  Mish: x*tanh(softplus(x))
//   Silu: x*sigmoid(x)          Clip: min(max(x, alpha), beta)
//   HardSigmoid: max(0, min(1, alpha*x + beta))
enum class ActKind : uint8_t { None, ENGINE_ACTIVATION_LIST(ENGINE_ENUM_ROW) };
template <>
struct EnumNames<ActKind> {
    static constexpr std::string_view names[] = {"None", ENGINE_ACTIVATION_LIST(ENGINE_ENUM_NAME_ROW)};
};

// The ActKind named `name` (an op's name), None when no activation has it.
constexpr ActKind act_kind_named(std::string_view name) {
    for (size_t i = 1; i < std::size(EnumNames<ActKind>::names); ++i)
        if (EnumNames<ActKind>::names[i] == name) return static_cast<ActKind>(i);
    return ActKind::None;
}

struct Act {
    ActKind kind = ActKind::None;
    float alpha = 0.f;
    float beta = 0.f;
    bool operator==(const Act&) const = default;
};

inline std::string_view act_kind_name(ActKind k) { return enum_name(k); }

inline float softplus_f32(float x) { return x > 20.f ? x : std::log1p(std::exp(x)); }

inline float apply_act(const Act& a, float x) {
    switch (a.kind) {
        case ActKind::None:
            return x;
        case ActKind::Relu:
            return x > 0.f ? x : 0.f;
        case ActKind::LeakyRelu:
            return x >= 0.f ? x : a.alpha * x;
        case ActKind::Sigmoid:
            return 1.f / (1.f + std::exp(-x));
        case ActKind::Tanh:
            return std::tanh(x);
        case ActKind::Softplus:
            return softplus_f32(x);
        case ActKind::Mish:
            return x * std::tanh(softplus_f32(x));
        case ActKind::Silu:
            return x / (1.f + std::exp(-x));
        case ActKind::Clip:
            return x < a.alpha ? a.alpha : (x > a.beta ? a.beta : x);
        case ActKind::HardSigmoid:
            return std::fmax(0.f, std::fmin(1.f, a.alpha * x + a.beta));
    }
    return x;
}

// Conv: inputs {x, W, B} (+ residual r when `residual`), x NCHW, W [O, C/group, kh, kw], B [O].
// The importer always supplies B (zeros when ONNX has none). Output:
//   y = post_act( act(conv(x, W) + B) + r )        (r and post_act only when residual is set)
struct ConvParams {
    std::array<int32_t, 2> kernel{1, 1};      // kh, kw
    std::array<int32_t, 2> stride{1, 1};      // sh, sw
    std::array<int32_t, 2> dilation{1, 1};    // dh, dw
    std::array<int32_t, 4> pads{0, 0, 0, 0};  // top, left, bottom, right
    int32_t group = 1;
    Act act;                // set by fuse_conv_act
    bool residual = false;  // set by fuse_conv_add: input 3 is added after act
    Act post_act;           // set by fuse_conv_act when an activation follows the residual add
    bool operator==(const ConvParams&) const = default;
};

// ConvPair: two Convs in a row as one node (fuse_conv_pairs, engine/passes/fuse_conv_pair.cpp), made
// where a backend runs both in one kernel so that the middle tensor never reaches memory. Inputs
// {x, W0, B0, W1, B1} (+ residual r when second.residual):
//   mid = first.act(conv(x, W0) + B0)                             (the Conv formula, first's params)
//   y   = second.post_act(second.act(conv(mid, W1) + B1) + r)     (the Conv formula, second's params)
// first has no residual. second may have one, as a Conv has: input 5, of y's shape, any value but the
// middle one (x itself in YOLO's residual blocks: 1x1 then 3x3 + x). mid_amax and mid_name are those
// of the middle value the fusion removed (Value::amax, 0 when it had none; INT8 kernels requantize the
// middle with it), for kernels, dumps and messages.
struct ConvPairParams {
    ConvParams first;
    ConvParams second;
    float mid_amax = 0;
    std::string mid_name;
    bool operator==(const ConvPairParams&) const = default;
};

// BatchNorm (inference): y = (x - mean) / sqrt(var + eps) * scale + bias, per channel (dim 1).
// Inputs {x, scale, bias, mean, var}.
struct BatchNormParams {
    float epsilon = 1e-5f;
    bool operator==(const BatchNormParams&) const = default;
};

// Unary activation ops: LeakyRelu uses alpha; Clip uses alpha=min, beta=max (±inf when absent).
struct UnaryParams {
    float alpha = 0.f;
    float beta = 0.f;
    bool operator==(const UnaryParams&) const = default;
};

// Concat along `axis` (normalised to [0, rank)). `in_place` is set by eliminate_concat: every input
// is written by its producer directly into its slice of the output, and the node itself does nothing.
struct ConcatParams {
    int32_t axis = 1;
    bool in_place = false;
    bool operator==(const ConcatParams&) const = default;
};

// clang-format off
#define ENGINE_RESIZE_COORD_LIST(X) X(HalfPixel) X(Asymmetric) X(AlignCorners) X(PytorchHalfPixel) \
                                    X(TfHalfPixelForNearest)
#define ENGINE_RESIZE_NEAREST_LIST(X) X(RoundPreferFloor) X(RoundPreferCeil) X(Floor) X(Ceil)
// clang-format on
enum class ResizeCoord : uint8_t { ENGINE_RESIZE_COORD_LIST(ENGINE_ENUM_ROW) };
enum class ResizeNearest : uint8_t { ENGINE_RESIZE_NEAREST_LIST(ENGINE_ENUM_ROW) };
template <>
struct EnumNames<ResizeCoord> {
    static constexpr std::string_view names[] = {ENGINE_RESIZE_COORD_LIST(ENGINE_ENUM_NAME_ROW)};
};
template <>
struct EnumNames<ResizeNearest> {
    static constexpr std::string_view names[] = {ENGINE_RESIZE_NEAREST_LIST(ENGINE_ENUM_NAME_ROW)};
};

// Resize, nearest mode only, any rank. For output index o along dim d with scale s[d]
// (s[d] = out[d] / in[d] when the model gave sizes):
//   x = coord(o, s, in, out)  (HalfPixel: (o + .5)/s - .5, Asymmetric: o/s,
//                              AlignCorners: o*(in-1)/(out-1), PytorchHalfPixel: out>1 ? (o+.5)/s-.5 : 0,
//                              TfHalfPixelForNearest: (o + .5)/s)
//   i = clamp(nearest(x), 0, in-1)
struct ResizeParams {
    std::vector<float> scales;  // one per dim
    ResizeCoord coord = ResizeCoord::HalfPixel;
    ResizeNearest nearest = ResizeNearest::RoundPreferFloor;
    bool operator==(const ResizeParams&) const = default;
};
// The input index i for output index o along one dim (the formulas above); every backend's nearest
// Resize uses it, so they agree with the reference to the index.
int64_t resize_nearest_source(const ResizeParams& p, double scale, int64_t o, int64_t in, int64_t out);

// MaxPool over NCHW. Padded positions never win (treated as -inf). ceil_mode picks ceil in the
// output-size formula: out = floor_or_ceil((in + pad_begin + pad_end - dil*(k-1) - 1) / stride) + 1,
// and with ceil a window that would start in the end padding is dropped (ONNX/PyTorch rule).
struct MaxPoolParams {
    std::array<int32_t, 2> kernel{1, 1};
    std::array<int32_t, 2> stride{1, 1};
    std::array<int32_t, 2> dilation{1, 1};
    std::array<int32_t, 4> pads{0, 0, 0, 0};  // top, left, bottom, right
    bool ceil_mode = false;
    bool operator==(const MaxPoolParams&) const = default;
};

// Transpose: output dim i = input dim perm[i].
struct TransposeParams {
    std::vector<int32_t> perm;
    bool operator==(const TransposeParams&) const = default;
};

// Slice, normalised to one entry per input dim: element k along dim d is input index
// starts[d] + k * steps[d], for k in [0, out_dim[d]). Steps may be negative.
struct SliceParams {
    std::vector<int64_t> starts;
    std::vector<int64_t> steps;
    bool operator==(const SliceParams&) const = default;
};

// Split along axis into outputs of the given sizes (sum = input dim).
struct SplitParams {
    int32_t axis = 0;
    std::vector<int64_t> sizes;
    bool operator==(const SplitParams&) const = default;
};

// Softmax along `axis`. coerce_2d (opsets < 13): the input is viewed as 2-D [prod(dims[:axis]),
// prod(dims[axis:])] and the softmax runs over the second dim.
struct SoftmaxParams {
    int32_t axis = -1;
    bool coerce_2d = false;
    bool operator==(const SoftmaxParams&) const = default;
};

#define ENGINE_PAD_MODE_LIST(X) X(Constant) X(Reflect) X(Edge)
enum class PadMode : uint8_t { ENGINE_PAD_MODE_LIST(ENGINE_ENUM_ROW) };
template <>
struct EnumNames<PadMode> {
    static constexpr std::string_view names[] = {ENGINE_PAD_MODE_LIST(ENGINE_ENUM_NAME_ROW)};
};

// Pad: pads has 2*rank entries, all begins then all ends (ONNX order). Negative pads crop.
struct PadParams {
    PadMode mode = PadMode::Constant;
    std::vector<int64_t> pads;
    float value = 0.f;
    bool operator==(const PadParams&) const = default;
};

// QuantizeLinear, DequantizeLinear and FakeQuant (ONNX QDQ models, docs/int8.md): linear quantization
// to the integers of `qtype`, with a scale and a zero point per tensor (one element) or per index of
// dim `axis` (1-D, x.shape[axis] elements):
//   QuantizeLinear   {x f32, scale f32, zero_point qtype} -> y qtype
//                    y = saturate(round_half_even(x / scale) + zero_point)    (NaN -> zero_point)
//   DequantizeLinear {x qtype, scale f32, zero_point qtype} -> y f32
//                    y = (x - zero_point) * scale                             (qtype I8, U8 or I32)
//   FakeQuant        {x, q_scale, q_zero_point, dq_scale, dq_zero_point}, all f32 -> y f32
//                    y = (saturate(round_half_even(x / q_scale) + q_zero_point) - dq_zero_point) * dq_scale
//                    a QuantizeLinear -> DequantizeLinear pair computed in float (fuse_qdq), so no
//                    integer tensor flows at run time; its zero points are integers held as f32.
// saturate clamps to qtype's range: [-128, 127] for I8, [0, 255] for U8. Scales are finite and > 0.
struct QuantParams {
    int32_t axis = 1;               // the per-axis dim, in [0, rank); unused by per-tensor operands
    DataType qtype = DataType::I8;  // the integer type: I8 or U8 (DequantizeLinear: also I32)
    bool operator==(const QuantParams&) const = default;
};

// The params types, X(Name) for NameParams: the OpParams alternatives after NoParams, in order. A
// params type's key in plan files is enum_key-style snake_case of Name ("BatchNorm" -> "batch_norm";
// NoParams: "none"): params_kind_key().
// clang-format off
#define ENGINE_PARAMS_LIST(X) X(Conv) X(BatchNorm) X(Unary) X(Concat) X(Resize) X(MaxPool) X(Transpose) \
                              X(Slice) X(Split) X(Softmax) X(Pad) X(Quant) X(ConvPair)
// clang-format on
using NoParams = std::monostate;
#define ENGINE_PARAMS_ALT(Name) , Name##Params
using OpParams = std::variant<NoParams ENGINE_PARAMS_LIST(ENGINE_PARAMS_ALT)>;
#undef ENGINE_PARAMS_ALT

// The OpParams index of alternative P.
template <typename P, size_t I = 0>
constexpr size_t params_index() {
    static_assert(I < std::variant_size_v<OpParams>, "not an OpParams alternative");
    if constexpr (std::is_same_v<std::variant_alternative_t<I, OpParams>, P>)
        return I;
    else
        return params_index<P, I + 1>();
}

// "none", "conv", "batch_norm", ... for OpParams alternative `index` (the plan's params "kind").
std::string_view params_kind_key(size_t index);
// The OpParams index of a params kind key, nullopt when none has it.
std::optional<size_t> params_index_of_key(std::string_view key);

}  // namespace engine
