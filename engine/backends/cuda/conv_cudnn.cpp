// Conv on cuDNN (legacy convolution API of cuDNN 9) + our epilogue kernel:
//
//   y = post_act( act(conv(x, W) + B) + r )
//
// Activations are NHWC; F16 storage runs on tensor cores (CUDNN_TENSOR_OP_MATH, FP32 accumulation),
// F32 storage runs true FP32 (CUDNN_FMA_MATH: no TF32, so FP32 plans match the reference to 1e-5).
// Weights are packed KRSC ([O][kh][kw][C/group]) in the storage type. An F16 conv on a channel count
// that is not a multiple of 8 (the image: 3) reads a copy of its input padded with zero channels to 8
// (weights padded to match): cuDNN's tensor-core kernels want C % 8 == 0.
//
// Tactics (chosen at build time on the target GPU, recorded in the packed tactic blob, remembered in
// the timing cache by layer key): the cuDNN algorithm and math type, from cudnnFindConvolutionForward-
// AlgorithmEx on random data at max batch; and, where the epilogue fits cuDNN's fused form
// act(conv + z + bias) with act identity or ReLU, cudnnConvolutionBiasActivationForward instead of
// conv + our epilogue, when it measures faster. Leaky/mish/silu epilogues (YOLO's) always run as our
// kernel; on NHWC F16 it is one pass at memory speed over the output. F16 layers also try cuDNN's
// graph API (conv_graph.h): the conv alone (+ our epilogue) and conv + bias + act (+ residual) fused in
// one kernel, each over the first engine configurations of cuDNN's heuristics; the fastest of all the
// candidates wins (PackContext::cudnn_graph_api = false leaves the graph API out).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/backends/cuda/conv_graph.h"
#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/epilogue.cuh"
#include "engine/backends/cuda/kernels/fill.cuh"
#include "engine/backends/cuda/kernels/reorder.cuh"
#include "engine/core/half.h"
#include "engine/core/log.h"

namespace engine::cuda {
namespace {

// The tactic blob: I32 [kTacticSize]. kFused: how the layer runs (Form); kAlgo: the legacy algorithm, or
// for the graph forms the rank of the engine configuration in cuDNN's heuristics at max batch.
enum TacticField : int { kVersion, kAlgo, kMath, kPaddedC, kFused, kTacticSize };
enum Form : int32_t { kLegacy = 0, kLegacyFused = 1, kGraph = 2, kGraphFused = 3 };
constexpr int32_t kTacticVersion = 2;

bool is_graph(int32_t form) { return form == kGraph || form == kGraphFused; }
// Whether the form takes the bias in the storage type (cuDNN adds it) rather than our epilogue.
bool bias_in_storage(int32_t form) { return form == kLegacyFused || form == kGraphFused; }
constexpr size_t kAlign = 256;

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

struct ConvProblem : ConvShapes {
    DataType dtype = DataType::F32;  // storage of x, y (and r), and of the packed weights
    int padded_c = 0;                // input channels per group as the kernel reads them
    bool residual = false;

