#include "tests/testing/graph_builder.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "engine/core/error.h"
#include "tests/testing/tensor_compare.h"

namespace testing_util {

using engine::ValueId;

namespace {
// prefix + n, built with append (GCC 12 warns falsely about operator+ on a literal and a temporary).
std::string numbered(std::string_view prefix, size_t n) {
    std::string s(prefix);
    s.append(std::to_string(n));
    return s;
}
}  // namespace

GraphBuilder::GraphBuilder(uint32_t seed) : seed_(seed), next_seed_(seed * 7919u + 1u) {}

ValueId GraphBuilder::input(const engine::Shape& shape, bool is_batched, std::string name) {
    engine::Value v;
    v.name = name.empty() ? numbered("input", graph_.inputs().size()) : std::move(name);
    v.desc = {engine::DataType::F32, shape};
    v.batched = is_batched && !shape.empty();
    const ValueId id = graph_.add_value(std::move(v));
    graph_.mark_input(id);
    return id;
}

ValueId GraphBuilder::constant(engine::Tensor t, std::string name) {
    if (name.empty()) name = numbered("c", static_cast<size_t>(counter_++));
    return graph_.add_constant(std::move(name), std::move(t));
}

ValueId GraphBuilder::random_constant(const engine::Shape& shape, float lo, float hi) {
    return constant(random_tensor(shape, next_seed_++, lo, hi));
}

void GraphBuilder::output(ValueId v) { graph_.mark_output(v); }

ValueId GraphBuilder::add_out(const engine::Shape& shape, bool is_batched) {
    engine::Value v;
    v.name = numbered("v", static_cast<size_t>(counter_++));
    v.desc = {engine::DataType::F32, shape};
    v.batched = is_batched;
    return graph_.add_value(std::move(v));
}

ValueId GraphBuilder::add_single(engine::OpType op, std::vector<ValueId> inputs, engine::OpParams params,
                                 const engine::Shape& out_shape, bool is_batched) {
    const ValueId out = add_out(out_shape, is_batched);
    std::string name = numbered(engine::op_type_name(op), static_cast<size_t>(counter_++));
    graph_.add_node(op, std::move(name), std::move(inputs), {out}, std::move(params));
    return out;
}

std::vector<ValueId> GraphBuilder::op(engine::OpType op, const std::vector<ValueId>& inputs,
                                      engine::OpParams params, const std::vector<engine::TensorDesc>& outputs,
                                      bool is_batched) {
    std::vector<ValueId> outs;
    for (const engine::TensorDesc& d : outputs) {
        const ValueId o = add_out(d.shape, is_batched);
        graph_.value(o).desc = d;
        outs.push_back(o);
    }
    std::string name = numbered(engine::op_type_name(op), static_cast<size_t>(counter_++));
    graph_.add_node(op, std::move(name), inputs, outs, std::move(params));
    return outs;
}

namespace {

// A tensor of `dtype` (I8, U8 or I32) holding `values`, 1-D, or a scalar when `scalar`.
engine::Tensor int_tensor(engine::DataType dtype, const std::vector<int32_t>& values, bool scalar) {
    const engine::Shape shape = scalar ? engine::Shape{} : engine::Shape{static_cast<int64_t>(values.size())};
    engine::Tensor t(dtype, shape);
    for (size_t i = 0; i < values.size(); ++i) {
        if (dtype == engine::DataType::I8)
            t.data_as<int8_t>()[i] = static_cast<int8_t>(values[i]);
        else if (dtype == engine::DataType::U8)
            t.data_as<uint8_t>()[i] = static_cast<uint8_t>(values[i]);
        else
            t.data_as<int32_t>()[i] = values[i];
    }
    return t;
}

}  // namespace

ValueId GraphBuilder::quantize_linear(ValueId x, const std::vector<float>& scale,
                                      const std::vector<int32_t>& zero_point, engine::DataType qtype,
                                      int axis) {
    const bool scalar = scale.size() == 1;
    const engine::Shape s = scalar ? engine::Shape{} : engine::Shape{static_cast<int64_t>(scale.size())};
    const ValueId sv = constant(engine::Tensor::from_f32(s, scale));
    const ValueId zv = constant(int_tensor(qtype, zero_point, scalar));
    return op(engine::OpType::QuantizeLinear, {x, sv, zv}, engine::QuantParams{axis, qtype},
              {{qtype, shape(x)}}, batched(x))[0];
}

ValueId GraphBuilder::dequantize_linear(ValueId q, const std::vector<float>& scale,
                                        const std::vector<int32_t>& zero_point, int axis) {
    const engine::DataType qtype = graph_.value(q).desc.dtype;
    const bool scalar = scale.size() == 1;
    const engine::Shape s = scalar ? engine::Shape{} : engine::Shape{static_cast<int64_t>(scale.size())};
    const ValueId sv = constant(engine::Tensor::from_f32(s, scale));
    const ValueId zv = constant(int_tensor(qtype, zero_point, scalar));
    return add_single(engine::OpType::DequantizeLinear, {q, sv, zv}, engine::QuantParams{axis, qtype},
                      shape(q), batched(q));
}

ValueId GraphBuilder::qdq(ValueId x, const std::vector<float>& scale, const std::vector<int32_t>& zero_point,
                          engine::DataType qtype, int axis) {
    return dequantize_linear(quantize_linear(x, scale, zero_point, qtype, axis), scale, zero_point, axis);
}

ValueId GraphBuilder::conv(ValueId x, int out_channels, int kernel, int stride, int group) {
    ConvSpec s;
    s.out_channels = out_channels;
    s.kernel = kernel;
    s.stride = stride;
    s.group = group;
    return conv(x, s);
}

ValueId GraphBuilder::conv(ValueId x, const ConvSpec& spec) {
    const engine::Shape& in = shape(x);
    ENGINE_CHECK(in.size() == 4, "GraphBuilder::conv: input must be NCHW, got ", engine::shape_str(in));
    ENGINE_CHECK(in[1] % spec.group == 0 && spec.out_channels % spec.group == 0,
                 "GraphBuilder::conv: channels not divisible by group");
    const int64_t fan_in = in[1] / spec.group * spec.kernel * spec.kernel;
    const float bound = 1.f / std::sqrt(static_cast<float>(fan_in));
    const ValueId w =
        random_constant({spec.out_channels, in[1] / spec.group, spec.kernel, spec.kernel}, -bound, bound);
    const ValueId b = spec.bias ? random_constant({spec.out_channels}, -0.2f, 0.2f) : engine::kNoValue;
    engine::ConvParams p;
    p.kernel = {spec.kernel, spec.kernel};
    p.stride = {spec.stride, spec.stride};
    p.dilation = {spec.dilation, spec.dilation};
    const int pad = spec.pad >= 0 ? spec.pad : spec.dilation * (spec.kernel / 2);
    p.pads = {pad, pad, pad, pad};
    p.group = spec.group;
    return conv_with(x, w, b, p);
}

ValueId GraphBuilder::conv_with(ValueId x, ValueId w, ValueId b, const engine::ConvParams& p) {
    const engine::Shape& in = shape(x);
    const engine::Shape& ws = shape(w);
    ENGINE_CHECK(in.size() == 4 && ws.size() == 4,
                 "GraphBuilder::conv_with: NCHW input and OIHW weight expected");
    engine::Shape out = {in[0], ws[0], 0, 0};
    for (int d = 0; d < 2; ++d) {
        const int64_t span = static_cast<int64_t>(p.dilation[d]) * (p.kernel[d] - 1) + 1;
        out[2 + d] = (in[2 + d] + p.pads[d] + p.pads[d + 2] - span) / p.stride[d] + 1;
    }
    std::vector<ValueId> inputs = {x, w};
    if (b != engine::kNoValue) inputs.push_back(b);
    return add_single(engine::OpType::Conv, std::move(inputs), p, out, batched(x));
}

ValueId GraphBuilder::batch_norm(ValueId x, float epsilon) {
    const int64_t c = shape(x).at(1);
    const ValueId scale = random_constant({c}, 0.5f, 1.5f);
    const ValueId bias = random_constant({c}, -0.5f, 0.5f);
    const ValueId mean = random_constant({c}, -0.5f, 0.5f);
    const ValueId var = random_constant({c}, 0.25f, 1.5f);
    return batch_norm_with(x, scale, bias, mean, var, epsilon);
}

ValueId GraphBuilder::batch_norm_with(ValueId x, ValueId scale, ValueId bias, ValueId mean, ValueId var,
                                      float epsilon) {
    return add_single(engine::OpType::BatchNorm, {x, scale, bias, mean, var},
                      engine::BatchNormParams{epsilon}, shape(x), batched(x));
}

ValueId GraphBuilder::unary(engine::OpType op, ValueId x, engine::UnaryParams params) {
    return add_single(op, {x}, params, shape(x), batched(x));
}

ValueId GraphBuilder::relu(ValueId x) { return unary(engine::OpType::Relu, x); }
ValueId GraphBuilder::leaky_relu(ValueId x, float alpha) {
    return unary(engine::OpType::LeakyRelu, x, {alpha, 0.f});
}
ValueId GraphBuilder::sigmoid(ValueId x) { return unary(engine::OpType::Sigmoid, x); }
ValueId GraphBuilder::tanh(ValueId x) { return unary(engine::OpType::Tanh, x); }
ValueId GraphBuilder::softplus(ValueId x) { return unary(engine::OpType::Softplus, x); }
ValueId GraphBuilder::mish(ValueId x) { return unary(engine::OpType::Mish, x); }
ValueId GraphBuilder::silu(ValueId x) { return unary(engine::OpType::Silu, x); }
ValueId GraphBuilder::clip(ValueId x, float lo, float hi) { return unary(engine::OpType::Clip, x, {lo, hi}); }

ValueId GraphBuilder::identity(ValueId x) {
    return add_single(engine::OpType::Identity, {x}, std::monostate{}, shape(x), batched(x));
}

ValueId GraphBuilder::dropout(ValueId x) {
    return add_single(engine::OpType::Dropout, {x}, std::monostate{}, shape(x), batched(x));
}

ValueId GraphBuilder::add(ValueId a, ValueId b) { return binary(engine::OpType::Add, a, b); }
ValueId GraphBuilder::sub(ValueId a, ValueId b) { return binary(engine::OpType::Sub, a, b); }
ValueId GraphBuilder::mul(ValueId a, ValueId b) { return binary(engine::OpType::Mul, a, b); }
ValueId GraphBuilder::div(ValueId a, ValueId b) { return binary(engine::OpType::Div, a, b); }

ValueId GraphBuilder::binary(engine::OpType op, ValueId a, ValueId b) {
    const engine::Shape& sa = shape(a);
    const engine::Shape& sb = shape(b);
    const size_t rank = std::max(sa.size(), sb.size());
    engine::Shape out(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i + sa.size() >= rank ? sa[i + sa.size() - rank] : 1;
        const int64_t db = i + sb.size() >= rank ? sb[i + sb.size() - rank] : 1;
        ENGINE_CHECK(da == db || da == 1 || db == 1, "GraphBuilder::binary: shapes ", engine::shape_str(sa),
                     " and ", engine::shape_str(sb), " do not broadcast");
        out[i] = std::max(da, db);
    }
    // Batched when a batched operand supplies dim 0 of the output and no unbatched operand of full
    // rank has a dim 0 other than 1.
    bool any = false;
    bool ok = rank > 0;
    for (ValueId v : {a, b}) {
        const engine::Shape& s = shape(v);
        if (batched(v) && s.size() == rank && s[0] == out[0])
            any = true;
        else if (s.size() == rank && s[0] != 1)
            ok = false;
    }
    const bool out_batched = any && ok;
    return add_single(op, {a, b}, std::monostate{}, out, out_batched);
}

ValueId GraphBuilder::concat(const std::vector<ValueId>& xs, int axis) {
    ENGINE_CHECK(!xs.empty(), "GraphBuilder::concat: no inputs");
    engine::Shape out = shape(xs[0]);
    const int rank = static_cast<int>(out.size());
    const int a = axis < 0 ? axis + rank : axis;
    out[a] = 0;
    bool all_batched = true;
    for (ValueId x : xs) {
        out[a] += shape(x).at(a);
        all_batched = all_batched && batched(x);
    }
    engine::ConcatParams p;
    p.axis = a;
    return add_single(engine::OpType::Concat, xs, p, out, all_batched && a != 0);
}

ValueId GraphBuilder::resize(ValueId x, std::vector<float> scales, engine::ResizeCoord coord,
                             engine::ResizeNearest nearest) {
    const engine::Shape& in = shape(x);
    ENGINE_CHECK(scales.size() == in.size(), "GraphBuilder::resize: one scale per dim expected");
    engine::Shape out(in.size());
    for (size_t d = 0; d < in.size(); ++d)
        out[d] = static_cast<int64_t>(std::floor(static_cast<double>(in[d]) * scales[d]));
    const bool keeps_batch = batched(x) && !in.empty() && scales[0] == 1.f;
    engine::ResizeParams p;
    p.scales = std::move(scales);
    p.coord = coord;
    p.nearest = nearest;
    return add_single(engine::OpType::Resize, {x}, p, out, keeps_batch);
}

ValueId GraphBuilder::upsample(ValueId x, int factor) {
    const auto f = static_cast<float>(factor);
    return resize(x, {1.f, 1.f, f, f});
}

ValueId GraphBuilder::maxpool(ValueId x, int kernel, int stride, int pad) {
    const engine::Shape& in = shape(x);
    engine::MaxPoolParams p;
    p.kernel = {kernel, kernel};
    p.stride = {stride, stride};
    p.pads = {pad, pad, pad, pad};
    engine::Shape out = in;
    for (int d = 0; d < 2; ++d) out[2 + d] = (in[2 + d] + 2 * pad - kernel) / stride + 1;
    return add_single(engine::OpType::MaxPool, {x}, p, out, batched(x));
}

ValueId GraphBuilder::reshape(ValueId x, const engine::Shape& new_shape) {
    const engine::Shape& in = shape(x);
    ENGINE_CHECK(engine::shape_numel(in) == engine::shape_numel(new_shape),
                 "GraphBuilder::reshape: ", engine::shape_str(in), " -> ", engine::shape_str(new_shape),
                 " changes the element count");
    const bool keeps_batch = batched(x) && !new_shape.empty() && new_shape[0] == in[0];
    return add_single(engine::OpType::Reshape, {x}, std::monostate{}, new_shape, keeps_batch);
}

std::vector<ValueId> GraphBuilder::split(ValueId x, int axis, const std::vector<int64_t>& sizes) {
    const engine::Shape& in = shape(x);
    const int a = axis < 0 ? axis + static_cast<int>(in.size()) : axis;
    std::vector<engine::TensorDesc> outs;
    for (int64_t s : sizes) {
        engine::Shape o = in;
        o[a] = s;
        outs.push_back({engine::DataType::F32, o});
    }
    engine::SplitParams p;
    p.axis = a;
    p.sizes = sizes;
    return op(engine::OpType::Split, {x}, p, outs, batched(x) && a != 0);
}

std::vector<engine::Tensor> GraphBuilder::random_inputs(uint32_t seed) const {
    std::vector<engine::Tensor> out;
    for (size_t i = 0; i < graph_.inputs().size(); ++i)
        out.push_back(random_tensor(graph_.value(graph_.inputs()[i]).desc.shape,
                                    seed * 1000u + static_cast<uint32_t>(i) + seed_));
    return out;
}

}  // namespace testing_util
