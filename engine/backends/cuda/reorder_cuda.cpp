// Reorder on the CUDA backend: converts a value between (layout, storage type, memory space):
//   Plain <-> NHWC (4-D), F32 <-> F16 <-> I8, host <-> device.
// I8 values (INT8 plans, docs/int8.md) hold q standing for q * amax / 127: to I8 quantizes (rounded half
// to even, saturated), from I8 dequantizes, I8 -> I8 with another range goes through the real value,
// each exactly as engine/refmath/ref_int8.h (kernels/reorder.cuh).
// A host -> device Reorder copies the host tensor as it is into device staging memory (the kernel's
// workspace) and converts there; device -> host converts into staging and copies the result out. The
// copies are asynchronous on the context's stream (the runtime's host arena is pinned, so they
// overlap with nothing else but do not stall the CPU thread). Which side is in host memory is read off
// the pointers (the runtime places values; cudaPointerGetAttributes tells), once per pointer pair: a
// context alternates between two pairs when the caller switches between host and device graph I/O
// (ExecutionContext::run's IoMemory), so the last pairs seen are remembered.
#include <array>
#include <cmath>

#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/reorder.cuh"

namespace engine::cuda {
namespace {

constexpr size_t kAlign = 256;

struct Storage {
    Layout layout = Layout::Plain;
    DataType dtype = DataType::F32;
    bool host = false;
};

ElemType elem_type(DataType dt) {
    if (dt == DataType::I8) return ElemType::S8;
    return dt == DataType::F16 ? ElemType::F16 : ElemType::F32;
}

class ReorderKernel final : public Kernel {
  public:
    ReorderKernel(const Graph& g, NodeId n) {
        const Node& node = g.node(n);
        const Value& x = g.value(node.inputs[0]);
        const Value& y = g.value(node.outputs[0]);
        in_ = {x.layout, x.storage_dtype, false};
        out_ = {y.layout, y.storage_dtype, false};
        x_scale_ = real_scale(g, n, node.inputs[0]);
        y_scale_ = real_scale(g, n, node.outputs[0]);
        shape_ = x.desc.shape;
        sample_ = shape_.empty() ? 1 : shape_numel(shape_) / std::max<int64_t>(shape_[0], 1);
        if (shape_.size() == 4) {
            c_ = shape_[1];
            hw_ = shape_[2] * shape_[3];
        }
    }

    size_t workspace_bytes(int max_batch) const override {
        (void)max_batch;
        // Staging for the host side (either, whichever it is): its samples, densely.
        const size_t bytes =
            static_cast<size_t>(outer() * sample_) * std::max(dtype_size(in_.dtype), dtype_size(out_.dtype));
        return (bytes + kAlign - 1) / kAlign * kAlign;
    }

    void run(const KernelArgs& args) override {
        const cudaStream_t s = kernel_stream();
        const TensorRef& x = args.inputs[0];
        const TensorRef& y = args.outputs[0];
        locate(x.data, y.data);
        const int64_t n = x.shape.empty() ? 1 : x.shape[0];
        const size_t in_elem = dtype_size(in_.dtype), out_elem = dtype_size(out_.dtype);
        const void* src = x.data;
        int64_t src_bs = x.batch_stride;
        if (in_.host) {
            // Host -> staging: each sample densely.
            copy_samples(args.workspace, sample_, x.data, x.batch_stride, n, sample_, in_elem,
                         cudaMemcpyHostToDevice, s);
            src = args.workspace;
            src_bs = sample_;
        }
        void* dst = y.data;
        int64_t dst_bs = y.batch_stride;
        if (out_.host) {
            dst = args.workspace;
            dst_bs = sample_;
        }
        convert(src, src_bs, dst, dst_bs, static_cast<int>(n), in_elem, out_elem, s);
        if (out_.host)
            copy_samples(y.data, y.batch_stride, dst, sample_, n, sample_, out_elem, cudaMemcpyDeviceToHost,
                         s);
    }

