// Conv on oneDNN: y = post_act(act(conv(x, W) + B) + r).
//
//   act       eltwise post-op
//   residual  Binary: binary_add post-op reading r;   Sum: r is first reordered into y, then the
//             conv accumulates onto it (sum post-op). Which is faster depends on the
//             implementation oneDNN picks (a binary post-op moves some convs off brgemm), so the
//             builder times both and records the choice (the tactic blob).
//   post_act  eltwise post-op after the residual
//
// Weights are reordered at build time into the format the primitive picks for `any` (packed in
// the plan, node precision); bias stays F32. At load the same primitive descriptor must ask for
// the same number of weight bytes, else the plan was built for another CPU.
//
// INT8 (node precision I8, docs/int8.md): x (and r) stored as I8 with their calibrated scales
// s = amax / 127, weights s8 with one scale w[c] per output channel, int32 accumulation; y stored as
// I8 (scale s_y) or F32 (s_y = 1). oneDNN 2.x computes dst = oscale[c] * (acc + bias') and then the
// post-ops, so bias' = bias / (s_x w[c]) (packed so), and
//   act and post_act positively homogeneous (none, relu, leaky): oscale = s_x w[c] / s_y and the
//     post-ops run in y's units, sum scale s_r / s_y;
//   otherwise: oscale = s_x w[c] (real units), sum scale s_r, and a last linear post-op 1 / s_y.
// The residual runs as Sum only (a binary post-op would add r unscaled), r copied into y's buffer as
// it is (its own units: requantizing it to y's would round it twice), the sum scale converting it.
#include <chrono>
#include <cstring>
#include <random>
#include <unordered_map>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/refmath/ref_int8.h"