    int64_t in_c() const { return x[1]; }
    int64_t out_c() const { return w[0]; }
    bool padded() const { return padded_c != w[1]; }
    size_t elem() const { return dtype_size(dtype); }
    // Bytes of the padded copy of x at `batch` (0 when the input is read as is).
    size_t padded_bytes(int batch) const {
        return padded() ? static_cast<size_t>(batch) * x[2] * x[3] * padded_c * elem() : 0;
    }
};

int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    const int64_t span = in + pb + pe - d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

cudnnDataType_t cudnn_type(DataType dt) { return dt == DataType::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

ConvProblem conv_problem(const Graph& g, NodeId n) {
    ConvProblem c;
    static_cast<ConvShapes&>(c) = conv_shapes(g, n);
    c.dtype = g.value(g.node(n).inputs[0]).storage_dtype;
    c.residual = c.p.residual;
    c.padded_c = static_cast<int>(c.w[1]);
    if (c.dtype == DataType::F16 && c.p.group == 1 && c.w[1] % 8 != 0)
        c.padded_c = static_cast<int>((c.w[1] + 7) / 8 * 8);
    return c;
}

// --- cuDNN descriptors (RAII) ---

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc() { CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
    ~TensorDesc() { (void)cudnnDestroyTensorDescriptor(d); }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
};
struct FilterDesc {
    cudnnFilterDescriptor_t d = nullptr;
    FilterDesc() { CUDNN_CHECK(cudnnCreateFilterDescriptor(&d)); }
    ~FilterDesc() { (void)cudnnDestroyFilterDescriptor(d); }
    FilterDesc(const FilterDesc&) = delete;
    FilterDesc& operator=(const FilterDesc&) = delete;
};
struct ConvDesc {
    cudnnConvolutionDescriptor_t d = nullptr;
    ConvDesc() { CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
    ~ConvDesc() { (void)cudnnDestroyConvolutionDescriptor(d); }
    ConvDesc(const ConvDesc&) = delete;
    ConvDesc& operator=(const ConvDesc&) = delete;
};
struct ActDesc {
    cudnnActivationDescriptor_t d = nullptr;
    ActDesc() { CUDNN_CHECK(cudnnCreateActivationDescriptor(&d)); }
    ~ActDesc() { (void)cudnnDestroyActivationDescriptor(d); }
    ActDesc(const ActDesc&) = delete;
    ActDesc& operator=(const ActDesc&) = delete;
};

// Which cuDNN fused form the epilogue has: act(conv + alpha2*z + bias) with act identity or ReLU.
enum class FusedForm { None, Identity, Relu, IdentityResidual, ReluResidual };

FusedForm fused_form(const ConvProblem& c) {
    const ActKind a = c.p.act.kind, post = c.p.post_act.kind;
    if (!c.residual) {
        if (a == ActKind::None) return FusedForm::Identity;
        if (a == ActKind::Relu) return FusedForm::Relu;
        return FusedForm::None;
    }
    if (a != ActKind::None) return FusedForm::None;  // act before the add: not cuDNN's order
    if (post == ActKind::None) return FusedForm::IdentityResidual;
    if (post == ActKind::Relu) return FusedForm::ReluResidual;
    return FusedForm::None;
}

// Everything a conv needs at one batch size.
struct ConvDescs {
    TensorDesc x, y, bias;
    FilterDesc w;
    ConvDesc conv;
    ActDesc act;
    std::unique_ptr<GraphConvPlan> graph;  // graph forms
    size_t workspace = 0;                  // cuDNN's workspace for the tactic's algorithm
};

GraphConvSpec graph_spec(const ConvProblem& c, int batch, bool fused) {
    GraphConvSpec s =
        graph_conv_geometry(c.p, c.x, c.w, c.y, batch, c.padded() ? c.padded_c : c.in_c(), c.padded_c);
    s.dtype = c.dtype;
    s.fused = fused;
    s.residual = c.residual;
    return s;
}

void set_descs(ConvDescs& d, const ConvProblem& c, int batch, cudnnMathType_t math) {
    const cudnnDataType_t dt = cudnn_type(c.dtype);
    const int xc = c.padded() ? c.padded_c : static_cast<int>(c.in_c());
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.x.d, CUDNN_TENSOR_NHWC, dt, batch, xc, static_cast<int>(c.x[2]),
                                           static_cast<int>(c.x[3])));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.y.d, CUDNN_TENSOR_NHWC, dt, batch, static_cast<int>(c.y[1]),
                                           static_cast<int>(c.y[2]), static_cast<int>(c.y[3])));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(d.w.d, dt, CUDNN_TENSOR_NHWC, static_cast<int>(c.out_c()),
                                           c.padded_c, static_cast<int>(c.w[2]), static_cast<int>(c.w[3])));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.conv.d, c.p.pads[0], c.p.pads[1], c.p.stride[0],
                                                c.p.stride[1], c.p.dilation[0], c.p.dilation[1],
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv.d, c.p.group));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.d, math));
    CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(d.bias.d, CUDNN_TENSOR_NHWC, dt, 1, static_cast<int>(c.out_c()), 1, 1));
}

void set_act_desc(ConvDescs& d, FusedForm f) {
    const bool relu = f == FusedForm::Relu || f == FusedForm::ReluResidual;
    CUDNN_CHECK(cudnnSetActivationDescriptor(
        d.act.d, relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0));
}

