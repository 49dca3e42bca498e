#include "engine/runtime/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"
#include "engine/runtime/backend_registry.h"

namespace engine {

// What an Engine and its contexts share. Contexts hold it too, so a context stays valid after the
// Engine object is gone.
struct EngineState {
    PlanContents plan;
    std::map<std::string, std::unique_ptr<Backend>> backends;
    std::vector<NodeId> exec;  // nodes that run a kernel, in execution order
};

struct EngineImpl {
    std::shared_ptr<EngineState> state;
};

namespace {

Shape shape_at_batch(const Value& v, int batch) {
    Shape s = v.desc.shape;
    if (v.batched && !s.empty()) s[0] = batch;
    return s;
}

// Kernel arguments for every executed node at one batch size: built on the first run at that batch,
// reused by later runs (which then allocate nothing).
struct BatchArgs {
    std::vector<TensorRef> refs;
    std::vector<KernelArgs> args;     // one per executed node
    int runs = 0;                     // device plans: runs at this batch so far
    std::shared_ptr<void> recording;  // device plans: the recorded run (Backend::capture)
    bool capture_failed = false;
};

}  // namespace

struct ContextImpl {
    std::shared_ptr<const EngineState> engine;
    ContextOptions options;
    int threads = 0;
    Tensor arena;
    Tensor workspace;
    // A device plan (its one backend is a device backend, Backend::is_device: the builder never mixes
    // it with a host backend): that backend, the device arena and workspace, the pinned host arena when
    // the backend gives one (then `arena` is empty), and which values live on the device.
    Backend* device = nullptr;
    std::shared_ptr<void> device_arena, device_workspace, host_arena;
    std::vector<char> on_device;  // indexed by ValueId
    bool record = false;          // device plans: runs can be recorded (Backend::capture)
    // Device I/O (ExecutionContext::device_input/output): the host values (graph inputs and outputs,
    // and values sharing their slot) that no constant fills move, in IoMemory::Device runs, to the
    // same offset of `io_mirror`, a device buffer of `io_mirror_end` bytes (allocated on first use).
    std::vector<char> io_redirect;  // indexed by ValueId
    size_t io_mirror_end = 0;
    std::shared_ptr<void> io_mirror;
    std::vector<std::unique_ptr<Kernel>> kernels;     // parallel to engine->exec
    std::vector<std::unique_ptr<BatchArgs>> batches;  // index: io * (max_batch + 1) + batch size
    bool profiling = false;
    std::vector<LayerTiming> profile;

    std::byte* arena_at(size_t offset) {
        return static_cast<std::byte*>(host_arena ? host_arena.get() : arena.data()) + offset;
    }
    std::byte* device_at(size_t offset) { return static_cast<std::byte*>(device_arena.get()) + offset; }

    std::byte* mirror() {
        if (!io_mirror) {
            io_mirror = device->allocate_device(io_mirror_end, options.poison_device_memory);
            ENGINE_CHECK(io_mirror != nullptr, "backend ", device->name(), " could not allocate ",
                         io_mirror_end, " bytes of device input/output buffers");
        }
        return static_cast<std::byte*>(io_mirror.get());
    }

    TensorRef ref(ValueId v, int batch, bool device_io) {
        const Graph& g = engine->plan.graph;
        const Value& val = g.value(v);
        TensorRef r;
        const ValueLocation& loc = engine->plan.memory.values[v];
        if (val.constant && !loc.valid) {
            r.data = const_cast<void*>(val.constant->data());
            r.dtype = val.constant->dtype();
            r.shape = val.constant->shape();
            r.batch_stride = shape_sample_numel(r.shape);
            return r;
        }
        if (!on_device.empty() && on_device[v])
            r.data = device_at(loc.offset);
        else if (device_io && io_redirect[v])
            r.data = mirror() + loc.offset;
        else
            r.data = arena_at(loc.offset);
        r.dtype = val.constant ? val.desc.dtype : val.storage_dtype;
        r.shape = shape_at_batch(val, batch);
        r.batch_stride = loc.batch_stride;
        return r;
    }

