// rtdet build MODEL.onnx -o MODEL.plan: import, optimize and serialize (TensorRT's trtexec --saveEngine).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/model_source.h"
#include "engine/builder/builder.h"

namespace app {

CommandFn setup_build(CLI::App& root) {
    struct Opts {
        std::string model, output, device = "cpu", precision = "fp32", timing_cache;
        int max_batch = 1;
        std::vector<std::string> disabled;
        bool cudnn_legacy = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd =
        root.add_subcommand("build", "Build an optimized plan from an ONNX model (or darknet .cfg)");
    cmd->add_option("model", o->model, "ONNX model, or darknet .cfg (its .weights beside it)")->required();
    cmd->add_option("-o,--output", o->output,
                    "Plan file to write (default: MODEL.<device>.<precision>.plan)");
    cmd->add_option("--device", o->device, "cpu | reference | cuda")->capture_default_str();
    cmd->add_option("--timing-cache", o->timing_cache,
                    "File of measured tactic choices (cuda): read, and extended with new layers");
    cmd->add_option("--precision", o->precision,
                    "fp32 | fp16 | bf16 | best (reduced precision where the device has it)")
        ->capture_default_str();
    cmd->add_option("--max-batch", o->max_batch, "Largest batch the plan runs (any 1..max)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd->add_option("--disable-pass", o->disabled, "Skip a graph pass (debugging)");
    cmd->add_flag("--cudnn-legacy", o->cudnn_legacy,
                  "cuda: time cuDNN's legacy API only, not its graph API (comparisons)");
    return [o]() {
        engine::BuildOptions opts;
        opts.device = o->device;
        opts.precision = engine::precision_from_name(o->precision);
        opts.max_batch = o->max_batch;
        opts.disabled_passes = o->disabled;
        opts.timing_cache = o->timing_cache;
        opts.cudnn_graph_api = !o->cudnn_legacy;
        const std::string onnx = resolve_onnx_model(o->model);
        const auto t0 = std::chrono::steady_clock::now();
        const engine::Plan plan = engine::build_plan_from_onnx(onnx, opts);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::string out =
            o->output.empty() ? default_plan_path(onnx, o->device, o->precision) : o->output;
        plan.save(out);
        const auto& info = plan.info();
        std::printf(
            "built %s in %.2f s: %zu layers, weights %.1f MB, arena %.1f MB, device '%s', precision %s\n",
            out.c_str(), secs, info.layers.size(), static_cast<double>(info.weight_bytes) / 1e6,
            static_cast<double>(info.arena_bytes) / 1e6, info.device_signature.c_str(),
            info.precision.c_str());
        return 0;
    };
}

}  // namespace app