size_t workspace_for(cudnnHandle_t h, const ConvDescs& d, cudnnConvolutionFwdAlgo_t algo) {
    size_t ws = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x.d, d.w.d, d.conv.d, d.y.d, algo, &ws));
    return ws;
}

// Device pointers of one conv invocation.
struct ConvBuffers {
    const void* x = nullptr;  // as the layer gets it (unpadded)
    void* y = nullptr;
    const void* r = nullptr;
    const void* w = nullptr;
    const float* bias = nullptr;   // F32 [O] (our epilogue)
    const void* bias_y = nullptr;  // [O] in the storage type (cuDNN's fused form)
    void* workspace = nullptr;     // padded x, then cuDNN's workspace
    int64_t x_bs = 0, y_bs = 0, r_bs = 0;
};

// Enqueues one conv (+ epilogue) at `batch`.
void enqueue_conv(const ConvProblem& c, const std::array<int32_t, kTacticSize>& t, ConvDescs& d,
                  const ConvBuffers& b, int batch, cudnnHandle_t h, cudaStream_t s) {
    const void* x = b.x;
    auto* ws = static_cast<std::byte*>(b.workspace);
    if (c.padded()) {
        launch_pad_channels_nhwc(b.x, ws, c.elem(), batch, c.x[2] * c.x[3], static_cast<int>(c.in_c()),
                                 c.padded_c, b.x_bs, s);
        x = ws;
        ws += align_up(c.padded_bytes(batch));
    }
    const float one = 1.f, zero = 0.f;
    const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(t[kAlgo]);
    if (t[kFused] == kGraphFused) {
        d.graph->execute(h, x, b.w, b.bias_y, c.residual ? b.r : nullptr, b.y, ws);
        return;
    }
    if (t[kFused] == kGraph) {
        d.graph->execute(h, x, b.w, nullptr, nullptr, b.y, ws);
    } else if (t[kFused] == kLegacyFused) {
        const float alpha2 = c.residual ? 1.f : 0.f;
        CUDNN_CHECK(cudnnConvolutionBiasActivationForward(h, &one, d.x.d, x, d.w.d, b.w, d.conv.d, algo, ws,
                                                          d.workspace, &alpha2, d.y.d, c.residual ? b.r : b.y,
                                                          d.bias.d, b.bias_y, d.act.d, d.y.d, b.y));
        return;
    } else {
        CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x.d, x, d.w.d, b.w, d.conv.d, algo, ws, d.workspace,
                                            &zero, d.y.d, b.y));
    }
    EpilogueArgs e;
    e.x = b.y;
    e.y = b.y;
    e.bias = b.bias;
    e.residual = c.residual ? b.r : nullptr;
    e.batch = batch;
    e.sample = c.y[1] * c.y[2] * c.y[3];
    e.channels = static_cast<int>(c.y[1]);
    e.x_batch_stride = b.y_bs;
    e.y_batch_stride = b.y_bs;
    e.r_batch_stride = b.r_bs;
    e.act = c.p.act;
    e.post_act = c.p.post_act;
    if (c.dtype == DataType::F16)
        launch_epilogue_f16(e, s);
    else
        launch_epilogue_f32(e, s);
}

// W [O, C/g, kh, kw] F32 -> [O][kh][kw][padded_c] in the storage type (extra channels zero).
Tensor pack_weights(const ConvProblem& c, const Tensor& w) {
    const int64_t o = c.w[0], cg = c.w[1], kh = c.w[2], kw = c.w[3], pc = c.padded_c;
    Tensor out(c.dtype, {o, kh, kw, pc});
    const float* src = w.data_as<float>();
    for (int64_t oi = 0; oi < o; ++oi)
        for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t y = 0; y < kh; ++y)
                for (int64_t x = 0; x < kw; ++x) {
                    const float v = src[((oi * cg + ci) * kh + y) * kw + x];
                    const int64_t i = ((oi * kh + y) * kw + x) * pc + ci;
                    if (c.dtype == DataType::F16)
                        out.data_as<uint16_t>()[i] = fp32_to_fp16(v);
                    else
                        out.data_as<float>()[i] = v;
                }
    return out;
}

