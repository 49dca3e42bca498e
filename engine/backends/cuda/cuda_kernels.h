// The CUDA backend's kernels, one file per op family, and what they share. Internal to
// engine/backends/cuda: the backend (cuda_backend.cpp) asks *_supported() when claiming a node,
// *_pack() at build time and make_*_kernel() at load time.
//
// Storage: the backend keeps its 4-D activations in NHWC (Layout::NHWC), F32 or F16 (the node's
// precision), or I8 (s8) between INT8 nodes (docs/int8.md); other runtime values are Plain. All of them live
// in device memory: every TensorRef a CUDA kernel gets points to device memory, except the host side of a
// Reorder that crosses the host/device boundary (reorder_cuda.cpp). Weights are packed at build time into the
// layout cuDNN reads and uploaded once per engine (CudaState::device_copy).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/cuda/cuda_util.h"
#include "engine/ir/graph.h"
#include "engine/ir/node_checks.h"

namespace engine::cuda {

// What the backend's kernels share for the lifetime of an engine: the device description, one cuDNN
// handle per stream (a handle must not be used from two streams at once), device copies of packed
// constants (shared by every context of the engine), and the timing cache. Thread-safe.
class CudaState {
  public:
    CudaState();
    const DeviceInfo& info() const { return info_; }
    const std::string& signature() const { return signature_; }
    // The cuDNN handle bound to `stream` (created on first use).
    cudnnHandle_t cudnn(cudaStream_t stream);
    // A device copy of host tensor t (a plan constant), uploaded on first use and shared.
    std::shared_ptr<DeviceBuffer> device_copy(const Tensor& t);

    // Timing cache (PackContext::timing_cache): measured tactic choices by layer key, read once from
    // `path` and rewritten (atomically) when an entry is added. Empty path: in memory only.
    bool cache_lookup(const std::string& path, const std::string& key, std::string* value);
    void cache_store(const std::string& path, const std::string& key, const std::string& value);

