// GraphConvPlan: see conv_graph.h. The operation graph, with tensor unique ids
//   x 1, w 2, y 3, bias 4, r 5, (INT8:) alpha 6, r_scale 7, y_inv 8; virtual (FP32) intermediates from
//   10 on,
// is   conv(x, w) -> t0 ; [INT8:] t0 * alpha ; [fused:] + bias -> t1 ; act(t1) -> t2 ;
// [residual:] t2 + r (INT8 s8 r: r * r_scale) -> t3 ; post_act(t3) ; [INT8 s8 y, not fold_y:] * y_inv -> y
// (each optional step left out when it is the identity).
#include "engine/backends/cuda/conv_graph.h"

#include <string>
#include <utility>
#include <vector>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/core/log.h"

namespace engine::cuda {
namespace {

// One backend descriptor, destroyed with its owner.
class Desc {
  public:
    explicit Desc(cudnnBackendDescriptorType_t type) { CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_)); }
    ~Desc() {
        if (d_ != nullptr) (void)cudnnBackendDestroyDescriptor(d_);
    }
    Desc(const Desc&) = delete;
    Desc& operator=(const Desc&) = delete;
    cudnnBackendDescriptor_t get() const { return d_; }
    cudnnBackendDescriptor_t release() {
        cudnnBackendDescriptor_t d = d_;
        d_ = nullptr;
        return d;
    }
    template <typename T>
    void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t n, const T* v) {
        CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, type, n, v));
    }
    void set_desc(cudnnBackendAttributeName_t name, const Desc& other) {
        cudnnBackendDescriptor_t o = other.get();
        set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o);
    }
    void finalize() { CUDNN_CHECK(cudnnBackendFinalize(d_)); }

  private:
    cudnnBackendDescriptor_t d_ = nullptr;
};

cudnnDataType_t data_type(DataType dt) {
    if (dt == DataType::I8) return CUDNN_DATA_INT8;
    return dt == DataType::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

// A 4-D tensor [n, c, h, w] stored NHWC.
std::unique_ptr<Desc> tensor(int64_t uid, cudnnDataType_t dt, int64_t n, int64_t c, int64_t h, int64_t w,
                             bool is_virtual) {
    auto d = std::make_unique<Desc>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t dims[4] = {n, c, h, w};
    const int64_t strides[4] = {c * h * w, 1, w * c, c};
    const int64_t align = 16;
    const bool virt = is_virtual;
    d->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    d->set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    d->set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    d->set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    d->set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    d->set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &virt);
    d->finalize();
    return d;
}

// The pointwise mode of an activation, or false when the graph has none for it.
bool act_mode(const Act& a, cudnnPointwiseMode_t* mode, double* slope) {
    *slope = 0.0;
    switch (a.kind) {
        case ActKind::Relu:
            *mode = CUDNN_POINTWISE_RELU_FWD;
            return true;
        case ActKind::LeakyRelu:
            *mode = CUDNN_POINTWISE_RELU_FWD;
            *slope = a.alpha;
            return true;
        case ActKind::Sigmoid:
            *mode = CUDNN_POINTWISE_SIGMOID_FWD;
            return true;
        case ActKind::Silu:
            *mode = CUDNN_POINTWISE_SWISH_FWD;
            return true;
        default:
            return false;
    }
}

struct Builder {
    std::vector<std::unique_ptr<Desc>> keep;  // every descriptor the graph refers to
    std::vector<cudnnBackendDescriptor_t> ops;

    Desc& add(std::unique_ptr<Desc> d) {
        keep.push_back(std::move(d));
        return *keep.back();
    }

    // y = mode(x [, b]) as a pointwise op (b: second operand for ADD).
    void pointwise(cudnnPointwiseMode_t mode, double slope, const Desc& x, const Desc* b, const Desc& y) {
        Desc& pw = add(std::make_unique<Desc>(CUDNN_BACKEND_POINTWISE_DESCRIPTOR));
        const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
        pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
        pw.set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
        if (mode == CUDNN_POINTWISE_RELU_FWD && slope != 0.0)
            pw.set(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE, CUDNN_TYPE_DOUBLE, 1, &slope);
        if (mode == CUDNN_POINTWISE_SWISH_FWD) {
            const double beta = 1.0;
            pw.set(CUDNN_ATTR_POINTWISE_SWISH_BETA, CUDNN_TYPE_DOUBLE, 1, &beta);
        }
        pw.finalize();
        Desc& op = add(std::make_unique<Desc>(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR));
        op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
        op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
        if (b != nullptr) op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
        op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
        op.finalize();
        ops.push_back(op.get());
    }
};

