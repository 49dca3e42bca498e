// One importer per ONNX op (run-time form and, for shape-computing ops, constant form) and the
// dispatch table. Opset differences are handled here; the IR sees normalised params only.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/onnx/attributes.h"
#include "engine/onnx/const_eval.h"
#include "engine/onnx/import_context.h"

namespace engine::onnx {
namespace {

using ::onnx::NodeProto;

constexpr float kInf = std::numeric_limits<float>::infinity();

int32_t to_i32(int64_t v, std::string_view what) {
    ENGINE_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(), what,
                 " ", v, " is out of range");
    return static_cast<int32_t>(v);
}

int64_t rank_of(ImportContext& ctx, ValueId v) { return static_cast<int64_t>(ctx.shape(v).size()); }

std::string list_str(const std::vector<int64_t>& v) { return shape_str(v); }

// --- shared attribute logic ---

std::array<int32_t, 2> pair_attr(const Attributes& a, std::string_view name, int64_t def) {
    const auto v = a.get_ints(name, {def, def});
    ENGINE_CHECK(v.size() == 2, "attribute '", name, "' has ", v.size(),
                 " entries; only 2-D (2 entries) is supported");
    for (int64_t x : v) ENGINE_CHECK(x >= 1, "attribute '", name, "' has invalid value ", list_str(v));
    return {to_i32(v[0], name), to_i32(v[1], name)};
}

// Pads (top, left, bottom, right) from `pads` / `auto_pad` for a 2-D window op.
std::array<int32_t, 4> resolve_pads(const Attributes& a, const Shape& x, std::array<int32_t, 2> kernel,
                                    std::array<int32_t, 2> stride, std::array<int32_t, 2> dilation) {
    const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    std::array<int32_t, 4> pads{0, 0, 0, 0};
    if (auto_pad == "NOTSET") {
        const auto p = a.get_ints("pads", {0, 0, 0, 0});
        ENGINE_CHECK(p.size() == 4, "attribute 'pads' has ", p.size(), " entries; 2-D ops need 4");
        for (size_t i = 0; i < 4; ++i) {
            ENGINE_CHECK(p[i] >= 0, "attribute 'pads' has a negative entry ", list_str(p));
            pads[i] = to_i32(p[i], "pad");
        }
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        for (int d = 0; d < 2; ++d) {
            const int64_t in = x[2 + d];
            const int64_t out = checked_add(in, stride[d] - 1, "auto_pad output size") / stride[d];
            const int64_t covered = checked_add(
                (out - 1) * stride[d], int64_t{dilation[d]} * (kernel[d] - 1) + 1, "auto_pad window extent");
            const int64_t total = std::max<int64_t>(0, covered - in);
            const int64_t small = total / 2, big = total - small;
            const bool upper = auto_pad == "SAME_UPPER";
            pads[d] = to_i32(upper ? small : big, "pad");
            pads[2 + d] = to_i32(upper ? big : small, "pad");
        }
    } else {
        ENGINE_CHECK(auto_pad == "VALID", "auto_pad '", auto_pad,
                     "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
    }
    return pads;
}

// --- generic forms ---

// Ops that exist only as constant computations: reaching the run-time form means an input is not constant.
void import_const_only(ImportContext& ctx, const NodeProto& node) {
    for (int i = 0; i < node.input_size(); ++i) {
        if (!ctx.has_input(node, i)) continue;
        const ValueId v = ctx.input(node, i);
        if (!ctx.is_constant(v))
            ENGINE_THROW(node.op_type(), " on run-time data is not supported: input ", i, " '", node.input(i),
                         "' is computed at run time (", node.op_type(),
                         " is only evaluated at import, when all its inputs are constants)");
    }
    ENGINE_THROW(node.op_type(), " cannot be evaluated");
}

template <OpType Op>
void import_simple(ImportContext& ctx, const NodeProto& node) {
    ctx.emit(Op, node, {ctx.input(node, 0)});
}

template <OpType Op>
void import_binary(ImportContext& ctx, const NodeProto& node) {
    ctx.emit(Op, node, {ctx.input(node, 0), ctx.input(node, 1)});
}

template <BinaryKind Kind>
void fold_binary(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(node, 0,
                      eval_binary(Kind, ctx.const_input(node, 0, "A"), ctx.const_input(node, 1, "B")));
}

// --- Conv, BatchNormalization, activations ---

void import_conv(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const ValueId x = ctx.input(node, 0);
    const ValueId w = ctx.static_input(node, 1, "Conv weight");
    const Shape xs = ctx.shape(x);
    const Shape ws = ctx.shape(w);
    ENGINE_CHECK(xs.size() == 4, "only 2-D convolution is supported: input '", node.input(0), "' has shape ",
                 shape_str(xs), ", expected 4-D NCHW");
    ENGINE_CHECK(ws.size() == 4, "weight '", node.input(1), "' has shape ", shape_str(ws),
                 ", expected 4-D [out, in/group, kh, kw]");
    ConvParams p;
    p.kernel = {to_i32(ws[2], "kernel"), to_i32(ws[3], "kernel")};
    if (a.has("kernel_shape")) {
        const auto ks = a.get_ints("kernel_shape");
        ENGINE_CHECK(ks.size() == 2 && ks[0] == ws[2] && ks[1] == ws[3], "kernel_shape ", list_str(ks),
                     " does not match weight shape ", shape_str(ws));
    }
    p.stride = pair_attr(a, "strides", 1);
    p.dilation = pair_attr(a, "dilations", 1);
    p.group = to_i32(a.get_int("group", 1), "group");
    ENGINE_CHECK(p.group >= 1, "group ", p.group, " must be >= 1");
    p.pads = resolve_pads(a, xs, p.kernel, p.stride, p.dilation);
    ValueId b = kNoValue;
    if (ctx.has_input(node, 2)) {
        b = ctx.static_input(node, 2, "Conv bias");
    } else {
        b = ctx.add_constant(ctx.node_name() + "_zero_bias", Tensor(DataType::F32, {ws[0]}));
    }
    ctx.emit(OpType::Conv, node, {x, w, b}, p);
}

void import_batchnorm(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ENGINE_CHECK(a.get_int("training_mode", 0) == 0, "training_mode=1 is not supported (inference only)");
    for (int o = 1; o < node.output_size(); ++o)
        ENGINE_CHECK(node.output(o).empty(), "output ", o, " '", node.output(o),
                     "' (training statistics) is not supported; export the model in inference mode");
    const ValueId x = ctx.input(node, 0);
    std::vector<ValueId> ins{x};
    const char* names[] = {"BatchNormalization scale", "BatchNormalization bias", "BatchNormalization mean",
                           "BatchNormalization var"};
    for (int i = 1; i <= 4; ++i) ins.push_back(ctx.static_input(node, i, names[i - 1]));
    ctx.emit(OpType::BatchNorm, node, std::move(ins), BatchNormParams{a.get_float("epsilon", 1e-5f)});
}

void import_leaky_relu(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ctx.emit(OpType::LeakyRelu, node, {ctx.input(node, 0)}, UnaryParams{a.get_float("alpha", 0.01f), 0.f});
}

void import_hard_sigmoid(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ctx.emit(OpType::HardSigmoid, node, {ctx.input(node, 0)},
             UnaryParams{a.get_float("alpha", 0.2f), a.get_float("beta", 0.5f)});
}

float const_scalar(ImportContext& ctx, const NodeProto& node, int i, std::string_view what) {
    const Tensor& t = ctx.const_input(node, i, what);
    ENGINE_CHECK(t.numel() == 1, what, " (input ", i, " '", node.input(i),
                 "') must be a scalar, it has shape ", shape_str(t.shape()));
    ENGINE_CHECK(t.dtype() != DataType::F16 && t.dtype() != DataType::BF16, what, " has unsupported type ",
                 dtype_name(t.dtype()));
    return t.to_f32()[0];
}

void import_clip(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    UnaryParams p{-kInf, kInf};
    if (ctx.opset() < 11) {
        p.alpha = a.get_float("min", -kInf);
        p.beta = a.get_float("max", kInf);
    } else {
        if (ctx.has_input(node, 1)) p.alpha = const_scalar(ctx, node, 1, "Clip min");
        if (ctx.has_input(node, 2)) p.beta = const_scalar(ctx, node, 2, "Clip max");
    }
    ctx.emit(OpType::Clip, node, {ctx.input(node, 0)}, p);
}

// --- Concat ---

void import_concat(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ENGINE_CHECK(node.input_size() >= 1, "Concat needs at least one input");
    std::vector<ValueId> ins;
    for (int i = 0; i < node.input_size(); ++i) ins.push_back(ctx.input(node, i));
    const int64_t axis = normalize_axis(a.get_int_required("axis"), rank_of(ctx, ins[0]), "axis");
    ctx.emit(OpType::Concat, node, std::move(ins), ConcatParams{static_cast<int32_t>(axis), false});
}

void fold_concat(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    std::vector<const Tensor*> ins;
    for (int i = 0; i < node.input_size(); ++i) ins.push_back(&ctx.const_input(node, i, "Concat input"));
    ctx.bind_constant(node, 0, eval_concat(ins, a.get_int_required("axis")));
}

// --- Resize / Upsample ---

// ONNX spells the modes as the IR's enum keys (engine/ir/params.h).
ResizeCoord coord_from_name(const std::string& s) {
    if (const auto c = enum_from_key<ResizeCoord>(s)) return *c;
    ENGINE_THROW("Resize coordinate_transformation_mode '", s,
                 "' is unsupported (supported: ", enum_keys<ResizeCoord>(), ")");
}

ResizeNearest nearest_from_name(const std::string& s) {
    if (const auto n = enum_from_key<ResizeNearest>(s)) return *n;
    ENGINE_THROW("Resize nearest_mode '", s, "' is unsupported (", enum_keys<ResizeNearest>(), ")");
}

// The float scale whose floor(in * scale) is exactly `out` (out/in, nudged by an ulp where rounding
// would lose an element), so shape inference reproduces the model's sizes.
float scale_for_size(int64_t in, int64_t out) {
    auto size_of = [in](float s) { return static_cast<int64_t>(std::floor(static_cast<double>(in) * s)); };
    float s = static_cast<float>(static_cast<double>(out) / static_cast<double>(in));
    for (int k = 0; k < 16 && size_of(s) < out; ++k) s = std::nextafter(s, kInf);
    for (int k = 0; k < 16 && size_of(s) > out; ++k) s = std::nextafter(s, 0.f);
    return s;
}

void emit_resize(ImportContext& ctx, const NodeProto& node, ValueId x, ResizeParams p,
                 const std::vector<float>& scales, const std::vector<int64_t>& sizes) {
    const Shape in = ctx.shape(x);
    if (!scales.empty()) {
        ENGINE_CHECK(scales.size() == in.size(), "scales has ", scales.size(),
                     " entries but the input has rank ", in.size());
        for (float s : scales) ENGINE_CHECK(s > 0.f && std::isfinite(s), "scale ", s, " must be positive");
        p.scales = scales;
    } else {
        ENGINE_CHECK(sizes.size() == in.size(), "sizes has ", sizes.size(),
                     " entries but the input has rank ", in.size());
        for (size_t d = 0; d < in.size(); ++d) {
            ENGINE_CHECK(sizes[d] > 0 && in[d] > 0, "sizes ", list_str(sizes), " invalid for input ",
                         shape_str(in));
            p.scales.push_back(scale_for_size(in[d], sizes[d]));
        }
    }
    ctx.emit(OpType::Resize, node, {x}, std::move(p));
}

void check_nearest_mode(const Attributes& a, const char* op) {
    const std::string mode = a.get_string("mode", "nearest");
    ENGINE_CHECK(mode == "nearest", op, " mode '", mode, "' is unsupported (only 'nearest' is supported)");
}

void import_resize(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    check_nearest_mode(a, "Resize");
    const ValueId x = ctx.input(node, 0);
    ResizeParams p;
    std::vector<float> scales;
    std::vector<int64_t> sizes;
    if (ctx.opset() < 11) {
        // Resize-10 follows Upsample: asymmetric coordinates, floor.
        p.coord = ResizeCoord::Asymmetric;
        p.nearest = ResizeNearest::Floor;
        scales = ctx.const_floats(node, 1, "Resize scales");
    } else {
        const std::string coord = a.get_string("coordinate_transformation_mode", "half_pixel");
        ENGINE_CHECK(coord != "tf_crop_and_resize",
                     "Resize coordinate_transformation_mode 'tf_crop_and_resize' "
                     "is unsupported");
        p.coord = coord_from_name(coord);
        p.nearest = nearest_from_name(a.get_string("nearest_mode", "round_prefer_floor"));
        if (ctx.has_input(node, 2) && ctx.const_input(node, 2, "Resize scales").numel() > 0)
            scales = ctx.const_floats(node, 2, "Resize scales");
        if (ctx.has_input(node, 3) && ctx.const_input(node, 3, "Resize sizes").numel() > 0)
            sizes = ctx.const_ints(node, 3, "Resize sizes");
        ENGINE_CHECK(scales.empty() != sizes.empty(),
                     "Resize needs exactly one of 'scales' and 'sizes' (got ",
                     scales.empty() ? "neither" : "both", ")");
    }
    emit_resize(ctx, node, x, std::move(p), scales, sizes);
}

void import_upsample(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    check_nearest_mode(a, "Upsample");
    ResizeParams p;
    p.coord = ResizeCoord::Asymmetric;
    p.nearest = ResizeNearest::Floor;
    const ValueId x = ctx.input(node, 0);
    emit_resize(ctx, node, x, std::move(p), ctx.const_floats(node, 1, "Upsample scales"), {});
}

// --- MaxPool ---

void import_maxpool(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ENGINE_CHECK(!ctx.output_used(node, 1), "the Indices output '", node.output(1), "' is not supported");
    ENGINE_CHECK(a.get_int("storage_order", 0) == 0, "storage_order=1 is not supported");
    const ValueId x = ctx.input(node, 0);
    const Shape xs = ctx.shape(x);
    ENGINE_CHECK(xs.size() == 4, "only 2-D max pooling is supported: input '", node.input(0), "' has shape ",
                 shape_str(xs), ", expected 4-D NCHW");
    const auto ks = a.get_ints_required("kernel_shape");
    ENGINE_CHECK(ks.size() == 2, "kernel_shape ", list_str(ks), " must have 2 entries (2-D pooling)");
    MaxPoolParams p;
    for (int d = 0; d < 2; ++d) {
        ENGINE_CHECK(ks[d] >= 1, "kernel_shape ", list_str(ks), " has a non-positive entry");
        p.kernel[d] = to_i32(ks[d], "kernel_shape");
    }
    p.stride = pair_attr(a, "strides", 1);
    p.dilation = pair_attr(a, "dilations", 1);
    p.ceil_mode = a.get_int("ceil_mode", 0) != 0;
    p.pads = resolve_pads(a, xs, p.kernel, p.stride, p.dilation);
    ctx.emit(OpType::MaxPool, node, {x}, p);
}

// --- Reshape family ---

void emit_reshape(ImportContext& ctx, const NodeProto& node, ValueId x, const Shape& out) {
    ctx.emit(OpType::Reshape, node, {x}, {}, 1, {out});
}

Shape reshape_target(ImportContext& ctx, const NodeProto& node, const Shape& in) {
    const Attributes a(node);
    const bool allowzero = ctx.opset() >= 14 && a.get_int("allowzero", 0) != 0;
    return resolve_reshape(in, ctx.const_ints(node, 1, "Reshape shape"), allowzero);
}

void import_reshape(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    emit_reshape(ctx, node, x, reshape_target(ctx, node, ctx.shape(x)));
}

void fold_reshape(ImportContext& ctx, const NodeProto& node) {
    const Tensor& t = ctx.const_input(node, 0, "Reshape data");
    ctx.bind_constant(node, 0, t.reshaped(reshape_target(ctx, node, t.shape())));
}

Shape flatten_to(ImportContext& ctx, const NodeProto& node, const Shape& in) {
    (void)ctx;
    return flatten_shape(in, Attributes(node).get_int("axis", 1));
}

std::vector<int64_t> squeeze_axes(ImportContext& ctx, const NodeProto& node, bool required) {
    if (ctx.opset() < 13) {
        const Attributes a(node);
        return required ? a.get_ints_required("axes") : a.get_ints("axes");
    }
    if (!required && !ctx.has_input(node, 1)) return {};
    return ctx.const_ints(node, 1, "axes");
}

Shape squeeze_to(ImportContext& ctx, const NodeProto& node, const Shape& in) {
    return squeeze_shape(in, squeeze_axes(ctx, node, false));
}

Shape unsqueeze_to(ImportContext& ctx, const NodeProto& node, const Shape& in) {
    return unsqueeze_shape(in, squeeze_axes(ctx, node, true));
}

template <Shape (*Target)(ImportContext&, const NodeProto&, const Shape&)>
void import_as_reshape(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    emit_reshape(ctx, node, x, Target(ctx, node, ctx.shape(x)));
}

template <Shape (*Target)(ImportContext&, const NodeProto&, const Shape&)>
void fold_as_reshape(ImportContext& ctx, const NodeProto& node) {
    const Tensor& t = ctx.const_input(node, 0, "data");
    ctx.bind_constant(node, 0, t.reshaped(Target(ctx, node, t.shape())));
}

// --- Transpose, Slice, Split, Softmax, Pad ---

std::vector<int64_t> transpose_perm(const NodeProto& node, int64_t rank) {
    std::vector<int64_t> perm;
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    perm = Attributes(node).get_ints("perm", perm);
    ENGINE_CHECK(static_cast<int64_t>(perm.size()) == rank, "perm ", list_str(perm), " has ", perm.size(),
                 " entries for an input of rank ", rank);
    return perm;
}

void import_transpose(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    TransposeParams p;
    for (int64_t d : transpose_perm(node, rank_of(ctx, x))) p.perm.push_back(to_i32(d, "perm"));
    ctx.emit(OpType::Transpose, node, {x}, p);
}

void fold_transpose(ImportContext& ctx, const NodeProto& node) {
    const Tensor& t = ctx.const_input(node, 0, "data");
    ctx.bind_constant(node, 0,
                      eval_transpose(t, transpose_perm(node, static_cast<int64_t>(t.shape().size()))));
}

SliceSpec slice_spec(ImportContext& ctx, const NodeProto& node, const Shape& in) {
    if (ctx.opset() < 10) {
        const Attributes a(node);
        return resolve_slice(in, a.get_ints_required("starts"), a.get_ints_required("ends"),
                             a.get_ints("axes"), {});
    }
    const auto starts = ctx.const_ints(node, 1, "Slice starts");
    const auto ends = ctx.const_ints(node, 2, "Slice ends");
    const auto axes = ctx.has_input(node, 3) ? ctx.const_ints(node, 3, "Slice axes") : std::vector<int64_t>{};
    const auto steps =
        ctx.has_input(node, 4) ? ctx.const_ints(node, 4, "Slice steps") : std::vector<int64_t>{};
    return resolve_slice(in, starts, ends, axes, steps);
}

void import_slice(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    SliceSpec s = slice_spec(ctx, node, ctx.shape(x));
    ctx.emit(OpType::Slice, node, {x}, SliceParams{std::move(s.starts), std::move(s.steps)}, 1, {s.out});
}

void fold_slice(ImportContext& ctx, const NodeProto& node) {
    const Tensor& t = ctx.const_input(node, 0, "data");
    ctx.bind_constant(node, 0, eval_slice(t, slice_spec(ctx, node, t.shape())));
}

void import_split(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const ValueId x = ctx.input(node, 0);
    const Shape in = ctx.shape(x);
    const int64_t axis = normalize_axis(a.get_int("axis", 0), static_cast<int64_t>(in.size()), "axis");
    const int n = node.output_size();
    ENGINE_CHECK(n >= 1, "Split has no outputs");
    std::vector<int64_t> sizes;
    if (ctx.opset() < 13 && a.has("split")) {
        sizes = a.get_ints("split");
    } else if (ctx.opset() >= 13 && ctx.has_input(node, 1)) {
        sizes = ctx.const_ints(node, 1, "Split split");
    } else {
        ENGINE_CHECK(in[axis] % n == 0, "cannot split dim ", axis, " of size ", in[axis], " of ",
                     shape_str(in), " into ", n, " equal parts");
        sizes.assign(static_cast<size_t>(n), in[axis] / n);
    }
    ENGINE_CHECK(static_cast<int>(sizes.size()) == n, "split sizes ", list_str(sizes), " have ", sizes.size(),
                 " entries for ", n, " outputs");
    ctx.emit(OpType::Split, node, {x}, SplitParams{static_cast<int32_t>(axis), sizes}, n);
}

void import_softmax(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const ValueId x = ctx.input(node, 0);
    const int64_t rank = rank_of(ctx, x);
    ENGINE_CHECK(rank >= 1, "Softmax input must have rank >= 1");
    SoftmaxParams p;
    p.coerce_2d = ctx.opset() < 13;
    const int64_t axis = normalize_axis(a.get_int("axis", p.coerce_2d ? 1 : -1), rank, "axis");
    // Over the last dim the 2-D view and the plain softmax agree; keep the simpler form.
    if (axis == rank - 1) p.coerce_2d = false;
    p.axis = static_cast<int32_t>(axis);
    ctx.emit(OpType::Softmax, node, {x}, p);
}

void import_pad(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const ValueId x = ctx.input(node, 0);
    const int64_t rank = rank_of(ctx, x);
    PadParams p;
    const std::string mode = a.get_string("mode", "constant");
    const auto pad_mode = enum_from_key<PadMode>(mode);
    if (!pad_mode) ENGINE_THROW("Pad mode '", mode, "' is unsupported (", enum_keys<PadMode>(), ")");
    p.mode = *pad_mode;
    if (ctx.opset() < 11) {
        p.pads = a.get_ints_required("pads");
        p.value = a.get_float("value", 0.f);
    } else {
        p.pads = ctx.const_ints(node, 1, "Pad pads");
        if (ctx.has_input(node, 2)) {
            const Tensor& v = ctx.const_input(node, 2, "Pad constant_value");
            ENGINE_CHECK(v.numel() <= 1, "Pad constant_value must be a scalar, it has shape ",
                         shape_str(v.shape()));
            if (v.numel() == 1) p.value = const_scalar(ctx, node, 2, "Pad constant_value");
        }
        ENGINE_CHECK(node.input_size() < 4 || node.input(3).empty(),
                     "Pad 'axes' input (opset 18) is unsupported");
    }
    ENGINE_CHECK(static_cast<int64_t>(p.pads.size()) == 2 * rank, "pads ", list_str(p.pads), " has ",
                 p.pads.size(), " entries; an input of rank ", rank, " needs ", 2 * rank);
    ctx.emit(OpType::Pad, node, {x}, p);
}

// --- QuantizeLinear, DequantizeLinear ---

// The attributes of later opsets that the engine does not implement (opset 21's blocked quantization,
// output_dtype other than the zero point's type) are refused; opset 19's `saturate` only concerns
// float8 types, which are refused with their dtype.
void check_quant_attributes(const Attributes& a, DataType qtype) {
    ENGINE_CHECK(a.get_int("block_size", 0) == 0, "blocked quantization (block_size ",
                 a.get_int("block_size", 0), ") is not supported; scales must be per tensor or per axis");
    if (a.has("output_dtype")) {
        const auto t = static_cast<int32_t>(a.get_int("output_dtype", 0));
        ENGINE_CHECK(t == 0 || dtype_from_onnx(t, "attribute 'output_dtype'") == qtype, "output_dtype ",
                     onnx_type_name(t), " differs from the zero point's type ", dtype_name(qtype));
    }
}

// The scale (input 1) of a QuantizeLinear / DequantizeLinear on x: a float32 constant with one element
// (per tensor) or, from opset 13, x.shape[axis] elements (per axis), every one finite and > 0.
ValueId quant_scale(ImportContext& ctx, const NodeProto& node, const Shape& x, int64_t axis) {
    const char* what = node.op_type() == "QuantizeLinear" ? "y_scale" : "x_scale";
    const Tensor& t = ctx.const_input(node, 1, what);
    ENGINE_CHECK(t.dtype() == DataType::F32, what, " '", node.input(1), "' has type ", dtype_name(t.dtype()),
                 "; only float32 scales are supported");
    ENGINE_CHECK(t.shape().size() <= 1, what, " '", node.input(1), "' has shape ", shape_str(t.shape()),
                 ", expected a scalar or a 1-D tensor");
    if (t.numel() != 1) {
        ENGINE_CHECK(ctx.opset() >= 13, what, " '", node.input(1), "' has ", t.numel(),
                     " elements; per-axis scales need opset 13 (this model is opset ", ctx.opset(), ")");
        ENGINE_CHECK(axis >= 0, "axis ", Attributes(node).get_int("axis", 1),
                     " is out of range for the input ", shape_str(x), " of per-axis ", what, " '",
                     node.input(1), "'");
        ENGINE_CHECK(t.numel() == x[static_cast<size_t>(axis)], what, " '", node.input(1), "' has ",
                     t.numel(), " elements, but dim ", axis, " (the axis) of the input ", shape_str(x),
                     " has ", x[static_cast<size_t>(axis)]);
    }
    const std::vector<float> v = t.to_f32();
    for (size_t i = 0; i < v.size(); ++i)
        ENGINE_CHECK(std::isfinite(v[i]) && v[i] > 0, what, " '", node.input(1), "' element ", i, " is ",
                     v[i], "; a scale must be finite and > 0");
    return ctx.input(node, 1);
}

// The zero point (input 2): a constant of the scale's element count, int8 or uint8 (DequantizeLinear:
// also int32, whose zero point must be 0), each within its type; absent: zeros of `absent_type`.
ValueId quant_zero_point(ImportContext& ctx, const NodeProto& node, ValueId scale, DataType absent_type,
                         bool allow_i32) {
    const char* what = node.op_type() == "QuantizeLinear" ? "y_zero_point" : "x_zero_point";
    const Shape scale_shape = ctx.shape(scale);
    if (!ctx.has_input(node, 2))
        return ctx.add_constant(ctx.node_name() + "_zero_point", Tensor(absent_type, scale_shape));
    const Tensor& t = ctx.const_input(node, 2, what);
    const bool ok =
        t.dtype() == DataType::I8 || t.dtype() == DataType::U8 || (allow_i32 && t.dtype() == DataType::I32);
    ENGINE_CHECK(ok, what, " '", node.input(2), "' has type ", dtype_name(t.dtype()),
                 "; quantized types are int8 and uint8", allow_i32 ? " (and int32 to dequantize)" : "");
    ENGINE_CHECK(t.numel() == shape_numel(scale_shape) && t.shape().size() <= 1, what, " '", node.input(2),
                 "' has shape ", shape_str(t.shape()), ", the scale ", shape_str(scale_shape),
                 " (they must match)");
    if (t.dtype() == DataType::I32)
        for (int64_t z : t.to_i64())
            ENGINE_CHECK(z == 0, what, " '", node.input(2), "' is ", z, "; an int32 zero point must be 0");
    return ctx.input(node, 2);
}

// The axis of per-axis scales (opset 13's attribute, default 1), normalised to [0, rank); -1 when out
// of range, an error only for per-axis scales (ONNX ignores the axis of per-tensor ones).
int64_t quant_axis(ImportContext& ctx, const NodeProto& node, const Shape& x) {
    if (ctx.opset() < 13) return 1;
    const int64_t axis = Attributes(node).get_int("axis", 1);
    const auto rank = static_cast<int64_t>(x.size());
    if (axis < -rank || axis >= rank) return -1;
    return axis < 0 ? axis + rank : axis;
}

void import_quantize_linear(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    ENGINE_CHECK(ctx.desc(x).dtype == DataType::F32, "input '", node.input(0), "' has type ",
                 dtype_name(ctx.desc(x).dtype), "; only float32 tensors can be quantized");
    const Shape xs = ctx.shape(x);
    const int64_t axis = quant_axis(ctx, node, xs);
    const ValueId scale = quant_scale(ctx, node, xs, axis);
    const ValueId zero = quant_zero_point(ctx, node, scale, DataType::U8, false);
    const DataType qtype = ctx.desc(zero).dtype;
    check_quant_attributes(Attributes(node), qtype);
    ctx.emit(OpType::QuantizeLinear, node, {x, scale, zero},
             QuantParams{to_i32(std::max<int64_t>(axis, 0), "axis"), qtype});
}

void import_dequantize_linear(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    const DataType qtype = ctx.desc(x).dtype;
    ENGINE_CHECK(qtype == DataType::I8 || qtype == DataType::U8 || qtype == DataType::I32, "input '",
                 node.input(0), "' has type ", dtype_name(qtype),
                 "; DequantizeLinear reads int8, uint8 or int32");
    const Shape xs = ctx.shape(x);
    const int64_t axis = quant_axis(ctx, node, xs);
    const ValueId scale = quant_scale(ctx, node, xs, axis);
    const ValueId zero = quant_zero_point(ctx, node, scale, qtype, true);
    ENGINE_CHECK(ctx.desc(zero).dtype == qtype, "x_zero_point '", node.input(2), "' has type ",
                 dtype_name(ctx.desc(zero).dtype), ", the input '", node.input(0), "' ", dtype_name(qtype),
                 " (they must match)");
    check_quant_attributes(Attributes(node), qtype);
    ctx.emit(OpType::DequantizeLinear, node, {x, scale, zero},
             QuantParams{to_i32(std::max<int64_t>(axis, 0), "axis"), qtype});
}

// --- Identity, Dropout, Cast, Constant ---

void import_identity(ImportContext& ctx, const NodeProto& node) {
    ctx.emit(OpType::Identity, node, {ctx.input(node, 0)});
}

void fold_identity(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(node, 0, ctx.const_input(node, 0, "input"));
}

void import_dropout(ImportContext& ctx, const NodeProto& node) {
    if (ctx.opset() >= 12 && ctx.has_input(node, 2)) {
        const Tensor& t = ctx.const_input(node, 2, "Dropout training_mode");
        ENGINE_CHECK(t.numel() == 1 && t.to_i64()[0] == 0, "Dropout training_mode=true is not supported");
    }
    ENGINE_CHECK(!ctx.output_used(node, 1), "the mask output '", node.output(1),
                 "' is used; only inference Dropout (no mask) is supported");
    ctx.emit(OpType::Dropout, node, {ctx.input(node, 0)});
}

DataType cast_target(const NodeProto& node) {
    return dtype_from_onnx(static_cast<int32_t>(Attributes(node).get_int_required("to")), "Cast target 'to'");
}

void import_cast(ImportContext& ctx, const NodeProto& node) {
    const ValueId x = ctx.input(node, 0);
    const DataType to = cast_target(node);
    const DataType from = ctx.desc(x).dtype;
    if (to == DataType::F32 && (from == DataType::I8 || from == DataType::U8)) {
        // The int8 / uint8 output of a QuantizeLinear read as float: exactly a DequantizeLinear with
        // scale 1 and zero point 0, which fuse_qdq pairs with the QuantizeLinear.
        const ValueId one =
            ctx.add_constant(ctx.node_name() + "_scale", Tensor::from_f32({}, std::vector<float>{1.f}));
        const ValueId zero = ctx.add_constant(ctx.node_name() + "_zero_point", Tensor(from, {}));
        ctx.emit(OpType::DequantizeLinear, node, {x, one, zero}, QuantParams{0, from});
        return;
    }
    ENGINE_CHECK(to == ctx.desc(x).dtype, "Cast of run-time tensor '", node.input(0), "' from ",
                 dtype_name(ctx.desc(x).dtype), " to ", dtype_name(to),
                 " is not supported (run-time tensors are float32)");
    ctx.emit(OpType::Identity, node, {x});
}

void fold_cast(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(node, 0, eval_cast(ctx.const_input(node, 0, "input"), cast_target(node)));
}

void fold_constant(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    ENGINE_CHECK(node.attribute_size() == 1, "Constant needs exactly one value attribute, it has ",
                 node.attribute_size());
    const auto& attr = node.attribute(0);
    const std::string& name = attr.name();
    if (name == "value") {
        ctx.bind_constant(node, 0, tensor_from_proto(*a.get_tensor("value"), "Constant value"));
    } else if (name == "value_float") {
        const float v = a.get_float("value_float", 0.f);
        ctx.bind_constant(node, 0, Tensor::from_f32({}, std::span<const float>(&v, 1)));
    } else if (name == "value_floats") {
        const auto v = a.get_floats("value_floats");
        ctx.bind_constant(node, 0, Tensor::from_f32({static_cast<int64_t>(v.size())}, v));
    } else if (name == "value_int") {
        const int64_t v = a.get_int("value_int", 0);
        ctx.bind_constant(node, 0, Tensor::from_i64({}, std::span<const int64_t>(&v, 1)));
    } else if (name == "value_ints") {
        const auto v = a.get_ints("value_ints");
        ctx.bind_constant(node, 0, Tensor::from_i64({static_cast<int64_t>(v.size())}, v));
    } else {
        ENGINE_THROW("Constant attribute '", name, "' is unsupported (value, value_float(s), value_int(s))");
    }
}

// --- shape-computing ops (constant only) ---

void fold_shape(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const Shape in = ctx.shape(ctx.input(node, 0));
    const auto rank = static_cast<int64_t>(in.size());
    int64_t start = 0, end = rank;
    if (ctx.opset() >= 15) {
        start = a.get_int("start", 0);
        end = a.get_int("end", rank);
    }
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    std::vector<int64_t> dims;
    for (int64_t d = start; d < end; ++d) dims.push_back(in[d]);
    ctx.bind_constant(node, 0, Tensor::from_i64({static_cast<int64_t>(dims.size())}, dims));
}

void fold_gather(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(
        node, 0,
        eval_gather(ctx.const_input(node, 0, "Gather data"), ctx.const_input(node, 1, "Gather indices"),
                    Attributes(node).get_int("axis", 0)));
}

void fold_range(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(node, 0,
                      eval_range(ctx.const_input(node, 0, "start"), ctx.const_input(node, 1, "limit"),
                                 ctx.const_input(node, 2, "delta")));
}

void fold_constant_of_shape(ImportContext& ctx, const NodeProto& node) {
    const Attributes a(node);
    const Tensor& shape = ctx.const_input(node, 0, "ConstantOfShape shape");
    if (const auto* v = a.get_tensor("value")) {
        const Tensor value = tensor_from_proto(*v, "ConstantOfShape value");
        ctx.bind_constant(node, 0, eval_constant_of_shape(shape, &value));
    } else {
        ctx.bind_constant(node, 0, eval_constant_of_shape(shape, nullptr));
    }
}

void fold_where(ImportContext& ctx, const NodeProto& node) {
    ctx.bind_constant(node, 0,
                      eval_where(ctx.const_input(node, 0, "condition"), ctx.const_input(node, 1, "X"),
                                 ctx.const_input(node, 2, "Y")));
}

// --- the table ---

using enum FoldWhen;

// clang-format off
const OpImporter kImporters[] = {
    {"Conv",               import_conv,                     nullptr,                        Never},
    {"BatchNormalization", import_batchnorm,                nullptr,                        Never},
    {"Relu",               import_simple<OpType::Relu>,     nullptr,                        Never},
    {"LeakyRelu",          import_leaky_relu,               nullptr,                        Never},
    {"Sigmoid",            import_simple<OpType::Sigmoid>,  nullptr,                        Never},
    {"Tanh",               import_simple<OpType::Tanh>,     nullptr,                        Never},
    {"Softplus",           import_simple<OpType::Softplus>, nullptr,                        Never},
    {"Clip",               import_clip,                     nullptr,                        Never},
    {"HardSigmoid",        import_hard_sigmoid,             nullptr,                        Never},
    {"Add",                import_binary<OpType::Add>,      fold_binary<BinaryKind::Add>,   AllConstSmall},
    {"Sub",                import_binary<OpType::Sub>,      fold_binary<BinaryKind::Sub>,   AllConstSmall},
    {"Mul",                import_binary<OpType::Mul>,      fold_binary<BinaryKind::Mul>,   AllConstSmall},
    {"Div",                import_binary<OpType::Div>,      fold_binary<BinaryKind::Div>,   AllConstSmall},
    {"Concat",             import_concat,                   fold_concat,                    AllConstSmall},
    {"Resize",             import_resize,                   nullptr,                        Never},
    {"Upsample",           import_upsample,                 nullptr,                        Never},
    {"MaxPool",            import_maxpool,                  nullptr,                        Never},
    {"Reshape",            import_reshape,                  fold_reshape,                   AllConst},
    {"Flatten",            import_as_reshape<flatten_to>,   fold_as_reshape<flatten_to>,    AllConst},
    {"Squeeze",            import_as_reshape<squeeze_to>,   fold_as_reshape<squeeze_to>,    AllConst},
    {"Unsqueeze",          import_as_reshape<unsqueeze_to>, fold_as_reshape<unsqueeze_to>,  AllConst},
    {"Transpose",          import_transpose,                fold_transpose,                 AllConstSmall},
    {"Slice",              import_slice,                    fold_slice,                     AllConstSmall},
    {"Split",              import_split,                    nullptr,                        Never},
    {"Softmax",            import_softmax,                  nullptr,                        Never},
    {"Pad",                import_pad,                      nullptr,                        Never},
    {"Identity",           import_identity,                 fold_identity,                  AllConstSmall},
    {"Dropout",            import_dropout,                  nullptr,                        Never},
    {"Cast",               import_cast,                     fold_cast,                      AllConst},
    {"QuantizeLinear",     import_quantize_linear,          nullptr,                        Never},
    {"DequantizeLinear",   import_dequantize_linear,        nullptr,                        Never},
    {"Constant",           import_const_only,               fold_constant,                  Always},
    {"Shape",              import_const_only,               fold_shape,                     Always},
    {"Gather",             import_const_only,               fold_gather,                    AllConst},
    {"Range",              import_const_only,               fold_range,                     AllConst},
    {"ConstantOfShape",    import_const_only,               fold_constant_of_shape,         AllConst},
    {"Equal",              import_const_only,               fold_binary<BinaryKind::Equal>, AllConst},
    {"Where",              import_const_only,               fold_where,                     AllConst},
};
// clang-format on

}  // namespace

const OpImporter* find_op_importer(std::string_view op_type) {
    for (const OpImporter& imp : op_importers())
        if (imp.op == op_type) return &imp;
    return nullptr;
}

std::span<const OpImporter> op_importers() { return kImporters; }

}  // namespace engine::onnx