Tensor bias_in(DataType dt, const Tensor& bias) {
    Tensor out(dt, bias.shape());
    const float* b = bias.data_as<float>();
    for (int64_t i = 0; i < bias.numel(); ++i) {
        if (dt == DataType::F16)
            out.data_as<uint16_t>()[i] = fp32_to_fp16(b[i]);
        else
            out.data_as<float>()[i] = b[i];
    }
    return out;
}

// The timing-cache key of a layer: every property the tactic depends on.
std::string problem_key(const CudaState& st, const ConvProblem& c) {
    std::ostringstream k;
    k << "conv|" << st.signature() << conv_shapes_key(c) << "|g" << c.p.group << "|" << dtype_name(c.dtype)
      << "|pc" << c.padded_c << "|res" << c.residual << "|" << act_key(c.p.act) << "|"
      << act_key(c.p.post_act);
    return k.str();
}

// Scratch buffers for timing one layer at max batch (random inputs).
struct TimingRig {
    DeviceBuffer x, y, r, w, bias, bias_y, ws;
    size_t ws_cap = 0;
};

// Mean time of `runs` enqueues of the tactic, after two warm-up runs, in ms.
float time_tactic(const ConvProblem& c, const std::array<int32_t, kTacticSize>& t, TimingRig& rig,
                  cudnnHandle_t h, cudaStream_t s) {
    ConvDescs d;
    if (is_graph(t[kFused])) {
        set_descs(d, c, c.max_batch, CUDNN_TENSOR_OP_MATH);
        d.graph = GraphConvPlan::make(h, graph_spec(c, c.max_batch, t[kFused] == kGraphFused), t[kAlgo]);
        if (!d.graph) return 1e30f;
        d.workspace = d.graph->workspace();
    } else {
        set_descs(d, c, c.max_batch, static_cast<cudnnMathType_t>(t[kMath]));
        if (t[kFused] != 0) set_act_desc(d, fused_form(c));
        d.workspace = workspace_for(h, d, static_cast<cudnnConvolutionFwdAlgo_t>(t[kAlgo]));
    }
    if (align_up(c.padded_bytes(c.max_batch)) + d.workspace > rig.ws.bytes()) return 1e30f;
    ConvBuffers b;
    b.x = rig.x.get();
    b.y = rig.y.get();
    b.r = rig.r.get();
    b.w = rig.w.get();
    b.bias = rig.bias.as<float>();
    b.bias_y = rig.bias_y.get();
    b.workspace = rig.ws.get();
    b.x_bs = c.x[1] * c.x[2] * c.x[3];
    b.y_bs = b.r_bs = c.y[1] * c.y[2] * c.y[3];
    return time_enqueue(s, [&] { enqueue_conv(c, t, d, b, c.max_batch, h, s); });
}

