// MaxPool, Resize (nearest), Concat (copy), standalone activations and Add/Mul on the CUDA
// backend's kernels (engine/backends/cuda/kernels). Each kernel reads its geometry from the graph at
// creation and only enqueues at run time. MaxPool, Resize and Concat also run on I8 (s8) storage in
// INT8 plans: their inputs and outputs share one scale (assign_int8), so they move the stored integers
// as they are; activations and Add/Mul stay float.
#include <cmath>
#include <functional>

#include "engine/backends/cuda/cuda_kernels.h"
#include "engine/backends/cuda/kernels/binary.cuh"
#include "engine/backends/cuda/kernels/concat.cuh"
#include "engine/backends/cuda/kernels/epilogue.cuh"
#include "engine/backends/cuda/kernels/maxpool.cuh"
#include "engine/backends/cuda/kernels/resize.cuh"
#include "engine/ir/activation.h"

namespace engine::cuda {
namespace {

// A kernel that calls fn(args, stream).
class FnKernel final : public Kernel {
  public:
    using Fn = std::function<void(const KernelArgs&, cudaStream_t)>;
    explicit FnKernel(Fn fn) : fn_(std::move(fn)) {}
    void run(const KernelArgs& args) override { fn_(args, kernel_stream()); }

  private:
    Fn fn_;
};

bool same_storage(const Graph& g, ValueId a, ValueId b) {
    const Value& x = g.value(a);
    const Value& y = g.value(b);
    return x.layout == y.layout && x.storage_dtype == y.storage_dtype;
}

int i32(int64_t v) { return static_cast<int>(v); }

// The 4-D runtime checks shared by the single-input ops: x, y runtime 4-D, stored alike.
bool unary_4d_ok(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not one input and one output");
    if (!is_runtime_4d(g, node.inputs[0]) || !is_runtime_4d(g, node.outputs[0]))
        return reject(why, "input or output is not a runtime 4-D tensor");
    return true;
}

// MaxPool, Resize and Concat on I8 values move the stored integers, which is right only when input and
// output have one scale (assign_int8's scale groups): anything else is refused at creation.
void check_same_scale(const Graph& g, NodeId n, ValueId x, ValueId y) {
    ENGINE_CHECK(real_scale(g, n, x) == real_scale(g, n, y), "cuda: ", node_label(g, n), ": i8 values '",
                 g.value(x).name, "' (amax ", g.value(x).amax, ") and '", g.value(y).name, "' (amax ",
                 g.value(y).amax, ") have different ranges; the kernel moves s8 values without rescaling");
}

// Activations and Add/Mul compute on floats: an I8 value reaching them is a plan bug (assign_int8 never
// makes them I8), refused at creation rather than read as floats.
void check_float_storage(const Graph& g, NodeId n, ValueId v) {
    const Value& val = g.value(v);
    ENGINE_CHECK(storage_ok(val.storage_dtype), "cuda: ", node_label(g, n), ": value '", val.name,
                 "' is stored as ", dtype_name(val.storage_dtype), " (f32/f16 only)");
}

}  // namespace

// ---- MaxPool ----

bool pool_supported(const Graph& g, NodeId n, std::string* why) {
    const auto* p = std::get_if<MaxPoolParams>(&g.node(n).params);
    if (p == nullptr) return reject(why, "not a MaxPool");
    if (!unary_4d_ok(g, n, why)) return false;
    for (int v : {p->kernel[0], p->kernel[1], p->stride[0], p->stride[1], p->dilation[0], p->dilation[1]})
        if (v < 1) return reject(why, "kernel, stride and dilation must be >= 1");
    return true;
}

std::unique_ptr<Kernel> make_pool_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    const auto& p = std::get<MaxPoolParams>(node.params);
    check_nhwc(g, n, node.inputs[0], true);
    check_nhwc(g, n, node.outputs[0], true);
    ENGINE_CHECK(same_storage(g, node.inputs[0], node.outputs[0]), "cuda: ", node_label(g, n),
                 ": input and output stored differently");
    check_same_scale(g, n, node.inputs[0], node.outputs[0]);
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    MaxPoolNhwcArgs base;
    base.h = i32(x[2]);
    base.w = i32(x[3]);
    base.c = i32(x[1]);
    base.oh = i32(y[2]);
    base.ow = i32(y[3]);
    base.kh = p.kernel[0];
    base.kw = p.kernel[1];
    base.sh = p.stride[0];
    base.sw = p.stride[1];
    base.dh = p.dilation[0];
    base.dw = p.dilation[1];
    base.pad_top = p.pads[0];
    base.pad_left = p.pads[1];
    const DataType dt = g.value(node.inputs[0]).storage_dtype;
    return std::make_unique<FnKernel>([base, dt](const KernelArgs& args, cudaStream_t s) {
        MaxPoolNhwcArgs a = base;
        a.x = args.inputs[0].data;
        a.y = args.outputs[0].data;
        a.batch = args.batch;
        a.x_batch_stride = args.inputs[0].batch_stride;
        a.y_batch_stride = args.outputs[0].batch_stride;
        if (dt == DataType::F16)
            launch_maxpool_nhwc_f16(a, s);
        else if (dt == DataType::I8)
            launch_maxpool_nhwc_s8(a, s);
        else
            launch_maxpool_nhwc_f32(a, s);
    });
}

