// rtdet info MODEL.plan: what a plan holds (header, device, precision, layers, metadata, the builder's
// measured choices).
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "engine/core/error.h"
#include "engine/core/shape.h"
#include "engine/plan/plan.h"
#include "engine/runtime/runtime.h"

namespace app {

CommandFn setup_info(CLI::App& root) {
    struct Opts {
        std::string plan;
        bool layers = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = root.add_subcommand("info", "Show what a plan file holds");
    cmd->add_option("plan", o->plan, "Plan file")->required();
    cmd->add_flag("--layers", o->layers, "List every layer with its backend and precision");
    return [o]() {
        const engine::Plan plan = engine::Plan::load(o->plan);
        const auto& i = plan.info();
        std::printf(
            "plan format %u, engine %s\nmodel %s (sha256 %s)\ndevice %s ('%s'), precision %s, max batch "
            "%d%s\n",
            i.format_version, i.engine_version.c_str(), i.model_name.c_str(), i.model_sha256.c_str(),
            i.device.c_str(), i.device_signature.c_str(), i.precision.c_str(), i.max_batch,
            i.fixed_batch ? " (fixed)" : "");
        for (const auto& in : i.inputs)
            std::printf("input  %s %s\n", in.name.c_str(), engine::shape_str(in.shape).c_str());
        for (const auto& out : i.outputs)
            std::printf("output %s %s\n", out.name.c_str(), engine::shape_str(out.shape).c_str());
        std::printf("layers %zu, weights %.2f MB, arena %.2f MB\n", i.layers.size(),
                    static_cast<double>(i.weight_bytes) / 1e6, static_cast<double>(i.arena_bytes) / 1e6);
        for (const auto& [k, v] : i.metadata) std::printf("meta %s = %.200s\n", k.c_str(), v.c_str());
        // What the builder measured and chose (activation layout; best's INT8 layers).
        for (const auto& [k, v] : i.tactics) std::printf("tactic %s = %.300s\n", k.c_str(), v.c_str());
        if (o->layers)
            for (const auto& l : i.layers)
                std::printf("  %-10s %-40s %-10s %s\n", l.op.c_str(), l.name.c_str(), l.backend.c_str(),
                            l.precision.c_str());
        // Whether this rtdet can run it (engine version, device signature, backends): said, not fatal.
        try {
            (void)engine::Engine::load(plan);
            std::printf("runs here: yes\n");
        } catch (const engine::Error& e) {
            std::printf("runs here: no: %s\n", e.what());
        }
        return 0;
    };
}

}  // namespace app
