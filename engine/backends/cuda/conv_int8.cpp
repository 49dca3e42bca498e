// INT8 Conv on the CUDA backend (docs/int8.md, docs/cuda.md): our implicit-GEMM tensor-core kernel
// (kernels/conv_int8.cuh) with the epilogue fused. The input is s8 NHWC with the input value's
// calibrated scale (amax / 127); weights are quantized per output channel at build time (the
// reference's quantize_weights_per_channel) and packed [O][kh][kw][C'] s8, C' the input channels
// rounded up to 32 (the image's 3 channels read a zero-padded copy), or [O][64] with the taps packed
// for our packed tiles (the image's channels padded to 4); the output is s8 with its own
// scale, or F16/F32 when no INT8 node reads it (assign_int8's rule), NHWC, or NCHW F32 where the conv
// writes a graph output itself (conv_int8_writes_plain: our kernel only; a host output through device
// staging and a copy); a residual is read in its own storage. Two forms, timed per layer at max batch on
// random data (remembered in the timing cache) and recorded in the packed tactic: cuDNN's graph API (conv s8
// x s8 -> int32, then the epilogue as pointwise ops fused into cuDNN's kernel: conv_graph.h), over the first
// engine configurations of its heuristics, and our kernel over its tile shapes. cuDNN's Hopper INT8 engines
// are the fast ones (a 3x3 128 -> 256 conv on 64 x 52 x 52: 0.09 ms against our 0.5 ms); ours runs what cuDNN
// has no engine for (mish, hard-sigmoid epilogues). Depthwise convs (group == channels) have one form: our
// depthwise kernel (dw_int8_core.h), its weights packed [kh][kw][C] without channel padding, the same
// epilogue.
#include "engine/backends/cuda/kernels/conv_int8.cuh"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>
#include <utility>

#include "engine/backends/cuda/conv_graph.h"
#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/conv_pair_int8.cuh"
#include "engine/backends/cuda/kernels/dw_int8_core.h"
#include "engine/backends/cuda/kernels/fill.cuh"
#include "engine/backends/cuda/kernels/reorder.cuh"
#include "engine/backends/cuda/kernels/requant_core.h"
#include "engine/core/log.h"
#include "engine/refmath/ref_int8.h"

namespace engine::cuda {
namespace {

// The tactic blob: I32 [kTacticSize]. kForm: kOurs (kChoice: the tile), kGraph (kChoice: the rank of
// the engine configuration in cuDNN's heuristics at max batch) or kDepthwise (our depthwise kernel, the
// only form of a depthwise conv; kChoice 0).
enum TacticField : int { kVersion, kForm, kChoice, kPaddedC, kTacticSize };
enum Form : int32_t { kOurs = 0, kGraph = 1, kDepthwise = 2 };
constexpr int32_t kTacticVersion = 2;
constexpr int kGraphTries = 6;  // engine configurations timed per layer
// With RTDET_CUDA_INT8_GRAPH_SEARCH=1 (int8_graph_search_wide; experiments): every configuration of the
// three heuristics modes, at most this many and for this long a layer (runtime-fusion engines compile
// their kernel when a plan is finalized: about 0.6 s each on the H100).
constexpr int kGraphWideTries = 48;
constexpr std::chrono::seconds kGraphSearchBudget{10};
constexpr int kChannelQuantum = 32;  // input channels per k block of the smallest tile depth
constexpr size_t kAlign = 256;

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

I8Elem elem_of(DataType dt) {
    switch (dt) {
        case DataType::I8:
            return I8Elem::S8;
        case DataType::F16:
            return I8Elem::F16;
        case DataType::F32:
            return I8Elem::F32;
        default:
            return I8Elem::None;
    }
}

float value_scale(const Graph& g, NodeId n, ValueId v) {
    const Value& val = g.value(v);
    if (val.storage_dtype != DataType::I8) return 1.0f;
    ENGINE_CHECK(val.amax > 0, "cuda: ", node_label(g, n), ": value '", val.name,
                 "' is stored as i8 without a calibrated range");
    return val.amax / 127.0f;
}

// The input channels our group-1 tiles read x with: rounded up to the k depth of the smallest tile
// (32), or kPackedC for packed tiles when x has that few.
int rounded_c(int64_t c) {
    return static_cast<int>((c + kChannelQuantum - 1) / kChannelQuantum * kChannelQuantum);
}
int tile_input_c(int64_t c, int tile) {
    if (!conv_int8_tile_packed(tile)) return rounded_c(c);
    return c <= kPackedC ? kPackedC : static_cast<int>(c);
}

// Depthwise: one 2-D filter per channel, as many outputs as inputs (the depthwise kernel's case).
bool is_depthwise(const ConvParams& p, const Shape& x, const Shape& w) {
    return p.group > 1 && p.group == x[1] && w[0] == x[1] && w[1] == 1;
}

struct I8Problem : ConvShapes {
    int padded_c = 0;
    bool depthwise = false;
    bool has_bias = false;
    bool y_plain = false;  // y NCHW F32 (a graph output the conv writes itself): our kernel only
    bool x_plain = false;  // x NCHW F32 (a graph input the conv reads itself, conv_int8_reads_plain):
                           // quantized with x_scale into the padded copy, whichever form runs
    DataType y_dtype = DataType::I8, r_dtype = DataType::F32;
    float x_scale = 1, y_scale = 1, r_scale = 1;

