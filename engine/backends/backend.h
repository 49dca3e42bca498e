// A backend claims the nodes it can run and creates their kernels. The builder walks backends in
// priority order; the first whose supports() says yes gets the node. The reference CPU backend is
// last and complete (every IR op, FP32).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backends/kernel.h"
#include "engine/ir/graph.h"

namespace engine {

// What Backend::pack may use of the build (the builder fills it from BuildOptions).
struct PackContext {
    int threads = 0;              // threads for measuring tactics (0: all cores)
    std::string timing_cache;     // file of measured tactic timings; empty: none
    bool cudnn_graph_api = true;  // cuda: cuDNN's graph-API candidates too (false: the legacy API only)
    bool time_tactics = true;     // false: take a choice's default instead of timing (BuildOptions)
};

class Backend {
  public:
    virtual ~Backend() = default;
    // Stable name recorded in plans: "reference", "onednn", "cuda".
    virtual std::string_view name() const = 0;
    // The device this backend would run on, recorded in the plan and checked on load (e.g.
    // "cpu x86_64 avx512_core_amx"). Loading a plan on a device that cannot run it is an error.
    virtual std::string device_signature() const = 0;
    // Whether this backend runs node `n` (dtype, layout, attribute limits). When not, `why` says why
    // (one short phrase, shown in build logs).
    virtual bool supports(const Graph& g, NodeId n, std::string* why) const = 0;
    // Whether the kernel for node `n` can compute in `dt` (F16/BF16) when the plan allows reduced
    // precision. Inputs and outputs of the plan stay F32 regardless.
    virtual bool supports_precision(const Graph& g, NodeId n, DataType dt) const {
        (void)g, (void)n;
        return dt == DataType::F32;
    }
    // Whether this backend runs Conv `first` and Conv `second` as one ConvPair node (OpType::ConvPair,
    // engine/ir/params.h): one kernel, the middle value never stored. The builder asks after backends
    // and precisions are assigned and before layouts (fuse_conv_pairs, engine/passes/pass.h), for two
    // live Conv nodes of this backend, of the same precision, `first` without a residual, where
    // `second` reads `first`'s only output as its input 0 and nothing else reads it. `second` may have
    // a residual (ConvParams::residual, its input 3, never `first`'s output): the pair then has it as
    // input 5, and a backend that does not run that must say no. Yes: the builder replaces
    // both by a ConvPair node of this backend, whose supports()/pack()/packed_inputs()/create_kernel()
    // this backend then handles. Default: no.
    virtual bool fuses_conv_pair(const Graph& g, NodeId first, NodeId second) const {
        (void)g, (void)first, (void)second;
        return false;
    }
    // Build time: constant data the kernel wants stored in the plan for node `n`, already in the
    // layout it runs on (packed weights). Default: nothing; the kernel reads the constant inputs.
    virtual std::vector<Tensor> pack(const Graph& g, NodeId n, const PackContext& ctx) {
        (void)g, (void)n, (void)ctx;
        return {};
    }
    // Input slots of node `n` whose constant data its kernel never reads once pack() has run (it
    // uses the packed copy). The builder leaves a constant out of the plan when every node reading
    // it lists it here. Default: none.
    virtual std::vector<size_t> packed_inputs(const Graph& g, NodeId n) const {
        (void)g, (void)n;
        return {};
    }
    // Load time: the kernel for node `n`. `packed` holds what pack() returned, as views of the plan.
    virtual std::unique_ptr<Kernel> create_kernel(const Graph& g, NodeId n,
                                                  std::span<const Tensor> packed) = 0;