namespace engine::onednn {
namespace {

using tag = dnnl::memory::format_tag;

enum class ResidualMode : int32_t { None = 0, Binary = 1, Sum = 2 };

struct ConvProblem {
    std::string name;
    ConvParams p;
    std::vector<TensorSpec> ins;  // x, W, (B), (r)
    TensorSpec y;
    Shape w_shape;  // [O, C/group, kh, kw]
    bool has_bias = false;
    size_t residual_slot = 0;  // input index of r when p.residual
};

ConvProblem conv_problem(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    ConvProblem c;
    c.name = node_label(g, n);
    c.p = std::get<ConvParams>(node.params);
    c.ins.push_back(spec_of(g, node.inputs[0]));
    for (size_t i = 1; i < node.inputs.size(); ++i) {
        const bool is_residual = c.p.residual && i == 3;
        c.ins.push_back(is_residual ? spec_of(g, node.inputs[i]) : constant_spec(g, node.inputs[i]));
    }
    c.y = spec_of(g, node.outputs[0]);
    c.w_shape = g.value(node.inputs[1]).desc.shape;
    c.has_bias = node.inputs.size() >= 3;
    c.residual_slot = 3;
    return c;
}

dnnl::memory::dims weight_dims(const ConvProblem& c) {
    const Shape& w = c.w_shape;
    if (c.p.group == 1) return {w[0], w[1], w[2], w[3]};
    return {c.p.group, w[0] / c.p.group, w[1], w[2], w[3]};
}

dnnl::memory::desc plain_weight_md(const ConvProblem& c, DataType dt = DataType::F32) {
    return dnnl::memory::desc(weight_dims(c), to_dnnl(dt), c.p.group == 1 ? tag::oihw : tag::goihw);
}

bool is_int8(const ConvProblem& c) { return c.ins[0].dtype == DataType::I8; }

bool act_homogeneous(const Act& a) {
    return a.kind == ActKind::None || a.kind == ActKind::Relu || a.kind == ActKind::LeakyRelu;
}

// The scaling of an INT8 conv (see the top of the file); w_scale: one per output channel.
struct Int8Scaling {
    std::vector<float> oscale;
    float sum_scale = 1;
    float final_scale = 1;  // a last linear post-op when != 1
};

Int8Scaling int8_scaling(const ConvProblem& c, std::span<const float> w_scale) {
    const float s_x = real_scale(c.ins[0]), s_y = real_scale(c.y);
    const float s_r = c.p.residual ? real_scale(c.ins[c.residual_slot]) : 1.0f;
    const bool homogeneous = act_homogeneous(c.p.act) && (!c.p.residual || act_homogeneous(c.p.post_act));
    Int8Scaling q;
    for (float w : w_scale) q.oscale.push_back(homogeneous ? s_x * w / s_y : s_x * w);
    q.sum_scale = homogeneous ? s_r / s_y : s_r;
    if (!homogeneous) q.final_scale = 1.0f / s_y;
    return q;
}

// The primitive descriptor at `batch`; weights as `wei` (format any at build time); `w_scale` the
// weights' per-channel scales of an INT8 conv (empty otherwise).
dnnl::convolution_forward::primitive_desc conv_pd(const ConvProblem& c, int batch,
                                                  const dnnl::memory::desc& wei, ResidualMode mode,
                                                  std::span<const float> w_scale = {}) {
    const ConvParams& p = c.p;
    const dnnl::memory::desc src = make_md(c.ins[0], batch);
    const dnnl::memory::desc dst = make_md(c.y, batch);
    dnnl::primitive_attr attr = base_attr();
    Int8Scaling q;
    if (is_int8(c)) {
        ENGINE_CHECK(w_scale.size() == static_cast<size_t>(c.w_shape[0]), "onednn: ", c.name,
                     ": an int8 conv needs one weight scale per output channel");
        q = int8_scaling(c, w_scale);
        attr.set_output_scales(1 << 1, q.oscale);
    }
    dnnl::post_ops po;
    append_act(po, p.act);
    if (p.residual) {
        if (mode == ResidualMode::Sum)
            po.append_sum(q.sum_scale);
        else
            po.append_binary(dnnl::algorithm::binary_add, make_md(c.ins[c.residual_slot], batch));
        append_act(po, p.post_act);
    }
    if (q.final_scale != 1.0f) po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, q.final_scale, 0.f);
    attr.set_post_ops(po);
    const dnnl::memory::dims strides{p.stride[0], p.stride[1]};
    const dnnl::memory::dims dilates{p.dilation[0] - 1, p.dilation[1] - 1};
    const dnnl::memory::dims pad_l{p.pads[0], p.pads[1]};
    const dnnl::memory::dims pad_r{p.pads[2], p.pads[3]};
    const int64_t out_ch = c.w_shape[0];
    if (c.has_bias) {
        const dnnl::memory::desc bias({out_ch}, dnnl::memory::data_type::f32, tag::a);
        return {{dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, bias, dst,
                 strides, dilates, pad_l, pad_r},
                attr,
                cpu_engine()};
    }
    return {{dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, dst, strides,
             dilates, pad_l, pad_r},
            attr,
            cpu_engine()};
}

dnnl::memory::desc any_weights(const ConvProblem& c) {
    return dnnl::memory::desc(weight_dims(c), to_dnnl(c.ins[0].dtype), tag::any);
}

// Steps of one conv at `batch`: [reorder r -> y (Sum mode)], conv. Weights and bias are Fixed.
void add_conv_steps(PrimitivePlan& plan, const ConvProblem& c, int batch, ResidualMode mode,
                    const dnnl::convolution_forward::primitive_desc& pd, void* weights, void* bias) {
    const dnnl::memory::desc dst = make_md(c.y, batch);
    if (c.p.residual && mode == ResidualMode::Sum) {
        const dnnl::memory::desc r = make_md(c.ins[c.residual_slot], batch);
        dnnl::primitive_attr attr = base_attr();
        // INT8: r keeps its own units (the sum post-op's scale converts them); an I8 conv reads it as I8.
        ENGINE_CHECK(!is_int8(c) || c.ins[c.residual_slot].dtype == DataType::I8, "onednn: ", c.name,
                     ": an int8 conv's residual must be stored as i8");
        dnnl::reorder::primitive_desc rpd(cpu_engine(), r, cpu_engine(), dst, attr);
        PrimitiveStep step{dnnl::reorder(rpd), {}};
        step.args.push_back({DNNL_ARG_FROM, ArgSource::Input, c.residual_slot, r, nullptr});
        step.args.push_back({DNNL_ARG_TO, ArgSource::Output, 0, dst, nullptr});
        add_scratchpad(plan, step, rpd);
        plan.steps.push_back(std::move(step));
    }
    PrimitiveStep step{dnnl::convolution_forward(pd), {}};
    step.args.push_back({DNNL_ARG_SRC, ArgSource::Input, 0, pd.src_desc(), nullptr});
    step.args.push_back({DNNL_ARG_WEIGHTS, ArgSource::Fixed, 1, pd.weights_desc(), weights});
    if (c.has_bias) step.args.push_back({DNNL_ARG_BIAS, ArgSource::Fixed, 2, pd.bias_desc(), bias});
    step.args.push_back({DNNL_ARG_DST, ArgSource::Output, 0, dst, nullptr});
    if (c.p.residual && mode == ResidualMode::Binary) {
        const int index = c.p.act.kind != ActKind::None ? 1 : 0;
        step.args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, ArgSource::Input,
                             c.residual_slot, make_md(c.ins[c.residual_slot], batch), nullptr});
    }
    add_scratchpad(plan, step, pd);
    plan.steps.push_back(std::move(step));
}