    int64_t in_c() const { return x[1]; }
    // The channels our tile reads x with (tile_input_c). The graph form reads padded_c, the depthwise
    // kernel x's own.
    int tile_c(int tile) const { return tile_input_c(x[1], tile); }
    // Whether a form reading x with `channels` channels reads a copy of it in the workspace (padded, or
    // x_plain: quantized and padded).
    bool x_copied(int64_t channels) const { return x_plain || channels != x[1]; }
    // Workspace for that copy, whichever form runs (padded_c >= kPackedC).
    size_t padded_bytes(int batch) const {
        return x_copied(padded_c) ? static_cast<size_t>(batch) * static_cast<size_t>(x[2] * x[3]) * padded_c
                                  : 0;
    }
    // x_plain: one sample of x in F32 (its device staging where it is in host memory).
    int64_t x_sample() const { return x[1] * x[2] * x[3]; }
};

I8Problem i8_problem(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    I8Problem c;
    static_cast<ConvShapes&>(c) = conv_shapes(g, n);
    const Value& x = g.value(node.inputs[0]);
    c.depthwise = is_depthwise(c.p, c.x, c.w);
    // The tensor-core kernel reads the channels in blocks of 32; the depthwise one reads them as they are.
    c.padded_c = c.depthwise ? static_cast<int>(c.x[1]) : rounded_c(c.x[1]);
    c.has_bias = node.inputs.size() >= 3 && node.inputs[2] != kNoValue;
    c.x_plain = x.is_graph_input && x.layout == Layout::Plain && x.storage_dtype == DataType::F32;
    ENGINE_CHECK(x.storage_dtype == DataType::I8 || c.x_plain, "cuda: ", c.name, ": an INT8 conv's input '",
                 x.name, "' is stored as ", dtype_name(x.storage_dtype), ", not i8");
    if (c.x_plain) {
        ENGINE_CHECK(!c.depthwise && c.x[1] <= kPackedC && x.amax > 0 && std::isfinite(x.amax),
                     "cuda: ", c.name, ": graph input '", x.name,
                     "' read as F32 NCHW, which only convs of at most ", kPackedC,
                     " input channels with a calibrated range do (amax ", x.amax, ")");
        c.x_scale = x.amax / 127.0f;  // the scale a Reorder to i8 would quantize it with
    } else {
        c.x_scale = value_scale(g, n, node.inputs[0]);
    }
    const Value& y = g.value(node.outputs[0]);
    c.y_dtype = y.storage_dtype;
    ENGINE_CHECK(elem_of(c.y_dtype) != I8Elem::None, "cuda: ", c.name, ": output '", y.name, "' stored as ",
                 dtype_name(c.y_dtype));
    c.y_scale = value_scale(g, n, node.outputs[0]);
    c.y_plain = y.layout == Layout::Plain && c.y.size() == 4;
    ENGINE_CHECK(!c.y_plain || (c.y_dtype == DataType::F32 && !c.p.residual && !c.depthwise),
                 "cuda: ", c.name, ": output '", y.name, "' stored Plain ", dtype_name(c.y_dtype),
                 c.p.residual ? " with a residual" : (c.depthwise ? " by a depthwise conv" : ""),
                 ": only F32 without a residual, and not depthwise, is written NCHW");
    if (c.p.residual) {
        const Value& r = g.value(node.inputs[3]);
        c.r_dtype = r.storage_dtype;
        ENGINE_CHECK(elem_of(c.r_dtype) != I8Elem::None, "cuda: ", c.name, ": residual '", r.name,
                     "' stored as ", dtype_name(c.r_dtype));
        c.r_scale = value_scale(g, n, node.inputs[3]);
    }
    return c;
}

// The launch arguments at `batch` (buffers left for the caller).
ConvInt8Args launch_args(const I8Problem& c, int batch) {
    ConvInt8Args a;
    a.batch = batch;
    a.h = static_cast<int>(c.x[2]);
    a.w_in = static_cast<int>(c.x[3]);
    a.c = c.padded_c;
    a.k = static_cast<int>(c.w[0]);
    a.r = static_cast<int>(c.w[2]);
    a.s = static_cast<int>(c.w[3]);
    a.oh = static_cast<int>(c.y[2]);
    a.ow = static_cast<int>(c.y[3]);
    a.stride_h = c.p.stride[0];
    a.stride_w = c.p.stride[1];
    a.pad_h = c.p.pads[0];
    a.pad_w = c.p.pads[1];
    a.dil_h = c.p.dilation[0];
    a.dil_w = c.p.dilation[1];
    a.y_type = elem_of(c.y_dtype);
    a.y_scale = c.y_scale;
    a.y_nchw = c.y_plain;
    a.residual_type = c.p.residual ? elem_of(c.r_dtype) : I8Elem::None;
    a.residual_scale = c.r_scale;
    a.act = c.p.act;
    a.post_act = c.p.post_act;
    return a;
}

// act(v k) = k act(v) for k > 0: none, ReLU, leaky ReLU.
bool positively_homogeneous(const Act& a) {
    return a.kind == ActKind::None || a.kind == ActKind::Relu || a.kind == ActKind::LeakyRelu;
}

// Whether the graph form folds the output's 1 / y_scale into alpha, the bias and r_scale (an s8 output,
// the activations positively homogeneous, no residual or an s8 one: a float residual has no scale to
// fold into): one pointwise op fewer in cuDNN's epilogue.
bool graph_folds_y(const I8Problem& c) {
    return c.y_dtype == DataType::I8 && positively_homogeneous(c.p.act) &&
           (!c.p.residual || (c.r_dtype == DataType::I8 && positively_homogeneous(c.p.post_act)));
}

GraphConvSpec graph_spec(const I8Problem& c, int batch) {
    GraphConvSpec s = graph_conv_geometry(c.p, c.x, c.w, c.y, batch, c.padded_c, c.padded_c);
    s.dtype = DataType::I8;
    s.fused = true;
    s.y_dtype = c.y_dtype;
    s.r_dtype = c.r_dtype;
    s.fold_y = graph_folds_y(c);
    return s;
}

// The per-layer device vectors the graph form reads besides alpha and the bias: r_scale and y_inv
// ([k] F32; one value repeated, cuDNN's per-channel operand form); where it folds y (graph_folds_y),
// r_scale / y_scale, and alpha and the bias divided by y_scale (fold(), before a run).
struct GraphVectors {
    DeviceBuffer r_scale, y_inv, alpha, bias;
    bool folded = false;
    explicit GraphVectors(const I8Problem& c) {
        const auto k = static_cast<size_t>(c.w[0]);
        const float yi = 1.0f / c.y_scale;
        const std::vector<float> rs(k, graph_folds_y(c) ? c.r_scale * yi : c.r_scale), yis(k, yi);
        r_scale = DeviceBuffer(k * sizeof(float));
        r_scale.upload(rs.data(), k * sizeof(float));
        y_inv = DeviceBuffer(k * sizeof(float));
        y_inv.upload(yis.data(), k * sizeof(float));
    }
    // alpha and the bias (host, [k]) times 1 / y_scale, for the graph form that folds y.
    void fold(const I8Problem& c, std::vector<float> a, std::vector<float> b) {
        const float yi = 1.0f / c.y_scale;
        for (float& v : a) v *= yi;
        for (float& v : b) v *= yi;
        alpha = DeviceBuffer(a.size() * sizeof(float));
        alpha.upload(a.data(), a.size() * sizeof(float));
        bias = DeviceBuffer(b.size() * sizeof(float));
        bias.upload(b.data(), b.size() * sizeof(float));
        folded = true;
    }
};

// One layer invocation: the form, our tile or cuDNN's plan, and the buffers.
struct Invocation {
    int32_t form = kOurs;
    int tile = 0;
    GraphConvPlan* plan = nullptr;
    const float* alpha = nullptr;
    const float* bias = nullptr;  // never nullptr for the graph form (zeros without a bias)
    const GraphVectors* vectors = nullptr;
    cudnnHandle_t handle = nullptr;
};

// The channels the invocation reads x with.
int input_c(const I8Problem& c, const Invocation& inv) {
    return inv.form == kOurs ? c.tile_c(inv.tile) : c.padded_c;
}

// Enqueues the layer: the padded copy of x when needed (at the start of the workspace), then the conv.
void enqueue(const I8Problem& c, const Invocation& inv, ConvInt8Args a, const void* x, int64_t x_bs,
             void* workspace, cudaStream_t s) {
    auto* ws = static_cast<std::byte*>(workspace);
    a.c = input_c(c, inv);
    if (c.x_copied(a.c)) {
        auto* padded = reinterpret_cast<int8_t*>(ws);
        if (c.x_plain)  // F32 NCHW: quantized and padded in one pass
            launch_quantize_nchw_to_nhwc_padded(static_cast<const float*>(x), padded, a.batch,
                                                static_cast<int>(c.in_c()), c.x[2] * c.x[3], a.c, x_bs,
                                                c.x_scale, s);
        else
            launch_pad_channels_s8(static_cast<const int8_t*>(x), padded, a.batch, c.x[2] * c.x[3],
                                   static_cast<int>(c.in_c()), a.c, x_bs, s);
        a.x = padded;
        a.x_batch_stride = c.x[2] * c.x[3] * a.c;
        ws += align_up(c.padded_bytes(a.batch));
    } else {
        a.x = static_cast<const int8_t*>(x);
        a.x_batch_stride = x_bs;
    }
    if (inv.form == kDepthwise) {
        launch_conv_dw_int8(a, s);
        return;
    }
    if (inv.form == kGraph) {
        GraphInt8Operands ops;
        ops.alpha = inv.alpha;
        ops.r_scale = inv.vectors->r_scale.get();
        ops.y_inv = inv.vectors->y_inv.get();
        inv.plan->execute(inv.handle, a.x, a.w, inv.bias, a.residual, a.y, ws, ops);
        return;
    }
    launch_conv_int8(a, inv.tile, s);
}

// The packed weights' element count (pack_weights' layouts).
int64_t packed_weight_count(const I8Problem& c, bool packed_taps) {
    if (packed_taps) return c.w[0] * kPackedDepth;
    return c.w[0] * c.w[2] * c.w[3] * (c.depthwise ? 1 : c.padded_c);
}

// W [O, C, kh, kw] F32 -> s8 [O][kh][kw][padded_c] (extra channels zero); [O][kPackedDepth] with tap
// (y, x)'s channels at (y * kw + x) * kPackedC for packed tiles; [kh][kw][C] for a depthwise conv (W [C,
// 1, kh, kw]). And the per-channel scales.
std::pair<Tensor, Tensor> pack_weights(const I8Problem& c, const Tensor& w, bool packed_taps) {
    const QuantizedWeights q = quantize_weights_per_channel(w.data_as<float>(), w.shape());
    const int64_t o = c.w[0], ci = c.w[1], kh = c.w[2], kw = c.w[3];
    // Where tap (y, x)'s channels start in an output channel's row, and the row's length.
    const int64_t tap_stride = packed_taps ? kPackedC : c.padded_c;
    const int64_t row = packed_taps ? kPackedDepth : kh * kw * c.padded_c;
    Tensor scale(DataType::F32, {o});
    std::memcpy(scale.data(), q.scale.data(), scale.bytes());
    if (c.depthwise) {
        Tensor packed(DataType::I8, {kh, kw, o});
        pack_dw_int8_weights(q.q.data(), static_cast<int>(o), static_cast<int>(kh), static_cast<int>(kw),
                             packed.data_as<int8_t>());
        return {std::move(packed), std::move(scale)};
    }
    ENGINE_CHECK(!packed_taps || (ci <= kPackedC && kh * kw * kPackedC <= kPackedDepth), "cuda: ", c.name,
                 ": ", ci, " channels x ", kh, "x", kw, " taps do not pack into ", kPackedDepth, " bytes");
    Tensor packed(DataType::I8, {packed_weight_count(c, packed_taps)});
    std::memset(packed.data(), 0, packed.bytes());
    auto* dst = packed.data_as<int8_t>();
    for (int64_t oi = 0; oi < o; ++oi)
        for (int64_t ch = 0; ch < ci; ++ch)
            for (int64_t y = 0; y < kh; ++y)
                for (int64_t x = 0; x < kw; ++x)
                    dst[oi * row + (y * kw + x) * tap_stride + ch] =
                        q.q[static_cast<size_t>(((oi * ci + ch) * kh + y) * kw + x)];
    return {std::move(packed), std::move(scale)};
}

}  // namespace

namespace {

// Environment variable `var` as a switch: unset, empty or "0" off, "1" on, anything else an error naming
// the variable, the value and what 0 and 1 mean.
bool zero_one_switch(const char* var, const std::string& meaning) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0' || std::string_view(v) == "0") return false;
    ENGINE_CHECK(std::string_view(v) == "1", var, "='", v, "': ", meaning);
    return true;
}

}  // namespace

