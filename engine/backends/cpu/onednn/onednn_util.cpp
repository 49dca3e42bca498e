#include "engine/backends/cpu/onednn/onednn_util.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/log.h"

namespace engine::onednn {

const dnnl::engine& cpu_engine() {
    static const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    return eng;
}

std::string cpu_isa_name() {
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::sse41:
            return "sse41";
        case dnnl::cpu_isa::avx:
            return "avx";
        case dnnl::cpu_isa::avx2:
            return "avx2";
        case dnnl::cpu_isa::avx2_vnni:
            return "avx2_vnni";
        case dnnl::cpu_isa::avx512_mic:
            return "avx512_mic";
        case dnnl::cpu_isa::avx512_mic_4ops:
            return "avx512_mic_4ops";
        case dnnl::cpu_isa::avx512_core:
            return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni:
            return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16:
            return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx:
            return "avx512_core_amx";
        case dnnl::cpu_isa::all:
            break;
    }
    return "any";
}

bool cpu_has_bf16() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

bool cpu_has_int8() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx2_vnni || cpu_has_bf16();
}

bool cpu_has_avx512_core() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni || cpu_has_bf16();
}

void set_threads(int threads) { omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs()); }

dnnl::memory::data_type to_dnnl(DataType dt) {
    switch (dt) {
        case DataType::F32:
            return dnnl::memory::data_type::f32;
        case DataType::BF16:
            return dnnl::memory::data_type::bf16;
        case DataType::I8:
            return dnnl::memory::data_type::s8;
        default:
            break;
    }
    ENGINE_THROW("onednn: storage type ", dtype_name(dt), " is not supported (f32, bf16, i8)");
}

namespace {

bool feeds_in_place_concat(const Graph& g, ValueId v, ValueId* concat_out) {
    for (NodeId c : g.value(v).consumers) {
        const Node& node = g.node(c);
        if (node.dead || node.op != OpType::Concat) continue;
        const auto* p = std::get_if<ConcatParams>(&node.params);
        if (p != nullptr && p->in_place && !node.outputs.empty()) {
            *concat_out = node.outputs[0];
            return true;
        }
    }
    return false;
}

}  // namespace

TensorSpec spec_of(const Graph& g, ValueId v) {
    const Value& val = g.value(v);
    TensorSpec s;
    s.shape = val.desc.shape;
    s.batched = val.batched;
    s.layout = val.layout;
    s.dtype = val.storage_dtype;
    s.amax = val.amax;
    s.batch_stride = storage_sample_numel(s.shape, s.layout);
    ValueId out = kNoValue;
    if (feeds_in_place_concat(g, v, &out)) {
        const Value& o = g.value(out);
        s.batch_stride = storage_sample_numel(o.desc.shape, o.layout);
    }
    return s;
}

float real_scale(const TensorSpec& s) {
    if (s.dtype != DataType::I8) return 1.0f;
    ENGINE_CHECK(s.amax > 0, "onednn: an i8 value without a calibrated range");
    return s.amax / 127.0f;
}

TensorSpec constant_spec(const Graph& g, ValueId v) {
    const Value& val = g.value(v);
    TensorSpec s;
    s.shape = val.desc.shape;
    s.dtype = val.desc.dtype;
    s.batch_stride = storage_sample_numel(s.shape, Layout::Plain);
    return s;
}