// Measures the candidate tactics (restricted to conv + epilogue, or to cuDNN's fused form, when
// `only_fused` is 0 or 1; -1: all) and returns the fastest.
// `graph_api`: cuDNN's graph API candidates too (PackContext::cudnn_graph_api).
std::array<int32_t, kTacticSize> measure_tactic(CudaState& st, const ConvProblem& c, const Tensor& packed_w,
                                                const Tensor& bias, int only_fused, bool graph_api) {
    CudaStream stream;
    cudnnHandle_t h = st.cudnn(stream.get());
    const int batch = c.max_batch;
    const int64_t xe = batch * c.x[1] * c.x[2] * c.x[3];
    const int64_t ye = batch * c.y[1] * c.y[2] * c.y[3];
    const ElemType et = c.dtype == DataType::F16 ? ElemType::F16 : ElemType::F32;
    TimingRig rig;
    rig.x = DeviceBuffer(static_cast<size_t>(xe) * c.elem());
    rig.y = DeviceBuffer(static_cast<size_t>(ye) * c.elem());
    if (c.residual) rig.r = DeviceBuffer(static_cast<size_t>(ye) * c.elem());
    rig.w = DeviceBuffer(packed_w.bytes());
    rig.w.upload(packed_w.data(), packed_w.bytes());
    rig.bias = DeviceBuffer(bias.bytes());
    rig.bias.upload(bias.data(), bias.bytes());
    const Tensor by = bias_in(c.dtype, bias);
    rig.bias_y = DeviceBuffer(by.bytes());
    rig.bias_y.upload(by.data(), by.bytes());
    launch_fill_uniform(rig.x.get(), et, xe, 1, -1.f, 1.f, stream.get());
    if (c.residual) launch_fill_uniform(rig.r.get(), et, ye, 2, -1.f, 1.f, stream.get());
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const size_t cap = std::min<size_t>(free_b / 4, size_t{1} << 30);
    rig.ws = DeviceBuffer(align_up(c.padded_bytes(batch)) + cap);
    stream.synchronize();

    // cuDNN's own measurement of every algorithm (on the padded input when padding).
    ConvDescs d;
    const cudnnMathType_t math = c.dtype == DataType::F16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    set_descs(d, c, batch, math);
    const void* x = rig.x.get();
    auto* ws = static_cast<std::byte*>(rig.ws.get());
    if (c.padded()) {
        launch_pad_channels_nhwc(rig.x.get(), ws, c.elem(), batch, c.x[2] * c.x[3],
                                 static_cast<int>(c.in_c()), c.padded_c, c.x[1] * c.x[2] * c.x[3],
                                 stream.get());
        x = ws;
        ws += align_up(c.padded_bytes(batch));
        stream.synchronize();
    }
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x.d, x, d.w.d, rig.w.get(), d.conv.d, d.y.d,
                                                       rig.y.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                       &returned, perf, ws, cap));
    std::array<int32_t, kTacticSize> best{};
    float best_ms = 1e30f;
    std::string report;
    for (int i = 0; i < returned; ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
        // FP32 plans stay true FP32 (cuDNN may offer TF32 tensor-op kernels under DEFAULT_MATH).
        if (c.dtype == DataType::F32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
        if (only_fused > 0) break;
        std::array<int32_t, kTacticSize> t{kTacticVersion, static_cast<int32_t>(perf[i].algo),
                                           static_cast<int32_t>(perf[i].mathType), c.padded_c, 0};
        // The whole layer as it will run (conv + epilogue, padding), measured the same way for all.
        float ms = 1e30f;
        try {
            ms = time_tactic(c, t, rig, h, stream.get());
        } catch (const Error& e) {
            engine::logger().debug("cuda: {}: algo {} refused: {}", c.name, static_cast<int>(perf[i].algo),
                                   e.what());
        }
        report += concat(report.empty() ? "" : ", ", "algo ", perf[i].algo, " ", ms, " ms");
        if (ms < best_ms) {
            best_ms = ms;
            best = t;
        }
        if (i >= 3) break;  // cuDNN sorted by its own time: the next ones are far behind
    }
    // cuDNN's fused bias + identity/ReLU (+ residual), where the epilogue has that form.
    const FusedForm form = fused_form(c);
    if (form != FusedForm::None && (only_fused < 0 || only_fused == 1)) {
        for (int i = 0; i < returned; ++i) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
            if (c.dtype == DataType::F32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
            const bool identity = form == FusedForm::Identity || form == FusedForm::IdentityResidual;
            // cuDNN's fused op runs identity activations only with IMPLICIT_PRECOMP_GEMM.
            if (identity && perf[i].algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) continue;
            std::array<int32_t, kTacticSize> t{kTacticVersion, static_cast<int32_t>(perf[i].algo),
                                               static_cast<int32_t>(perf[i].mathType), c.padded_c, 1};
            float ms = 1e30f;
            try {
                ms = time_tactic(c, t, rig, h, stream.get());
            } catch (const Error& e) {
                engine::logger().debug("cuda: {}: fused bias-activation algo {} refused: {}", c.name,
                                       static_cast<int>(perf[i].algo), e.what());
            }
            report += concat(", fused algo ", perf[i].algo, " ", ms, " ms");
            if (ms < best_ms) {
                best_ms = ms;
                best = t;
            }
            break;
        }
    }
    // cuDNN's graph API: the conv alone and the fused epilogue, over the heuristics' first choices.
    if ((only_fused < 0 && graph_api) || only_fused >= kGraph) {
        for (const int32_t gform : {kGraph, kGraphFused}) {
            if (only_fused >= 0 && only_fused != gform) continue;
            if (gform == kGraphFused && !graph_epilogue_supported(c.p.act, c.p.post_act, c.residual))
                continue;
            int count = 0;
            (void)GraphConvPlan::make(h, graph_spec(c, batch, gform == kGraphFused), -1, &count);
            const int tries = std::min(count, gform == kGraph ? 5 : 4);
            for (int r = 0; r < tries; ++r) {
                std::array<int32_t, kTacticSize> t{kTacticVersion, r, 0, c.padded_c, gform};
                float ms = 1e30f;
                try {
                    ms = time_tactic(c, t, rig, h, stream.get());
                } catch (const Error& e) {
                    engine::logger().debug("cuda: {}: graph gform {} config {} refused: {}", c.name, gform, r,
                                           e.what());
                }
                report += concat(", graph", gform == kGraphFused ? " fused" : "", " #", r, " ", ms, " ms");
                if (ms < best_ms) {
                    best_ms = ms;
                    best = t;
                }
            }
        }
    }
    ENGINE_CHECK(best_ms < 1e29f, "cuda: ", c.name, ": cuDNN has no convolution algorithm for this layer (",
                 returned, " measured", only_fused >= 0 ? concat(", form ", only_fused, " only") : "", ")");
    static const char* const kFormNames[] = {"", " fused", " graph", " graph fused"};
    engine::logger().debug("cuda: {}: {} -> algo {}{} ({} ms)", c.name, report, best[kAlgo],
                           kFormNames[best[kFused] & 3], best_ms);
    return best;
}

