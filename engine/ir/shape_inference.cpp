// Shape inference: one function per IR op computes its output descs and `batched` flags from its
// inputs and params, and rejects inconsistent shapes with a message naming the node.
//
// Reshape and Slice params do not determine the output shape alone (Reshape has no params, Slice keeps
// starts and steps only): their output value's desc holds the shape, set by whoever creates the node,
// and inference checks it against the input.
//
// `batched` (dim 0 is the run-time batch) propagates through ops that keep dim 0 per sample:
// elementwise ops, Conv, pooling, Resize with scale 1 on dim 0, Concat/Split/Softmax/Slice/Pad that do
// not touch dim 0, Transpose with perm[0] == 0, Reshape that keeps dim 0.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/ir/graph.h"

namespace engine {
namespace {

// The largest dim a computed shape may have (2^40): far above any real model. Sums and products of dims
// and params go through engine/core/checked.h; an overflow there names the node (infer_node).
constexpr int64_t kMaxDim = int64_t{1} << 40;

class Infer {
  public:
    Infer(Graph& g, NodeId id)
        : g_(g), n_(g.node(id)), prefix_(concat("node '", n_.name, "' [", op_type_name(n_.op), "]: ")) {}

    template <typename... Args>
    [[noreturn]] void fail(const Args&... args) const {
        throw Error(concat(prefix_, args...));
    }
    template <typename... Args>
    void check(bool cond, const Args&... args) const {
        if (!cond) fail(args...);
    }

    const Node& node() const { return n_; }
    const std::string& prefix() const { return prefix_; }
    size_t num_inputs() const { return n_.inputs.size(); }
    const Value& in(size_t i) const { return g_.value(n_.inputs.at(i)); }
    const Shape& shape(size_t i) const { return in(i).desc.shape; }
    bool batched(size_t i) const { return in(i).batched; }
    // The shape already stored on output k (Reshape, Slice).
    const Shape& preset_out(size_t k) const { return g_.value(n_.outputs.at(k)).desc.shape; }

    template <typename P>
    const P& params() const {
        const P* p = std::get_if<P>(&n_.params);
        if (p == nullptr)
            fail("params have the wrong type for this op (variant index ", n_.params.index(), ")");
        return *p;
    }

    void set_out(size_t k, Shape shape, bool batched, DataType dtype = DataType::F32) {
        check(k < n_.outputs.size(), "expected at least ", k + 1, " outputs, the node has ",
              n_.outputs.size());
        for (int64_t d : shape) {
            check(d >= 0, "computed a negative dim in ", shape_str(shape));
            check(d <= kMaxDim, "computed dim ", d, " in ", shape_str(shape), ", over the limit of 2^40");
        }
        Value& v = g_.value(n_.outputs[k]);
        if (v.constant) return;  // constants keep their desc
        v.desc = {dtype, std::move(shape)};
        v.batched = batched;
    }

    void check_arity(size_t lo, size_t hi, size_t outs) const {
        check(num_inputs() >= lo && num_inputs() <= hi, "has ", num_inputs(), " inputs, expected ", lo,
              lo == hi ? std::string() : concat("..", hi));
        check(n_.outputs.size() == outs, "has ", n_.outputs.size(), " outputs, expected ", outs);
    }
    void check_float_inputs() const {
        for (size_t i = 0; i < num_inputs(); ++i)
            check(is_float(in(i).desc.dtype), "input ", i, " '", in(i).name, "' has type ",
                  dtype_name(in(i).desc.dtype), ", expected a float type");
    }
    int64_t axis(int64_t a, size_t rank, const char* what) const {
        const auto r = static_cast<int64_t>(rank);
        check(a >= -r && a < r, what, " ", a, " is out of range for rank ", r);
        return a < 0 ? a + r : a;
    }