// ---- Resize ----

bool resize_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    const auto* p = std::get_if<ResizeParams>(&node.params);
    if (p == nullptr) return reject(why, "not a Resize");
    if (!unary_4d_ok(g, n, why)) return false;
    const Shape& x = g.value(node.inputs[0]).desc.shape;
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    if (p->scales.size() != 4 || x[0] != y[0] || x[1] != y[1]) return reject(why, "resizes N or C");
    if (x[2] < 1 || x[3] < 1) return reject(why, "empty input");
    return true;
}

// A kernel owning the device index maps of one Resize.
class ResizeKernel final : public Kernel {
  public:
    ResizeKernel(const Graph& g, NodeId n) {
        const Node& node = g.node(n);
        const auto& p = std::get<ResizeParams>(node.params);
        const Shape& x = g.value(node.inputs[0]).desc.shape;
        const Shape& y = g.value(node.outputs[0]).desc.shape;
        std::vector<int32_t> maps;
        for (size_t d = 2; d < 4; ++d)
            for (int64_t o = 0; o < y[d]; ++o)
                maps.push_back(static_cast<int32_t>(resize_nearest_source(p, p.scales[d], o, x[d], y[d])));
        maps_ = DeviceBuffer(maps.size() * sizeof(int32_t));
        maps_.upload(maps.data(), maps.size() * sizeof(int32_t));
        base_.elem_size = dtype_size(g.value(node.inputs[0]).storage_dtype);
        base_.h = i32(x[2]);
        base_.w = i32(x[3]);
        base_.c = i32(x[1]);
        base_.oh = i32(y[2]);
        base_.ow = i32(y[3]);
        base_.h_map = maps_.as<int32_t>();
        base_.w_map = maps_.as<int32_t>() + y[2];
    }
    void run(const KernelArgs& args) override {
        ResizeNhwcArgs a = base_;
        a.x = args.inputs[0].data;
        a.y = args.outputs[0].data;
        a.batch = args.batch;
        a.x_batch_stride = args.inputs[0].batch_stride;
        a.y_batch_stride = args.outputs[0].batch_stride;
        launch_resize_nearest_nhwc(a, kernel_stream());
    }

  private:
    DeviceBuffer maps_;
    ResizeNhwcArgs base_;
};

std::unique_ptr<Kernel> make_resize_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    check_nhwc(g, n, node.inputs[0], true);
    check_nhwc(g, n, node.outputs[0], true);
    ENGINE_CHECK(same_storage(g, node.inputs[0], node.outputs[0]), "cuda: ", node_label(g, n),
                 ": input and output stored differently");
    check_same_scale(g, n, node.inputs[0], node.outputs[0]);
    return std::make_unique<ResizeKernel>(g, n);
}

// ---- Concat ----

bool concat_supported(const Graph& g, NodeId n, std::string* why) { return check_channel_concat(g, n, why); }

std::unique_ptr<Kernel> make_concat_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    check_nhwc(g, n, node.outputs[0], true);
    const Shape& y = g.value(node.outputs[0]).desc.shape;
    std::vector<ChannelCopyArgs> parts;
    int offset = 0;
    for (ValueId v : node.inputs) {
        check_nhwc(g, n, v, true);
        ENGINE_CHECK(same_storage(g, v, node.outputs[0]), "cuda: ", node_label(g, n), ": input '",
                     g.value(v).name, "' is stored unlike the output");
        check_same_scale(g, n, v, node.outputs[0]);
        ChannelCopyArgs a;
        a.elem_size = dtype_size(g.value(v).storage_dtype);
        a.pixels = y[2] * y[3];
        a.c_in = i32(g.value(v).desc.shape[1]);
        a.c_out = i32(y[1]);
        a.c_offset = offset;
        offset += a.c_in;
        parts.push_back(a);
    }
    ENGINE_CHECK(offset == y[1], "cuda: ", node_label(g, n), ": input channels add up to ", offset, ", not ",
                 y[1]);
    return std::make_unique<FnKernel>([parts](const KernelArgs& args, cudaStream_t s) {
        for (size_t i = 0; i < parts.size(); ++i) {
            ChannelCopyArgs a = parts[i];
            a.x = args.inputs[i].data;
            a.y = args.outputs[0].data;
            a.batch = args.batch;
            a.x_batch_stride = args.inputs[i].batch_stride;
            a.y_batch_stride = args.outputs[0].batch_stride;
            launch_copy_channels_nhwc(a, s);
        }
    });
}