    BatchArgs& args_for(int batch, bool device_io) {
        const size_t max_batch = static_cast<size_t>(engine->plan.info.max_batch);
        auto& slot = batches[(device_io ? max_batch + 1 : 0) + static_cast<size_t>(batch)];
        if (slot) return *slot;
        const Graph& g = engine->plan.graph;
        auto ba = std::make_unique<BatchArgs>();
        size_t total = 0;
        for (NodeId n : engine->exec) total += g.node(n).inputs.size() + g.node(n).outputs.size();
        ba->refs.reserve(total);
        for (NodeId n : engine->exec) {
            for (ValueId v : g.node(n).inputs) ba->refs.push_back(ref(v, batch, device_io));
            for (ValueId v : g.node(n).outputs) ba->refs.push_back(ref(v, batch, device_io));
        }
        size_t pos = 0;
        for (NodeId n : engine->exec) {
            const size_t ni = g.node(n).inputs.size();
            const size_t no = g.node(n).outputs.size();
            KernelArgs a;
            a.inputs = std::span<const TensorRef>(ba->refs.data() + pos, ni);
            a.outputs = std::span<const TensorRef>(ba->refs.data() + pos + ni, no);
            a.workspace = device ? device_workspace.get() : workspace.data();
            a.batch = batch;
            ba->args.push_back(a);
            pos += ni + no;
        }
        slot = std::move(ba);
        return *slot;
    }
};

namespace {

// Host or device memory for every runtime value, and the arenas. A host plan: one host arena, as
// planned. A device plan: a value lives on the device unless it is a graph input or output (or shares
// its slot with one); the device arena is the planned size, the host arena only as large as the host
// values reach.
void place_values(ContextImpl& c) {
    const EngineState& e = *c.engine;
    const Graph& g = e.plan.graph;
    const MemoryPlan& mp = e.plan.memory;
    if (c.device == nullptr) {
        c.arena = Tensor(DataType::U8, Shape{static_cast<int64_t>(mp.arena_bytes)});
        return;
    }
    // Slots of graph inputs and outputs stay in host memory; device I/O mirrors those no constant fills.
    std::vector<char> root_host(g.num_values(), 0), root_constant(g.num_values(), 0);
    for (ValueId v = 0; v < g.num_values(); ++v)
        if (mp.values[v].valid && g.value(v).constant) root_constant[mp.values[v].root] = 1;
    for (ValueId v : g.inputs())
        if (mp.values[v].valid) root_host[mp.values[v].root] = 1;
    for (ValueId v : g.outputs())
        if (mp.values[v].valid) root_host[mp.values[v].root] = 1;
    c.on_device.assign(g.num_values(), 0);
    c.io_redirect.assign(g.num_values(), 0);
    size_t host_end = 0;
    for (ValueId v = 0; v < g.num_values(); ++v) {
        const ValueLocation& loc = mp.values[v];
        if (!loc.valid) continue;
        if (!root_host[loc.root]) {
            c.on_device[v] = 1;
            continue;
        }
        const Value& val = g.value(v);
        const DataType dt = val.constant ? val.desc.dtype : val.storage_dtype;
        const size_t end = loc.offset + checked_bytes(located_extent(val, loc), dtype_size(dt), val.name);
        host_end = std::max(host_end, end);
        if (!root_constant[loc.root]) {
            c.io_redirect[v] = 1;
            c.io_mirror_end = std::max(c.io_mirror_end, end);
        }
    }
    c.device_arena =
        c.device->allocate_device(std::max<size_t>(mp.arena_bytes, 1), c.options.poison_device_memory);
    ENGINE_CHECK(c.device_arena != nullptr, "backend ", c.device->name(),
                 " could not allocate a device arena of ", mp.arena_bytes, " bytes");
    host_end = std::max<size_t>(host_end, 1);
    c.host_arena = c.device->allocate_host(host_end);
    if (c.host_arena == nullptr) c.arena = Tensor(DataType::U8, Shape{static_cast<int64_t>(host_end)});
}

}  // namespace

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::load(const Plan& plan) {
    auto bytes = plan.shared_bytes();
    ENGINE_CHECK(bytes != nullptr && !bytes->empty(), "cannot load an empty plan (never built or loaded)");
    const PlanInfo& pi = plan.info();
    const std::string source = pi.model_name.empty() ? std::string("<plan>") : pi.model_name;
    ENGINE_CHECK(pi.engine_version == engine_version(), "plan '", source, "' was built by rtdet ",
                 pi.engine_version, ", this is rtdet ", engine_version(),
                 ": rebuild the plan with `rtdet build`");

    // Weights are used in place (zero copy) when the plan's buffer is 64-byte aligned, as the blob
    // offsets within the file are; otherwise the engine keeps one aligned copy.
    std::shared_ptr<const void> owner = bytes;
    std::span<const std::byte> view(*bytes);
    if (reinterpret_cast<uintptr_t>(bytes->data()) % kPlanBlobAlignment != 0) {
        auto copy = std::make_shared<Tensor>(DataType::U8, Shape{static_cast<int64_t>(bytes->size())});
        std::memcpy(copy->data(), bytes->data(), bytes->size());
        view = std::span<const std::byte>(static_cast<const std::byte*>(copy->data()), bytes->size());
        owner = std::shared_ptr<const void>(copy, copy->data());
    }

    auto state = std::make_shared<EngineState>();
    state->plan = read_plan(view, owner, source, /*verify_checksum=*/false);

    for (const BackendRecord& r : state->plan.backends) {
        std::unique_ptr<Backend> b;
        try {
            b = make_backend(r.name);
        } catch (const Error& e) {
            ENGINE_THROW("plan '", source, "' was built for '", r.device_signature,
                         "', which this machine cannot run (", e.what(),
                         "): rebuild the plan with `rtdet build`");
        }
        ENGINE_CHECK(b != nullptr, "plan '", source, "' needs backend '", r.name,
                     "', which this build of rtdet does not have: rebuild the plan with `rtdet build`");
        const std::string here = b->device_signature();
        ENGINE_CHECK(here == r.device_signature, "plan '", source, "' was built for '", r.device_signature,
                     "', this machine is '", here, "' (backend ", r.name,
                     "): rebuild the plan with `rtdet build`");
        state->backends[r.name] = std::move(b);
    }
    // A device backend runs the whole plan (the builder's devices: "cuda" alone, or host backends).
    for (const auto& [name, b] : state->backends)
        ENGINE_CHECK(!b->is_device() || state->backends.size() == 1, "plan '", source,
                     "' mixes device backend '", name,
                     "' with other backends, which rtdet does not run: rebuild the plan with `rtdet build`");
    for (NodeId n : state->plan.order)
        if (!state->plan.memory.skip[n]) state->exec.push_back(n);
    auto impl = std::make_unique<EngineImpl>();
    impl->state = std::move(state);
    return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

const PlanInfo& Engine::info() const { return impl_->state->plan.info; }
int Engine::max_batch() const { return impl_->state->plan.info.max_batch; }

std::unique_ptr<ExecutionContext> Engine::create_context(int threads) const {
    ContextOptions options;
    options.threads = threads;
    return create_context(options);
}

std::unique_ptr<ExecutionContext> Engine::create_context(const ContextOptions& options) const {
    const EngineState& e = *impl_->state;
    const Graph& g = e.plan.graph;
    auto c = std::make_unique<ContextImpl>();
    c->engine = impl_->state;
    c->options = options;
    c->threads = options.threads;
    for (const auto& entry : e.backends)
        if (entry.second->is_device()) c->device = entry.second.get();
    size_t workspace = 0, device_workspace = 0;
    for (NodeId n : e.exec) {
        const Node& node = g.node(n);
        const std::vector<Tensor>& packed = e.plan.packed[n];
        try {
            c->kernels.push_back(e.backends.at(node.backend)->create_kernel(g, n, packed));
        } catch (const Error& err) {
            ENGINE_THROW("cannot create the kernel of node '", node.name, "' [", op_type_name(node.op),
                         "] on ", node.backend, ": ", err.what());
        }
        ENGINE_CHECK(c->kernels.back() != nullptr, "backend ", node.backend, " gave no kernel for node '",
                     node.name, "'");
        size_t& ws = c->device ? device_workspace : workspace;
        ws = std::max(ws, c->kernels.back()->workspace_bytes(e.plan.info.max_batch));
        c->profile.push_back({node.name, std::string(op_type_name(node.op)), node.backend, 0.0, 0});
    }
    place_values(*c);
    c->record = c->device != nullptr && !c->kernels.empty() && options.device_graphs;
    c->workspace = Tensor(DataType::U8, Shape{static_cast<int64_t>(workspace)});
    if (c->device != nullptr && device_workspace > 0) {
        c->device_workspace = c->device->allocate_device(device_workspace, options.poison_device_memory);
        ENGINE_CHECK(c->device_workspace != nullptr, "backend ", c->device->name(), " could not allocate ",
                     device_workspace, " bytes of device workspace");
    }
    c->batches.resize(2 * (static_cast<size_t>(e.plan.info.max_batch) + 1));
    // Constant graph outputs: written once.
    for (ValueId v : g.outputs()) {
        const Value& val = g.value(v);
        const ValueLocation& loc = e.plan.memory.values[v];
        if (val.constant && loc.valid && val.constant->bytes() > 0)
            std::memcpy(c->arena_at(loc.offset), val.constant->data(), val.constant->bytes());
    }
    return std::unique_ptr<ExecutionContext>(new ExecutionContext(std::move(c)));
}

ExecutionContext::ExecutionContext(std::unique_ptr<ContextImpl> impl) : impl_(std::move(impl)) {}
ExecutionContext::~ExecutionContext() = default;

size_t ExecutionContext::num_inputs() const { return impl_->engine->plan.graph.inputs().size(); }
size_t ExecutionContext::num_outputs() const { return impl_->engine->plan.graph.outputs().size(); }

float* ExecutionContext::input(size_t i) {
    const auto& p = impl_->engine->plan;
    ENGINE_CHECK(i < p.graph.inputs().size(), "input index ", i, " out of range (", p.graph.inputs().size(),
                 " inputs)");
    return reinterpret_cast<float*>(impl_->arena_at(p.memory.values[p.graph.inputs()[i]].offset));
}

void* ExecutionContext::device_input(size_t i) {
    const auto& p = impl_->engine->plan;
    ENGINE_CHECK(i < p.graph.inputs().size(), "input index ", i, " out of range (", p.graph.inputs().size(),
                 " inputs)");
    const ValueId v = p.graph.inputs()[i];
    if (impl_->io_redirect.empty() || !impl_->io_redirect[v]) return nullptr;
    return impl_->mirror() + p.memory.values[v].offset;
}

const void* ExecutionContext::device_output(size_t i) {
    const auto& p = impl_->engine->plan;
    ENGINE_CHECK(i < p.graph.outputs().size(), "output index ", i, " out of range (",
                 p.graph.outputs().size(), " outputs)");
    const ValueId v = p.graph.outputs()[i];
    if (impl_->io_redirect.empty() || !impl_->io_redirect[v]) return nullptr;
    return impl_->mirror() + p.memory.values[v].offset;
}

void* ExecutionContext::stream() const {
    return impl_->device == nullptr ? nullptr : impl_->device->stream();
}

const float* ExecutionContext::output(size_t i) const {
    const auto& p = impl_->engine->plan;
    ENGINE_CHECK(i < p.graph.outputs().size(), "output index ", i, " out of range (",
                 p.graph.outputs().size(), " outputs)");
    return reinterpret_cast<const float*>(impl_->arena_at(p.memory.values[p.graph.outputs()[i]].offset));
}

Shape ExecutionContext::input_shape(size_t i, int batch) const {
    const auto& g = impl_->engine->plan.graph;
    ENGINE_CHECK(i < g.inputs().size(), "input index ", i, " out of range (", g.inputs().size(), " inputs)");
    return shape_at_batch(g.value(g.inputs()[i]), batch);
}

Shape ExecutionContext::output_shape(size_t i, int batch) const {
    const auto& g = impl_->engine->plan.graph;
    ENGINE_CHECK(i < g.outputs().size(), "output index ", i, " out of range (", g.outputs().size(),
                 " outputs)");
    return shape_at_batch(g.value(g.outputs()[i]), batch);
}

void ExecutionContext::run(int batch, IoMemory io) {
    const EngineState& e = *impl_->engine;
    const PlanInfo& info = e.plan.info;
    ENGINE_CHECK(batch >= 1 && batch <= info.max_batch, "batch ", batch,
                 " out of range: this plan runs batch 1..", info.max_batch);
    ENGINE_CHECK(!info.fixed_batch || batch == info.max_batch, "this plan runs only at its fixed batch ",
                 info.max_batch, " (got ", batch, "): the model's shapes do not follow the batch");
    const bool device_io = io == IoMemory::Device;
    ENGINE_CHECK(!device_io || impl_->device != nullptr,
                 "run with device inputs/outputs: this plan has no device backend");
    BatchArgs& ba = impl_->args_for(batch, device_io);
    // Thread counts are per calling thread (OpenMP): set them on every run, it costs nothing.
    for (const auto& entry : e.backends) entry.second->set_threads(impl_->threads);
    Backend* dev = impl_->device;
    if (!impl_->profiling) {
        const auto enqueue = [&] {
            for (size_t i = 0; i < impl_->kernels.size(); ++i) impl_->kernels[i]->run(ba.args[i]);
        };
        if (dev == nullptr) {
            enqueue();
            return;
        }
        // Device kernels only enqueue. Record the second run at this batch, replay it later.
        if (!impl_->record) {
            enqueue();
        } else if (ba.recording) {
            dev->replay(ba.recording);
        } else if (ba.runs >= 1 && !ba.capture_failed) {
            ba.recording = dev->capture(enqueue);
            if (ba.recording) {
                dev->replay(ba.recording);
            } else {
                ba.capture_failed = true;
                enqueue();
            }
        } else {
            enqueue();
        }
        ++ba.runs;
        dev->synchronize();
        return;
    }
    using Clock = std::chrono::steady_clock;
    for (size_t i = 0; i < impl_->kernels.size(); ++i) {
        const auto t0 = Clock::now();
        impl_->kernels[i]->run(ba.args[i]);
        if (dev) dev->synchronize();
        const auto t1 = Clock::now();
        LayerTiming& t = impl_->profile[i];
        t.total_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
        ++t.runs;
    }
}

std::vector<Tensor> ExecutionContext::run(const std::vector<Tensor>& inputs) {
    const EngineState& e = *impl_->engine;
    const Graph& g = e.plan.graph;
    const PlanInfo& info = e.plan.info;
    ENGINE_CHECK(inputs.size() == g.inputs().size(), "expected ", g.inputs().size(), " inputs, got ",
                 inputs.size());
    int batch = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Value& v = g.value(g.inputs()[i]);
        const Tensor& t = inputs[i];
        ENGINE_CHECK(t.dtype() == DataType::F32, "input '", v.name, "' must be f32, got ",
                     dtype_name(t.dtype()));
        const Shape& want = v.desc.shape;
        bool ok = t.shape().size() == want.size();
        for (size_t d = (v.batched ? 1 : 0); ok && d < want.size(); ++d) ok = t.shape()[d] == want[d];
        if (ok && v.batched) {
            const int64_t b = t.shape()[0];
            ok = b >= 1 && b <= info.max_batch && (batch == 0 || b == batch);
            if (ok) batch = static_cast<int>(b);
        }
        ENGINE_CHECK(
            ok, "input '", v.name, "' has shape ", shape_str(t.shape()), ", expected ", shape_str(want),
            v.batched ? concat(" with dim 0 (the batch, the same for every input) in 1..", info.max_batch)
                      : std::string());
    }
    if (batch == 0) batch = info.max_batch;
    for (size_t i = 0; i < inputs.size(); ++i) std::memcpy(input(i), inputs[i].data(), inputs[i].bytes());
    run(batch);
    std::vector<Tensor> outs;
    outs.reserve(num_outputs());
    for (size_t i = 0; i < num_outputs(); ++i) {
        const Shape s = output_shape(i, batch);
        outs.push_back(Tensor::from_bytes(DataType::F32, s, output(i),
                                          checked_bytes(shape_numel(s), sizeof(float), "output")));
    }
    return outs;
}

void ExecutionContext::set_profiling(bool on) { impl_->profiling = on; }
const std::vector<LayerTiming>& ExecutionContext::profile() const { return impl_->profile; }
size_t ExecutionContext::arena_bytes() const { return impl_->engine->plan.memory.arena_bytes; }

}  // namespace engine
