// FakeQuant (a QuantizeLinear -> DequantizeLinear pair of an ONNX QDQ model, fused by fuse_qdq) on the
// onednn backend, so that FP32 plans of QDQ models (and the pairs an INT8 plan keeps in float) run in
// the plan's layout instead of going to the reference backend through Reorders:
//
//   y = (saturate(round_half_even(x / q_scale) + q_zero_point) - dq_zero_point) * dq_scale
//
// in the reference's order and rounding (engine/refmath/ref_quant.h's element functions, the rounding
// done without a libm call so that the loop vectorizes), so the result is the reference's bit for bit.
// Parameters per tensor, or per channel (axis 1 of a 4-D tensor; a per-tensor operand beside per-channel
// ones is repeated for every channel), with equal zero points on both sides, so that the zero padding of
// a blocked layout stays zero: it is computed like every other element (0 -> (z - z) * s = 0; padded
// channels take scale 1 and zero point 0). Per-axis parameters on another axis stay on the reference
// backend. OpenMP loops over each sample's storage, the channel innermost where the layout allows.
#include <omp.h>

#include <cmath>
#include <utility>
#include <vector>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/core/error.h"
#include "engine/ir/layout.h"
#include "engine/refmath/ref_quant.h"

namespace engine::onednn {
namespace {

// The four parameters, one value each (per tensor) or one per channel.
struct FakeQuantParams {
    std::vector<float> q_scale, q_zero, dq_scale, dq_zero;
    size_t count() const { return q_scale.size(); }
};

// The four parameters when they are F32 constants per tensor or per channel, else why not.
bool read_params(const Graph& g, NodeId n, FakeQuantParams* s, std::string* why) {
    const Node& node = g.node(n);
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const int axis = std::get<QuantParams>(node.params).axis;
    const bool channels = x.size() == 4 && axis == 1;
    int64_t count = 1;
    for (size_t i = 1; i < 5; ++i) {
        const Value& p = g.value(node.inputs[i]);
        if (p.constant == nullptr || p.desc.dtype != DataType::F32)
            return reject(why, "runtime quantization parameters");
        const int64_t k = shape_numel(p.desc.shape);
        if (k == 1) continue;
        if (!channels || k != x[1])
            return reject(why,
                          "per-axis quantization parameters on another axis than a 4-D tensor's channels");
        count = k;
    }
    for (size_t i : {1, 3})
        if (shape_numel(g.value(node.inputs[i]).desc.shape) !=
            shape_numel(g.value(node.inputs[i + 1]).desc.shape))
            return reject(why, "a scale and its zero point of different sizes");
    std::vector<float>* out[4] = {&s->q_scale, &s->q_zero, &s->dq_scale, &s->dq_zero};
    for (size_t i = 1; i < 5; ++i) {
        const Tensor& t = *g.value(node.inputs[i]).constant;
        std::vector<float>& v = *out[i - 1];
        v.resize(static_cast<size_t>(count));
        for (int64_t c = 0; c < count; ++c)
            v[static_cast<size_t>(c)] = t.data_as<float>()[t.numel() == 1 ? 0 : c];
    }
    return true;
}

// dequantize_value(quantize_value(x, ...)) (ref_quant.h) without its libm call, so that the loop
// vectorizes: round half to even of v = x / q_scale as (v + 1.5 * 2^23) - 1.5 * 2^23 in the default
// rounding mode, exact for |v| < 2^22 (the sum lands where floats are spaced by 1); larger |v|, inf
// among them, saturates either way, and NaN gives the zero point, as the reference's.
inline float fake_quant_value(float x, float q_scale, float q_zero, float dq_scale, float dq_zero, float lo,
                              float hi) {
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
    const float v = x / q_scale;
    const float r = std::fabs(v) < 4194304.0f ? (v + kMagic) - kMagic : v;
    float q = r + q_zero;
    q = q < lo ? lo : (q > hi ? hi : q);
    q = v != v ? q_zero : q;
    return (q - dq_zero) * dq_scale;
}

class FakeQuantKernel final : public Kernel {
  public:
    FakeQuantKernel(const Graph& g, NodeId n, FakeQuantParams s)
        : s_(std::move(s)),
          range_(quant_range(std::get<QuantParams>(g.node(n).params).qtype)),
          layout_(g.value(g.node(n).inputs[0]).layout) {
        if (s_.count() == 1) return;
        // Blocked16 stores the channels padded to 16: scale 1, zero point 0 there (0 stays 0).
        const size_t padded = layout_ == Layout::Blocked16 ? (s_.count() + 15) / 16 * 16 : s_.count();
        s_.q_scale.resize(padded, 1.f);
        s_.q_zero.resize(padded, 0.f);
        s_.dq_scale.resize(padded, 1.f);
        s_.dq_zero.resize(padded, 0.f);
    }