void reorder_now(const dnnl::memory::desc& from_md, const void* from, const dnnl::memory::desc& to_md,
                 void* to) {
    dnnl::memory a(from_md, cpu_engine(), const_cast<void*>(from));
    dnnl::memory b(to_md, cpu_engine(), to);
    dnnl::stream s(cpu_engine());
    dnnl::reorder(a, b).execute(s, a, b);
    s.wait();
}

// Whether residual `mode` may run with the implementation oneDNN picked: oneDNN 2.6's AMX
// convolution computes a BF16 binary post-op wrong (tests/engine/onednn catch it).
bool mode_usable(const ConvProblem& c, ResidualMode mode,
                 const dnnl::convolution_forward::primitive_desc& pd) {
    if (mode == ResidualMode::Binary && is_int8(c)) return false;  // r would be added unscaled
    if (mode != ResidualMode::Binary || c.ins[0].dtype == DataType::F32) return true;
    return std::string(pd.impl_info_str()).find("amx") == std::string::npos;
}

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
    return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

const char* mode_name(ResidualMode m) {
    return m == ResidualMode::Sum ? "sum" : m == ResidualMode::Binary ? "binary" : "none";
}

int max_batch_of(const TensorSpec& s) {
    return s.batched && !s.shape.empty() ? static_cast<int>(s.shape[0]) : 1;
}

// The batch the weights are packed for: the max batch, or 1 when the conv reads or writes a strided
// view (it then runs per sample, see PrimitiveKernel::primitive_batch).
int pack_batch(const ConvProblem& c) {
    const int max_batch = max_batch_of(c.y);
    return max_batch > 1 && (has_strided_view(c.ins) || has_strided_view({c.y})) ? 1 : max_batch;
}

class ConvKernel final : public PrimitiveKernel {
  public:
    // weights and bias are the plan's packed tensors; they outlive the kernel.
    // w_scale: the per-channel weight scales of an INT8 conv (empty otherwise).
    ConvKernel(ConvProblem c, ResidualMode mode, const Tensor& weights, const Tensor& bias,
               std::span<const float> w_scale, int max_batch)
        : PrimitiveKernel(c.name, c.ins, {c.y}, max_batch),
          c_(std::move(c)),
          mode_(mode),
          weights_(&weights),
          bias_(&bias),
          w_scale_(w_scale) {
        const auto pd = conv_pd(c_, pack_batch(c_), any_weights(c_), mode_, w_scale_);
        ENGINE_CHECK(mode_usable(c_, mode_, pd), "onednn: ", c_.name, ": residual tactic ", mode_name(mode_),
                     " is not usable with ", pd.impl_info_str());
        packed_md_ = pd.weights_desc();
        ENGINE_CHECK(packed_md_.get_size() == weights_->bytes(), "onednn: ", c_.name, ": the plan packs ",
                     weights_->bytes(), " weight bytes, this CPU's oneDNN (", cpu_isa_name(), ") wants ",
                     packed_md_.get_size(),
                     ": the plan was built on another CPU; rebuild it with `rtdet build`");
        build_max_batch();
    }

  protected:
    PrimitivePlan build(int batch) override {
        PrimitivePlan plan;
        auto pd = conv_pd(c_, batch, any_weights(c_), mode_, w_scale_);
        void* w = const_cast<void*>(weights_->data());
        if (pd.weights_desc() != packed_md_) {
            // Another batch picked another weight format: reorder the packed weights once.
            w = own_buffer(plan, pd.weights_desc().get_size());
            reorder_now(packed_md_, weights_->data(), pd.weights_desc(), w);
        }
        add_conv_steps(plan, c_, batch, mode_, pd, w, const_cast<void*>(bias_->data()));
        return plan;
    }

  private:
    ConvProblem c_;
    ResidualMode mode_;
    const Tensor* weights_;
    const Tensor* bias_;
    std::span<const float> w_scale_;
    dnnl::memory::desc packed_md_;
};

