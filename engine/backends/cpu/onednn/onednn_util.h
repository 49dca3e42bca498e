// Shared machinery of the oneDNN kernels (internal to engine/backends/cpu/onednn).
//
// A value's storage is described by a TensorSpec: logical shape (at the plan's max batch), layout,
// storage dtype and the distance between samples in storage elements (larger than the sample size
// when the value is a channel slice of an in-place Concat output). make_md() turns a spec into a
// oneDNN memory descriptor at a given batch:
//   Plain      dims {N, C, H, W} (any rank), row-major strides, dim 0 at batch_stride
//   NHWC       strides {batch_stride, 1, W*C, C}
//   Blocked16  nChw16c with the N stride replaced by batch_stride
// (with N = 1 the dense stride is stated instead: it is never used, and oneDNN then sees dense memory).
//
// PrimitiveKernel runs a short sequence of oneDNN primitives. Subclasses describe, per batch size,
// the primitives and where each argument's buffer comes from (a node input or output, the
// workspace, or memory the kernel owns); the base class builds that once per batch (the max batch
// at creation, others on first use), binds the run's pointers and executes through the C API, so
// a steady-state run allocates nothing. A kernel touching a strided view (a slice of an in-place
// Concat output) runs batch-1 primitives once per sample: with one sample the view is dense for
// oneDNN (make_md), which keeps its optimized implementations.
#pragma once

#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "engine/backends/kernel.h"
#include "engine/ir/graph.h"

namespace engine::onednn {

// The process-wide CPU engine.
const dnnl::engine& cpu_engine();
// The oneDNN ISA in use ("avx512_core_amx", "avx2", ...; DNNL_MAX_CPU_ISA can lower it).
std::string cpu_isa_name();
// Whether oneDNN runs BF16 natively here (AVX512-BF16 or AMX).
bool cpu_has_bf16();
// Whether oneDNN runs INT8 convolutions natively here (AVX512-VNNI, AVX-VNNI or AMX; the BF16 ISAs
// include VNNI). Below that, oneDNN emulates s8 x s8 with 16-bit multiply-adds and halves the
// weights to keep them from saturating: a bit of weight precision lost (docs/int8.md).
bool cpu_has_int8();
// Whether oneDNN runs AVX-512 kernels here (16 floats a register: the native width of the Blocked16
// layout; below it, oneDNN's convolutions on nChw16c data fall back to slow generic code).
bool cpu_has_avx512_core();
// Sets the OpenMP thread count for primitives created and run by this thread (0: all cores).
void set_threads(int threads);

dnnl::memory::data_type to_dnnl(DataType dt);  // F32, BF16, I8; throws engine::Error otherwise

struct TensorSpec {
    Shape shape;  // logical, at the plan's max batch
    bool batched = false;
    Layout layout = Layout::Plain;
    DataType dtype = DataType::F32;  // storage type
    int64_t batch_stride = 0;        // storage elements between samples
    float amax = 0;                  // Value::amax: an I8 value holds x * 127 / amax
};

// The factor from a value's stored numbers to real ones: amax / 127 for I8 storage, else 1.
float real_scale(const TensorSpec& s);

// The spec of runtime value v as the builder stored it: layout, storage dtype, and the batch stride
// (a channel slice of an in-place Concat output has the output's sample size as stride).
TensorSpec spec_of(const Graph& g, ValueId v);
// The spec of constant value v as stored in the plan (Plain, its own dtype, dense).
TensorSpec constant_spec(const Graph& g, ValueId v);
// Memory descriptor of the spec with dim 0 set to `batch` when the spec is batched.
dnnl::memory::desc make_md(const TensorSpec& s, int64_t batch);

// Where a primitive argument's memory comes from at run time.
enum class ArgSource : uint8_t { Input, Output, Workspace, Fixed };

struct PrimitiveArg {
    int id = 0;  // DNNL_ARG_*
    ArgSource source = ArgSource::Fixed;
    size_t index = 0;       // input/output slot
    dnnl::memory::desc md;  // the memory as the primitive sees it
    void* fixed = nullptr;  // ArgSource::Fixed: packed weights, bias, owned buffers
};

struct PrimitiveStep {
    dnnl::primitive primitive;
    std::vector<PrimitiveArg> args;
};

// The primitives of one batch size, ready to run.
struct PrimitivePlan {
    std::vector<PrimitiveStep> steps;
    size_t scratchpad_bytes = 0;               // largest user scratchpad of the steps
    std::vector<std::shared_ptr<void>> owned;  // buffers Fixed args point into (reordered weights)
};

// Whether a batched spec is a strided view (batch stride larger than its own storage sample).
bool has_strided_view(const std::vector<TensorSpec>& specs);

// Primitive attributes every kernel uses: user scratchpad (the runtime's workspace).
dnnl::primitive_attr base_attr();
// Adds a scratchpad argument for pd to the step (when it needs one) and raises plan.scratchpad_bytes.
void add_scratchpad(PrimitivePlan& plan, PrimitiveStep& step, const dnnl::primitive_desc_base& pd);
// Memory of `bytes` bytes, 64-byte aligned, owned by plan (zero-filled).
void* own_buffer(PrimitivePlan& plan, size_t bytes);

class PrimitiveKernel : public Kernel {
  public:
    ~PrimitiveKernel() override;
    size_t workspace_bytes(int max_batch) const override;
    void run(const KernelArgs& args) override;

