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

class Engine {
public:
    // Validates that this machine can run the plan (device signature, engine version); throws
    // engine::Error saying what differs.
    static std::shared_ptr<Engine> load(const Plan& plan);
    ~Engine();

    const PlanInfo& info() const;
    int max_batch() const;
    std::unique_ptr<ExecutionContext> create_context(int threads = 0) const;

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
    // Runs one inference on the first `batch` samples of the inputs. Throws engine::Error when batch
    // is out of range (or not max_batch for a fixed-batch plan).
    void run(int batch);
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
