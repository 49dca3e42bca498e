// INT8 Conv on the CUDA backend (docs/int8.md, docs/cuda.md): our implicit-GEMM tensor-core kernel
// (kernels/conv_int8.cuh) with the epilogue fused. The input is s8 NHWC with the input value's
// calibrated scale (amax / 127); weights are quantized per output channel at build time (the
// reference's quantize_weights_per_channel) and packed [O][kh][kw][C'] s8, C' the input channels
// rounded up to 32 (the image's 3 channels read a zero-padded copy); the output is s8 with its own
// scale, or F16/F32 when no INT8 node reads it (assign_int8's rule); a residual is read in its own
// storage. The tile configuration is timed per layer at max batch on random data (remembered in the
// timing cache) and recorded in the packed tactic.
#include <algorithm>
#include <cstring>
#include <sstream>

#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/fill.cuh"
#include "engine/core/log.h"
#include "engine/refmath/ref_int8.h"

namespace engine::cuda {
namespace {

// The tactic blob: I32 [kTacticSize].
enum TacticField : int { kVersion, kTile, kPaddedC, kTacticSize };
constexpr int32_t kTacticVersion = 1;
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

struct I8Problem {
    std::string name;
    ConvParams p;
    Shape x, w, y;  // logical NCHW at max batch; w [O, C, kh, kw]
    int padded_c = 0;
    int max_batch = 1;
    bool has_bias = false;
    DataType y_dtype = DataType::I8, r_dtype = DataType::F32;
    float x_scale = 1, y_scale = 1, r_scale = 1;