// The operation graph of spec (finalized), kept alive by b.
cudnnBackendDescriptor_t build_graph(Builder& b, cudnnHandle_t h, const GraphConvSpec& s) {
    const bool i8 = s.dtype == DataType::I8;
    const cudnnDataType_t io = data_type(s.dtype);
    const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
    const cudnnDataType_t comp = i8 ? CUDNN_DATA_INT32 : f32;
    Desc& x = b.add(tensor(1, io, s.n, s.c, s.h, s.w, false));
    Desc& w = b.add(tensor(2, io, s.k, s.cg, s.r, s.s, false));
    Desc& y = b.add(tensor(3, i8 ? data_type(s.y_dtype) : io, s.n, s.k, s.oh, s.ow, false));

    Desc& conv = b.add(std::make_unique<Desc>(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR));
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    const int64_t dims = 2;
    conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    conv.set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    conv.set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims);
    conv.set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, s.dilations.data());
    conv.set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, s.strides.data());
    conv.set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, s.pads.data());
    conv.set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, s.pads.data());
    conv.finalize();

    // Conv output: y itself, or a virtual FP32 tensor feeding the epilogue.
    int64_t next_uid = 10;
    const auto virt = [&]() -> Desc& { return b.add(tensor(next_uid++, f32, s.n, s.k, s.oh, s.ow, true)); };
    Desc* t = s.fused || i8 ? &virt() : &y;
    Desc& op = b.add(std::make_unique<Desc>(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
    const float alpha = 1.f, beta = 0.f;
    op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    op.set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv);
    op.set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w);
    op.set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x);
    op.set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, *t);
    op.finalize();
    b.ops.push_back(op.get());

    if (s.fused || i8) {
        // The remaining steps, the last of which writes y.
        struct Step {
            cudnnPointwiseMode_t mode;
            double slope;
            Desc* operand;
        };
        std::vector<Step> steps;
        if (i8) steps.push_back({CUDNN_POINTWISE_MUL, 0.0, &b.add(tensor(6, f32, 1, s.k, 1, 1, false))});
        Desc& bias = b.add(tensor(4, i8 ? f32 : io, 1, s.k, 1, 1, false));
        steps.push_back({CUDNN_POINTWISE_ADD, 0.0, &bias});
        cudnnPointwiseMode_t m{};
        double slope = 0.0;
        if (s.act.kind != ActKind::None) {
            ENGINE_CHECK(act_mode(s.act, &m, &slope), "cuda graph conv: activation ",
                         act_kind_name(s.act.kind), " has no cuDNN pointwise form");
            steps.push_back({m, slope, nullptr});
        }
        if (s.residual) {
            Desc* r = &b.add(tensor(5, i8 ? data_type(s.r_dtype) : io, s.n, s.k, s.oh, s.ow, false));
            if (i8 && s.r_dtype == DataType::I8) {
                // The s8 residual in real units first: r * r_scale, a virtual F32 operand of the add.
                Desc& rs = b.add(tensor(7, f32, 1, s.k, 1, 1, false));
                Desc& rf = virt();
                b.pointwise(CUDNN_POINTWISE_MUL, 0.0, *r, &rs, rf);
                r = &rf;
            }
            steps.push_back({CUDNN_POINTWISE_ADD, 0.0, r});
            if (s.post_act.kind != ActKind::None) {
                ENGINE_CHECK(act_mode(s.post_act, &m, &slope), "cuda graph conv: activation ",
                             act_kind_name(s.post_act.kind), " has no cuDNN pointwise form");
                steps.push_back({m, slope, nullptr});
            }
        }
        if (i8 && s.y_dtype == DataType::I8 && !s.fold_y)
            steps.push_back({CUDNN_POINTWISE_MUL, 0.0, &b.add(tensor(8, f32, 1, s.k, 1, 1, false))});
        for (size_t i = 0; i < steps.size(); ++i) {
            Desc* out = i + 1 == steps.size() ? &y : &virt();
            b.pointwise(steps[i].mode, steps[i].slope, *t, steps[i].operand, *out);
            t = out;
        }
    }

    Desc& graph = b.add(std::make_unique<Desc>(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
    graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
              static_cast<int64_t>(b.ops.size()), b.ops.data());
    graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
    graph.finalize();
    return graph.get();
}

// An engine configuration's engine (its global index, whether it runs on tensor cores) and knob choices.
struct EngineInfo {
    int64_t index = -1;
    bool tensor_core = false;
    std::vector<std::pair<cudnnBackendKnobType_t, int64_t>> knobs;

    std::string describe() const {
        std::string s = "e" + std::to_string(index);
        for (size_t i = 0; i < knobs.size(); ++i)
            s += (i == 0 ? "[" : ";") + std::to_string(static_cast<int>(knobs[i].first)) + "=" +
                 std::to_string(knobs[i].second);
        return knobs.empty() ? s : s + "]";
    }
};