class ConvKernel final : public Kernel {
  public:
    ConvKernel(CudaState& st, ConvProblem c, std::array<int32_t, kTacticSize> t, const Tensor& w,
               const Tensor& bias)
        : st_(st), c_(std::move(c)), t_(t) {
        w_ = st.device_copy(w);
        bias_ = st.device_copy(bias);
        if (bias_in_storage(t_[kFused])) {
            const Tensor by = bias_in(c_.dtype, bias);
            bias_y_ = DeviceBuffer(by.bytes());
            bias_y_.upload(by.data(), by.bytes());
        }
        descs_.resize(static_cast<size_t>(c_.max_batch) + 1);
        // Workspace at max batch (the largest): padded input + cuDNN's workspace.
        ConvDescs& d = descs_for(c_.max_batch, st.cudnn(cudaStreamPerThread));
        workspace_ = align_up(c_.padded_bytes(c_.max_batch)) + d.workspace;
    }

    size_t workspace_bytes(int max_batch) const override {
        (void)max_batch;
        return workspace_;
    }

    void run(const KernelArgs& args) override {
        const cudaStream_t s = kernel_stream();
        if (s != stream_ || handle_ == nullptr) {
            stream_ = s;
            handle_ = st_.cudnn(s);
        }
        ConvDescs& d = descs_for(args.batch, handle_);
        ConvBuffers b;
        b.x = args.inputs[0].data;
        b.x_bs = args.inputs[0].batch_stride;
        b.y = args.outputs[0].data;
        b.y_bs = args.outputs[0].batch_stride;
        if (c_.residual) {
            b.r = args.inputs[3].data;
            b.r_bs = args.inputs[3].batch_stride;
        }
        b.w = w_->get();
        b.bias = bias_->as<float>();
        b.bias_y = bias_y_.get();
        b.workspace = args.workspace;
        enqueue_conv(c_, t_, d, b, args.batch, handle_, s);
    }