    int64_t in_c() const { return x[1]; }
    bool padded() const { return padded_c != x[1]; }
    size_t padded_bytes(int batch) const {
        return padded() ? static_cast<size_t>(batch) * static_cast<size_t>(x[2] * x[3]) * padded_c : 0;
    }
};

I8Problem i8_problem(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    I8Problem c;
    c.name = node_label(g, n);
    c.p = std::get<ConvParams>(node.params);
    const Value& x = g.value(node.inputs[0]);
    c.x = x.desc.shape;
    c.w = g.value(node.inputs[1]).desc.shape;
    c.y = g.value(node.outputs[0]).desc.shape;
    c.max_batch = x.batched ? static_cast<int>(c.x[0]) : 1;
    c.padded_c = static_cast<int>((c.x[1] + kChannelQuantum - 1) / kChannelQuantum * kChannelQuantum);
    c.has_bias = node.inputs.size() >= 3 && node.inputs[2] != kNoValue;
    ENGINE_CHECK(x.storage_dtype == DataType::I8, "cuda: ", c.name, ": an INT8 conv's input '", x.name,
                 "' is stored as ", dtype_name(x.storage_dtype), ", not i8");
    c.x_scale = value_scale(g, n, node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    c.y_dtype = y.storage_dtype;
    ENGINE_CHECK(elem_of(c.y_dtype) != I8Elem::None, "cuda: ", c.name, ": output '", y.name, "' stored as ",
                 dtype_name(c.y_dtype));
    c.y_scale = value_scale(g, n, node.outputs[0]);
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
    a.residual_type = c.p.residual ? elem_of(c.r_dtype) : I8Elem::None;
    a.residual_scale = c.r_scale;
    a.act = c.p.act;
    a.post_act = c.p.post_act;
    return a;
}

// Enqueues the layer: the padded copy of x when needed, then the conv.
void enqueue(const I8Problem& c, int tile, ConvInt8Args a, const void* x, int64_t x_bs, void* workspace,
             cudaStream_t s) {
    if (c.padded()) {
        auto* padded = static_cast<int8_t*>(workspace);
        launch_pad_channels_s8(static_cast<const int8_t*>(x), padded, a.batch, c.x[2] * c.x[3],
                               static_cast<int>(c.in_c()), c.padded_c, x_bs, s);
        a.x = padded;
        a.x_batch_stride = c.x[2] * c.x[3] * c.padded_c;
    } else {
        a.x = static_cast<const int8_t*>(x);
        a.x_batch_stride = x_bs;
    }
    launch_conv_int8(a, tile, s);
}

// W [O, C, kh, kw] F32 -> s8 [O][kh][kw][padded_c] (extra channels zero) and the per-channel scales.
std::pair<Tensor, Tensor> pack_weights(const I8Problem& c, const Tensor& w) {
    const QuantizedWeights q = quantize_weights_per_channel(w.data_as<float>(), w.shape());
    const int64_t o = c.w[0], ci = c.w[1], kh = c.w[2], kw = c.w[3], pc = c.padded_c;
    Tensor packed(DataType::I8, {o, kh, kw, pc});
    std::memset(packed.data(), 0, packed.bytes());
    auto* dst = packed.data_as<int8_t>();
    for (int64_t oi = 0; oi < o; ++oi)
        for (int64_t ch = 0; ch < ci; ++ch)
            for (int64_t y = 0; y < kh; ++y)
                for (int64_t x = 0; x < kw; ++x)
                    dst[((oi * kh + y) * kw + x) * pc + ch] = q.q[static_cast<size_t>(((oi * ci + ch) * kh + y) * kw + x)];
    Tensor scale(DataType::F32, {o});
    std::memcpy(scale.data(), q.scale.data(), scale.bytes());
    return {std::move(packed), std::move(scale)};
}

std::string act_key(const Act& a) { return concat(act_kind_name(a.kind), "(", a.alpha, ",", a.beta, ")"); }

std::string problem_key(const CudaState& st, const I8Problem& c) {
    std::ostringstream k;
    k << "convi8|" << st.signature() << "|x" << shape_str(c.x) << "|w" << shape_str(c.w) << "|s"
      << c.p.stride[0] << "," << c.p.stride[1] << "|d" << c.p.dilation[0] << "," << c.p.dilation[1] << "|p"
      << c.p.pads[0] << "," << c.p.pads[1] << "|pc" << c.padded_c << "|y" << dtype_name(c.y_dtype) << "|res"
      << (c.p.residual ? dtype_name(c.r_dtype) : "none") << "|" << act_key(c.p.act) << "|"
      << act_key(c.p.post_act);
    return k.str();
}

// Times every tile that fits at max batch on random data and returns the fastest.
int measure_tile(const I8Problem& c) {
    CudaStream stream;
    const int batch = c.max_batch;
    const int64_t xe = batch * c.x[1] * c.x[2] * c.x[3];
    const int64_t ye = batch * c.y[1] * c.y[2] * c.y[3];
    const int64_t o = c.w[0];
    DeviceBuffer x(static_cast<size_t>(xe)), w(static_cast<size_t>(o * c.w[2] * c.w[3] * c.padded_c));
    DeviceBuffer alpha(static_cast<size_t>(o) * 4), bias(static_cast<size_t>(o) * 4);
    DeviceBuffer y(static_cast<size_t>(ye) * dtype_size(c.y_dtype));
    DeviceBuffer r(c.p.residual ? static_cast<size_t>(ye) * dtype_size(c.r_dtype) : 1);
    DeviceBuffer ws(std::max<size_t>(c.padded_bytes(batch), 1));
    // Random s8 bytes for x and W (the fill's F32 uniform values reinterpreted: any bytes do), small
    // scales so the epilogue sees ordinary magnitudes.
    launch_fill_uniform(x.get(), ElemType::F32, xe / 4, 1, -1.f, 1.f, stream.get());
    launch_fill_uniform(w.get(), ElemType::F32, static_cast<int64_t>(w.bytes() / 4), 2, -1.f, 1.f,
                        stream.get());
    launch_fill_uniform(alpha.get(), ElemType::F32, o, 3, 1e-4f, 2e-4f, stream.get());
    launch_fill_uniform(bias.get(), ElemType::F32, o, 4, -1.f, 1.f, stream.get());
    if (c.p.residual)
        CUDA_CHECK(cudaMemsetAsync(r.get(), 0, r.bytes(), stream.get()));
    ConvInt8Args a = launch_args(c, batch);
    a.w = static_cast<const int8_t*>(w.get());
    a.alpha = alpha.as<float>();
    a.bias = bias.as<float>();
    a.y = y.get();
    a.residual = c.p.residual ? r.get() : nullptr;
    a.y_batch_stride = c.y[1] * c.y[2] * c.y[3];
    a.r_batch_stride = a.y_batch_stride;
    a.x = static_cast<const int8_t*>(c.padded() ? ws.get() : x.get());  // for the fit check
    a.x_batch_stride = c.x[2] * c.x[3] * c.padded_c;
    int best = -1;
    float best_ms = 1e30f;
    std::string report;
    for (int t = 0; t < conv_int8_tile_count(); ++t) {
        if (!conv_int8_tile_fits(a, t)) continue;
        constexpr int kRuns = 10;
        const int64_t x_bs = c.x[1] * c.x[2] * c.x[3];
        for (int i = 0; i < 2; ++i) enqueue(c, t, a, x.get(), x_bs, ws.get(), stream.get());
        CudaEvent start, end;
        start.record(stream.get());
        for (int i = 0; i < kRuns; ++i) enqueue(c, t, a, x.get(), x_bs, ws.get(), stream.get());
        end.record(stream.get());
        end.synchronize();
        const float ms = CudaEvent::elapsed_ms(start, end) / kRuns;
        report += concat(report.empty() ? "" : ", ", conv_int8_tile_name(t), " ", ms, " ms");
        if (ms < best_ms) {
            best_ms = ms;
            best = t;
        }
    }
    ENGINE_CHECK(best >= 0, "cuda: ", c.name, ": no INT8 tile runs this layer (", c.padded_c,
                 " input channels)");
    engine::logger().debug("cuda: {}: int8 {} -> {}", c.name, report, conv_int8_tile_name(best));
    return best;
}

class ConvInt8Kernel final : public Kernel {
  public:
    ConvInt8Kernel(CudaState& st, I8Problem c, std::array<int32_t, kTacticSize> t, const Tensor& w,
                   const Tensor& w_scale, const Tensor& bias)
        : c_(std::move(c)), tile_(t[kTile]) {
        w_ = st.device_copy(w);
        // alpha = x_scale * w_scale[k], in float as the reference computes it.
        const int64_t o = c_.w[0];
        std::vector<float> alpha(static_cast<size_t>(o));
        for (int64_t k = 0; k < o; ++k) alpha[static_cast<size_t>(k)] = c_.x_scale * w_scale.data_as<float>()[k];
        alpha_ = DeviceBuffer(alpha.size() * sizeof(float));
        alpha_.upload(alpha.data(), alpha.size() * sizeof(float));
        if (c_.has_bias) bias_ = st.device_copy(bias);
    }

    size_t workspace_bytes(int max_batch) const override {
        (void)max_batch;
        return align_up(c_.padded_bytes(c_.max_batch));
    }

    void run(const KernelArgs& args) override {
        ConvInt8Args a = launch_args(c_, args.batch);
        a.w = static_cast<const int8_t*>(w_->get());
        a.alpha = alpha_.as<float>();
        a.bias = bias_ ? bias_->as<float>() : nullptr;
        a.y = args.outputs[0].data;
        a.y_batch_stride = args.outputs[0].batch_stride;
        if (c_.p.residual) {
            a.residual = args.inputs[3].data;
            a.r_batch_stride = args.inputs[3].batch_stride;
        }
        enqueue(c_, tile_, a, args.inputs[0].data, args.inputs[0].batch_stride, args.workspace, kernel_stream());
    }

  private:
    I8Problem c_;
    int tile_ = 0;
    std::shared_ptr<DeviceBuffer> w_, bias_;
    DeviceBuffer alpha_;
};

void check_i8_layout(const Graph& g, NodeId n, ValueId v) {
    const Value& val = g.value(v);
    ENGINE_CHECK(val.layout == Layout::NHWC, "cuda: ", node_label(g, n), ": value '", val.name,
                 "' is stored ", layout_name(val.layout), "; INT8 convolutions run on NHWC");
}

}  // namespace

bool conv_int8_supported(const CudaState& st, const Graph& g, NodeId n) {
    if (st.info().cc_major < 8) return false;  // mma.sync m16n8k32 on s8: sm_80 and later
    if (!conv_supported(g, n, nullptr)) return false;
    const Node& node = g.node(n);
    const auto& p = std::get<ConvParams>(node.params);
    if (p.group != 1) return false;  // depthwise and grouped convs stay in float
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    // 32-bit indexing in the kernel: the pixels of the largest batch, and one sample's bytes.
    if (x[0] * y[2] * y[3] >= INT32_MAX || x[1] * x[2] * x[3] >= INT32_MAX / 4) return false;
    return true;
}

std::vector<Tensor> conv_int8_pack(CudaState& st, const Graph& g, NodeId n, const PackContext& ctx) {
    const Node& node = g.node(n);
    const I8Problem c = i8_problem(g, n);
    auto [w, w_scale] = pack_weights(c, g.constant(node.inputs[1]));
    Tensor bias(DataType::F32, {c.w[0]});
    if (c.has_bias)
        std::memcpy(bias.data(), g.constant(node.inputs[2]).data(), bias.bytes());
    else
        std::memset(bias.data(), 0, bias.bytes());
    std::array<int32_t, kTacticSize> t{kTacticVersion, 0, c.padded_c};
    const std::string key = problem_key(st, c);
    std::string cached;
    bool hit = false;
    if (st.cache_lookup(ctx.timing_cache, key, &cached)) {
        std::istringstream in(cached);
        in >> t[kTile];
        hit = !in.fail() && t[kTile] >= 0 && t[kTile] < conv_int8_tile_count();
    }
    if (!hit) {
        t[kTile] = ctx.time_tactics ? measure_tile(c) : (c.padded_c % 64 == 0 ? 0 : 1);
        if (ctx.time_tactics) st.cache_store(ctx.timing_cache, key, std::to_string(t[kTile]));
    }
    std::vector<Tensor> packed;
    packed.push_back(Tensor::from_bytes(DataType::I32, {kTacticSize}, t.data(), sizeof(t)));
    packed.push_back(std::move(w));
    packed.push_back(std::move(w_scale));
    packed.push_back(std::move(bias));
    return packed;
}

std::vector<Tensor> conv_int8_pack_tile(CudaState& st, const Graph& g, NodeId n, int tile) {
    PackContext ctx;
    ctx.time_tactics = false;
    std::vector<Tensor> packed = conv_int8_pack(st, g, n, ctx);
    packed[0].data_as<int32_t>()[kTile] = tile;
    return packed;
}

std::unique_ptr<Kernel> make_conv_int8_kernel(CudaState& st, const Graph& g, NodeId n,
                                              std::span<const Tensor> packed) {
    I8Problem c = i8_problem(g, n);
    ENGINE_CHECK(packed.size() == 4 && packed[0].dtype() == DataType::I32 && packed[0].numel() == kTacticSize,
                 "cuda: ", c.name, ": expected packed INT8 {tactic, weights, scales, bias}, got ", packed.size(),
                 " tensors");
    std::array<int32_t, kTacticSize> t{};
    std::memcpy(t.data(), packed[0].data(), sizeof(t));
    ENGINE_CHECK(t[kVersion] == kTacticVersion, "cuda: ", c.name, ": INT8 conv tactic version ", t[kVersion],
                 ", expected ", kTacticVersion, ": rebuild the plan");
    ENGINE_CHECK(t[kPaddedC] == c.padded_c && t[kTile] >= 0 && t[kTile] < conv_int8_tile_count(), "cuda: ",
                 c.name, ": INT8 tactic (tile ", t[kTile], ", ", t[kPaddedC], " channels) does not fit");
    ENGINE_CHECK(packed[1].dtype() == DataType::I8 && packed[1].numel() == c.w[0] * c.w[2] * c.w[3] * c.padded_c,
                 "cuda: ", c.name, ": packed INT8 weights have ", packed[1].numel(), " ",
                 dtype_name(packed[1].dtype()), " elements");
    ENGINE_CHECK(packed[2].dtype() == DataType::F32 && packed[2].numel() == c.w[0] &&
                     packed[3].dtype() == DataType::F32 && packed[3].numel() == c.w[0],
                 "cuda: ", c.name, ": packed weight scales or bias are not F32 [", c.w[0], "]");
    const Node& node = g.node(n);
    check_i8_layout(g, n, node.inputs[0]);
    check_i8_layout(g, n, node.outputs[0]);
    if (c.p.residual) check_i8_layout(g, n, node.inputs[3]);
    return std::make_unique<ConvInt8Kernel>(st, std::move(c), t, packed[1], packed[2], packed[3]);
}

}  // namespace engine::cuda