  private:
    Graph& g_;
    const Node& n_;
    std::string prefix_;
};

// Output size of a 2-D window op along one dim; 0 or less means the window does not fit.
int64_t window_out(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t k, int64_t stride, int64_t dil,
                   bool ceil_mode) {
    const int64_t padded = checked_add(checked_add(in, pad_begin, "padded input"), pad_end, "padded input");
    const int64_t span = padded - checked_mul(dil, k - 1, "dilated kernel") - 1;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? checked_add(span, stride - 1, "window span") / stride : span / stride) + 1;
    // A last window starting inside the end padding is dropped (ONNX / PyTorch rule).
    if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
    return out;
}

// One operand of a conv's shape rule: its name (for messages) and shape. A ConvPair's middle value is
// not a node input, so the rule takes operands rather than input slots.
struct Operand {
    std::string_view name;
    const Shape& shape;
};

Operand operand(const Infer& c, size_t i) { return {c.in(i).name, c.shape(i)}; }

// The Conv rule without its residual: the output shape of conv(x, w) + b with params p (b optional),
// or a failure naming the operand at fault. `which` starts every message ("" for a Conv, "first conv: "
// or "second conv: " for a ConvPair).
Shape conv_shape(const Infer& c, std::string_view which, Operand x, Operand w, std::optional<Operand> b,
                 const ConvParams& p) {
    c.check(x.shape.size() == 4, which, "input '", x.name, "' has shape ", shape_str(x.shape),
            ", expected 4-D NCHW");
    c.check(w.shape.size() == 4, which, "weight '", w.name, "' has shape ", shape_str(w.shape),
            ", expected [O, C/group, kh, kw]");
    c.check(p.group >= 1, which, "group ", p.group, " must be >= 1");
    for (int d = 0; d < 2; ++d)
        c.check(p.stride[d] >= 1 && p.dilation[d] >= 1 && p.kernel[d] >= 1, which,
                "kernel, stride and dilation must be >= 1");
    for (int32_t pad : p.pads) c.check(pad >= 0, which, "pads must be >= 0");
    const Shape& xs = x.shape;
    const Shape& ws = w.shape;
    c.check(ws[2] == p.kernel[0] && ws[3] == p.kernel[1], which, "kernel ", p.kernel[0], "x", p.kernel[1],
            " does not match weight shape ", shape_str(ws));
    const int64_t in_channels = checked_mul(ws[1], p.group, "weight channels times group");
    c.check(xs[1] == in_channels, which, "input '", x.name, "' has ", xs[1], " channels but weight '", w.name,
            "' ", shape_str(ws), " with group ", p.group, " expects ", in_channels);
    c.check(ws[0] % p.group == 0, which, "output channels ", ws[0], " are not divisible by group ", p.group);
    if (b)
        c.check(b->shape == Shape{ws[0]}, which, "bias '", b->name, "' has shape ", shape_str(b->shape),
                ", expected [", ws[0], "]");
    Shape out{xs[0], ws[0], 0, 0};
    for (int d = 0; d < 2; ++d) {
        out[2 + d] =
            window_out(xs[2 + d], p.pads[d], p.pads[2 + d], p.kernel[d], p.stride[d], p.dilation[d], false);
        c.check(out[2 + d] >= 1, which, "input ", shape_str(xs), " is too small for kernel ", p.kernel[0],
                "x", p.kernel[1], " with these pads and dilations");
    }
    return out;
}

void infer_conv(Infer& c) {
    const auto& p = c.params<ConvParams>();
    c.check(c.num_inputs() >= 2 && c.num_inputs() <= (p.residual ? 4u : 3u), "has ", c.num_inputs(),
            " inputs, expected x, W, B", p.residual ? " and the residual" : "");
    c.check(!p.residual || c.num_inputs() == 4, "residual is set but the node has no residual input");
    c.check(c.node().outputs.size() == 1, "expected 1 output");
    std::optional<Operand> b;
    if (c.num_inputs() >= 3) b.emplace(operand(c, 2));
    const Shape out = conv_shape(c, "", operand(c, 0), operand(c, 1), b, p);
    if (p.residual)
        c.check(c.shape(3) == out, "residual '", c.in(3).name, "' has shape ", shape_str(c.shape(3)),
                ", the conv output is ", shape_str(out));
    c.set_out(0, out, c.batched(0));
}

// ConvPair {x, W0, B0, W1, B1[, R]}: the Conv rule on (x, W0, B0, first) gives the middle shape, the
// Conv rule on (middle, W1, B1, second) the output. Only the second conv may take a residual (input 5,
// present exactly when second.residual is set), which must have the output's shape, as a Conv's.
void infer_conv_pair(Infer& c) {
    const auto& p = c.params<ConvPairParams>();
    c.check(!p.first.residual, "first conv: residual is set, but only a ConvPair's second conv takes one");
    if (p.second.residual)
        c.check(c.num_inputs() == 6, "has ", c.num_inputs(),
                " inputs, expected 6 (x, W0, B0, W1, B1 and the second conv's residual)");
    else
        c.check(c.num_inputs() == 5, "has ", c.num_inputs(), " inputs, expected 5 (x, W0, B0, W1, B1)",
                c.num_inputs() == 6 ? "; a residual input needs the second conv's residual flag" : "");
    c.check(c.node().outputs.size() == 1, "has ", c.node().outputs.size(), " outputs, expected 1");
    const Shape mid = conv_shape(c, "first conv: ", operand(c, 0), operand(c, 1), operand(c, 2), p.first);
    const std::string mid_name = p.mid_name.empty() ? std::string("middle") : p.mid_name;
    const Shape out = conv_shape(c, "second conv: ", {mid_name, mid}, operand(c, 3), operand(c, 4), p.second);
    if (p.second.residual)
        c.check(c.shape(5) == out, "second conv: residual '", c.in(5).name, "' (input 5) has shape ",
                shape_str(c.shape(5)), ", the pair's output is ", shape_str(out));
    c.set_out(0, out, c.batched(0));
}

void infer_batchnorm(Infer& c) {
    c.check_arity(5, 5, 1);
    (void)c.params<BatchNormParams>();
    const Shape& x = c.shape(0);
    c.check(x.size() >= 2, "input '", c.in(0).name, "' has shape ", shape_str(x),
            ", expected rank >= 2 (N, C, ...)");
    for (size_t i = 1; i < 5; ++i)
        c.check(c.shape(i) == Shape{x[1]}, "parameter '", c.in(i).name, "' has shape ", shape_str(c.shape(i)),
                ", expected [", x[1], "] (channels of ", shape_str(x), ")");
    c.set_out(0, x, c.batched(0));
}

void infer_unary(Infer& c) {
    c.check_arity(1, 1, 1);
    c.set_out(0, c.shape(0), c.batched(0));
}

void infer_binary(Infer& c) {
    c.check_arity(2, 2, 1);
    const Shape& a = c.shape(0);
    const Shape& b = c.shape(1);
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        c.check(da == db || da == 1 || db == 1, "input shapes ", shape_str(a), " ('", c.in(0).name, "') and ",
                shape_str(b), " ('", c.in(1).name, "') are not broadcastable");
        out[i] = da == 1 ? db : da;
    }
    // Batched when some input is batched at full rank and every other input either is batched the same
    // way or does not reach dim 0 of the output (lower rank, or size 1 there).
    bool any = false, ok = !out.empty();
    for (size_t i = 0; i < 2 && ok; ++i) {
        const Shape& s = c.shape(i);
        if (c.batched(i) && s.size() == r && s[0] == out[0]) {
            any = true;
        } else if (s.size() == r && s[0] != 1) {
            ok = false;
        }
    }
    c.set_out(0, out, any && ok);
}