  private:
    // Sets in_.host / out_.host for this pair of pointers (remembered: no CUDA call for a known pair).
    void locate(const void* x, const void* y) {
        for (const Seen& k : seen_)
            if (k.x == x && k.y == y && k.x != nullptr) {
                in_.host = k.x_host;
                out_.host = k.y_host;
                return;
            }
        in_.host = is_host_pointer(x);
        out_.host = is_host_pointer(y);
        // The runtime keeps a CUDA Reorder's values on the device except graph I/O and host backends'
        // values, never both sides (host backends convert their own values).
        ENGINE_CHECK(!(in_.host && out_.host), "cuda: Reorder between two host values");
        seen_[next_seen_] = {x, y, in_.host, out_.host};
        next_seen_ = (next_seen_ + 1) % seen_.size();
    }

    int64_t outer() const { return shape_.empty() ? 1 : shape_[0]; }

    // Device-side conversion of n samples from the input's (layout, dtype) to the output's.
    void convert(const void* src, int64_t src_bs, void* dst, int64_t dst_bs, int n, size_t in_elem,
                 size_t out_elem, cudaStream_t s) const {
        const ElemType it = elem_type(in_.dtype), ot = elem_type(out_.dtype);
        if (in_.layout == out_.layout || shape_.size() != 4) {
            // (I8 -> I8 with one range is a copy too: q * s / s rounds back to q.)
            if (in_.dtype == out_.dtype && x_scale_ == y_scale_) {
                if (src != dst) {
                    const size_t row = static_cast<size_t>(sample_) * in_elem;
                    CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_bs) * out_elem, src,
                                                 static_cast<size_t>(src_bs) * in_elem, row,
                                                 static_cast<size_t>(n), cudaMemcpyDeviceToDevice, s));
                }
                return;
            }
            launch_convert(src, it, dst, ot, n, sample_, src_bs, dst_bs, s, x_scale_, y_scale_);
            return;
        }
        if (in_.layout == Layout::Plain && out_.layout == Layout::NHWC)
            launch_transpose(src, it, dst, ot, n, c_, hw_, src_bs, dst_bs, s, x_scale_, y_scale_);
        else
            launch_transpose(src, it, dst, ot, n, hw_, c_, src_bs, dst_bs, s, x_scale_, y_scale_);
    }

    Storage in_, out_;
    float x_scale_ = 1, y_scale_ = 1;  // real value per stored unit (real_scale)
    struct Seen {
        const void* x = nullptr;
        const void* y = nullptr;
        bool x_host = false, y_host = false;
    };
    std::array<Seen, 4> seen_{};
    size_t next_seen_ = 0;
    Shape shape_;
    int64_t sample_ = 1;
    int64_t c_ = 0, hw_ = 0;
};

}  // namespace

bool reorder_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (node.op != OpType::Reorder || node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not a Reorder");
    const Value& x = g.value(node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    if (x.constant != nullptr || y.constant != nullptr) return reject(why, "constant operand");
    if (x.desc.shape != y.desc.shape) return reject(why, "shapes differ");
    for (const Value* v : {&x, &y}) {
        if (!storage_ok(v->storage_dtype, true)) return reject(why, "storage type not f32/f16/i8");
        if (v->storage_dtype == DataType::I8 && !(v->amax > 0 && std::isfinite(v->amax)))
            return reject(why,
                          concat("i8 value '", v->name, "' has no calibrated range (amax ", v->amax, ")"));
        if (v->layout == Layout::Blocked16) return reject(why, "blocked16 layout");
        if (v->layout == Layout::NHWC && v->desc.shape.size() != 4)
            return reject(why, "nhwc layout of a non-4-D tensor");
    }
    return true;
}

std::unique_ptr<Kernel> make_reorder_kernel(const Graph& g, NodeId n) {
    std::string why;
    ENGINE_CHECK(reorder_supported(g, n, &why), "cuda: ", node_label(g, n), ": ", why);
    return std::make_unique<ReorderKernel>(g, n);
}

}  // namespace engine::cuda