  private:
    DeviceInfo info_;
    std::string signature_;
    std::mutex mutex_;
    std::map<cudaStream_t, CudnnHandle> cudnn_;
    std::map<const void*, std::shared_ptr<DeviceBuffer>> copies_;
    std::string cache_path_;
    bool cache_loaded_ = false;
    std::map<std::string, std::string> cache_;
};

// The stream a kernel enqueues on: the calling thread's per-thread stream (the runtime runs a context
// from one thread; Backend::stream() hands the same stream to callers).
cudaStream_t kernel_stream();

// Node description for messages: "node 'name' [Op]".
std::string node_label(const Graph& g, NodeId n);
// reject(), is_runtime_4d(): engine/ir/node_checks.h.
using engine::is_runtime_4d;
using engine::reject;
// F32 or F16 storage (the dtypes every kernel has), or I8 when `i8` (kernels that run on s8 values:
// Reorder, MaxPool, Resize, Concat).
bool storage_ok(DataType dt, bool i8 = false);
// The real value per stored unit of value v read or written by node n: amax / 127 for I8 storage (an
// s8 q stands for q * amax / 127, docs/int8.md), 1 otherwise. Throws engine::Error naming the node and
// the value when an I8 value has no calibrated range (amax not > 0).
float real_scale(const Graph& g, NodeId n, ValueId v);
// Kernel k of node n (not a Reorder), checking on its first run with each set of arguments that every
// runtime operand is in device memory: only Reorder kernels cross between host and device.
// host_ok_inputs[i] / host_ok_outputs[i]: input / output i may be in host memory (a graph input or
// output the kernel copies in or out itself).
std::unique_ptr<Kernel> with_device_check(const Graph& g, NodeId n, std::unique_ptr<Kernel> k,
                                          std::vector<char> host_ok_inputs = {},
                                          std::vector<char> host_ok_outputs = {});
// Checks at kernel creation that the value is stored as the kernels expect (NHWC for 4-D runtime
// values, a storage type storage_ok(dt, i8) accepts); throws engine::Error naming the node otherwise
// (e.g. a plan forced to --layout plain).
void check_nhwc(const Graph& g, NodeId n, ValueId v, bool i8 = false);

// --- Conv (conv_cudnn.cpp) ---
// Conv with bias, act, residual and post_act (ConvParams) on cuDNN + the epilogue kernel.
bool conv_supported(const Graph& g, NodeId n, std::string* why);
// Packed: {tactic (I32), weights (storage dtype, KRSC with C padded), bias (F32 [O])}. Times the
// cuDNN algorithms on this GPU (or reads the timing cache) and records the fastest.
std::vector<Tensor> conv_pack(CudaState& state, const Graph& g, NodeId n, const PackContext& ctx);
// conv_pack restricted to one form, without the timing cache (tests check every path): only_fused 0
// legacy conv + our epilogue, 1 cuDNN's legacy fused bias-activation (where conv_has_fused_form), 2 the
// graph API's conv + our epilogue, 3 the graph API's fused conv + epilogue (where
// conv_has_graph_fused_form). Throws engine::Error when no engine of that form runs the layer.
std::vector<Tensor> conv_pack_forced(CudaState& state, const Graph& g, NodeId n, const PackContext& ctx,
                                     int only_fused);
// What every conv kernel reads of its node: the label for messages, the params, the logical shapes (x, y
// NCHW at max batch; w [O, C/group, kh, kw]) and the max batch.
struct ConvShapes {
    std::string name;
    ConvParams p;
    Shape x, w, y;
    int max_batch = 1;
};
ConvShapes conv_shapes(const Graph& g, NodeId n);
// The part of a conv's timing-cache key its shapes and params give: "|x[..]|w[..]|s..|d..|p.." (the
// caller adds what its kernels depend on besides) and an activation's "kind(alpha,beta)".
std::string conv_shapes_key(const ConvShapes& c);
std::string act_key(const Act& a);
// The mean time of `enqueue` on stream s in ms: two runs to warm up, then 10 between events (the tactic
// measurements' rule).
float time_enqueue(cudaStream_t s, const std::function<void()>& enqueue);

// --- INT8 Conv (conv_int8.cpp; docs/int8.md) ---
// Whether the node can run as an INT8 conv on this device (sm_80 and later): group 1 on our
// tensor-core kernel, depthwise (group == channels == outputs) on our depthwise kernel (other grouped
// convs stay in float), the shapes within the kernels' 32-bit indexing.
bool conv_int8_supported(const CudaState& state, const Graph& g, NodeId n);
// conv_pack / make_conv_kernel for a node of precision I8 (they forward there): packed {tactic,
// s8 weights [O][kh][kw][C'] ([kh][kw][C] depthwise), F32 weight scales [O], F32 bias [O]}.
std::vector<Tensor> conv_int8_pack(CudaState& state, const Graph& g, NodeId n, const PackContext& ctx);
// conv_int8_pack with the tactic forced instead of timed (tests run every form): our kernel with tile
// `choice`, or (graph) cuDNN's graph API with the engine configuration of rank `choice`.
std::vector<Tensor> conv_int8_pack_forced(CudaState& state, const Graph& g, NodeId n, bool graph, int choice);
// Whether the INT8 conv writes its output v, a graph output, NCHW F32 itself
// (Backend::writes_plain_f32_output): our tensor-core kernel's NCHW epilogue, for convs without a
// residual that are not depthwise. Such a conv runs on our kernel only (never cuDNN's graph form); where
// the output is in host memory (host graph I/O), the kernel writes it to device staging and copies it.
bool conv_int8_writes_plain(const CudaState& state, const Graph& g, NodeId n, ValueId v);
// Whether the INT8 conv reads its input `slot`, a graph input (Plain F32), itself
// (Backend::reads_plain_f32_input): slot 0 of an image of at most kPackedC (4) channels with a calibrated
// range, read by a conv that is not depthwise. Its kernel quantizes it into its padded NHWC copy in one
// pass (launch_quantize_nchw_to_nhwc_padded) in place of the Reorder and the padding; where the input is
// in host memory (host graph I/O), it copies it to device staging first.
bool conv_int8_reads_plain(const CudaState& state, const Graph& g, NodeId n, size_t slot);
// RTDET_CUDA_INT8_EXPERIMENTAL: "1", the builder times and may choose the experimental INT8 tiles
// (conv_int8_tile_experimental: measured on a GPU with it before they are promoted); unset, empty or "0",
// it leaves them out (one never run on a GPU may not even finish). Any other value: an error naming it.
bool int8_experimental_tiles_enabled();
// RTDET_CUDA_INT8_GRAPH_SEARCH: "1", the INT8 builder times every engine configuration of cuDNN's
// heuristics modes A, B and fallback (an experiment: on the H100 it found nothing faster than mode A's
// first six, docs/int8.md); unset, empty or "0", mode A's first few. Any other value: an error naming it.
bool int8_graph_search_wide();
// Whether our tile `tile` runs the node (its input channels as the tile reads them, its kernel size).
bool conv_int8_tile_runs(const Graph& g, NodeId n, int tile);
// How many engine configurations cuDNN's heuristics offer for the node's INT8 graph at max batch (0: the
// epilogue has no graph form, or cuDNN has none): mode A's, or with `wide` modes A, B and fallback's
// (the ranks RTDET_CUDA_INT8_GRAPH_SEARCH=1 times).
int conv_int8_graph_configs(CudaState& state, const Graph& g, NodeId n, bool wide = false);
// --- The INT8 conv pairs (conv_int8.cpp, kernels/conv_pair_int8.cuh): YOLO's stem and its residual
// blocks, each in one kernel ---
// Whether Conv `first` then Conv `second` (both I8, second reading first's only output) run as one
// ConvPair node, the middle value and the output stored s8 (the output not a graph output), acts none or
// leaky:
//  - the stem: first reads the graph's F32 image itself (conv_int8_reads_plain: at most 4 channels, a
//    calibrated range), 3x3 to 32 channels, then 3x3 stride 2 to 64; padding 1, no residual;
//  - a residual block: first 1x1 from an s8 value of 64 channels to 32, then 3x3 (padding 1) back to 64
//    with first's input as second's residual (post_act none or leaky).
bool conv_pair_fusable(const CudaState& state, const Graph& g, NodeId first, NodeId second);
// Whether this device runs ConvPair node n (its operands and shapes those of conv_pair_fusable).
bool conv_pair_supported(const CudaState& state, const Graph& g, NodeId n, std::string* why);
// Whether ConvPair node n is the stem, which reads the graph's F32 image itself (its input 0 plain).
bool conv_pair_reads_image(const Graph& g, NodeId n);
// Packed {tactic {version, CTA shape}, first's weights (the stem's in packed taps [32][kPackedDepth], a
// block's [32][64]) s8, their scales [32], its bias [32], second's weights [64][3][3][32] s8, their scales
// [64], its bias [64]}. Its tactic (the CTA's shape) timed at max batch where ctx.time_tactics (else the
// first).
std::vector<Tensor> conv_pair_pack(CudaState& state, const Graph& g, NodeId n, const PackContext& ctx);
std::unique_ptr<Kernel> make_conv_pair_kernel(CudaState& state, const Graph& g, NodeId n,
                                              std::span<const Tensor> packed);
std::unique_ptr<Kernel> make_conv_int8_kernel(CudaState& state, const Graph& g, NodeId n,
                                              std::span<const Tensor> packed);
bool conv_has_fused_form(const Graph& g, NodeId n);
bool conv_has_graph_fused_form(const Graph& g, NodeId n);
std::unique_ptr<Kernel> make_conv_kernel(CudaState& state, const Graph& g, NodeId n,
                                         std::span<const Tensor> packed);

// --- MaxPool, Resize, Concat, activations, Add/Mul (ops_cuda.cpp) ---
bool pool_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_pool_kernel(const Graph& g, NodeId n);
bool resize_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_resize_kernel(const Graph& g, NodeId n);
bool concat_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_concat_kernel(const Graph& g, NodeId n);
bool act_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_act_kernel(const Graph& g, NodeId n);
bool binary_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_binary_kernel(const Graph& g, NodeId n);

// --- Reorder (reorder_cuda.cpp) ---
// Plain <-> NHWC, F32 <-> F16 <-> I8 (quantize, dequantize, requantize), and host <-> device.
bool reorder_supported(const Graph& g, NodeId n, std::string* why);
std::unique_ptr<Kernel> make_reorder_kernel(const Graph& g, NodeId n);

}  // namespace engine::cuda