void infer_concat(Infer& c) {
    c.check(c.num_inputs() >= 1, "has no inputs");
    c.check(c.node().outputs.size() == 1, "expected 1 output");
    const auto& p = c.params<ConcatParams>();
    const Shape& first = c.shape(0);
    c.check(!first.empty(), "inputs must have rank >= 1");
    const int64_t axis = c.axis(p.axis, first.size(), "axis");
    Shape out = first;
    out[axis] = 0;
    bool all_batched = true;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
        const Shape& s = c.shape(i);
        c.check(s.size() == first.size(), "input '", c.in(i).name, "' ", shape_str(s), " and input '",
                c.in(0).name, "' ", shape_str(first), " differ in rank");
        for (size_t d = 0; d < s.size(); ++d)
            c.check(static_cast<int64_t>(d) == axis || s[d] == first[d], "input '", c.in(i).name, "' ",
                    shape_str(s), " and input '", c.in(0).name, "' ", shape_str(first), " differ in dim ", d,
                    " (concat axis ", axis, ")");
        c.check(s[axis] >= 0 && s[axis] <= kMaxDim && out[axis] <= kMaxDim, "input '", c.in(i).name, "' ",
                shape_str(s), ": the concatenated dim exceeds the limit of 2^40");
        out[axis] += s[axis];
        all_batched = all_batched && c.batched(i);
    }
    c.set_out(0, out, all_batched && axis != 0);
}

