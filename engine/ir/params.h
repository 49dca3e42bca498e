// Typed per-op parameters. Every IR node carries one OpParams alternative (std::monostate for ops
// without attributes). Shapes live on the values, not here: a node's output shapes come from
// shape inference (engine/ir/shape_inference.cpp).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

namespace engine {

// Activation functions an op applies elementwise (standalone or fused into a Conv).
//   Relu: max(x, 0)             LeakyRelu: x >= 0 ? x : alpha*x      Sigmoid: 1/(1+e^-x)
//   Tanh                        Softplus: ln(1+e^x)                  Mish: x*tanh(softplus(x))
//   Silu: x*sigmoid(x)          Clip: min(max(x, alpha), beta)
enum class ActKind : uint8_t { None, Relu, LeakyRelu, Sigmoid, Tanh, Softplus, Mish, Silu, Clip };

struct Act {
    ActKind kind = ActKind::None;
    float alpha = 0.f;
    float beta = 0.f;
    bool operator==(const Act&) const = default;
};

std::string_view act_kind_name(ActKind k);

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

enum class ResizeCoord : uint8_t {
    HalfPixel,
    Asymmetric,
    AlignCorners,
    PytorchHalfPixel,
    TfHalfPixelForNearest
};
enum class ResizeNearest : uint8_t { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

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

enum class PadMode : uint8_t { Constant, Reflect, Edge };

// Pad: pads has 2*rank entries, all begins then all ends (ONNX order). Negative pads crop.
struct PadParams {
    PadMode mode = PadMode::Constant;
    std::vector<int64_t> pads;
    float value = 0.f;
    bool operator==(const PadParams&) const = default;
};

using OpParams =
    std::variant<std::monostate, ConvParams, BatchNormParams, UnaryParams, ConcatParams, ResizeParams,
                 MaxPoolParams, TransposeParams, SliceParams, SplitParams, SoftmaxParams, PadParams>;

}  // namespace engine