// ---- activations ----

bool act_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (!op_is_activation(node.op) || node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not an activation");
    if (!std::holds_alternative<UnaryParams>(node.params) &&
        !std::holds_alternative<std::monostate>(node.params))
        return reject(why, "params are not UnaryParams");
    for (ValueId v : {node.inputs[0], node.outputs[0]}) {
        const Value& val = g.value(v);
        if (val.constant != nullptr || !is_float(val.desc.dtype))
            return reject(why, "operand is not a runtime float tensor");
    }
    return true;
}

std::unique_ptr<Kernel> make_act_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    const auto* up = std::get_if<UnaryParams>(&node.params);
    const Act act = activation_of(node.op, up ? *up : UnaryParams{});
    ENGINE_CHECK(same_storage(g, node.inputs[0], node.outputs[0]), "cuda: ", node_label(g, n),
                 ": input and output stored differently");
    check_float_storage(g, n, node.outputs[0]);
    const bool f16 = g.value(node.inputs[0]).storage_dtype == DataType::F16;
    return std::make_unique<FnKernel>([act, f16](const KernelArgs& args, cudaStream_t s) {
        EpilogueArgs e;
        e.x = args.inputs[0].data;
        e.y = args.outputs[0].data;
        e.batch = args.outputs[0].shape.empty() ? 1 : static_cast<int>(args.outputs[0].shape[0]);
        e.sample = args.outputs[0].sample_numel();
        e.x_batch_stride = args.inputs[0].batch_stride;
        e.y_batch_stride = args.outputs[0].batch_stride;
        e.act = act;
        if (f16)
            launch_epilogue_f16(e, s);
        else
            launch_epilogue_f32(e, s);
    });
}

// ---- Add / Mul ----

bool binary_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if ((node.op != OpType::Add && node.op != OpType::Mul) || node.inputs.size() != 2 ||
        node.outputs.size() != 1)
        return reject(why, "not Add/Mul");
    for (ValueId v : {node.inputs[0], node.inputs[1], node.outputs[0]}) {
        const Value& val = g.value(v);
        if (val.constant != nullptr || !is_float(val.desc.dtype))
            return reject(why, "an operand is not a runtime float tensor");
    }
    const Value& y = g.value(node.outputs[0]);
    const Value& a = g.value(node.inputs[0]);
    const Value& b = g.value(node.inputs[1]);
    if (a.desc.shape != y.desc.shape || b.desc.shape != y.desc.shape) return reject(why, "broadcasting");
    if (a.batched != y.batched || b.batched != y.batched) return reject(why, "batch flags differ");
    return true;
}

std::unique_ptr<Kernel> make_binary_kernel(const Graph& g, NodeId n) {
    const Node& node = g.node(n);
    for (ValueId v : node.inputs)
        ENGINE_CHECK(same_storage(g, v, node.outputs[0]), "cuda: ", node_label(g, n), ": input '",
                     g.value(v).name, "' is stored unlike the output");
    check_float_storage(g, n, node.outputs[0]);
    const BinaryKind kind = node.op == OpType::Add ? BinaryKind::Add : BinaryKind::Mul;
    const bool f16 = g.value(node.outputs[0]).storage_dtype == DataType::F16;
    return std::make_unique<FnKernel>([kind, f16](const KernelArgs& args, cudaStream_t s) {
        BinaryArgs a;
        a.a = args.inputs[0].data;
        a.b = args.inputs[1].data;
        a.y = args.outputs[0].data;
        a.kind = kind;
        a.batch = args.outputs[0].shape.empty() ? 1 : static_cast<int>(args.outputs[0].shape[0]);
        a.sample = args.outputs[0].sample_numel();
        a.a_batch_stride = args.inputs[0].batch_stride;
        a.b_batch_stride = args.inputs[1].batch_stride;
        a.y_batch_stride = args.outputs[0].batch_stride;
        if (f16)
            launch_binary_f16(a, s);
        else
            launch_binary_f32(a, s);
    });
}

}  // namespace engine::cuda