void infer_resize(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<ResizeParams>();
    const Shape& x = c.shape(0);
    c.check(p.scales.size() == x.size(), "has ", p.scales.size(), " scales for an input of rank ", x.size());
    Shape out(x.size());
    for (size_t d = 0; d < x.size(); ++d) {
        c.check(p.scales[d] > 0.f && std::isfinite(p.scales[d]), "scale ", p.scales[d], " must be positive");
        const double size = std::floor(static_cast<double>(x[d]) * static_cast<double>(p.scales[d]));
        c.check(size <= static_cast<double>(kMaxDim), "scale ", p.scales[d], " makes dim ", d, " of ",
                shape_str(x), " larger than 2^40");
        out[d] = static_cast<int64_t>(size);
        c.check(out[d] >= 1 || x[d] == 0, "scale ", p.scales[d], " makes dim ", d, " of ", shape_str(x),
                " empty");
    }
    c.set_out(0, out, c.batched(0) && !x.empty() && p.scales[0] == 1.f);
}

void infer_maxpool(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<MaxPoolParams>();
    const Shape& x = c.shape(0);
    c.check(x.size() == 4, "input '", c.in(0).name, "' has shape ", shape_str(x), ", expected 4-D NCHW");
    for (int d = 0; d < 2; ++d)
        c.check(p.stride[d] >= 1 && p.dilation[d] >= 1 && p.kernel[d] >= 1,
                "kernel, stride and dilation must be >= 1");
    for (int32_t pad : p.pads) c.check(pad >= 0, "pads must be >= 0");
    Shape out{x[0], x[1], 0, 0};
    for (int d = 0; d < 2; ++d) {
        out[2 + d] = window_out(x[2 + d], p.pads[d], p.pads[2 + d], p.kernel[d], p.stride[d], p.dilation[d],
                                p.ceil_mode);
        c.check(out[2 + d] >= 1, "input ", shape_str(x), " is too small for kernel ", p.kernel[0], "x",
                p.kernel[1]);
    }
    c.set_out(0, out, c.batched(0));
}

void infer_reshape(Infer& c) {
    c.check_arity(1, 1, 1);
    const Shape& x = c.shape(0);
    const Shape out = c.preset_out(0);
    c.check(shape_numel(out) == shape_numel(x), "cannot reshape ", shape_str(x), " (", shape_numel(x),
            " elements) to ", shape_str(out), " (", shape_numel(out), " elements)");
    c.set_out(0, out, c.batched(0) && !x.empty() && !out.empty() && out[0] == x[0]);
}

void infer_transpose(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<TransposeParams>();
    const Shape& x = c.shape(0);
    c.check(p.perm.size() == x.size(), "perm has ", p.perm.size(), " entries for an input of rank ",
            x.size());
    std::vector<char> seen(x.size(), 0);
    Shape out(x.size());
    for (size_t i = 0; i < p.perm.size(); ++i) {
        const int32_t d = p.perm[i];
        c.check(d >= 0 && static_cast<size_t>(d) < x.size() && !seen[d], "perm is not a permutation of 0..",
                x.size() - 1);
        seen[d] = 1;
        out[i] = x[d];
    }
    c.set_out(0, out, c.batched(0) && !x.empty() && p.perm[0] == 0);
}

