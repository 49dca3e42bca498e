// The "cuda" backend (cuda_backend.h) and the state its kernels share (cuda_kernels.h).
#include "engine/backends/cuda/cuda_backend.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/core/file_io.h"
#include "engine/core/log.h"

namespace engine {
namespace cuda {

// ---- shared helpers ----

std::string node_label(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    return concat("node '", node.name, "' [", op_type_name(node.op), "]");
}

bool storage_ok(DataType dt, bool i8) {
    return dt == DataType::F32 || dt == DataType::F16 || (i8 && dt == DataType::I8);
}

float real_scale(const Graph& g, NodeId n, ValueId v) {
    const Value& val = g.value(v);
    if (val.storage_dtype != DataType::I8) return 1.0f;
    ENGINE_CHECK(val.amax > 0 && std::isfinite(val.amax), "cuda: ", node_label(g, n), ": i8 value '",
                 val.name, "' has no calibrated range (amax ", val.amax, ")");
    return val.amax / 127.0f;
}

namespace {

// Wraps a kernel other than Reorder: the first time it sees a set of arguments, checks that every
// runtime operand is in device memory (the runtime keeps graph inputs and outputs and host backends'
// values on the host; only Reorder crosses, and the graph outputs a node writes itself,
// Backend::writes_plain_f32_output, its kernel copying them out, and the graph inputs a node reads
// itself, Backend::reads_plain_f32_input, its kernel copying them in), so a plan that would hand a kernel
// host memory fails with one clear line instead of an illegal address. Later runs with the same
// arguments cost one comparison.
class DeviceOperandCheck final : public Kernel {
  public:
    DeviceOperandCheck(const Graph& g, NodeId n, std::unique_ptr<Kernel> inner, std::vector<char> in_host_ok,
                       std::vector<char> out_host_ok)
        : inner_(std::move(inner)),
          label_(node_label(g, n)),
          in_host_ok_(std::move(in_host_ok)),
          out_host_ok_(std::move(out_host_ok)) {
        const Node& node = g.node(n);
        for (ValueId v : node.inputs) {
            in_runtime_.push_back(g.value(v).constant == nullptr ? 1 : 0);
            in_names_.push_back(g.value(v).name);
        }
        for (ValueId v : node.outputs) out_names_.push_back(g.value(v).name);
    }
    size_t workspace_bytes(int max_batch) const override { return inner_->workspace_bytes(max_batch); }
    void run(const KernelArgs& args) override {
        if (args.inputs.data() != seen_in_ || args.outputs.data() != seen_out_) {
            for (size_t i = 0; i < args.inputs.size() && i < in_runtime_.size(); ++i)
                if (in_runtime_[i] && (i >= in_host_ok_.size() || !in_host_ok_[i]))
                    check(args.inputs[i].data, in_names_[i]);
            for (size_t i = 0; i < args.outputs.size() && i < out_names_.size(); ++i)
                if (i >= out_host_ok_.size() || !out_host_ok_[i]) check(args.outputs[i].data, out_names_[i]);
            seen_in_ = args.inputs.data();
            seen_out_ = args.outputs.data();
        }
        inner_->run(args);
    }

  private:
    void check(const void* p, const std::string& name) const {
        ENGINE_CHECK(!is_host_pointer(p), "cuda: ", label_, ": value '", name,
                     "' is in host memory (a graph input/output or a host backend's value): only Reorder "
                     "nodes cross between host and device");
    }