dnnl::memory::desc make_md(const TensorSpec& s, int64_t batch) {
    using dims = dnnl::memory::dims;
    dims d(s.shape.begin(), s.shape.end());
    if (d.empty()) d.push_back(1);  // scalars as 1-element tensors
    if (s.batched) d[0] = batch;
    const auto dt = to_dnnl(s.dtype);
    const size_t rank = d.size();
    // With one sample the batch stride is never used: state the dense one, which oneDNN's optimized
    // implementations accept (they take only dense memory and fall back to reference code otherwise).
    const int64_t batch_stride = d[0] == 1 ? storage_sample_numel(s.shape, s.layout) : s.batch_stride;
    switch (s.layout) {
        case Layout::Plain: {
            dims strides(rank, 1);
            for (size_t i = rank - 1; i-- > 0;) strides[i] = strides[i + 1] * d[i + 1];
            strides[0] = std::max<int64_t>(batch_stride, 1);
            return dnnl::memory::desc(d, dt, strides);
        }
        case Layout::NHWC: {
            ENGINE_CHECK(rank == 4, "onednn: layout nhwc needs a 4-D tensor, got ", shape_str(s.shape));
            return dnnl::memory::desc(d, dt, dims{batch_stride, 1, d[3] * d[1], d[1]});
        }
        case Layout::Blocked16: {
            ENGINE_CHECK(rank == 4, "onednn: layout blocked16 needs a 4-D tensor, got ", shape_str(s.shape));
            dnnl::memory::desc md(d, dt, dnnl::memory::format_tag::nChw16c);
            md.data.format_desc.blocking.strides[0] = batch_stride;
            return md;
        }
    }
    ENGINE_THROW("onednn: unknown layout");
}

dnnl::primitive_attr base_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

void add_scratchpad(PrimitivePlan& plan, PrimitiveStep& step, const dnnl::primitive_desc_base& pd) {
    const dnnl::memory::desc md = pd.scratchpad_desc();
    const size_t bytes = md.get_size();
    if (bytes == 0) return;
    step.args.push_back({DNNL_ARG_SCRATCHPAD, ArgSource::Workspace, 0, md, nullptr});
    plan.scratchpad_bytes = std::max(plan.scratchpad_bytes, bytes);
}

void* own_buffer(PrimitivePlan& plan, size_t bytes) {
    const size_t size = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, size);
    ENGINE_CHECK(p != nullptr, "onednn: out of memory (", size, " bytes)");
    std::memset(p, 0, size);
    plan.owned.emplace_back(p, std::free);
    return p;
}

bool has_strided_view(const std::vector<TensorSpec>& specs) {
    for (const TensorSpec& s : specs)
        if (s.batched && s.batch_stride != storage_sample_numel(s.shape, s.layout)) return true;
    return false;
}

// ---- PrimitiveKernel ----

struct PrimitiveKernel::Bound {
    std::vector<dnnl::memory> mems;
    std::vector<dnnl_exec_arg_t> c_args;
    std::vector<void*> ptrs;
};

struct PrimitiveKernel::Instance {
    PrimitivePlan plan;        // built at batch `samples == 1 ? batch : 1`
    int samples = 1;           // > 1: the batch-1 primitives run once per sample (strided views)
    std::vector<Bound> bound;  // per sample, per step
    void* scratch = nullptr;   // own scratchpad when the plan needs more than the workspace
};

PrimitiveKernel::PrimitiveKernel(std::string name, std::vector<TensorSpec> ins, std::vector<TensorSpec> outs,
                                 int max_batch)
    : name_(std::move(name)),
      ins_(std::move(ins)),
      outs_(std::move(outs)),
      max_batch_(std::max(max_batch, 1)) {
    instances_.resize(static_cast<size_t>(max_batch_) + 1);
}

PrimitiveKernel::~PrimitiveKernel() = default;

int PrimitiveKernel::primitive_batch(int batch) const {
    return batch > 1 && (has_strided_view(ins_) || has_strided_view(outs_)) ? 1 : batch;
}

void PrimitiveKernel::build_max_batch() {
    auto inst = std::make_unique<Instance>(make_instance(max_batch_));
    reserved_ = inst->plan.scratchpad_bytes;
    instances_[static_cast<size_t>(max_batch_)] = std::move(inst);
}

size_t PrimitiveKernel::workspace_bytes(int max_batch) const {
    (void)max_batch;
    return reserved_;
}