EngineInfo engine_info(cudnnBackendDescriptor_t cfg) {
    EngineInfo info;
    Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    cudnnBackendDescriptor_t e = engine.get();
    int64_t one = 0;
    CUDNN_CHECK(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                         &one, &e));
    CUDNN_CHECK(
        cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &one, &info.index));
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t nn = 0;
    CUDNN_CHECK(cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                         CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &nn, notes));
    for (int64_t i = 0; i < nn; ++i)
        info.tensor_core = info.tensor_core || notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE;
    int64_t nk = 0;
    CUDNN_CHECK(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
                                         CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &nk, nullptr));
    std::vector<std::unique_ptr<Desc>> kc;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < nk; ++i) {
        kc.push_back(std::make_unique<Desc>(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR));
        raw.push_back(kc.back()->get());
    }
    if (nk > 0)
        CUDNN_CHECK(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
                                             CUDNN_TYPE_BACKEND_DESCRIPTOR, nk, &nk, raw.data()));
    for (int64_t i = 0; i < nk; ++i) {
        cudnnBackendKnobType_t type{};
        int64_t value = 0;
        CUDNN_CHECK(cudnnBackendGetAttribute(raw[static_cast<size_t>(i)], CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE,
                                             CUDNN_TYPE_KNOB_TYPE, 1, &one, &type));
        CUDNN_CHECK(cudnnBackendGetAttribute(raw[static_cast<size_t>(i)], CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE,
                                             CUDNN_TYPE_INT64, 1, &one, &value));
        info.knobs.emplace_back(type, value);
    }
    return info;
}

}  // namespace

GraphConvSpec graph_conv_geometry(const ConvParams& p, const std::vector<int64_t>& x,
                                  const std::vector<int64_t>& w, const std::vector<int64_t>& y, int64_t batch,
                                  int64_t c, int64_t cg) {
    GraphConvSpec s;
    s.n = batch;
    s.c = c;
    s.h = x[2];
    s.w = x[3];
    s.k = w[0];
    s.cg = cg;
    s.r = w[2];
    s.s = w[3];
    s.oh = y[2];
    s.ow = y[3];
    s.pads = {p.pads[0], p.pads[1]};
    s.strides = {p.stride[0], p.stride[1]};
    s.dilations = {p.dilation[0], p.dilation[1]};
    s.act = p.act;
    s.post_act = p.post_act;
    s.residual = p.residual;
    return s;
}

bool graph_epilogue_supported(const Act& act, const Act& post_act, bool residual) {
    cudnnPointwiseMode_t m{};
    double slope = 0.0;
    if (act.kind != ActKind::None && !act_mode(act, &m, &slope)) return false;
    if (!residual) return post_act.kind == ActKind::None;
    return post_act.kind == ActKind::None || act_mode(post_act, &m, &slope);
}