    std::unique_ptr<Kernel> inner_;
    std::string label_;
    std::vector<char> in_runtime_;
    std::vector<std::string> in_names_, out_names_;
    std::vector<char> in_host_ok_, out_host_ok_;  // operands the kernel may find in host memory
    const TensorRef* seen_in_ = nullptr;
    const TensorRef* seen_out_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> with_device_check(const Graph& g, NodeId n, std::unique_ptr<Kernel> k,
                                          std::vector<char> host_ok_inputs,
                                          std::vector<char> host_ok_outputs) {
    return std::make_unique<DeviceOperandCheck>(g, n, std::move(k), std::move(host_ok_inputs),
                                                std::move(host_ok_outputs));
}

cudaStream_t kernel_stream() { return cudaStreamPerThread; }

void check_nhwc(const Graph& g, NodeId n, ValueId v, bool i8) {
    const Value& val = g.value(v);
    ENGINE_CHECK(val.desc.shape.size() != 4 || val.constant != nullptr || val.layout == Layout::NHWC,
                 "cuda: ", node_label(g, n), ": value '", val.name, "' is stored ", layout_name(val.layout),
                 "; the cuda backend keeps 4-D activations NHWC (build with --layout auto or nhwc)");
    ENGINE_CHECK(val.constant != nullptr || storage_ok(val.storage_dtype, i8), "cuda: ", node_label(g, n),
                 ": value '", val.name, "' is stored as ", dtype_name(val.storage_dtype),
                 i8 ? " (f32/f16/i8 only)" : " (f32/f16 only)");
}

// ---- CudaState ----

CudaState::CudaState() : info_(device_info()), signature_(device_signature(info_)) {}

cudnnHandle_t CudaState::cudnn(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cudnn_.find(stream);
    if (it == cudnn_.end()) {
        CudnnHandle h;
        CUDNN_CHECK(cudnnSetStream(h.get(), stream));
        it = cudnn_.emplace(stream, std::move(h)).first;
    }
    return it->second.get();
}

std::shared_ptr<DeviceBuffer> CudaState::device_copy(const Tensor& t) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = copies_[t.data()];
    if (!slot || slot->bytes() != t.bytes()) {
        slot = std::make_shared<DeviceBuffer>(t.bytes());
        slot->upload(t.data(), t.bytes());
    }
    return slot;
}

bool CudaState::cache_lookup(const std::string& path, const std::string& key, std::string* value) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cache_loaded_ || path != cache_path_) {
        cache_.clear();
        cache_path_ = path;
        cache_loaded_ = true;
        if (!path.empty()) {
            std::ifstream in(path);
            std::string line;
            while (std::getline(in, line)) {
                const size_t tab = line.find('\t');
                if (tab != std::string::npos) cache_[line.substr(0, tab)] = line.substr(tab + 1);
            }
            if (!cache_.empty())
                engine::logger().debug("cuda: timing cache '{}': {} entries", path, cache_.size());
        }
    }
    auto it = cache_.find(key);
    if (it == cache_.end()) return false;
    *value = it->second;
    return true;
}

void CudaState::cache_store(const std::string& path, const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (path != cache_path_) {
        cache_.clear();
        cache_path_ = path;
    }
    cache_[key] = value;
    if (path.empty()) return;
    // Rewritten whole through a temporary file: a crash never leaves a half-written cache.
    std::ostringstream out;
    for (const auto& [k, v] : cache_) out << k << '\t' << v << '\n';
    write_file_whole(path, out.str(), "timing cache");
}

namespace {

class CudaBackend final : public Backend {
  public:
    CudaBackend() : state_(std::make_unique<CudaState>()) {}

    std::string_view name() const override { return "cuda"; }
    std::string device_signature() const override { return state_->signature(); }

    bool supports(const Graph& g, NodeId n, std::string* why) const override {
        const OpType op = g.node(n).op;
        if (op == OpType::Conv) return conv_supported(g, n, why);
        if (op == OpType::ConvPair) return conv_pair_supported(*state_, g, n, why);
        if (op == OpType::MaxPool) return pool_supported(g, n, why);
        if (op == OpType::Resize) return resize_supported(g, n, why);
        if (op == OpType::Concat) return concat_supported(g, n, why);
        if (op == OpType::Add || op == OpType::Mul) return binary_supported(g, n, why);
        if (op == OpType::Reorder) return reorder_supported(g, n, why);
        if (op_is_activation(op)) return act_supported(g, n, why);
        return reject(why, concat(op_type_name(op), " has no CUDA kernel"));
    }