  private:
    ConvDescs& descs_for(int batch, cudnnHandle_t h) {
        auto& slot = descs_[static_cast<size_t>(batch)];
        if (!slot) {
            auto d = std::make_unique<ConvDescs>();
            if (is_graph(t_[kFused])) {
                set_descs(*d, c_, batch, CUDNN_TENSOR_OP_MATH);
                const size_t pad = align_up(c_.padded_bytes(batch));
                const size_t room = batch == c_.max_batch ? SIZE_MAX
                                    : workspace_ > pad    ? workspace_ - pad
                                                          : 0;
                d->graph = GraphConvPlan::make_fitting(h, graph_spec(c_, batch, t_[kFused] == kGraphFused),
                                                       t_[kAlgo], room);
                ENGINE_CHECK(d->graph != nullptr, "cuda: ", c_.name,
                             ": no cuDNN graph engine runs this layer at batch ", batch);
                d->workspace = d->graph->workspace();
                slot = std::move(d);
                return *slot;
            }
            set_descs(*d, c_, batch, static_cast<cudnnMathType_t>(t_[kMath]));
            if (t_[kFused] != 0) set_act_desc(*d, fused_form(c_));
            d->workspace = workspace_for(h, *d, static_cast<cudnnConvolutionFwdAlgo_t>(t_[kAlgo]));
            ENGINE_CHECK(
                batch == c_.max_batch || align_up(c_.padded_bytes(batch)) + d->workspace <= workspace_,
                "cuda: ", c_.name, ": cuDNN wants more workspace at batch ", batch, " than at max batch");
            slot = std::move(d);
        }
        return *slot;
    }

    CudaState& st_;
    ConvProblem c_;
    std::array<int32_t, kTacticSize> t_;
    std::shared_ptr<DeviceBuffer> w_, bias_;
    DeviceBuffer bias_y_;
    std::vector<std::unique_ptr<ConvDescs>> descs_;  // index: batch
    size_t workspace_ = 0;
    cudaStream_t stream_ = nullptr;
    cudnnHandle_t handle_ = nullptr;
};

}  // namespace

ConvShapes conv_shapes(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    ConvShapes c;
    c.name = node_label(g, n);
    c.p = std::get<ConvParams>(node.params);
    const Value& x = g.value(node.inputs[0]);
    c.x = x.desc.shape;
    c.w = g.value(node.inputs[1]).desc.shape;
    c.y = g.value(node.outputs[0]).desc.shape;
    c.max_batch = x.batched ? static_cast<int>(c.x[0]) : 1;
    return c;
}

std::string conv_shapes_key(const ConvShapes& c) {
    std::ostringstream k;
    k << "|x" << shape_str(c.x) << "|w" << shape_str(c.w) << "|s" << c.p.stride[0] << "," << c.p.stride[1]
      << "|d" << c.p.dilation[0] << "," << c.p.dilation[1] << "|p" << c.p.pads[0] << "," << c.p.pads[1];
    return k.str();
}

float time_enqueue(cudaStream_t s, const std::function<void()>& enqueue) {
    constexpr int kRuns = 10;
    for (int i = 0; i < 2; ++i) enqueue();
    CudaEvent start, end;
    start.record(s);
    for (int i = 0; i < kRuns; ++i) enqueue();
    end.record(s);
    end.synchronize();
    return CudaEvent::elapsed_ms(start, end) / kRuns;
}

std::string act_key(const Act& a) { return concat(act_kind_name(a.kind), "(", a.alpha, ",", a.beta, ")"); }

bool conv_supported(const Graph& g, NodeId n, std::string* why) {
    if (!check_conv_operands(g, n, why)) return false;
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvParams>(&node.params);
    const Shape& w = g.value(node.inputs[1]).desc.shape;
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    // cuDNN pads symmetrically: take the begin pads on both sides when that gives the IR's output size
    // (extra end padding that adds no output changes nothing: padded positions read zeros either way).
    for (int d = 0; d < 2; ++d) {
        const auto i = static_cast<size_t>(d);
        const int64_t sym = out_dim(x[2 + i], w[2 + i], p->stride[i], p->dilation[i], p->pads[i], p->pads[i]);
        if (sym != y[2 + i]) return reject(why, "asymmetric padding that changes the output size");
    }
    for (int64_t v : x)
        if (v > INT32_MAX / 4) return reject(why, "dimension too large for cuDNN's 32-bit descriptors");
    return true;
}

std::vector<Tensor> conv_pack(CudaState& st, const Graph& g, NodeId n, const PackContext& ctx) {
    if (g.node(n).precision == DataType::I8) return conv_int8_pack(st, g, n, ctx);
    return conv_pack_forced(st, g, n, ctx, -1);
}