bool int8_graph_search_wide() {
    return zero_one_switch("RTDET_CUDA_INT8_GRAPH_SEARCH",
                           concat("0 (cuDNN's first ", kGraphTries,
                                  " configurations) or 1 (every configuration of heuristics modes A, B and "
                                  "fallback)"));
}

bool int8_experimental_tiles_enabled() {
    return zero_one_switch("RTDET_CUDA_INT8_EXPERIMENTAL",
                           "1 (the builder may choose the experimental INT8 tiles) or 0 (it may not)");
}

namespace {

std::string problem_key(const CudaState& st, const I8Problem& c) {
    std::ostringstream k;
    // "ours5.N": our kernels' generation and tile count (a cached choice of an older kernel set is stale).
    k << "convi8|" << st.signature() << "|ours5." << conv_int8_tile_count() << (graph_folds_y(c) ? "g" : "")
      << conv_shapes_key(c) << "|pc" << c.padded_c << "|y" << dtype_name(c.y_dtype) << "|res"
      << (c.p.residual ? dtype_name(c.r_dtype) : "none") << "|" << act_key(c.p.act) << "|"
      << act_key(c.p.post_act) << (c.y_plain ? "|ynchw" : "") << (c.x_plain ? "|xnchw" : "")
      << (int8_experimental_tiles_enabled() ? "|experimental" : "")
      << (int8_graph_search_wide() ? "|wide" : "");
    return k.str();
}

// Times our tiles and cuDNN's first graph configurations at max batch on random data; the fastest.
std::array<int32_t, 2> measure_tactic(CudaState& st, const I8Problem& c, bool graph_api) {
    CudaStream stream;
    cudnnHandle_t h = st.cudnn(stream.get());
    const int batch = c.max_batch;
    const bool experimental_ok = int8_experimental_tiles_enabled();
    const int64_t xe = batch * c.x[1] * c.x[2] * c.x[3];
    const int64_t ye = batch * c.y[1] * c.y[2] * c.y[3];
    const int64_t o = c.w[0];
    DeviceBuffer x(static_cast<size_t>(xe) * (c.x_plain ? sizeof(float) : 1)),
        w(static_cast<size_t>(std::max(packed_weight_count(c, false), packed_weight_count(c, true))));
    DeviceBuffer alpha(static_cast<size_t>(o) * 4), bias(static_cast<size_t>(o) * 4);
    DeviceBuffer y(static_cast<size_t>(ye) * dtype_size(c.y_dtype));
    DeviceBuffer r(c.p.residual ? static_cast<size_t>(ye) * dtype_size(c.r_dtype) : 1);
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const size_t cap = std::min<size_t>(free_b / 4, size_t{1} << 30);
    DeviceBuffer ws(align_up(c.padded_bytes(batch)) + cap);
    // Random s8 for x (x_plain: F32 over its range) and W, small scales so that the epilogue sees ordinary
    // magnitudes.
    if (c.x_plain)
        launch_fill_uniform(x.get(), ElemType::F32, xe, 1, -127.f * c.x_scale, 127.f * c.x_scale,
                            stream.get());
    else
        launch_fill_uniform(x.get(), ElemType::S8, xe, 1, -127.f, 127.f, stream.get());
    launch_fill_uniform(w.get(), ElemType::S8, static_cast<int64_t>(w.bytes()), 2, -127.f, 127.f,
                        stream.get());
    launch_fill_uniform(alpha.get(), ElemType::F32, o, 3, 1e-4f, 2e-4f, stream.get());
    launch_fill_uniform(bias.get(), ElemType::F32, o, 4, -1.f, 1.f, stream.get());
    if (c.p.residual) CUDA_CHECK(cudaMemsetAsync(r.get(), 0, r.bytes(), stream.get()));
    const GraphVectors vectors(c);
    ConvInt8Args a = launch_args(c, batch);
    a.w = static_cast<const int8_t*>(w.get());
    a.alpha = alpha.as<float>();
    a.bias = bias.as<float>();
    a.y = y.get();
    a.residual = c.p.residual ? r.get() : nullptr;
    a.y_batch_stride = c.y[1] * c.y[2] * c.y[3];
    a.r_batch_stride = a.y_batch_stride;
    const int64_t x_bs = c.x[1] * c.x[2] * c.x[3];

    std::array<int32_t, 2> best{-1, -1};
    float best_ms = 1e30f;
    std::string report, best_name;
    auto time = [&](const Invocation& inv) {
        return time_enqueue(stream.get(), [&] { enqueue(c, inv, a, x.get(), x_bs, ws.get(), stream.get()); });
    };
    // Experimental tiles: timed (and marked so in the report) only when allowed.
    auto consider = [&](int32_t form, int choice, float ms, const std::string& name,
                        bool experimental = false) {
        report +=
            concat(report.empty() ? "" : ", ", name, " ", ms, " ms", experimental ? " (experimental)" : "");
        if (ms < best_ms) {
            best_ms = ms;
            best = {form, choice};
            best_name = name;
        }
    };
    for (int t = 0; t < conv_int8_tile_count(); ++t) {
        // Experimental tiles only when allowed (new ones may not even finish; the warp-specialized ones
        // cost build time and lose).
        if (conv_int8_tile_experimental(t) && !experimental_ok) continue;
        // The fit as enqueue will launch it: x as the tile reads it (padded into the workspace or not).
        ConvInt8Args at = a;
        at.c = c.tile_c(t);
        at.x = static_cast<const int8_t*>(c.x_copied(at.c) ? ws.get() : x.get());
        at.x_batch_stride = c.x[2] * c.x[3] * at.c;
        if (!conv_int8_tile_fits(at, t)) continue;
        Invocation inv;
        inv.tile = t;
        consider(kOurs, t, time(inv), conv_int8_tile_name(t), conv_int8_tile_experimental(t));
    }
    if (graph_api && !c.y_plain && graph_epilogue_supported(c.p.act, c.p.post_act, c.p.residual)) {
        // Mode A's first kGraphTries configurations; with RTDET_CUDA_INT8_GRAPH_SEARCH=1 every configuration
        // of modes A, B and fallback (up to kGraphWideTries, kGraphSearchBudget a layer).
        const bool wide = int8_graph_search_wide();
        int count = 0;
        (void)GraphConvPlan::make(h, graph_spec(c, batch), -1, &count, wide ? 3 : 1);
        const int tries = std::min(count, wide ? kGraphWideTries : kGraphTries);
        const auto search_start = std::chrono::steady_clock::now();
        for (int rank = 0; rank < tries; ++rank) {
            if (wide && std::chrono::steady_clock::now() - search_start > kGraphSearchBudget) {
                engine::logger().debug(
                    "cuda: {}: int8 graph search stopped after {} of {} configurations (time)", c.name, rank,
                    tries);
                break;
            }
            auto plan = GraphConvPlan::make(h, graph_spec(c, batch), rank);
            if (!plan || plan->workspace() > cap) continue;
            Invocation inv;
            inv.form = kGraph;
            inv.plan = plan.get();
            inv.alpha = alpha.as<float>();
            inv.bias = bias.as<float>();
            inv.vectors = &vectors;
            inv.handle = h;
            float ms = 1e30f;
            try {
                ms = time(inv);
            } catch (const Error& e) {
                engine::logger().debug("cuda: {}: int8 graph config {} refused: {}", c.name, rank, e.what());
            }
            consider(kGraph, rank, ms, concat("graph #", rank, " ", plan->describe()));
        }
    }
    ENGINE_CHECK(best[0] >= 0 && best_ms < 1e29f, "cuda: ", c.name, ": no INT8 kernel runs this layer (",
                 c.padded_c, " input channels)");
    engine::logger().debug("cuda: {}: int8 {} -> {}{}", c.name, report, best[0] == kGraph ? "" : "tile ",
                           best_name);
    return best;
}

// Whether a graph input or output pointer is host memory; the last four pointers remembered (a context
// alternates between its host and device graph inputs and outputs at most).
class HostPointers {
  public:
    bool on_host(const void* p) {
        for (const auto& [q, host] : seen_)
            if (q == p) return host;
        std::move_backward(seen_.begin(), seen_.end() - 1, seen_.end());
        seen_[0] = {p, is_host_pointer(p)};
        return seen_[0].second;
    }

