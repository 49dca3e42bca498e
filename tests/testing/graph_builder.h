// A fluent builder of small IR graphs for tests (the XNNPACK "tester" idea):
//
//   GraphBuilder b;
//   ValueId x = b.input({2, 3, 8, 8});
//   ValueId y = b.leaky_relu(b.batch_norm(b.conv(x, /*out_channels=*/8, /*kernel=*/3)), 0.1f);
//   b.output(b.add(y, b.conv(x, 8, 1)));
//   Graph g = b.build();
//   std::vector<Tensor> inputs = b.random_inputs(/*seed=*/7);
//
// Every op method adds one node and returns its output value. The builder computes each output's
// desc (dtype, shape at the given batch) and `batched` flag itself, from the formulas the IR
// documents, so it does not depend on engine/ir/shape_inference.cpp (a test checks the two agree). Weights
// and BatchNorm parameters are deterministic random constants (seeded by the constructor's seed); BatchNorm
// variances and scales are positive. Conv padding defaults to "same" (dilation * (kernel / 2)).
// Names are generated ("conv3", "v17") unless given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/ir/graph.h"

namespace testing_util {

struct ConvSpec {
    int out_channels = 1;
    int kernel = 1;
    int stride = 1;
    int pad = -1;  // symmetric padding on all sides; -1: dilation * (kernel / 2)
    int dilation = 1;
    int group = 1;
    bool bias = true;  // false: the Conv gets two inputs {x, W}
};

class GraphBuilder {
  public:
    explicit GraphBuilder(uint32_t seed = 1);

    // --- values ---
    // A graph input; `batched` marks dim 0 as the batch (Value::batched).
    engine::ValueId input(const engine::Shape& shape, bool batched = true, std::string name = "");
    engine::ValueId constant(engine::Tensor t, std::string name = "");
    // A uniform [lo, hi) F32 constant from the builder's random stream.
    engine::ValueId random_constant(const engine::Shape& shape, float lo = -1.f, float hi = 1.f);
    // Marks a graph output.
    void output(engine::ValueId v);

    // --- ops ---
    engine::ValueId conv(engine::ValueId x, int out_channels, int kernel, int stride = 1, int group = 1);
    engine::ValueId conv(engine::ValueId x, const ConvSpec& spec);
    // Conv with the given weight and bias values (kNoValue: no bias). Pads are symmetric.
    engine::ValueId conv_with(engine::ValueId x, engine::ValueId w, engine::ValueId b,
                              const engine::ConvParams& params);
    // BatchNorm over dim 1 with random constant parameters.
    engine::ValueId batch_norm(engine::ValueId x, float epsilon = 1e-5f);
    engine::ValueId batch_norm_with(engine::ValueId x, engine::ValueId scale, engine::ValueId bias,
                                    engine::ValueId mean, engine::ValueId var, float epsilon = 1e-5f);
    engine::ValueId relu(engine::ValueId x);
    engine::ValueId leaky_relu(engine::ValueId x, float alpha = 0.1f);
    engine::ValueId sigmoid(engine::ValueId x);
    engine::ValueId tanh(engine::ValueId x);
    engine::ValueId softplus(engine::ValueId x);
    engine::ValueId mish(engine::ValueId x);
    engine::ValueId silu(engine::ValueId x);
    engine::ValueId clip(engine::ValueId x, float lo, float hi);
    // Any single-input, single-output op whose output desc equals its input's (activations,
    // Identity, Dropout). `params` defaults to UnaryParams.
    engine::ValueId unary(engine::OpType op, engine::ValueId x, engine::UnaryParams params = {});
    engine::ValueId identity(engine::ValueId x);
    engine::ValueId dropout(engine::ValueId x);
    // Binary ops with numpy broadcasting.
    engine::ValueId add(engine::ValueId a, engine::ValueId b);
    engine::ValueId sub(engine::ValueId a, engine::ValueId b);
    engine::ValueId mul(engine::ValueId a, engine::ValueId b);
    engine::ValueId div(engine::ValueId a, engine::ValueId b);
    engine::ValueId binary(engine::OpType op, engine::ValueId a, engine::ValueId b);
    engine::ValueId concat(const std::vector<engine::ValueId>& xs, int axis = 1);
    // Nearest resize; out[d] = floor(in[d] * scales[d]).
    engine::ValueId resize(engine::ValueId x, std::vector<float> scales,
                           engine::ResizeCoord coord = engine::ResizeCoord::Asymmetric,
                           engine::ResizeNearest nearest = engine::ResizeNearest::Floor);
    // Darknet / ONNX Upsample: nearest x`factor` on H and W of an NCHW tensor.
    engine::ValueId upsample(engine::ValueId x, int factor = 2);
    engine::ValueId maxpool(engine::ValueId x, int kernel, int stride, int pad = 0);
    // Reshape to `shape` (the full shape at the built batch; dim 0 stays the batch when x is batched
    // and shape[0] equals x's dim 0).
    engine::ValueId reshape(engine::ValueId x, const engine::Shape& shape);
    std::vector<engine::ValueId> split(engine::ValueId x, int axis, const std::vector<int64_t>& sizes);
    // ONNX quantization with constant scales and zero points: one element each (per tensor) or one per
    // index of dim `axis` (per axis). quantize_linear's zero points are of `qtype` (I8 or U8), its
    // output too; dequantize_linear's are of q's type (I8, U8 or I32) and its output is F32.
    engine::ValueId quantize_linear(engine::ValueId x, const std::vector<float>& scale,
                                    const std::vector<int32_t>& zero_point,
                                    engine::DataType qtype = engine::DataType::I8, int axis = 1);
    engine::ValueId dequantize_linear(engine::ValueId q, const std::vector<float>& scale,
                                      const std::vector<int32_t>& zero_point, int axis = 1);
    // Both in a row with the same parameters: a fake quantization as QDQ models write it.
    engine::ValueId qdq(engine::ValueId x, const std::vector<float>& scale,
                        const std::vector<int32_t>& zero_point, engine::DataType qtype = engine::DataType::I8,
                        int axis = 1);
    // Escape hatch: any op, outputs with the given descs.
    std::vector<engine::ValueId> op(engine::OpType op, const std::vector<engine::ValueId>& inputs,
                                    engine::OpParams params, const std::vector<engine::TensorDesc>& outputs,
                                    bool batched);

    // --- results ---
    engine::Graph& graph() { return graph_; }
    const engine::Graph& graph() const { return graph_; }
    // A copy of the graph built so far.
    engine::Graph build() const { return graph_; }
    // The node that produces v.
    engine::NodeId producer(engine::ValueId v) const { return graph_.value(v).producer; }
    const engine::Shape& shape(engine::ValueId v) const { return graph_.value(v).desc.shape; }
    // Deterministic uniform [-1, 1) inputs, one per graph input in order.
    std::vector<engine::Tensor> random_inputs(uint32_t seed) const;

  private:
    engine::ValueId add_out(const engine::Shape& shape, bool batched);
    engine::ValueId add_single(engine::OpType op, std::vector<engine::ValueId> inputs,
                               engine::OpParams params, const engine::Shape& out_shape, bool batched);
    bool batched(engine::ValueId v) const { return graph_.value(v).batched; }

    engine::Graph graph_;
    uint32_t seed_;
    uint32_t next_seed_;
    int counter_ = 0;
};

}  // namespace testing_util