// Times one residual mode at max batch on scratch buffers: best of a few runs, in ms.
double time_mode(const ConvProblem& c, ResidualMode mode, const dnnl::convolution_forward::primitive_desc& pd,
                 void* weights, void* bias) {
    const int batch = pack_batch(c);
    PrimitivePlan plan;
    add_conv_steps(plan, c, batch, mode, pd, weights, bias);
    // Zero-filled x, r, y (random bits would make NaNs in bf16) and the scratchpad.
    std::vector<void*> ins(c.ins.size(), nullptr);
    ins[0] = own_buffer(plan, make_md(c.ins[0], batch).get_size());
    if (c.p.residual)
        ins[c.residual_slot] = own_buffer(plan, make_md(c.ins[c.residual_slot], batch).get_size());
    void* out = own_buffer(plan, make_md(c.y, batch).get_size());
    void* scratch = own_buffer(plan, plan.scratchpad_bytes);
    dnnl::stream s(cpu_engine());
    auto run_once = [&] {
        for (const PrimitiveStep& step : plan.steps) {
            std::unordered_map<int, dnnl::memory> args;
            for (const PrimitiveArg& a : step.args) {
                void* p = a.fixed;
                if (a.source == ArgSource::Input) p = ins[a.index];
                if (a.source == ArgSource::Output) p = out;
                if (a.source == ArgSource::Workspace) p = scratch;
                args.emplace(a.id, dnnl::memory(a.md, cpu_engine(), p));
            }
            step.primitive.execute(s, args);
        }
        s.wait();
    };
    run_once();
    double best = 1e30;
    for (int i = 0; i < 2; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run_once();
        best = std::min(
            best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// Weights (F32, or s8 for an INT8 conv) reordered into the format the primitive of `mode` picks
// (for s8 with the compensation oneDNN adds for s8 activations).
Tensor pack_weights(const ConvProblem& c, const void* w, DataType w_dtype,
                    const dnnl::convolution_forward::primitive_desc& pd) {
    const dnnl::memory::desc wmd = pd.weights_desc();
    const size_t elem = dtype_size(c.ins[0].dtype);
    Tensor packed(c.ins[0].dtype, {static_cast<int64_t>((wmd.get_size() + elem - 1) / elem)});
    reorder_now(plain_weight_md(c, w_dtype), w, wmd, packed.data());
    return packed;
}

}  // namespace

bool conv_supported(const Graph& g, NodeId n, std::string* why) {
    if (!check_conv_operands(g, n, why)) return false;
    const auto* p = std::get_if<ConvParams>(&g.node(n).params);
    if (!act_supported(p->act) || !act_supported(p->post_act))
        return reject(why, "activation without eltwise");
    return true;
}

bool conv_int8_supported(const Graph& g, NodeId n) {
    if (!cpu_has_int8() || !conv_supported(g, n, nullptr)) return false;
    const Node& node = g.node(n);
    const auto& p = std::get<ConvParams>(node.params);
    if (g.value(node.inputs[1]).desc.dtype != DataType::F32) return false;
    for (ValueId v : {node.inputs[0], node.outputs[0]})
        if (!(g.value(v).amax > 0)) return false;
    return !p.residual || g.value(node.inputs[3]).amax > 0;
}

// {tactic, weights, bias}, and for an INT8 conv the weights' per-channel scales; the bias of an INT8
// conv in the accumulator's units (bias / (s_x w[c])).
std::vector<Tensor> conv_pack_mode(const Graph& g, NodeId n, int mode) {
    const ConvProblem c = conv_problem(g, n);
    const auto m = static_cast<ResidualMode>(mode);
    const Tensor& w = g.constant(g.node(n).inputs[1]);
    Tensor bias(DataType::F32, {c.w_shape[0]});
    if (c.has_bias)
        std::memcpy(bias.data(), g.constant(g.node(n).inputs[2]).data(), bias.bytes());
    else
        std::memset(bias.data(), 0, bias.bytes());
    const int32_t tactic = mode;
    std::vector<Tensor> out;
    out.push_back(Tensor::from_bytes(DataType::I32, {1}, &tactic, sizeof(tactic)));
    if (!is_int8(c)) {
        out.push_back(pack_weights(c, w.data(), DataType::F32, conv_pd(c, pack_batch(c), any_weights(c), m)));
        out.push_back(std::move(bias));
        return out;
    }
    const QuantizedWeights qw = quantize_weights_per_channel(w.data_as<float>(), w.shape());
    const auto pd = conv_pd(c, pack_batch(c), any_weights(c), m, qw.scale);
    out.push_back(pack_weights(c, qw.q.data(), DataType::I8, pd));
    const float s_x = real_scale(c.ins[0]);
    float* b = bias.data_as<float>();
    for (size_t k = 0; k < qw.scale.size(); ++k) b[k] /= s_x * qw.scale[k];
    out.push_back(std::move(bias));
    out.push_back(
        Tensor::from_bytes(DataType::F32, {c.w_shape[0]}, qw.scale.data(), qw.scale.size() * sizeof(float)));
    return out;
}

std::vector<Tensor> conv_pack(const Graph& g, NodeId n, const PackContext& ctx) {
    set_threads(ctx.threads);
    const ConvProblem c = conv_problem(g, n);
    if (!c.p.residual) return conv_pack_mode(g, n, static_cast<int>(ResidualMode::None));
    // Residual: the usable modes, oneDNN's reference implementation (e.g. a sum post-op on nChw16c
    // F32) only when nothing else is left; several left: time each with its own packing.
    std::vector<ResidualMode> modes;
    std::string report;
    const std::vector<float> unit_scales(is_int8(c) ? static_cast<size_t>(c.w_shape[0]) : 0, 1.0f);
    for (ResidualMode m : {ResidualMode::Sum, ResidualMode::Binary}) {
        if (m == ResidualMode::Binary && is_int8(c)) continue;  // r would be added unscaled
        auto pd = conv_pd(c, pack_batch(c), any_weights(c), m, unit_scales);
        if (!mode_usable(c, m, pd)) continue;
        if (is_reference_impl(pd)) {
            report += concat(report.empty() ? "" : ", ", mode_name(m), " ref (not timed)");
            continue;
        }
        modes.push_back(m);
    }
    if (modes.empty()) modes.push_back(ResidualMode::Sum);
    if (!ctx.time_tactics) modes.resize(1);  // the first usable mode, untimed: a reproducible plan
    std::vector<Tensor> best;
    double best_ms = 1e30;
    for (ResidualMode m : modes) {
        std::vector<Tensor> packed = conv_pack_mode(g, n, static_cast<int>(m));
        if (modes.size() == 1) return packed;
        auto pd = conv_pd(c, pack_batch(c), any_weights(c), m, unit_scales);
        const double ms = time_mode(c, m, pd, packed[1].data(), packed[2].data());
        report += concat(report.empty() ? "" : ", ", mode_name(m), " ", ms, " ms");
        if (ms < best_ms) {
            best_ms = ms;
            best = std::move(packed);
        }
    }
    engine::logger().debug("onednn: {}: residual {} -> {}", c.name, report,
                           mode_name(static_cast<ResidualMode>(*best[0].data_as<int32_t>())));
    return best;
}

std::unique_ptr<Kernel> make_conv_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) {
    ConvProblem c = conv_problem(g, n);
    const size_t expected = is_int8(c) ? 4 : 3;
    ENGINE_CHECK(packed.size() == expected && packed[0].dtype() == DataType::I32 && packed[0].numel() == 1,
                 "onednn: ", c.name, ": expected packed {tactic, weights, bias",
                 is_int8(c) ? ", weight scales" : "", "}, got ", packed.size(), " tensors");
    const int32_t tactic = *packed[0].data_as<int32_t>();
    ENGINE_CHECK(tactic >= 0 && tactic <= 2, "onednn: ", c.name, ": unknown conv tactic ", tactic);
    const auto mode = static_cast<ResidualMode>(tactic);
    ENGINE_CHECK((mode != ResidualMode::None) == c.p.residual, "onednn: ", c.name, ": tactic ", tactic,
                 " does not match the residual flag");
    ENGINE_CHECK(packed[1].dtype() == c.ins[0].dtype, "onednn: ", c.name, ": packed weights are ",
                 dtype_name(packed[1].dtype()), ", the input is stored as ", dtype_name(c.ins[0].dtype));
    ENGINE_CHECK(packed[2].dtype() == DataType::F32 && packed[2].numel() == c.w_shape[0], "onednn: ", c.name,
                 ": packed bias is not F32 [", c.w_shape[0], "]");
    std::span<const float> w_scale;
    if (is_int8(c)) {
        ENGINE_CHECK(packed[3].dtype() == DataType::F32 && packed[3].numel() == c.w_shape[0],
                     "onednn: ", c.name, ": packed weight scales are not F32 [", c.w_shape[0], "]");
        w_scale = {packed[3].data_as<float>(), static_cast<size_t>(c.w_shape[0])};
    }
    const int max_batch = max_batch_of(c.y);
    return std::make_unique<ConvKernel>(std::move(c), mode, packed[1], packed[2], w_scale, max_batch);
}

}  // namespace engine::onednn