  private:
    std::array<std::pair<const void*, bool>, 4> seen_{};
};

class ConvInt8Kernel final : public Kernel {
  public:
    ConvInt8Kernel(CudaState& st, I8Problem c, std::array<int32_t, kTacticSize> t, const Tensor& w,
                   const Tensor& w_scale, const Tensor& bias)
        : st_(st), c_(std::move(c)), t_(t), vectors_(c_) {
        w_ = st.device_copy(w);
        // alpha = x_scale * w_scale[k], in float as the reference computes it.
        const int64_t o = c_.w[0];
        small_acc_ = t_[kForm] == kOurs && int8_sums_small(w.data_as<int8_t>(), o, w.numel() / o);
        std::vector<float> alpha(static_cast<size_t>(o));
        for (int64_t k = 0; k < o; ++k)
            alpha[static_cast<size_t>(k)] = c_.x_scale * w_scale.data_as<float>()[k];
        alpha_ = DeviceBuffer(alpha.size() * sizeof(float));
        alpha_.upload(alpha.data(), alpha.size() * sizeof(float));
        bias_ = st.device_copy(bias);  // zeros without a bias (the graph form always adds one)
        workspace_ = align_up(c_.padded_bytes(c_.max_batch));
        if (c_.y_plain) {  // device staging for a graph output in host memory, after the padded copy
            staging_at_ = workspace_;
            workspace_ += align_up(static_cast<size_t>(c_.max_batch * y_sample()) * sizeof(float));
        }
        if (c_.x_plain) {  // and for a graph input in host memory
            x_staging_at_ = workspace_;
            workspace_ += align_up(static_cast<size_t>(c_.max_batch * c_.x_sample()) * sizeof(float));
        }
        if (t_[kForm] == kGraph) {
            if (graph_folds_y(c_))
                vectors_.fold(c_, alpha,
                              std::vector<float>(bias.data_as<float>(), bias.data_as<float>() + o));
            plans_.resize(static_cast<size_t>(c_.max_batch) + 1);
            workspace_ += plan_for(c_.max_batch, st.cudnn(cudaStreamPerThread))->workspace();
        }
    }

    size_t workspace_bytes(int max_batch) const override {
        (void)max_batch;
        return workspace_;
    }

    void run(const KernelArgs& args) override {
        ConvInt8Args a = launch_args(c_, args.batch);
        a.w = static_cast<const int8_t*>(w_->get());
        a.alpha = alpha_.as<float>();
        a.bias = c_.has_bias ? bias_->as<float>() : nullptr;
        a.small_acc = small_acc_;
        a.y = args.outputs[0].data;
        a.y_batch_stride = args.outputs[0].batch_stride;
        // A graph output in host memory (host graph I/O): written to the staging, then copied.
        const bool y_host = c_.y_plain && host_.on_host(a.y);
        const cudaStream_t s = kernel_stream();
        // A graph input in host memory: copied to its staging first, each sample densely.
        const void* x = args.inputs[0].data;
        int64_t x_bs = args.inputs[0].batch_stride;
        if (c_.x_plain && host_.on_host(x)) {
            void* staged = static_cast<std::byte*>(args.workspace) + x_staging_at_;
            copy_samples(staged, c_.x_sample(), x, x_bs, args.batch, c_.x_sample(), sizeof(float),
                         cudaMemcpyHostToDevice, s);
            x = staged;
            x_bs = c_.x_sample();
        }
        if (y_host) {
            a.y = static_cast<std::byte*>(args.workspace) + staging_at_;
            a.y_batch_stride = y_sample();
        }
        if (c_.p.residual) {
            a.residual = args.inputs[3].data;
            a.r_batch_stride = args.inputs[3].batch_stride;
        }
        Invocation inv;
        inv.form = t_[kForm];
        inv.tile = t_[kChoice];
        if (inv.form == kGraph) {
            if (s != stream_ || handle_ == nullptr) {
                stream_ = s;
                handle_ = st_.cudnn(s);
            }
            inv.plan = plan_for(args.batch, handle_);
            inv.alpha = vectors_.folded ? vectors_.alpha.as<float>() : alpha_.as<float>();
            inv.bias = vectors_.folded ? vectors_.bias.as<float>() : bias_->as<float>();
            inv.vectors = &vectors_;
            inv.handle = handle_;
        }
        enqueue(c_, inv, a, x, x_bs, args.workspace, s);
        if (y_host)
            copy_samples(args.outputs[0].data, args.outputs[0].batch_stride, a.y, y_sample(), args.batch,
                         y_sample(), sizeof(float), cudaMemcpyDeviceToHost, s);
    }

  private:
    int64_t y_sample() const { return c_.y[1] * c_.y[2] * c_.y[3]; }