void infer_slice(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<SliceParams>();
    const Shape& x = c.shape(0);
    const Shape out = c.preset_out(0);
    c.check(p.starts.size() == x.size() && p.steps.size() == x.size(), "starts/steps have ", p.starts.size(),
            "/", p.steps.size(), " entries for an input of rank ", x.size());
    c.check(out.size() == x.size(), "output shape ", shape_str(out), " has not the rank of the input ",
            shape_str(x));
    for (size_t d = 0; d < x.size(); ++d) {
        c.check(p.steps[d] != 0, "step of dim ", d, " is 0");
        if (out[d] == 0) continue;
        const int64_t first = p.starts[d];
        const int64_t last =
            checked_add(first, checked_mul(out[d] - 1, p.steps[d], "slice extent"), "slice extent");
        c.check(first >= 0 && first < x[d] && last >= 0 && last < x[d], "dim ", d, ": ", out[d],
                " elements from ", first, " step ", p.steps[d], " leave the input ", shape_str(x));
    }
    const bool keeps0 = !x.empty() && p.starts[0] == 0 && p.steps[0] == 1 && out[0] == x[0];
    c.set_out(0, out, c.batched(0) && keeps0);
}

void infer_split(Infer& c) {
    c.check(c.num_inputs() == 1, "has ", c.num_inputs(), " inputs, expected 1");
    const auto& p = c.params<SplitParams>();
    const Shape& x = c.shape(0);
    c.check(!x.empty(), "input must have rank >= 1");
    const int64_t axis = c.axis(p.axis, x.size(), "axis");
    c.check(p.sizes.size() == c.node().outputs.size(), "has ", p.sizes.size(), " sizes for ",
            c.node().outputs.size(), " outputs");
    int64_t sum = 0;
    for (int64_t s : p.sizes) {
        c.check(s >= 0, "split size ", s, " is negative");
        sum = checked_add(sum, s, "sum of split sizes");
    }
    c.check(sum == x[axis], "split sizes sum to ", sum, " but dim ", axis, " of ", shape_str(x), " is ",
            x[axis]);
    for (size_t k = 0; k < p.sizes.size(); ++k) {
        Shape out = x;
        out[axis] = p.sizes[k];
        c.set_out(k, out, c.batched(0) && axis != 0);
    }
}

void infer_softmax(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<SoftmaxParams>();
    const Shape& x = c.shape(0);
    c.check(!x.empty(), "input must have rank >= 1");
    const int64_t axis = c.axis(p.axis, x.size(), "axis");
    c.set_out(0, x, c.batched(0) && axis != 0);
}

void infer_pad(Infer& c) {
    c.check_arity(1, 1, 1);
    const auto& p = c.params<PadParams>();
    const Shape& x = c.shape(0);
    const size_t r = x.size();
    c.check(p.pads.size() == 2 * r, "has ", p.pads.size(), " pads for an input of rank ", r, " (needs ",
            2 * r, ")");
    Shape out(r);
    for (size_t d = 0; d < r; ++d) {
        const int64_t b = p.pads[d], e = p.pads[r + d];
        out[d] = checked_add(checked_add(x[d], b, "padded dim"), e, "padded dim");
        c.check(out[d] >= 0, "pads ", shape_str(p.pads), " crop more than dim ", d, " of ", shape_str(x));
        if (p.mode == PadMode::Reflect)
            c.check(std::max(b, e) <= x[d] - 1 || std::max(b, e) <= 0, "reflect pad ", std::max(b, e),
                    " of dim ", d, " needs an input dim greater than the pad, it is ", x[d]);
        if (p.mode == PadMode::Edge)
            c.check(x[d] >= 1 || std::max(b, e) <= 0, "edge pad of an empty dim ", d);
    }
    c.set_out(0, out, c.batched(0) && r > 0 && p.pads[0] == 0 && p.pads[r] == 0);
}

// --- quantization ops (QuantParams): they check every operand's dtype themselves ---

bool has_dtype(DataType dt, std::initializer_list<DataType> allowed) {
    return std::find(allowed.begin(), allowed.end(), dt) != allowed.end();
}

void check_dtype(Infer& c, size_t i, std::initializer_list<DataType> allowed, const char* what) {
    const DataType dt = c.in(i).desc.dtype;
    if (has_dtype(dt, allowed)) return;
    std::string names;
    for (DataType a : allowed) names += concat(names.empty() ? "" : " or ", dtype_name(a));
    c.fail(what, " '", c.in(i).name, "' has type ", dtype_name(dt), ", expected ", names);
}

