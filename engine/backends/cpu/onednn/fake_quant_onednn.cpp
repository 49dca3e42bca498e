// FakeQuant (a QuantizeLinear -> DequantizeLinear pair of an ONNX QDQ model, fused by fuse_qdq) on the
// onednn backend, so that FP32 plans of QDQ models (and the pairs an INT8 plan keeps in float) run in
// the plan's layout instead of going to the reference backend through Reorders:
//
//   y = (saturate(round_half_even(x / q_scale) + q_zero_point) - dq_zero_point) * dq_scale
//
// in the reference's order and rounding (engine/refmath/ref_quant.h's element functions, the rounding
// done without a libm call so that the loop vectorizes), so the result is the reference's bit for bit.
// Per-tensor parameters only (per-axis ones stay on the reference backend), and equal zero points on both
// sides, so that the zero padding of a blocked layout stays zero: it is computed like every other element (0
// -> (z - z) * s = 0). An OpenMP loop over each sample's storage.
#include <omp.h>

#include <cmath>

#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/core/error.h"
#include "engine/ir/layout.h"
#include "engine/refmath/ref_quant.h"

namespace engine::onednn {
namespace {

struct FakeQuantScalars {
    float q_scale = 1, q_zero = 0, dq_scale = 1, dq_zero = 0;
};

// The four parameters when they are per-tensor F32 constants, else why not.
bool read_scalars(const Graph& g, NodeId n, FakeQuantScalars* s, std::string* why) {
    const Node& node = g.node(n);
    float v[4] = {};
    for (size_t i = 1; i < 5; ++i) {
        const Value& p = g.value(node.inputs[i]);
        if (p.constant == nullptr || p.desc.dtype != DataType::F32 || shape_numel(p.desc.shape) != 1)
            return reject(why, "per-axis or runtime quantization parameters");
        v[i - 1] = p.constant->data_as<float>()[0];
    }
    *s = {v[0], v[1], v[2], v[3]};
    return true;
}

// dequantize_value(quantize_value(x, ...)) (ref_quant.h) without its libm call, so that the loop
// vectorizes: round half to even of v = x / q_scale as (v + 1.5 * 2^23) - 1.5 * 2^23 in the default
// rounding mode, exact for |v| < 2^22 (the sum lands where floats are spaced by 1); larger |v|, inf
// among them, saturates either way, and NaN gives the zero point, as the reference's.
inline float fake_quant_value(float x, const FakeQuantScalars& s, float lo, float hi) {
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
    const float v = x / s.q_scale;
    const float r = std::fabs(v) < 4194304.0f ? (v + kMagic) - kMagic : v;
    float q = r + s.q_zero;
    q = q < lo ? lo : (q > hi ? hi : q);
    q = v != v ? s.q_zero : q;
    return (q - s.dq_zero) * s.dq_scale;
}

class FakeQuantKernel final : public Kernel {
  public:
    FakeQuantKernel(const Graph& g, NodeId n, const FakeQuantScalars& s)
        : s_(s),
          range_(quant_range(std::get<QuantParams>(g.node(n).params).qtype)),
          layout_(g.value(g.node(n).inputs[0]).layout) {}

    void run(const KernelArgs& args) override {
        const TensorRef& x = args.inputs[0];
        const TensorRef& y = args.outputs[0];
        const int64_t batch = x.shape.empty() ? 1 : x.shape[0];
        const int64_t per = x.shape.empty() ? 1 : storage_sample_numel(x.shape, layout_);
        const float* xp = static_cast<const float*>(x.data);
        float* yp = static_cast<float*>(y.data);
        const FakeQuantScalars s = s_;
        const QuantRange r = range_;
        const float lo = r.lo, hi = r.hi;
        for (int64_t b = 0; b < batch; ++b) {
            const float* xs = xp + b * x.batch_stride;
            float* ys = yp + b * y.batch_stride;
#pragma omp parallel for simd schedule(static)
            for (int64_t i = 0; i < per; ++i) ys[i] = fake_quant_value(xs[i], s, lo, hi);
        }
    }

  private:
    FakeQuantScalars s_;
    QuantRange range_;
    Layout layout_;
};

// Whether the node runs here; its parameters into *s when it does.
bool fake_quant_checked(const Graph& g, NodeId n, FakeQuantScalars* s, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<QuantParams>(&node.params);
    if (node.op != OpType::FakeQuant || p == nullptr || node.inputs.size() != 5 || node.outputs.size() != 1)
        return reject(why, "not a FakeQuant");
    if (p->qtype != DataType::I8 && p->qtype != DataType::U8) return reject(why, "quantized type not i8/u8");
    const Value& x = g.value(node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    if (x.constant != nullptr || x.desc.dtype != DataType::F32 || y.desc.dtype != DataType::F32)
        return reject(why, "input or output is not a runtime F32 tensor");
    if (!read_scalars(g, n, s, why)) return false;
    const QuantRange r = quant_range(p->qtype);
    if (!valid_quant_scale(s->q_scale) || !valid_quant_scale(s->dq_scale))
        return reject(why, "a scale that is not a finite value > 0");
    for (float z : {s->q_zero, s->dq_zero})
        if (!(z >= r.lo && z <= r.hi) || z != std::nearbyint(z))
            return reject(why, "a zero point outside the quantized type's integers");
    if (s->q_zero != s->dq_zero)
        return reject(why, "different zero points (stored padding would not stay 0)");
    return true;
}

}  // namespace

bool fake_quant_supported(const Graph& g, NodeId n, std::string* why) {
    FakeQuantScalars s;
    return fake_quant_checked(g, n, &s, why);
}

std::unique_ptr<Kernel> make_fake_quant_kernel(const Graph& g, NodeId n) {
    std::string why;
    FakeQuantScalars s;
    ENGINE_CHECK(fake_quant_checked(g, n, &s, &why), "onednn: node '", g.node(n).name,
                 "' [FakeQuant]: ", why);
    const Node& node = g.node(n);
    ENGINE_CHECK(g.value(node.inputs[0]).layout == g.value(node.outputs[0]).layout &&
                     g.value(node.inputs[0]).storage_dtype == DataType::F32 &&
                     g.value(node.outputs[0]).storage_dtype == DataType::F32,
                 "onednn: node '", node.name, "' [FakeQuant]: input and output must be stored alike, F32");
    return std::make_unique<FakeQuantKernel>(g, n, s);
}

}  // namespace engine::onednn
