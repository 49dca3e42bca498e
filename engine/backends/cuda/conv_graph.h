// Convolutions through cuDNN's graph (backend) API: the operation graph conv [+ bias + act
// (+ residual add + post_act)] with activations NHWC, its engine configurations ranked by cuDNN's
// heuristics, and one finalized execution plan per (layer, batch). The fused form runs the epilogue
// inside cuDNN's kernel (runtime fusion engines); the conv-only form leaves it to our epilogue kernel.
// Internal to engine/backends/cuda (conv_cudnn.cpp measures these against the legacy API).
#pragma once

#include <cudnn.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/ir/params.h"

namespace engine::cuda {

struct GraphConvSpec {
    DataType dtype = DataType::F16;       // storage of x, y, r, weights and bias (I8: see below)
    int64_t n = 1, c = 0, h = 0, w = 0;   // x NHWC (c: channels as the kernel reads them, padded)
    int64_t k = 0, cg = 0, r = 0, s = 0;  // weights [k][r][s][cg], cg = c / groups
    int64_t oh = 0, ow = 0;
    std::array<int64_t, 2> pads{}, strides{1, 1}, dilations{1, 1};
    bool fused = false;  // bias + act (+ residual + post_act) in the graph
    Act act, post_act;
    bool residual = false;
    // INT8 (dtype I8; always fused): x and weights s8, int32 accumulation, then in float
    //   * alpha[k] (x_scale * w_scale[k], F32) + bias (F32), act, + residual (s8: * r_scale[k] first),
    //   post_act, and for an s8 output * y_inv[k] (1 / y_scale) before cuDNN converts it to s8.
    DataType y_dtype = DataType::I8;  // I8, F16 or F32 (I8 plans only)
    DataType r_dtype = DataType::I8;  // the residual's storage (I8 plans only)
    // I8 output: no final * y_inv; the caller passes alpha, bias and r_scale already multiplied by it
    // (act and post_act positively homogeneous: none, ReLU, leaky ReLU).
    bool fold_y = false;
};

// The extra operands of an INT8 graph (device pointers to F32 [k] vectors; unused ones nullptr).
struct GraphInt8Operands {
    const void* alpha = nullptr;
    const void* r_scale = nullptr;
    const void* y_inv = nullptr;
};

// The spec's geometry and epilogue from a conv's params and shapes (x, w [O, C/group, kh, kw], y NCHW):
// `batch` samples, `c` channels as the kernel reads x (padded), `cg` per group as it reads the weights.
// dtype, fused and the INT8 fields are left for the caller.
GraphConvSpec graph_conv_geometry(const ConvParams& p, const std::vector<int64_t>& x,
                                  const std::vector<int64_t>& w, const std::vector<int64_t>& y, int64_t batch,
                                  int64_t c, int64_t cg);

// Whether the epilogue (act, residual, post_act) has a form the graph expresses (identity, ReLU, leaky
// ReLU, sigmoid, SiLU).
bool graph_epilogue_supported(const Act& act, const Act& post_act, bool residual);

class GraphConvPlan {
  public:
    // The execution plan from engine configuration `rank` of the heuristics' lists: mode A's (0 = cuDNN's
    // first choice), then mode B's, then the fallback's. nullptr when there is no such configuration or
    // it does not finalize for this graph. *count (when given) receives how many configurations the
    // first `lists` lists hold (F32: those that do not run on tensor cores, so that FP32 stays true
    // FP32, not TF32).
    static std::unique_ptr<GraphConvPlan> make(cudnnHandle_t h, const GraphConvSpec& spec, int rank,
                                               int* count = nullptr, int lists = 1);
    // The plan from configuration `rank` when it finalizes and its workspace fits `max_ws`, else from the
    // first of the others that does (a batch below max runs in the workspace sized at max batch).
    // nullptr when none does.
    static std::unique_ptr<GraphConvPlan> make_fitting(cudnnHandle_t h, const GraphConvSpec& spec, int rank,
                                                       size_t max_ws);
    ~GraphConvPlan();
    GraphConvPlan(const GraphConvPlan&) = delete;
    GraphConvPlan& operator=(const GraphConvPlan&) = delete;

    size_t workspace() const { return workspace_; }
    // The engine and its knob choices, "e<global index>[<knob type>=<value>;...]" (build reports).
    const std::string& describe() const { return describe_; }
    // Enqueues the conv on the handle's stream. bias and r are ignored unless fused (r: residual only).
    void execute(cudnnHandle_t h, const void* x, const void* w, const void* bias, const void* r, void* y,
                 void* workspace, const GraphInt8Operands& i8 = {});

  private:
    GraphConvPlan() = default;
    std::shared_ptr<void> keep_;  // the graph, heuristics and configuration descriptors the plan came from
    cudnnBackendDescriptor_t plan_ = nullptr;
    cudnnBackendDescriptor_t pack_ = nullptr;  // variant pack for the last pointers
    std::array<const void*, 9> pack_ptrs_{};
    bool fused_ = false, residual_ = false;
    bool i8_ = false, r_i8_ = false, y_i8_ = false, fold_y_ = false;
    size_t workspace_ = 0;
    std::string describe_;
};

}  // namespace engine::cuda