  protected:
    // ins/outs: specs of the node's inputs and outputs (constants included, as constant_spec).
    PrimitiveKernel(std::string name, std::vector<TensorSpec> ins, std::vector<TensorSpec> outs,
                    int max_batch);
    // Builds the primitives for `batch` (1..max batch). Called once per batch size; may throw.
    virtual PrimitivePlan build(int batch) = 0;
    // Builds the max-batch plan now (subclasses call it at the end of their constructor), so
    // problems surface at load and workspace_bytes() is known.
    void build_max_batch();
    // The batch build() is called with for a run at `batch`: `batch`, or 1 when an input or output is
    // a strided view (a slice of an in-place Concat output) -- oneDNN's optimized implementations
    // take only dense memory, so such a kernel runs its batch-1 primitives once per sample.
    int primitive_batch(int batch) const;

    const std::string& name() const { return name_; }
    const TensorSpec& in(size_t i) const { return ins_.at(i); }
    const TensorSpec& out(size_t i) const { return outs_.at(i); }
    size_t num_inputs() const { return ins_.size(); }
    dnnl::memory::desc in_md(size_t i, int batch) const { return make_md(ins_.at(i), batch); }
    dnnl::memory::desc out_md(size_t i, int batch) const { return make_md(outs_.at(i), batch); }
    int max_batch() const { return max_batch_; }

  private:
    struct Bound;
    struct Instance;
    Instance& instance(const KernelArgs& args);
    Instance make_instance(int batch);

    std::string name_;
    std::vector<TensorSpec> ins_, outs_;
    int max_batch_;
    size_t reserved_ = 0;  // workspace the runtime reserves: the max-batch scratchpad
    std::vector<std::unique_ptr<Instance>> instances_;  // index: batch
};

// A PrimitiveKernel whose primitives come from a function of (batch, input mds, output mds): the
// single-primitive ops (pool, resize, concat, eltwise, binary, reorder).
using BuildFn = std::function<PrimitivePlan(int batch, const std::vector<dnnl::memory::desc>& ins,
                                            const std::vector<dnnl::memory::desc>& outs)>;
std::unique_ptr<Kernel> make_fn_kernel(const Graph& g, NodeId n, BuildFn build);

// One step running `pd`'s primitive on the given args, with its scratchpad, appended to plan.
template <typename Primitive, typename Pd>
void add_step(PrimitivePlan& plan, const Pd& pd, std::vector<PrimitiveArg> args) {
    PrimitiveStep step{Primitive(pd), std::move(args)};
    add_scratchpad(plan, step, pd);
    plan.steps.push_back(std::move(step));
}

// Eltwise algorithm and alpha/beta of an activation (kind != None).
struct EltwiseAlg {
    dnnl::algorithm alg;
    float alpha = 0.f;
    float beta = 0.f;
};
EltwiseAlg eltwise_of(const Act& act);
// Appends `act` as an eltwise post-op (nothing for ActKind::None).
void append_act(dnnl::post_ops& po, const Act& act);
// Whether every ActKind of `act` maps to a oneDNN eltwise algorithm.
bool act_supported(const Act& act);

// "node 'name' [Op]" for messages.
std::string node_label(const Graph& g, NodeId n);

}  // namespace engine::onednn