bool conv_has_fused_form(const Graph& g, NodeId n) {
    return fused_form(conv_problem(g, n)) != FusedForm::None;
}

bool conv_has_graph_fused_form(const Graph& g, NodeId n) {
    const ConvProblem c = conv_problem(g, n);
    return graph_epilogue_supported(c.p.act, c.p.post_act, c.residual);
}

std::vector<Tensor> conv_pack_forced(CudaState& st, const Graph& g, NodeId n, const PackContext& ctx,
                                     int only_fused) {
    const Node& node = g.node(n);
    ConvProblem c = conv_problem(g, n);
    ENGINE_CHECK(storage_ok(c.dtype), "cuda: ", c.name, ": storage type ", dtype_name(c.dtype),
                 " (f32/f16 only)");
    Tensor bias(DataType::F32, {c.out_c()});
    if (node.inputs.size() >= 3) std::memcpy(bias.data(), g.constant(node.inputs[2]).data(), bias.bytes());
    Tensor w = pack_weights(c, g.constant(node.inputs[1]));

    std::array<int32_t, kTacticSize> t{};
    const std::string key = problem_key(st, c);
    std::string cached;
    bool hit = false;
    if (only_fused < 0 && st.cache_lookup(ctx.timing_cache, key, &cached)) {
        std::istringstream in(cached);
        for (int32_t& f : t) in >> f;
        hit = !in.fail() && t[kVersion] == kTacticVersion && t[kPaddedC] == c.padded_c;
    }
    if (!hit) {
        t = measure_tactic(st, c, w, bias, only_fused, ctx.cudnn_graph_api);
        if (only_fused < 0) {
            std::ostringstream out;
            for (int32_t f : t) out << f << ' ';
            st.cache_store(ctx.timing_cache, key, out.str());
        }
    }
    std::vector<Tensor> packed;
    packed.push_back(Tensor::from_bytes(DataType::I32, {kTacticSize}, t.data(), sizeof(t)));
    packed.push_back(std::move(w));
    packed.push_back(std::move(bias));
    return packed;
}

std::unique_ptr<Kernel> make_conv_kernel(CudaState& st, const Graph& g, NodeId n,
                                         std::span<const Tensor> packed) {
    if (g.node(n).precision == DataType::I8) return make_conv_int8_kernel(st, g, n, packed);
    ConvProblem c = conv_problem(g, n);
    ENGINE_CHECK(packed.size() == 3 && packed[0].dtype() == DataType::I32 && packed[0].numel() == kTacticSize,
                 "cuda: ", c.name, ": expected packed {tactic, weights, bias}, got ", packed.size(),
                 " tensors");
    std::array<int32_t, kTacticSize> t{};
    std::memcpy(t.data(), packed[0].data(), sizeof(t));
    ENGINE_CHECK(t[kVersion] == kTacticVersion, "cuda: ", c.name, ": conv tactic version ", t[kVersion],
                 ", expected ", kTacticVersion, ": rebuild the plan");
    ENGINE_CHECK(t[kPaddedC] == c.padded_c, "cuda: ", c.name, ": packed for ", t[kPaddedC],
                 " input channels, expected ", c.padded_c);
    ENGINE_CHECK(storage_ok(c.dtype) && packed[1].dtype() == c.dtype, "cuda: ", c.name,
                 ": packed weights are ", dtype_name(packed[1].dtype()), ", the input is stored as ",
                 dtype_name(c.dtype));
    ENGINE_CHECK(packed[1].numel() == c.w[0] * c.w[2] * c.w[3] * c.padded_c, "cuda: ", c.name,
                 ": packed weights have ", packed[1].numel(), " elements");
    ENGINE_CHECK(packed[2].dtype() == DataType::F32 && packed[2].numel() == c.out_c(), "cuda: ", c.name,
                 ": packed bias is not F32 [", c.out_c(), "]");
    const Node& node = g.node(n);
    check_nhwc(g, n, node.inputs[0]);
    check_nhwc(g, n, node.outputs[0]);
    if (c.residual) check_nhwc(g, n, node.inputs[3]);
    return std::make_unique<ConvKernel>(st, std::move(c), t, packed[1], packed[2]);
}

}  // namespace engine::cuda