PrimitiveKernel::Instance PrimitiveKernel::make_instance(int batch) {
    Instance inst;
    const int pb = primitive_batch(batch);
    inst.samples = pb == batch ? 1 : batch;
    try {
        inst.plan = build(pb);
    } catch (const dnnl::error& e) {
        ENGINE_THROW("onednn: ", name_, ": cannot create the primitive at batch ", pb, ": ", e.what());
    }
    if (engine::logger().should_log(spdlog::level::debug)) {
        std::string impls;
        for (const PrimitiveStep& s : inst.plan.steps) {
            const_dnnl_primitive_desc_t pd = nullptr;
            const char* info = nullptr;
            if (dnnl_primitive_get_primitive_desc(s.primitive.get(), &pd) == dnnl_success &&
                dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success && info)
                impls += concat(impls.empty() ? "" : ", ", info);
        }
        engine::logger().debug("onednn: {} at batch {}{}: {}", name_, batch,
                               inst.samples > 1 ? " (per sample: strided view)" : "", impls);
    }
    inst.bound.resize(inst.plan.steps.size() * static_cast<size_t>(inst.samples));
    for (size_t i = 0; i < inst.bound.size(); ++i) {
        const size_t n = inst.plan.steps[i % inst.plan.steps.size()].args.size();
        inst.bound[i].mems.resize(n);
        inst.bound[i].c_args.resize(n);
        inst.bound[i].ptrs.assign(n, nullptr);
    }
    return inst;
}

PrimitiveKernel::Instance& PrimitiveKernel::instance(const KernelArgs& args) {
    const int batch = std::clamp(args.batch, 1, max_batch_);
    auto& slot = instances_[static_cast<size_t>(batch)];
    // A view the builder did not foresee (another batch stride): rebuild for the actual strides.
    bool strides_ok = true;
    for (size_t i = 0; i < ins_.size() && i < args.inputs.size(); ++i)
        if (ins_[i].batched && args.inputs[i].batch_stride != ins_[i].batch_stride) {
            ins_[i].batch_stride = args.inputs[i].batch_stride;
            strides_ok = false;
        }
    for (size_t i = 0; i < outs_.size() && i < args.outputs.size(); ++i)
        if (outs_[i].batched && args.outputs[i].batch_stride != outs_[i].batch_stride) {
            outs_[i].batch_stride = args.outputs[i].batch_stride;
            strides_ok = false;
        }
    if (!strides_ok) {
        engine::logger().warn("onednn: {}: batch strides differ from the plan's, rebuilding its primitives",
                              name_);
        for (auto& inst : instances_) inst.reset();
    }
    if (!slot) {
        slot = std::make_unique<Instance>(make_instance(batch));
        if (slot->plan.scratchpad_bytes > reserved_)
            slot->scratch = own_buffer(slot->plan, slot->plan.scratchpad_bytes);
    }
    return *slot;
}

void PrimitiveKernel::run(const KernelArgs& args) {
    Instance& inst = instance(args);
    thread_local dnnl::stream stream(cpu_engine());
    const size_t num_steps = inst.plan.steps.size();
    for (int sample = 0; sample < inst.samples; ++sample) {
        for (size_t s = 0; s < num_steps; ++s) {
            const PrimitiveStep& step = inst.plan.steps[s];
            Bound& b = inst.bound[static_cast<size_t>(sample) * num_steps + s];
            for (size_t k = 0; k < step.args.size(); ++k) {
                const PrimitiveArg& a = step.args[k];
                std::byte* p = nullptr;
                const TensorRef* t = nullptr;
                switch (a.source) {
                    case ArgSource::Input:
                        t = &args.inputs[a.index];
                        break;
                    case ArgSource::Output:
                        t = &args.outputs[a.index];
                        break;
                    case ArgSource::Workspace:
                        p = static_cast<std::byte*>(inst.scratch ? inst.scratch : args.workspace);
                        break;
                    case ArgSource::Fixed:
                        p = static_cast<std::byte*>(a.fixed);
                        break;
                }
                if (t != nullptr) {
                    p = static_cast<std::byte*>(t->data);
                    const TensorSpec& spec = a.source == ArgSource::Input ? ins_[a.index] : outs_[a.index];
                    if (sample > 0 && spec.batched)
                        p += sample * t->batch_stride * static_cast<int64_t>(dtype_size(t->dtype));
                }
                if (!b.mems[k]) {
                    b.mems[k] = dnnl::memory(a.md, cpu_engine(), p);
                    b.c_args[k] = {a.id, b.mems[k].get()};
                    b.ptrs[k] = p;
                } else if (b.ptrs[k] != p) {
                    b.mems[k].set_data_handle(p);
                    b.ptrs[k] = p;
                }
            }
            const dnnl_status_t st = dnnl_primitive_execute(
                step.primitive.get(), stream.get(), static_cast<int>(b.c_args.size()), b.c_args.data());
            ENGINE_CHECK(st == dnnl_success, "onednn: ", name_, ": primitive failed with status ",
                         static_cast<int>(st));
        }
    }
}

