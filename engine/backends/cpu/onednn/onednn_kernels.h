// The oneDNN kernels, one file per op family. Internal to engine/backends/cpu/onednn: the backend
// (onednn_backend.cpp) asks *_supported() when claiming a node, *_pack() at build time and
// make_*_kernel() at load time.
//
// Every kernel reads its inputs and writes its outputs in the layout and storage type the builder
// gave their values (spec_of() in onednn_util.h); the builder inserts Reorder nodes so that a
// node's activations arrive in the node's precision (storage dtype) and the plan's activation
// layout. A `why` string receives the reason when a node is not supported.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/ir/graph.h"
#include "engine/ir/node_checks.h"

namespace engine::onednn {

// Conv (any group, pad, stride, dilation) with act, residual and post_act as post-ops.
bool conv_supported(const Graph& g, NodeId n, std::string* why);
// Whether the conv can run in INT8 here: VNNI/AMX, F32 weights, and calibrated ranges (Value::amax)
// on its input, output and residual.
bool conv_int8_supported(const Graph& g, NodeId n);
// Packed data: {tactic (I32 [1]: residual mode), weights (node precision, in the format the
// primitive picked), bias (F32 [O])}.
std::vector<Tensor> conv_pack(const Graph& g, NodeId n, const PackContext& ctx);
// conv_pack for a given residual tactic (0 none, 1 binary post-op, 2 sum post-op), without timing
// (tests use it to check every tactic).
std::vector<Tensor> conv_pack_mode(const Graph& g, NodeId n, int mode);
std::unique_ptr<Kernel> make_conv_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed);

// MaxPool (ceil_mode through the end padding, dilation).
bool pool_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_pool_kernel(const Graph& g, NodeId n);

// Resize nearest with integer scales on H and W whose index rule equals floor(o / scale).
bool resize_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_resize_kernel(const Graph& g, NodeId n);

// Concat along channels (a copy; in-place Concats run no kernel).
bool concat_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_concat_kernel(const Graph& g, NodeId n);

// Standalone activations (Relu ... Clip).
bool eltwise_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_eltwise_kernel(const Graph& g, NodeId n);

// Add / Mul of two tensors of the same shape.
bool binary_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_binary_kernel(const Graph& g, NodeId n);

// BatchNorm (inference) as y = x * scale + shift per channel. Packed: {scale, shift} (F32 [C]).
bool batch_norm_supported(const Graph& g, NodeId n, std::string* why);
std::vector<Tensor> batch_norm_pack(const Graph& g, NodeId n);
std::unique_ptr<Kernel> make_batch_norm_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed);

// Reorder: converts the input's (layout, storage dtype) into the output's.
bool reorder_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_reorder_kernel(const Graph& g, NodeId n);

// --- FakeQuant (fake_quant_onednn.cpp): per-tensor, equal zero points; F32 in the plan's layout ---
bool fake_quant_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_fake_quant_kernel(const Graph& g, NodeId n);

// Shared checks (engine/ir/node_checks.h).
using engine::is_runtime_4d;
using engine::reject;

}  // namespace engine::onednn