    // cuDNN's plan at `batch` (made at first use): the measured configuration, or the next that fits the
    // workspace sized at max batch.
    GraphConvPlan* plan_for(int batch, cudnnHandle_t h) {
        auto& slot = plans_[static_cast<size_t>(batch)];
        if (!slot) {
            const size_t pad = align_up(c_.padded_bytes(batch));
            const size_t room = batch == c_.max_batch ? SIZE_MAX : (workspace_ > pad ? workspace_ - pad : 0);
            slot = GraphConvPlan::make_fitting(h, graph_spec(c_, batch), t_[kChoice], room);
            ENGINE_CHECK(slot != nullptr, "cuda: ", c_.name,
                         ": no cuDNN INT8 graph engine runs this layer at batch ", batch);
        }
        return slot.get();
    }

    CudaState& st_;
    I8Problem c_;
    std::array<int32_t, kTacticSize> t_;
    GraphVectors vectors_;
    std::shared_ptr<DeviceBuffer> w_, bias_;
    DeviceBuffer alpha_;
    size_t workspace_ = 0;
    size_t staging_at_ = 0;    // y_plain: the staging's offset in the workspace
    size_t x_staging_at_ = 0;  // x_plain: x's
    HostPointers host_;
    bool small_acc_ = false;  // our tiles: every accumulator within +-2^22 (int8_sums_small)
    std::vector<std::unique_ptr<GraphConvPlan>> plans_;  // index: batch (graph form)
    cudaStream_t stream_ = nullptr;
    cudnnHandle_t handle_ = nullptr;
};

void check_i8_layout(const Graph& g, NodeId n, ValueId v) {
    const Value& val = g.value(v);
    ENGINE_CHECK(val.layout == Layout::NHWC, "cuda: ", node_label(g, n), ": value '", val.name,
                 "' is stored ", layout_name(val.layout), "; INT8 convolutions run on NHWC");
}

// Whether the tactic reads packed-tap weights (our packed tiles).
bool packed_taps(const std::array<int32_t, kTacticSize>& t) {
    return t[kForm] == kOurs && conv_int8_tile_packed(t[kChoice]);
}

// The packed tensors of tactic t: {tactic, weights in the layout its form reads, scales, bias}.
std::vector<Tensor> pack_for(const Graph& g, NodeId n, const I8Problem& c,
                             const std::array<int32_t, kTacticSize>& t) {
    const Node& node = g.node(n);
    auto [w, w_scale] = pack_weights(c, g.constant(node.inputs[1]), packed_taps(t));
    Tensor bias(DataType::F32, {c.w[0]});
    if (c.has_bias)
        std::memcpy(bias.data(), g.constant(node.inputs[2]).data(), bias.bytes());
    else
        std::memset(bias.data(), 0, bias.bytes());
    std::vector<Tensor> packed;
    packed.push_back(Tensor::from_bytes(DataType::I32, {kTacticSize}, t.data(), sizeof(t)));
    packed.push_back(std::move(w));
    packed.push_back(std::move(w_scale));
    packed.push_back(std::move(bias));
    return packed;
}

}  // namespace

bool conv_int8_supported(const CudaState& st, const Graph& g, NodeId n) {
    if (st.info().cc_major < 8) return false;  // mma.sync m16n8k32 on s8: sm_80 and later
    if (!conv_supported(g, n, nullptr)) return false;
    const Node& node = g.node(n);
    const auto& p = std::get<ConvParams>(node.params);
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    // Group 1 on the tensor cores, depthwise on its own kernel; other grouped convs stay in float.
    if (p.group != 1 && !is_depthwise(p, x, g.value(node.inputs[1]).desc.shape)) return false;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    // 32-bit indexing in the kernel: the pixels of the largest batch, and one sample's bytes.
    if (x[0] * y[2] * y[3] >= INT32_MAX || x[1] * x[2] * x[3] >= INT32_MAX / 4) return false;
    return true;
}

std::vector<Tensor> conv_int8_pack(CudaState& st, const Graph& g, NodeId n, const PackContext& ctx) {
    const I8Problem c = i8_problem(g, n);
    std::array<int32_t, kTacticSize> t{kTacticVersion, kOurs, 0, c.padded_c};
    if (c.depthwise) {  // one form: nothing to time
        t[kForm] = kDepthwise;
        return pack_for(g, n, c, t);
    }
    const std::string key = problem_key(st, c) + (ctx.cudnn_graph_api ? "" : "|legacy");
    std::string cached;
    bool hit = false;
    if (st.cache_lookup(ctx.timing_cache, key, &cached)) {
        std::istringstream in(cached);
        in >> t[kForm] >> t[kChoice];
        hit = !in.fail() && (t[kForm] == kGraph ||
                             (t[kForm] == kOurs && t[kChoice] >= 0 && t[kChoice] < conv_int8_tile_count()));
    }
    if (!hit) {
        if (ctx.time_tactics) {
            const std::array<int32_t, 2> m = measure_tactic(st, c, ctx.cudnn_graph_api);
            t[kForm] = m[0];
            t[kChoice] = m[1];
            st.cache_store(ctx.timing_cache, key, concat(t[kForm], " ", t[kChoice]));
        } else {
            t[kForm] = kOurs;
            t[kChoice] = c.padded_c % 64 == 0 ? 0 : 1;
        }
    }
    return pack_for(g, n, c, t);
}

std::vector<Tensor> conv_int8_pack_forced(CudaState& st, const Graph& g, NodeId n, bool graph, int choice) {
    (void)st;
    const I8Problem c = i8_problem(g, n);
    ENGINE_CHECK(!graph || !c.y_plain, "cuda: ", c.name,
                 ": an NCHW output has no cuDNN graph form (our kernel writes it)");
    std::array<int32_t, kTacticSize> t{kTacticVersion, graph ? kGraph : kOurs, choice, c.padded_c};
    if (c.depthwise) t = {kTacticVersion, kDepthwise, 0, c.padded_c};  // its only form
    return pack_for(g, n, c, t);
}

bool conv_int8_writes_plain(const CudaState& st, const Graph& g, NodeId n, ValueId v) {
    const Node& node = g.node(n);
    if (node.outputs.empty() || node.outputs[0] != v || !conv_int8_supported(st, g, n)) return false;
    const ConvShapes c = conv_shapes(g, n);
    return !c.p.residual && !is_depthwise(c.p, c.x, c.w) && c.y.size() == 4;
}

bool conv_int8_reads_plain(const CudaState& st, const Graph& g, NodeId n, size_t slot) {
    const Node& node = g.node(n);
    if (slot != 0 || node.inputs.empty() || !conv_int8_supported(st, g, n)) return false;
    const Value& x = g.value(node.inputs[0]);
    if (!x.is_graph_input || x.desc.dtype != DataType::F32 || !(x.amax > 0 && std::isfinite(x.amax)))
        return false;
    const ConvShapes c = conv_shapes(g, n);
    return c.x.size() == 4 && c.x[1] <= kPackedC && c.p.group == 1;
}

bool conv_int8_tile_runs(const Graph& g, NodeId n, int tile) {
    const ConvShapes c = conv_shapes(g, n);
    if (c.p.group != 1) return false;
    return conv_int8_tile_shape_fits(tile, tile_input_c(c.x[1], tile), static_cast<int>(c.w[2]),
                                     static_cast<int>(c.w[3])) &&
           conv_int8_tile_k_fits(tile, static_cast<int>(c.w[0]));
}

int conv_int8_graph_configs(CudaState& st, const Graph& g, NodeId n, bool wide) {
    const I8Problem c = i8_problem(g, n);
    if (c.depthwise || !graph_epilogue_supported(c.p.act, c.p.post_act, c.p.residual)) return 0;
    int count = 0;
    (void)GraphConvPlan::make(st.cudnn(cudaStreamPerThread), graph_spec(c, c.max_batch), -1, &count,
                              wide ? 3 : 1);
    return count;
}