std::unique_ptr<GraphConvPlan> GraphConvPlan::make(cudnnHandle_t h, const GraphConvSpec& spec, int rank,
                                                   int* count, int lists) {
    if (count != nullptr) *count = 0;
    try {
        struct Keep {
            Builder b;
            std::vector<std::unique_ptr<Desc>> descs;  // heuristics and configurations
        };
        auto keep = std::make_shared<Keep>();
        const cudnnBackendDescriptor_t graph = build_graph(keep->b, h, spec);
        auto own = [&](cudnnBackendDescriptorType_t type) -> Desc& {
            keep->descs.push_back(std::make_unique<Desc>(type));
            return *keep->descs.back();
        };
        // The configurations of one heuristics mode, in its order (FP32: those not on tensor cores, so
        // that FP32 stays true FP32, not TF32). Modes B and fallback may refuse a graph: no configurations.
        auto configs = [&](cudnnBackendHeurMode_t mode) {
            std::vector<cudnnBackendDescriptor_t> raw;
            Desc& heur = own(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
            heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
            heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
            if (cudnnBackendFinalize(heur.get()) != CUDNN_STATUS_SUCCESS) {
                ENGINE_CHECK(mode != CUDNN_HEUR_MODE_A,
                             "cuda graph conv: heuristics mode A refused the graph");
                return raw;
            }
            int64_t n = 0;
            CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, nullptr));
            for (int64_t i = 0; i < n; ++i) raw.push_back(own(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR).get());
            int64_t got = 0;
            CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &got, raw.data()));
            raw.resize(static_cast<size_t>(got));
            if (spec.dtype != DataType::F32) return raw;
            std::vector<cudnnBackendDescriptor_t> kept;
            for (cudnnBackendDescriptor_t cfg : raw)
                if (!engine_info(cfg).tensor_core) kept.push_back(cfg);
            return kept;
        };
        // Mode A's list, then B's, then the fallback's (a rank past A's builds the next lists).
        std::vector<cudnnBackendDescriptor_t> raw = configs(CUDNN_HEUR_MODE_A);
        int64_t listed = static_cast<int64_t>(raw.size());
        const cudnnBackendHeurMode_t more[] = {CUDNN_HEUR_MODE_B, CUDNN_HEUR_MODE_FALLBACK};
        for (int l = 1; l < 3; ++l) {
            if (l >= lists && rank < static_cast<int64_t>(raw.size())) break;
            const auto next = configs(more[l - 1]);
            raw.insert(raw.end(), next.begin(), next.end());
            if (l < lists) listed = static_cast<int64_t>(raw.size());
        }
        if (count != nullptr) *count = static_cast<int>(listed);
        if (rank < 0 || rank >= static_cast<int64_t>(raw.size())) return nullptr;
        cudnnBackendDescriptor_t cfg = raw[static_cast<size_t>(rank)];
        Desc plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
        plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
        plan.set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg);
        if (cudnnBackendFinalize(plan.get()) != CUDNN_STATUS_SUCCESS) return nullptr;
        int64_t ws = 0, got = 0;
        CUDNN_CHECK(cudnnBackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                             CUDNN_TYPE_INT64, 1, &got, &ws));
        std::unique_ptr<GraphConvPlan> p(new GraphConvPlan());
        p->keep_ = std::move(keep);
        p->plan_ = plan.release();
        p->i8_ = spec.dtype == DataType::I8;
        p->fused_ = spec.fused || p->i8_;
        p->residual_ = spec.residual;
        p->r_i8_ = p->i8_ && spec.residual && spec.r_dtype == DataType::I8;
        p->y_i8_ = p->i8_ && spec.y_dtype == DataType::I8;
        p->fold_y_ = p->y_i8_ && spec.fold_y;
        p->workspace_ = static_cast<size_t>(ws);
        p->describe_ = engine_info(cfg).describe();
        return p;
    } catch (const Error& e) {
        engine::logger().debug("cuda graph conv: {}", e.what());
        return nullptr;
    }
}

std::unique_ptr<GraphConvPlan> GraphConvPlan::make_fitting(cudnnHandle_t h, const GraphConvSpec& spec,
                                                           int rank, size_t max_ws) {
    int count = 0;
    auto p = make(h, spec, rank, &count);
    if (p && p->workspace() <= max_ws) return p;
    for (int i = 0; i < count; ++i) {
        if (i == rank) continue;
        p = make(h, spec, i);
        if (p && p->workspace() <= max_ws) return p;
    }
    return nullptr;
}

GraphConvPlan::~GraphConvPlan() {
    if (pack_ != nullptr) (void)cudnnBackendDestroyDescriptor(pack_);
    if (plan_ != nullptr) (void)cudnnBackendDestroyDescriptor(plan_);
}

void GraphConvPlan::execute(cudnnHandle_t h, const void* x, const void* w, const void* bias, const void* r,
                            void* y, void* workspace, const GraphInt8Operands& i8) {
    const std::array<const void*, 9> ptrs{x, w, y, bias, r, workspace, i8.alpha, i8.r_scale, i8.y_inv};
    if (pack_ == nullptr || ptrs != pack_ptrs_) {
        if (pack_ != nullptr) (void)cudnnBackendDestroyDescriptor(pack_);
        pack_ = nullptr;
        Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
        std::vector<int64_t> uids = {1, 2, 3};
        std::vector<void*> data = {const_cast<void*>(x), const_cast<void*>(w), y};
        if (fused_) {
            uids.push_back(4);
            data.push_back(const_cast<void*>(bias));
            if (residual_) {
                uids.push_back(5);
                data.push_back(const_cast<void*>(r));
            }
        }
        const std::pair<int64_t, const void*> extra[] = {{6, i8_ ? i8.alpha : nullptr},
                                                         {7, r_i8_ ? i8.r_scale : nullptr},
                                                         {8, y_i8_ && !fold_y_ ? i8.y_inv : nullptr}};
        for (const auto& [uid, ptr] : extra) {
            if (ptr == nullptr) continue;
            uids.push_back(uid);
            data.push_back(const_cast<void*>(ptr));
        }
        pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<int64_t>(uids.size()),
                 uids.data());
        pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
                 static_cast<int64_t>(data.size()), data.data());
        pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
        pack.finalize();
        pack_ = pack.release();
        pack_ptrs_ = ptrs;
    }
    CUDNN_CHECK(cudnnBackendExecute(h, plan_, pack_));
}

}  // namespace engine::cuda