// The scale (input i) and zero point (input i + 1) of x: one element each (per tensor), or both 1-D
// with x.shape[axis] elements (per axis).
void check_scale_and_zero_point(Infer& c, size_t i, const Shape& x, int32_t axis, DataType zero_point_dtype) {
    check_dtype(c, i, {DataType::F32}, "scale");
    check_dtype(c, i + 1, {zero_point_dtype}, "zero point");
    const Shape& s = c.shape(i);
    const Shape& z = c.shape(i + 1);
    c.check(shape_numel(s) == shape_numel(z) && s.size() <= 1 && z.size() <= 1, "scale '", c.in(i).name, "' ",
            shape_str(s), " and zero point '", c.in(i + 1).name, "' ", shape_str(z),
            " must have the same number of elements, as a scalar or a 1-D tensor");
    if (shape_numel(s) == 1) return;  // per tensor
    c.check(axis >= 0 && static_cast<size_t>(axis) < x.size(), "axis ", axis, " is out of range for input ",
            shape_str(x), " (per-axis scale '", c.in(i).name, "' ", shape_str(s), ")");
    c.check(s.size() == 1 && s[0] == x[static_cast<size_t>(axis)], "per-axis scale '", c.in(i).name, "' ",
            shape_str(s), " must have dim ", axis, " of input ", shape_str(x), " (",
            x[static_cast<size_t>(axis)], ") elements");
}

void check_quant_type(Infer& c, DataType qtype, std::initializer_list<DataType> allowed) {
    if (!has_dtype(qtype, allowed)) c.fail("quantized type ", dtype_name(qtype), " is not supported");
}

void infer_quantize(Infer& c) {
    c.check_arity(3, 3, 1);
    const auto& p = c.params<QuantParams>();
    check_quant_type(c, p.qtype, {DataType::I8, DataType::U8});
    check_dtype(c, 0, {DataType::F32}, "input");
    check_scale_and_zero_point(c, 1, c.shape(0), p.axis, p.qtype);
    c.set_out(0, c.shape(0), c.batched(0), p.qtype);
}

void infer_dequantize(Infer& c) {
    c.check_arity(3, 3, 1);
    const auto& p = c.params<QuantParams>();
    check_quant_type(c, p.qtype, {DataType::I8, DataType::U8, DataType::I32});
    check_dtype(c, 0, {p.qtype}, "input");
    check_scale_and_zero_point(c, 1, c.shape(0), p.axis, p.qtype);
    c.set_out(0, c.shape(0), c.batched(0));
}

void infer_fake_quant(Infer& c) {
    c.check_arity(5, 5, 1);
    const auto& p = c.params<QuantParams>();
    check_quant_type(c, p.qtype, {DataType::I8, DataType::U8});
    check_dtype(c, 0, {DataType::F32}, "input");
    check_scale_and_zero_point(c, 1, c.shape(0), p.axis, DataType::F32);
    check_scale_and_zero_point(c, 3, c.shape(0), p.axis, DataType::F32);
    c.set_out(0, c.shape(0), c.batched(0));
}

// Each op's shape rule, named in its ENGINE_OP_LIST row.
using InferFn = void (*)(Infer&);
constexpr InferFn kInfer[] = {
#define ENGINE_X(Name, in_lo, in_hi, out_lo, out_hi, Params, rule, shape, ...) &infer_##shape,
    ENGINE_OP_LIST(ENGINE_X)
#undef ENGINE_X
};
static_assert(std::size(kInfer) == static_cast<size_t>(OpType::Count));

void infer_op(Infer& c, OpType op) {
    if (op >= OpType::Count) c.fail("invalid op");
    if (!op_is_quantization(op)) c.check_float_inputs();
    kInfer[static_cast<size_t>(op)](c);
}

}  // namespace

void infer_node(Graph& g, NodeId id) {
    Infer c(g, id);
    try {
        infer_op(c, g.node(id).op);
    } catch (const Error& e) {
        // Checked arithmetic (shape_numel, engine/core/checked.h) does not know the node: name it.
        const std::string msg = e.what();
        if (msg.rfind(c.prefix(), 0) == 0) throw;
        throw Error(c.prefix() + msg);
    }
}

void infer_shapes(Graph& g) {
    for (NodeId n : g.topo_order()) infer_node(g, n);
}

}  // namespace engine