std::unique_ptr<Kernel> make_conv_int8_kernel(CudaState& st, const Graph& g, NodeId n,
                                              std::span<const Tensor> packed) {
    I8Problem c = i8_problem(g, n);
    ENGINE_CHECK(packed.size() == 4 && packed[0].dtype() == DataType::I32 && packed[0].numel() == kTacticSize,
                 "cuda: ", c.name, ": expected packed INT8 {tactic, weights, scales, bias}, got ",
                 packed.size(), " tensors");
    std::array<int32_t, kTacticSize> t{};
    std::memcpy(t.data(), packed[0].data(), sizeof(t));
    ENGINE_CHECK(t[kVersion] == kTacticVersion, "cuda: ", c.name, ": INT8 conv tactic version ", t[kVersion],
                 ", expected ", kTacticVersion, ": rebuild the plan");
    const bool form_fits =
        c.depthwise ? t[kForm] == kDepthwise
                    : (t[kForm] == kGraph || (t[kForm] == kOurs && t[kChoice] < conv_int8_tile_count()));
    ENGINE_CHECK(t[kPaddedC] == c.padded_c && form_fits && t[kChoice] >= 0, "cuda: ", c.name,
                 ": INT8 tactic (form ", t[kForm], ", choice ", t[kChoice], ", ", t[kPaddedC],
                 " channels) does not fit");
    ENGINE_CHECK(
        packed[1].dtype() == DataType::I8 && packed[1].numel() == packed_weight_count(c, packed_taps(t)),
        "cuda: ", c.name, ": packed INT8 weights have ", packed[1].numel(), " ",
        dtype_name(packed[1].dtype()), " elements");
    ENGINE_CHECK(packed[2].dtype() == DataType::F32 && packed[2].numel() == c.w[0] &&
                     packed[3].dtype() == DataType::F32 && packed[3].numel() == c.w[0],
                 "cuda: ", c.name, ": packed weight scales or bias are not F32 [", c.w[0], "]");
    const Node& node = g.node(n);
    if (!c.x_plain) check_i8_layout(g, n, node.inputs[0]);
    if (c.y_plain)
        ENGINE_CHECK(t[kForm] == kOurs, "cuda: ", c.name, ": output '", g.value(node.outputs[0]).name,
                     "' is written NCHW, which only our kernel does, but the tactic is cuDNN's graph form");
    else
        check_i8_layout(g, n, node.outputs[0]);
    if (c.p.residual) check_i8_layout(g, n, node.inputs[3]);
    return std::make_unique<ConvInt8Kernel>(st, std::move(c), t, packed[1], packed[2], packed[3]);
}

// --- The conv pairs (kernels/conv_pair_int8.cuh): YOLO's stem, its residual blocks, each in one kernel
// ------

