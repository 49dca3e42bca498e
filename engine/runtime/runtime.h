// Runtime: Plan -> Engine (weights, kernels' packed data, memory plan) -> ExecutionContext
// (activation arena, kernels, I/O buffers), in TensorRT's shape.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/plan/plan.h"

namespace engine {

class ExecutionContext;
struct EngineImpl;

// Options of one ExecutionContext (Engine::create_context).
struct ContextOptions {
    int threads = 0;  // threads of the host backends' kernels (0: all cores)
    // Device backends that can record a run (CUDA graphs) replay it from the third run on (see
    // Backend::capture). false: the kernels are launched on every run (per-layer profiles of the
    // launches, comparisons).
    bool device_graphs = true;
    // Fill every device buffer the context allocates (activation arena, workspace, device I/O) with
    // 0xFF bytes (NaN in F16 and F32) first, so a kernel that reads memory no kernel wrote gives NaNs a
    // test sees. For tests (scripts/gpu/run.sh's poisoned-arena stage); costs one memset per buffer.
    bool poison_device_memory = false;
};

class Engine {
  public:
    // Validates that this machine can run the plan (device signature, engine version); throws
    // engine::Error saying what differs.
    static std::shared_ptr<Engine> load(const Plan& plan);
    ~Engine();

    const PlanInfo& info() const;
    int max_batch() const;
    std::unique_ptr<ExecutionContext> create_context(const ContextOptions& options) const;
    std::unique_ptr<ExecutionContext> create_context(int threads = 0) const;  // ContextOptions{threads}

    const EngineImpl& impl() const { return *impl_; }

  private:
    explicit Engine(std::unique_ptr<EngineImpl> impl);
    std::unique_ptr<EngineImpl> impl_;
};

struct LayerTiming {
    std::string name;
    std::string op;
    std::string backend;
    double total_ms = 0;  // summed over profiled runs
    int runs = 0;
};

struct ContextImpl;

// Where run() reads the graph inputs and writes the graph outputs (see ExecutionContext::run).
enum class IoMemory {
    Host,    // the context's host buffers: input(i) / output(i)
    Device,  // the device buffers device_input(i) / device_output(i), where a context has them
};

class ExecutionContext {
  public:
    ~ExecutionContext();
    size_t num_inputs() const;
    size_t num_outputs() const;
    // Dense FP32 buffers owned by the context, sized for max batch; sample b starts at
    // b * numel(shape[1:]).
    float* input(size_t i);
    const float* output(size_t i) const;
    Shape input_shape(size_t i, int batch) const;
    Shape output_shape(size_t i, int batch) const;
    // Runs one inference on the first `batch` samples of the inputs and returns when it is done.
    // Throws engine::Error when batch is out of range (or not max_batch for a fixed-batch plan).
    // IoMemory::Device: every input i and output i whose device_input(i) / device_output(i) is not
    // null is read / written there instead of in the host buffer (the host copies are skipped);
    // the others stay in host memory.
    void run(int batch, IoMemory io = IoMemory::Host);

    // Device I/O (plans with a device backend, e.g. CUDA). A caller that prepares the inputs and
    // consumes the outputs on the device itself hands them over in device memory: dense FP32 buffers
    // laid out as input(i) / output(i) (plain NCHW..., sample b at b * numel(shape[1:])), sized for
    // max batch, owned by the context and stable for its life. nullptr when no device backend is at
    // that boundary (a host backend reads the input or writes the output, or the plan has no device
    // backend, or the output is a constant). The device memory is allocated on the first call.
    void* device_input(size_t i);
    const void* device_output(size_t i);
    // The device queue run() enqueues its work on, for the caller's own device work around a run (on
    // CUDA: a cudaStream_t, the calling thread's per-thread stream: use it from the thread that calls
    // run()). nullptr without a device backend. Work the caller enqueues there before run() is done
    // before the run reads its inputs; run() waits for its own work, so outputs are ready on return.
    void* stream() const;
    // Convenience for tests and tools: copies inputs in, runs, copies outputs out.
    std::vector<Tensor> run(const std::vector<Tensor>& inputs);

    void set_profiling(bool on);
    const std::vector<LayerTiming>& profile() const;
    size_t arena_bytes() const;

  private:
    friend class Engine;
    explicit ExecutionContext(std::unique_ptr<ContextImpl> impl);
    std::unique_ptr<ContextImpl> impl_;
};

}  // namespace engine