    // Activation layouts (engine/ir/layout.h) besides Plain that this backend can keep its 4-D
    // values in, best first. The builder picks one per plan for the backends that list it (a forced
    // `BuildOptions::layout`, or the fastest of auto_layouts()); the nodes then write their 4-D
    // runtime outputs in it, and Reorder nodes convert where a consumer reads another layout.
    // Empty (the default): Plain only.
    virtual std::vector<Layout> activation_layouts() const { return {}; }
    // The layouts `layout = auto` times for graph `g` (precisions assigned): those of
    // activation_layouts() worth trying on this machine (a layout with only slow kernels here, or for
    // the graph's precisions, is left out, so that timing it costs no build time).
    virtual std::vector<Layout> auto_layouts(const Graph& g) const {
        (void)g;
        return activation_layouts();
    }
    // The layout node `n` reads input `slot` in when the plan's layout for this backend is `act`.
    // Default: `act` for 4-D runtime inputs, Plain for everything else.
    virtual Layout input_layout(const Graph& g, NodeId n, size_t slot, Layout act) const {
        const Node& node = g.node(n);
        if (slot >= node.inputs.size()) return Layout::Plain;
        const Value& v = g.value(node.inputs[slot]);
        return v.constant == nullptr && v.desc.shape.size() == 4 ? act : Layout::Plain;
    }
    // Whether node `n` can write its runtime output `v`, a graph output, in Plain F32 itself (graph
    // outputs are Plain F32) while its other outputs keep the plan's layout: then no Reorder converts
    // it (assign_layouts' step 2). The kernel then receives the graph output's memory, host or device
    // (ExecutionContext::run's IoMemory). Default: no.
    virtual bool writes_plain_f32_output(const Graph& g, NodeId n, ValueId v) const {
        (void)g, (void)n, (void)v;
        return false;
    }
    // Whether node `n` can read its runtime input `slot`, a graph input (Plain F32, as graph inputs are),
    // itself while it reads its other inputs in the plan's layout and its precision, converting it as
    // its kernel needs: then no Reorder converts it for `n` (assign_layouts' step 4; other consumers keep
    // theirs). The kernel then receives the graph input's memory, host or device (ExecutionContext::run's
    // IoMemory). Default: no.
    virtual bool reads_plain_f32_input(const Graph& g, NodeId n, size_t slot) const {
        (void)g, (void)n, (void)slot;
        return false;
    }
    // Threads for this backend's kernels when run from the calling thread (0: all cores). The
    // runtime calls it before each run with the context's thread count.
    virtual void set_threads(int threads) { (void)threads; }

    // Device backends (GPUs) run their kernels on device memory. A plan with a device backend runs
    // every node on it (the builder never mixes it with host backends; the runtime refuses such a
    // plan). The runtime keeps every runtime value in a device arena from allocate_device() (graph
    // inputs and outputs, and values sharing their slot, stay in host memory: the device backend's
    // Reorder nodes copy across), gives the kernels a device workspace, takes the host arena from
    // allocate_host() when it returns one (pinned memory for asynchronous copies), and calls
    // synchronize() at the end of each run. Kernels of a device backend only enqueue work.
    virtual bool is_device() const { return false; }
    // `poison`: fill the buffer with 0xFF bytes first (ContextOptions::poison_device_memory).
    virtual std::shared_ptr<void> allocate_device(size_t bytes, bool poison) {
        (void)bytes, (void)poison;
        return nullptr;
    }
    virtual std::shared_ptr<void> allocate_host(size_t bytes) {
        (void)bytes;
        return nullptr;
    }
    virtual void synchronize() {}
    // The queue this backend's kernels enqueue on when run from the calling thread (a cudaStream_t on
    // CUDA), for callers that add their own device work in order with a run. nullptr: none.
    virtual void* stream() { return nullptr; }
    // Device backends that can record the work a run enqueues (CUDA graphs): capture() calls
    // `enqueue` (which runs the kernels) while recording and returns the recording, or nullptr when
    // this backend cannot record (then the work was not done). replay() enqueues a recording again.
    // The runtime records the second run at a batch size and I/O memory (host or device buffers) (the
    // first one warms up), and replays it afterwards.
    virtual std::shared_ptr<void> capture(const std::function<void()>& enqueue) {
        (void)enqueue;
        return nullptr;
    }
    virtual void replay(const std::shared_ptr<void>& recording) { (void)recording; }
};

}  // namespace engine