namespace {

// Leaky ReLU with a slope in (0, 1], or none: the folded epilogue's activations. The slope the kernel
// takes (1: none).
bool folded_act(const Act& a) {
    return a.kind == ActKind::None || (a.kind == ActKind::LeakyRelu && a.alpha > 0.f && a.alpha <= 1.f);
}
float folded_slope(const Act& a) { return a.kind == ActKind::LeakyRelu ? a.alpha : 1.f; }

// A k x k conv (k 1 or 3: padding k / 2) of dilation 1, group 1, stride `stride`, act none or leaky, with
// a residual (post_act none or leaky) or not (no post_act): the convs of the pairs.
bool pair_conv_fits(const ConvParams& p, int k, int stride, bool residual) {
    const int32_t pad = k / 2;
    return p.group == 1 && p.kernel == std::array<int32_t, 2>{k, k} &&
           p.stride == std::array<int32_t, 2>{stride, stride} && p.dilation == std::array<int32_t, 2>{1, 1} &&
           p.pads == std::array<int32_t, 4>{pad, pad, pad, pad} && p.residual == residual &&
           (residual ? folded_act(p.post_act) : p.post_act.kind == ActKind::None) && folded_act(p.act);
}

// The pair kernels: YOLO's stem (ConvPairInt8Args: the image's 3x3 conv from at most kConvPairMaxC
// channels to kConvPairMid, then 3x3 stride 2 to kConvPairOut) and its residual block
// (ConvResPairInt8Args: 1x1 from kResPairX channels to kConvPairMid, then 3x3 back to kResPairX with the
// block's input as the residual).
enum class PairKind : uint8_t { None, Stem, Block };

// Which kernel runs two convs of these params and shapes (the residual's operand is checked apart).
PairKind pair_kind(const ConvParams& p0, const Shape& x, const Shape& w0, const ConvParams& p1,
                   const Shape& w1) {
    if (x.size() != 4 || w0.size() != 4 || w1.size() != 4) return PairKind::None;
    if (pair_conv_fits(p0, 3, 1, false) && pair_conv_fits(p1, 3, 2, false) && x[1] >= 1 &&
        x[1] <= kConvPairMaxC && w0[0] == kConvPairMid && w1[0] == kConvPairOut && w1[1] == kConvPairMid)
        return PairKind::Stem;
    if (pair_conv_fits(p0, 1, 1, false) && pair_conv_fits(p1, 3, 1, true) && x[1] == kResPairX &&
        w0[0] == kConvPairMid && w1[0] == kResPairX && w1[1] == kConvPairMid)
        return PairKind::Block;
    return PairKind::None;
}

// A ConvPair node as the kernel needs it: shapes, the scales, the folded activations.
struct PairProblem {
    std::string name;
    PairKind kind = PairKind::None;
    ConvPairParams p;
    Shape x, w0, w1, y;
    int max_batch = 1;
    float x_scale = 1, mid_scale = 1, y_scale = 1;  // a block's residual is x: its scale x_scale
};

PairProblem pair_problem(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    PairProblem c;
    c.name = node_label(g, n);
    c.p = std::get<ConvPairParams>(node.params);
    const Value& x = g.value(node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    c.x = x.desc.shape;
    c.w0 = g.value(node.inputs[1]).desc.shape;
    c.w1 = g.value(node.inputs[3]).desc.shape;
    c.y = y.desc.shape;
    c.max_batch = x.batched ? static_cast<int>(c.x[0]) : 1;
    c.kind = pair_kind(c.p.first, c.x, c.w0, c.p.second, c.w1);
    ENGINE_CHECK(c.kind != PairKind::None, "cuda: ", c.name,
                 ": not an INT8 conv pair's shapes (3x3 from at most ", kConvPairMaxC, " channels to ",
                 kConvPairMid, ", then 3x3 stride 2 to ", kConvPairOut, "; or 1x1 from ", kResPairX, " to ",
                 kConvPairMid, ", then 3x3 to ", kResPairX,
                 " with the input as the residual; padding 1 for a 3x3, acts none or leaky)");
    if (c.kind == PairKind::Block) {
        ENGINE_CHECK(node.inputs.size() == 6 && node.inputs[5] == node.inputs[0], "cuda: ", c.name,
                     ": the residual block's residual is not its input '", x.name, "'");
        ENGINE_CHECK(x.storage_dtype == DataType::I8 && !x.is_graph_input, "cuda: ", c.name, ": input '",
                     x.name, "' is not an s8 value of the plan");
        c.x_scale = value_scale(g, n, node.inputs[0]);
    } else {
        ENGINE_CHECK(x.is_graph_input && x.layout == Layout::Plain && x.storage_dtype == DataType::F32 &&
                         x.amax > 0 && std::isfinite(x.amax),
                     "cuda: ", c.name, ": input '", x.name,
                     "' is not a graph input read as F32 NCHW with a calibrated range (amax ", x.amax, ")");
        c.x_scale = x.amax / 127.0f;  // as the Reorder to i8 and conv_int8_reads_plain's conv
    }
    ENGINE_CHECK(c.p.mid_amax > 0 && std::isfinite(c.p.mid_amax), "cuda: ", c.name, ": middle value '",
                 c.p.mid_name, "' has no calibrated range (amax ", c.p.mid_amax, ")");
    ENGINE_CHECK(y.storage_dtype == DataType::I8, "cuda: ", c.name, ": output '", y.name, "' is stored as ",
                 dtype_name(y.storage_dtype), ", not i8");
    c.mid_scale = c.p.mid_amax / 127.0f;
    c.y_scale = value_scale(g, n, node.outputs[0]);
    return c;
}

// The I8Problem pack_weights reads for one conv of the pair (its weights' shape; the channels its rows
// hold: the second conv's 32, the first's packed taps).
I8Problem pair_weights_problem(const PairProblem& c, const Shape& w) {
    I8Problem q;
    q.name = c.name;
    q.w = w;
    q.padded_c = rounded_c(w[1]);
    return q;
}

// The pair's packed tactic: I32 {kPairPackVersion, the CTA shape (ConvPairInt8Args::cta)}.
constexpr int32_t kPairPackVersion = 2;

// alpha (x_scale w_scale[k]) and the bias, both times 1 / y_scale: the direct tiles' folded constants
// (conv_int8.cu's channel_consts), so that the pair's outputs equal theirs byte for byte.
std::vector<float> folded_consts(const Tensor& w_scale, const Tensor& bias, float x_scale, float y_scale) {
    const int64_t k = w_scale.numel();
    const float yi = 1.0f / y_scale;
    std::vector<float> v(static_cast<size_t>(2 * k));
    for (int64_t i = 0; i < k; ++i) {
        v[static_cast<size_t>(i)] = x_scale * w_scale.data_as<float>()[i] * yi;
        v[static_cast<size_t>(k + i)] = bias.data_as<float>()[i] * yi;
    }
    return v;
}

class ConvPairInt8Kernel final : public Kernel {
  public:
    // packed: {tactic {version, CTA shape}, w0 (packed taps), w0 scales, b0, w1, w1 scales, b1}.
    ConvPairInt8Kernel(CudaState& st, PairProblem c, std::span<const Tensor> packed)
        : c_(std::move(c)), cta_(packed[0].data_as<int32_t>()[1]) {
        w0_ = st.device_copy(packed[1]);
        w1_ = st.device_copy(packed[4]);
        small0_ = int8_sums_small(packed[1].data_as<int8_t>(), kConvPairMid, w0_row());
        small1_ = int8_sums_small(packed[4].data_as<int8_t>(), kConvPairOut, 9 * kConvPairMid);
        const std::vector<float> k0 = folded_consts(packed[2], packed[3], c_.x_scale, c_.mid_scale);
        const std::vector<float> k1 = folded_consts(packed[5], packed[6], c_.mid_scale, c_.y_scale);
        consts0_ = DeviceBuffer(k0.size() * sizeof(float));
        consts0_.upload(k0.data(), consts0_.bytes());
        consts1_ = DeviceBuffer(k1.size() * sizeof(float));
        consts1_.upload(k1.data(), consts1_.bytes());
    }

    // The stem's graph input in host memory is staged here, each sample densely.
    size_t workspace_bytes(int max_batch) const override {
        if (c_.kind == PairKind::Block) return 0;
        return align_up(static_cast<size_t>(max_batch * x_sample()) * sizeof(float));
    }

    void run(const KernelArgs& args) override {
        const cudaStream_t s = kernel_stream();
        if (c_.kind == PairKind::Block) {
            launch_conv_res_pair_int8(
                block_args(static_cast<const int8_t*>(args.inputs[0].data), args.inputs[0].batch_stride,
                           static_cast<int8_t*>(args.outputs[0].data), args.outputs[0].batch_stride,
                           args.batch),
                s);
            return;
        }
        const auto* x = static_cast<const float*>(args.inputs[0].data);
        int64_t x_bs = args.inputs[0].batch_stride;
        if (host_.on_host(x)) {
            copy_samples(args.workspace, x_sample(), x, x_bs, args.batch, x_sample(), sizeof(float),
                         cudaMemcpyHostToDevice, s);
            x = static_cast<const float*>(args.workspace);
            x_bs = x_sample();
        }
        launch_conv_pair_int8(launch_args(x, x_bs, static_cast<int8_t*>(args.outputs[0].data),
                                          args.outputs[0].batch_stride, args.batch),
                              s);
    }

    // The kernel's arguments for device x and y at `batch`.
    ConvPairInt8Args launch_args(const float* x, int64_t x_bs, int8_t* y, int64_t y_bs, int batch) const {
        ConvPairInt8Args a;
        a.x = x;
        a.x_batch_stride = x_bs;
        a.x_scale = c_.x_scale;
        a.batch = batch;
        a.c = static_cast<int>(c_.x[1]);
        a.h = static_cast<int>(c_.x[2]);
        a.w = static_cast<int>(c_.x[3]);
        set_convs(a);
        a.y = y;
        a.y_batch_stride = y_bs;
        a.oh = static_cast<int>(c_.y[2]);
        a.ow = static_cast<int>(c_.y[3]);
        return a;
    }

    // The residual block's arguments for device x and y at `batch`.
    ConvResPairInt8Args block_args(const int8_t* x, int64_t x_bs, int8_t* y, int64_t y_bs, int batch) const {
        ConvResPairInt8Args a;
        a.x = x;
        a.x_batch_stride = x_bs;
        a.batch = batch;
        a.h = static_cast<int>(c_.x[2]);
        a.w = static_cast<int>(c_.x[3]);
        set_convs(a);
        a.res_fold =
            c_.x_scale * (1.0f / c_.y_scale);  // the residual x: launch_conv_int8's res_scale * y_inv
        a.post_slope = folded_slope(c_.p.second.post_act);
        a.y = y;
        a.y_batch_stride = y_bs;
        return a;
    }
    // The weights, folded constants and CTA shape, as both kernels take them.
    void set_convs(ConvPairConvs& a) const {
        a.w0 = static_cast<const int8_t*>(w0_->get());
        a.alpha0 = consts0_.as<float>();
        a.bias0 = a.alpha0 + kConvPairMid;
        a.slope0 = folded_slope(c_.p.first.act);
        a.w1 = static_cast<const int8_t*>(w1_->get());
        a.alpha1 = consts1_.as<float>();
        a.bias1 = a.alpha1 + kConvPairOut;
        a.slope1 = folded_slope(c_.p.second.act);
        a.small0 = small0_;
        a.small1 = small1_;
        a.cta = cta_;
    }
    // Times the launch of CTA shape `cta` on device x and y at `batch` (x: F32 for the stem, s8 for a block).
    float time_cta(int cta, void* x, void* y, int batch, cudaStream_t stream) const {
        if (c_.kind == PairKind::Block) {
            ConvResPairInt8Args a = block_args(static_cast<const int8_t*>(x), x_sample(),
                                               static_cast<int8_t*>(y), y_sample(), batch);
            a.cta = cta;
            return time_enqueue(stream, [&] { launch_conv_res_pair_int8(a, stream); });
        }
        ConvPairInt8Args a =
            launch_args(static_cast<const float*>(x), x_sample(), static_cast<int8_t*>(y), y_sample(), batch);
        a.cta = cta;
        return time_enqueue(stream, [&] { launch_conv_pair_int8(a, stream); });
    }

    // The first conv's packed row: the stem's packed taps, the block's 1x1 over kResPairX channels.
    int64_t w0_row() const { return c_.kind == PairKind::Block ? kResPairX : kPackedDepth; }
    int64_t x_sample() const { return c_.x[1] * c_.x[2] * c_.x[3]; }
    int64_t y_sample() const { return c_.y[1] * c_.y[2] * c_.y[3]; }

  private:
    PairProblem c_;
    int cta_ = 0;
    std::shared_ptr<DeviceBuffer> w0_, w1_;
    DeviceBuffer consts0_, consts1_;  // [alpha | bias], folded
    bool small0_ = false, small1_ = false;
    HostPointers host_;
};

// Times the pair's CTA shapes at max batch on a random image (the timing cache keeps the choice); the
// fastest.
int measure_pair_cta(CudaState& st, const PairProblem& c, const std::vector<Tensor>& packed,
                     const PackContext& ctx) {
    std::ostringstream key;
    key << "convpair|" << st.signature() << "|1|x" << shape_str(c.x) << "|" << act_key(c.p.first.act) << "|"
        << act_key(c.p.second.act);
    if (c.kind == PairKind::Block) key << "|block|" << act_key(c.p.second.post_act);
    std::string cached;
    if (st.cache_lookup(ctx.timing_cache, key.str(), &cached) && cached.size() == 1 && cached[0] >= '0' &&
        cached[0] < '0' + kConvPairCtas)
        return cached[0] - '0';
    CudaStream stream;
    const int batch = c.max_batch;
    const ConvPairInt8Kernel k(st, c, packed);
    const bool block = c.kind == PairKind::Block;
    DeviceBuffer x(static_cast<size_t>(batch * k.x_sample()) * (block ? 1 : sizeof(float))),
        y(static_cast<size_t>(batch * k.y_sample()));
    if (block)
        launch_fill_uniform(x.get(), ElemType::S8, batch * k.x_sample(), 1, -127.f, 127.f, stream.get());
    else
        launch_fill_uniform(x.get(), ElemType::F32, batch * k.x_sample(), 1, -127.f * c.x_scale,
                            127.f * c.x_scale, stream.get());
    std::string report;
    int best = 0;
    float best_ms = 1e30f;
    for (int cta = 0; cta < kConvPairCtas; ++cta) {
        const float ms = k.time_cta(cta, x.get(), y.get(), batch, stream.get());
        report += concat(report.empty() ? "" : ", ", conv_pair_int8_cta_name(cta), " ", ms, " ms");
        if (ms < best_ms) {
            best_ms = ms;
            best = cta;
        }
    }
    engine::logger().debug("cuda: {}: int8 conv pair {} -> {}", c.name, report,
                           conv_pair_int8_cta_name(best));
    st.cache_store(ctx.timing_cache, key.str(), std::to_string(best));
    return best;
}

}  // namespace

bool conv_pair_fusable(const CudaState& st, const Graph& g, NodeId first, NodeId second) {
    // The builder asks only for two live convs of one precision, second reading first's only output
    // (Backend::fuses_conv_pair's contract).
    const Node& a = g.node(first);
    const Node& b = g.node(second);
    if (a.precision != DataType::I8) return false;
    if (!conv_int8_supported(st, g, first) || !conv_int8_supported(st, g, second)) return false;
    const ConvShapes ca = conv_shapes(g, first), cb = conv_shapes(g, second);
    const PairKind kind = pair_kind(ca.p, ca.x, ca.w, cb.p, cb.w);
    if (kind == PairKind::None) return false;
    if (kind == PairKind::Stem && !conv_int8_reads_plain(st, g, first, 0)) return false;
    if (kind == PairKind::Block) {
        // The residual is the block's input, an s8 value of the plan with a range.
        const Value& x = g.value(a.inputs[0]);
        if (b.inputs.size() < 4 || b.inputs[3] != a.inputs[0] || x.storage_dtype != DataType::I8 ||
            x.is_graph_input || !(x.amax > 0) || !std::isfinite(x.amax))
            return false;
    }
    // The middle value s8 with a range; the output s8 (an INT8 layer reads it), not a graph output.
    const Value& mid = g.value(a.outputs[0]);
    const Value& y = g.value(b.outputs[0]);
    return mid.storage_dtype == DataType::I8 && mid.amax > 0 && std::isfinite(mid.amax) &&
           y.storage_dtype == DataType::I8 && !y.is_graph_output;
}

bool conv_pair_reads_image(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ConvPairParams>(&node.params);
    return p != nullptr && node.inputs.size() >= 4 &&
           pair_kind(p->first, g.value(node.inputs[0]).desc.shape, g.value(node.inputs[1]).desc.shape,
                     p->second, g.value(node.inputs[3]).desc.shape) == PairKind::Stem;
}

bool conv_pair_supported(const CudaState& st, const Graph& g, NodeId n, std::string* why) {
    if (!check_conv_pair_operands(g, n, why)) return false;
    if (st.info().cc_major < 8) return reject(why, "the INT8 conv pair needs sm_80 or later");
    const Node& node = g.node(n);
    const auto& p = std::get<ConvPairParams>(node.params);
    const PairKind kind =
        pair_kind(p.first, g.value(node.inputs[0]).desc.shape, g.value(node.inputs[1]).desc.shape, p.second,
                  g.value(node.inputs[3]).desc.shape);
    if (kind == PairKind::None) return reject(why, "not an INT8 conv pair's shapes");
    if (kind == PairKind::Block && (node.inputs.size() != 6 || node.inputs[5] != node.inputs[0]))
        return reject(why, "the residual block's residual is not its input");
    return true;
}

std::vector<Tensor> conv_pair_pack(CudaState& st, const Graph& g, NodeId n, const PackContext& ctx) {
    const PairProblem c = pair_problem(g, n);
    const Node& node = g.node(n);
    auto [w0, s0] =
        pack_weights(pair_weights_problem(c, c.w0), g.constant(node.inputs[1]), c.kind == PairKind::Stem);
    auto [w1, s1] = pack_weights(pair_weights_problem(c, c.w1), g.constant(node.inputs[3]), false);
    std::vector<Tensor> packed;
    const std::array<int32_t, 2> tactic{kPairPackVersion, 0};
    packed.push_back(Tensor::from_bytes(DataType::I32, {2}, tactic.data(), sizeof(tactic)));
    packed.push_back(std::move(w0));
    packed.push_back(std::move(s0));
    packed.push_back(g.constant(node.inputs[2]));
    packed.push_back(std::move(w1));
    packed.push_back(std::move(s1));
    packed.push_back(g.constant(node.inputs[4]));
    if (ctx.time_tactics) packed[0].data_as<int32_t>()[1] = measure_pair_cta(st, c, packed, ctx);
    return packed;
}

std::unique_ptr<Kernel> make_conv_pair_kernel(CudaState& st, const Graph& g, NodeId n,
                                              std::span<const Tensor> packed) {
    PairProblem c = pair_problem(g, n);
    ENGINE_CHECK(packed.size() == 7 && packed[0].dtype() == DataType::I32 && packed[0].numel() == 2 &&
                     packed[0].data_as<int32_t>()[0] == kPairPackVersion &&
                     packed[0].data_as<int32_t>()[1] >= 0 && packed[0].data_as<int32_t>()[1] < kConvPairCtas,
                 "cuda: ", c.name, ": expected the INT8 conv pair's packed tensors (version ",
                 kPairPackVersion, "): rebuild the plan");
    const auto f32_of = [](const Tensor& t, int64_t k) {
        return t.dtype() == DataType::F32 && t.numel() == k;
    };
    ENGINE_CHECK(
        packed[1].dtype() == DataType::I8 &&
            packed[1].numel() == kConvPairMid * (c.kind == PairKind::Block ? kResPairX : kPackedDepth) &&
            packed[4].dtype() == DataType::I8 && packed[4].numel() == kConvPairOut * 9 * kConvPairMid &&
            f32_of(packed[2], kConvPairMid) && f32_of(packed[3], kConvPairMid) &&
            f32_of(packed[5], kConvPairOut) && f32_of(packed[6], kConvPairOut),
        "cuda: ", c.name, ": the INT8 conv pair's packed weights, scales or biases have the wrong size");
    check_i8_layout(g, n, g.node(n).outputs[0]);
    if (c.kind == PairKind::Block) check_i8_layout(g, n, g.node(n).inputs[0]);
    return std::make_unique<ConvPairInt8Kernel>(st, std::move(c), packed);
}

}  // namespace engine::cuda