    std::vector<size_t> packed_inputs(const Graph& g, NodeId n) const override {
        if (g.node(n).op == OpType::Conv) return {1, 2};
        if (g.node(n).op == OpType::ConvPair) return {1, 2, 3, 4};
        return {};
    }

    bool is_device() const override { return true; }

    std::shared_ptr<void> allocate_device(size_t bytes, bool poison) override {
        void* p = nullptr;
        CUDA_CHECK(cudaMalloc(&p, bytes));
        // poison (ContextOptions::poison_device_memory): every byte 0xFF (NaN in F16 and F32), so a
        // kernel that reads activation memory no kernel wrote gives NaNs the tests see (a check beside
        // compute-sanitizer's initcheck, which does not see the stores of some cuDNN kernels;
        // docs/reliability.md).
        if (poison) CUDA_CHECK(cudaMemset(p, 0xFF, bytes));
        return std::shared_ptr<void>(p, [](void* q) { (void)cudaFree(q); });
    }

    std::shared_ptr<void> allocate_host(size_t bytes) override {
        void* p = nullptr;
        CUDA_CHECK(cudaMallocHost(&p, bytes));
        return std::shared_ptr<void>(p, [](void* q) { (void)cudaFreeHost(q); });
    }

    void synchronize() override { CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread)); }

    // The kernels enqueue on the calling thread's per-thread stream (kernel_stream).
    void* stream() override { return static_cast<void*>(cudaStreamPerThread); }