    void run(const KernelArgs& args) override {
        const TensorRef& x = args.inputs[0];
        const TensorRef& y = args.outputs[0];
        const int64_t batch = x.shape.empty() ? 1 : x.shape[0];
        const int64_t per = x.shape.empty() ? 1 : storage_sample_numel(x.shape, layout_);
        const float* xp = static_cast<const float*>(x.data);
        float* yp = static_cast<float*>(y.data);
        const float lo = range_.lo, hi = range_.hi;
        const float* qs = s_.q_scale.data();
        const float* qz = s_.q_zero.data();
        const float* ds = s_.dq_scale.data();
        const float* dz = s_.dq_zero.data();
        for (int64_t b = 0; b < batch; ++b) {
            const float* xs = xp + b * x.batch_stride;
            float* ys = yp + b * y.batch_stride;
            if (s_.count() == 1) {
                const float q_scale = qs[0], q_zero = qz[0], dq_scale = ds[0], dq_zero = dz[0];
#pragma omp parallel for simd schedule(static)
                for (int64_t i = 0; i < per; ++i)
                    ys[i] = fake_quant_value(xs[i], q_scale, q_zero, dq_scale, dq_zero, lo, hi);
                continue;
            }
            // Per channel: [C][HW] (Plain), [HW][C] (NHWC), [C/16][HW][16] (Blocked16).
            const int64_t c_count = x.shape[1], hw = x.shape[2] * x.shape[3];
            if (layout_ == Layout::Plain) {
#pragma omp parallel for schedule(static)
                for (int64_t c = 0; c < c_count; ++c) {
                    const float q_scale = qs[c], q_zero = qz[c], dq_scale = ds[c], dq_zero = dz[c];
#pragma omp simd
                    for (int64_t i = c * hw; i < (c + 1) * hw; ++i)
                        ys[i] = fake_quant_value(xs[i], q_scale, q_zero, dq_scale, dq_zero, lo, hi);
                }
            } else {
                const int64_t inner = layout_ == Layout::NHWC ? c_count : 16;  // channels per run
                const int64_t runs = per / inner;
#pragma omp parallel for schedule(static)
                for (int64_t r = 0; r < runs; ++r) {
                    // The run's first channel: 0 in NHWC; 16 x its block in Blocked16 (blocks of hw runs).
                    const int64_t c0 = layout_ == Layout::NHWC ? 0 : (r / hw) * 16;
                    const float* xr = xs + r * inner;
                    float* yr = ys + r * inner;
#pragma omp simd
                    for (int64_t l = 0; l < inner; ++l)
                        yr[l] =
                            fake_quant_value(xr[l], qs[c0 + l], qz[c0 + l], ds[c0 + l], dz[c0 + l], lo, hi);
                }
            }
        }
    }

  private:
    FakeQuantParams s_;
    QuantRange range_;
    Layout layout_;
};

// Whether the node runs here; its parameters into *s when it does.
bool fake_quant_checked(const Graph& g, NodeId n, FakeQuantParams* s, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<QuantParams>(&node.params);
    if (node.op != OpType::FakeQuant || p == nullptr || node.inputs.size() != 5 || node.outputs.size() != 1)
        return reject(why, "not a FakeQuant");
    if (p->qtype != DataType::I8 && p->qtype != DataType::U8) return reject(why, "quantized type not i8/u8");
    const Value& x = g.value(node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    if (x.constant != nullptr || x.desc.dtype != DataType::F32 || y.desc.dtype != DataType::F32)
        return reject(why, "input or output is not a runtime F32 tensor");
    if (!read_params(g, n, s, why)) return false;
    const QuantRange r = quant_range(p->qtype);
    for (size_t c = 0; c < s->count(); ++c) {
        if (!valid_quant_scale(s->q_scale[c]) || !valid_quant_scale(s->dq_scale[c]))
            return reject(why, "a scale that is not a finite value > 0");
        for (float z : {s->q_zero[c], s->dq_zero[c]})
            if (!(z >= r.lo && z <= r.hi) || z != std::nearbyint(z))
                return reject(why, "a zero point outside the quantized type's integers");
        if (s->q_zero[c] != s->dq_zero[c])
            return reject(why, "different zero points (stored padding would not stay 0)");
    }
    return true;
}

}  // namespace

bool fake_quant_supported(const Graph& g, NodeId n, std::string* why) {
    FakeQuantParams s;
    return fake_quant_checked(g, n, &s, why);
}

std::unique_ptr<Kernel> make_fake_quant_kernel(const Graph& g, NodeId n) {
    std::string why;
    FakeQuantParams s;
    ENGINE_CHECK(fake_quant_checked(g, n, &s, &why), "onednn: node '", g.node(n).name,
                 "' [FakeQuant]: ", why);
    const Node& node = g.node(n);
    ENGINE_CHECK(g.value(node.inputs[0]).layout == g.value(node.outputs[0]).layout &&
                     g.value(node.inputs[0]).storage_dtype == DataType::F32 &&
                     g.value(node.outputs[0]).storage_dtype == DataType::F32,
                 "onednn: node '", node.name, "' [FakeQuant]: input and output must be stored alike, F32");
    return std::make_unique<FakeQuantKernel>(g, n, std::move(s));
}

}  // namespace engine::onednn
