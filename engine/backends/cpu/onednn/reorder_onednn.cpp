// Reorder: copies a tensor into another (layout, storage dtype), e.g. Plain F32 graph input ->
// NHWC BF16 for the first conv, Blocked16 BF16 -> Plain F32 for a reference-backend consumer.
// F32 -> BF16 rounds to nearest even (oneDNN's conversion). I8 values (INT8 plans) are x * 127 / amax:
// a Reorder to or from I8 scales by the ratio of the two sides' real_scale() (to I8: rounded half
// to even and saturated).
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"

namespace engine::onednn {

bool reorder_supported(const Graph& g, NodeId n, std::string* why) {
    const Node& node = g.node(n);
    if (node.inputs.size() != 1 || node.outputs.size() != 1)
        return reject(why, "not one input and one output");
    const Value& x = g.value(node.inputs[0]);
    const Value& y = g.value(node.outputs[0]);
    if (x.constant != nullptr || y.constant != nullptr) return reject(why, "constant operand");
    if (x.desc.shape != y.desc.shape) return reject(why, "shapes differ");
    for (const Value* v : {&x, &y}) {
        if (v->storage_dtype != DataType::F32 && v->storage_dtype != DataType::BF16 &&
            v->storage_dtype != DataType::I8)
            return reject(why, "storage type not f32/bf16/i8");
        if (v->storage_dtype == DataType::I8 && !(v->amax > 0))
            return reject(why, "i8 value without a range");
        if (v->layout != Layout::Plain && v->desc.shape.size() != 4)
            return reject(why, "non-plain layout of a non-4-D tensor");
    }
    return true;
}

std::unique_ptr<Kernel> make_reorder_kernel(const Graph& g, NodeId n) {
    const float scale =
        real_scale(spec_of(g, g.node(n).inputs[0])) / real_scale(spec_of(g, g.node(n).outputs[0]));
    return make_fn_kernel(g, n, [scale](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        dnnl::primitive_attr attr = base_attr();
        if (scale != 1.0f) attr.set_output_scales(0, {scale});
        dnnl::reorder::primitive_desc pd(cpu_engine(), ins[0], cpu_engine(), outs[0], attr);
        add_step<dnnl::reorder>(plan, pd,
                                {{DNNL_ARG_FROM, ArgSource::Input, 0, ins[0], nullptr},
                                 {DNNL_ARG_TO, ArgSource::Output, 0, outs[0], nullptr}});
        return plan;
    });
}

}  // namespace engine::onednn