    // A CUDA graph of the run, captured on the stream the kernels enqueue on. Any failure (an
    // operation that cannot be captured) gives nullptr: the runtime then runs the kernels directly.
    std::shared_ptr<void> capture(const std::function<void()>& enqueue) override {
        const cudaStream_t s = cudaStreamPerThread;
        if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
            (void)cudaGetLastError();
            return nullptr;
        }
        bool ok = true;
        try {
            enqueue();
        } catch (const Error& e) {
            engine::logger().debug("cuda: graph capture failed: {}", e.what());
            ok = false;
        }
        cudaGraph_t graph = nullptr;
        const cudaError_t end = cudaStreamEndCapture(s, &graph);
        if (!ok || end != cudaSuccess || graph == nullptr) {
            if (graph != nullptr) (void)cudaGraphDestroy(graph);
            (void)cudaGetLastError();
            engine::logger().debug("cuda: graph capture failed ({}): running the kernels directly",
                                   cudaGetErrorString(end));
            return nullptr;
        }
        cudaGraphExec_t exec = nullptr;
        const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
        (void)cudaGraphDestroy(graph);
        if (inst != cudaSuccess) {
            (void)cudaGetLastError();
            engine::logger().debug("cuda: graph instantiation failed ({})", cudaGetErrorString(inst));
            return nullptr;
        }
        return std::shared_ptr<void>(
            exec, [](void* p) { (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(p)); });
    }

    void replay(const std::shared_ptr<void>& recording) override {
        CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(recording.get()), cudaStreamPerThread));
    }

    bool supports_precision(const Graph& g, NodeId n, DataType dt) const override {
        if (dt == DataType::F32) return true;
        if (dt == DataType::I8) {
            // Conv: the INT8 conv kernels (conv_int8.cpp). MaxPool, nearest Resize (the IR's only
            // Resize) and Concat move s8 values as they are (assign_int8 gives their inputs and outputs
            // one scale); Reorder quantizes and dequantizes.
            const OpType op = g.node(n).op;
            if (op == OpType::Conv) return conv_int8_supported(*state_, g, n);
            if (op == OpType::ConvPair) return conv_pair_supported(*state_, g, n, nullptr);
            return (op == OpType::MaxPool || op == OpType::Resize || op == OpType::Concat ||
                    op == OpType::Reorder) &&
                   supports(g, n, nullptr);
        }
        return dt == DataType::F16 && supports(g, n, nullptr);
    }

    std::vector<Layout> activation_layouts() const override { return {Layout::NHWC}; }

    // INT8 convs on our tensor-core kernel write a graph output NCHW F32 themselves (conv_int8.cpp):
    // YOLO's heads, whose Reorders from NHWC took 0.24 ms of YOLOv3-416's ~7 at batch 64 on an H100.
    bool writes_plain_f32_output(const Graph& g, NodeId n, ValueId v) const override {
        const Node& node = g.node(n);
        return node.op == OpType::Conv && node.precision == DataType::I8 &&
               conv_int8_writes_plain(*state_, g, n, v);
    }

    bool reads_plain_f32_input(const Graph& g, NodeId n, size_t slot) const override {
        const Node& node = g.node(n);
        if (node.op == OpType::ConvPair) return slot == 0 && conv_pair_reads_image(g, n);  // the stem
        return node.op == OpType::Conv && node.precision == DataType::I8 &&
               conv_int8_reads_plain(*state_, g, n, slot);
    }

    // YOLO's stem (the image's 3x3 conv to 32 channels, then 3x3 stride 2 to 64) and its first residual
    // blocks (1x1 from 64 channels to 32, 3x3 back to 64 plus the block's input) in INT8, each as one
    // kernel (conv_pair_fusable): their 32-channel middle tensors (354 MB and 89 MB at batch 64 and
    // 416x416) never written.
    bool fuses_conv_pair(const Graph& g, NodeId first, NodeId second) const override {
        return conv_pair_fusable(*state_, g, first, second);
    }

    std::vector<Tensor> pack(const Graph& g, NodeId n, const PackContext& ctx) override {
        if (g.node(n).op == OpType::Conv) return conv_pack(*state_, g, n, ctx);
        if (g.node(n).op == OpType::ConvPair) return conv_pair_pack(*state_, g, n, ctx);
        return {};
    }

    std::unique_ptr<Kernel> create_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) override {
        const OpType op = g.node(n).op;
        if (op == OpType::Reorder) return make_reorder_kernel(g, n);
        // Graph outputs the node writes Plain F32 itself, and graph inputs it reads so, may be in host
        // memory: its kernel copies them out or in.
        std::vector<char> in_ok, out_ok;
        for (size_t i = 0; i < g.node(n).inputs.size(); ++i) {
            const Value& v = g.value(g.node(n).inputs[i]);
            in_ok.push_back(
                v.is_graph_input && v.layout == Layout::Plain && reads_plain_f32_input(g, n, i) ? 1 : 0);
        }
        for (ValueId v : g.node(n).outputs)
            out_ok.push_back(g.value(v).is_graph_output && g.value(v).layout == Layout::Plain &&
                                     writes_plain_f32_output(g, n, v)
                                 ? 1
                                 : 0);
        return with_device_check(g, n, make_device_kernel(g, n, packed), std::move(in_ok), std::move(out_ok));
    }

  private:
    std::unique_ptr<Kernel> make_device_kernel(const Graph& g, NodeId n, std::span<const Tensor> packed) {
        const OpType op = g.node(n).op;
        if (op == OpType::Conv) return make_conv_kernel(*state_, g, n, packed);
        if (op == OpType::ConvPair) return make_conv_pair_kernel(*state_, g, n, packed);
        if (op == OpType::MaxPool) return make_pool_kernel(g, n);
        if (op == OpType::Resize) return make_resize_kernel(g, n);
        if (op == OpType::Concat) return make_concat_kernel(g, n);
        if (op == OpType::Add || op == OpType::Mul) return make_binary_kernel(g, n);
        if (op_is_activation(op)) return make_act_kernel(g, n);
        ENGINE_THROW("cuda: ", node_label(g, n), ": no CUDA kernel for ", op_type_name(op));
    }

    std::unique_ptr<CudaState> state_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<cuda::CudaBackend>(); }

}  // namespace engine