// ---- FnKernel ----

namespace {

class FnKernel final : public PrimitiveKernel {
  public:
    FnKernel(std::string name, std::vector<TensorSpec> ins, std::vector<TensorSpec> outs, int max_batch,
             BuildFn fn)
        : PrimitiveKernel(std::move(name), std::move(ins), std::move(outs), max_batch), fn_(std::move(fn)) {
        build_max_batch();
    }

  protected:
    PrimitivePlan build(int batch) override {
        std::vector<dnnl::memory::desc> ins, outs;
        for (size_t i = 0; i < num_inputs(); ++i) ins.push_back(in_md(i, batch));
        outs.push_back(out_md(0, batch));
        return fn_(batch, ins, outs);
    }

  private:
    BuildFn fn_;
};

}  // namespace

std::unique_ptr<Kernel> make_fn_kernel(const Graph& g, NodeId n, BuildFn build) {
    const Node& node = g.node(n);
    std::vector<TensorSpec> ins, outs;
    for (ValueId v : node.inputs) ins.push_back(g.is_constant(v) ? constant_spec(g, v) : spec_of(g, v));
    ENGINE_CHECK(node.outputs.size() == 1, "onednn: ", node_label(g, n), ": expected one output");
    outs.push_back(spec_of(g, node.outputs[0]));
    const Value& y = g.value(node.outputs[0]);
    const int max_batch = y.batched && !y.desc.shape.empty() ? static_cast<int>(y.desc.shape[0]) : 1;
    return std::make_unique<FnKernel>(node_label(g, n), std::move(ins), std::move(outs), max_batch,
                                      std::move(build));
}

// ---- activations ----

bool act_supported(const Act& act) {
    switch (act.kind) {
        case ActKind::None:
        case ActKind::Relu:
        case ActKind::LeakyRelu:
        case ActKind::Sigmoid:
        case ActKind::Tanh:
        case ActKind::Softplus:
        case ActKind::Mish:
        case ActKind::Silu:
        case ActKind::Clip:
            return true;
        default:  // an activation oneDNN 2.6 has no algorithm for: the node goes to the reference backend
            return false;
    }
}

void append_act(dnnl::post_ops& po, const Act& act) {
    if (act.kind == ActKind::None) return;
    const EltwiseAlg e = eltwise_of(act);
    po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
}

EltwiseAlg eltwise_of(const Act& act) {
    using A = dnnl::algorithm;
    switch (act.kind) {
        case ActKind::Relu:
            return {A::eltwise_relu, 0.f, 0.f};
        case ActKind::LeakyRelu:
            return {A::eltwise_relu, act.alpha, 0.f};
        case ActKind::Sigmoid:
            return {A::eltwise_logistic, 0.f, 0.f};
        case ActKind::Tanh:
            return {A::eltwise_tanh, 0.f, 0.f};
        case ActKind::Softplus:
            return {A::eltwise_soft_relu, 0.f, 0.f};
        case ActKind::Mish:
            return {A::eltwise_mish, 0.f, 0.f};
        case ActKind::Silu:
            return {A::eltwise_swish, 1.f, 0.f};
        case ActKind::Clip:
            return {A::eltwise_clip, act.alpha, act.beta};
        default:
            break;
    }
    ENGINE_THROW("onednn: no eltwise algorithm for activation ", act_kind_name(act.kind));
}

std::string node_label(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    return concat("node '", node.name, "' [", op_type_name(node.op), "]");
}

}  // namespace engine::onednn
