// Concat along channels on oneDNN's concat primitive. In-place Concats (ConcatParams::in_place,
// producers writing into their slices) run no kernel; this one copies.
#include "engine/backends/cpu/onednn/onednn_kernels.h"
#include "engine/backends/cpu/onednn/onednn_util.h"

namespace engine::onednn {

bool concat_supported(const Graph& g, NodeId n, std::string* why) { return check_channel_concat(g, n, why); }

std::unique_ptr<Kernel> make_concat_kernel(const Graph& g, NodeId n) {
    return make_fn_kernel(g, n, [](int, const auto& ins, const auto& outs) {
        PrimitivePlan plan;
        dnnl::concat::primitive_desc pd(outs[0], 1, ins, cpu_engine(), base_attr());
        std::vector<PrimitiveArg> args;
        for (size_t i = 0; i < ins.size(); ++i)
            args.push_back(
                {DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), ArgSource::Input, i, ins[i], nullptr});
        args.push_back({DNNL_ARG_DST, ArgSource::Output, 0, outs[0], nullptr});
        add_step<dnnl::concat>(plan, pd, std::move(args));
        return plan;
    });
}

}  // namespace engine::onednn
