// rtdet build MODEL.onnx -o MODEL.plan: import, optimize and serialize (TensorRT's trtexec --saveEngine).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/model_source.h"
#include "engine/builder/builder.h"
#include "engine/core/error.h"

namespace app {

CommandFn setup_build(CLI::App& root) {
    struct Opts {
        std::string model, output, device = "cpu", precision = "fp32", timing_cache;
        std::string calib, calib_cache, calib_method = "entropy";
        int max_batch = 1, calib_max_images = 0;
        std::vector<std::string> disabled;
        bool cudnn_legacy = false;
        std::vector<std::string> float_layers;
#if RTDET_APP_RUN
        CalibrateJob job;
#endif
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
                    "fp32 | fp16 | bf16 | int8 | best (reduced precision where the device has it; int8 "
                    "needs --calib or --calib-cache; best with them keeps INT8 where it measures faster)")
        ->capture_default_str();
    cmd->add_option("--calib", o->calib,
                    "INT8: calibrate on these images (a folder, an image list or a glob) through the "
                    "detector's preprocessing, writing --calib-cache");
    cmd->add_option("--calib-cache", o->calib_cache,
                    "INT8: calibration cache to read (alone) or to write (with --calib; default "
                    "PLAN.calib.json)");
    cmd->add_option("--calib-method", o->calib_method, "INT8 calibration: entropy | percentile | minmax")
        ->capture_default_str();
    cmd->add_option("--calib-max-images", o->calib_max_images, "INT8 calibration: at most this many images")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--int8-float", o->float_layers,
                    "INT8: keep these layers (names as `rtdet info --layers` lists them) in float")
        ->delimiter(',');
#if RTDET_APP_RUN
    add_sensitivity_options(cmd, o->job);
#endif
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
        opts.float_layers = o->float_layers;
        const std::string onnx = resolve_onnx_model(o->model);
        const std::string out =
            o->output.empty() ? default_plan_path(onnx, o->device, o->precision) : o->output;
        const bool int8 =
            opts.precision == engine::Precision::INT8 || opts.precision == engine::Precision::Best;
        ENGINE_CHECK(int8 || (o->calib.empty() && o->calib_cache.empty() && o->float_layers.empty()),
                     "--calib / --calib-cache / --int8-float: INT8 needs --precision int8 or best (not ",
                     o->precision, ")");
        int skipped = 0;
        if (!o->calib.empty()) {
#if RTDET_APP_RUN
            CalibrateJob job = o->job;
            job.model = o->model;
            job.images = o->calib;
            job.method = o->calib_method;
            job.max_images = o->calib_max_images;
            job.output = o->calib_cache.empty() ? out + ".calib.json" : o->calib_cache;
            const CalibrateResult r = run_calibration(job);
            opts.calibration_cache = r.path;
            skipped = r.skipped;
#else
            ENGINE_THROW("--calib: this rtdet has no image decoding; make a cache with another build's ",
                         "`rtdet calibrate` and pass it as --calib-cache");
#endif
        } else {
            ENGINE_CHECK(o->calib_method == "entropy" && o->calib_max_images == 0,
                         "--calib-method / --calib-max-images apply only with --calib IMAGES");
#if RTDET_APP_RUN
            ENGINE_CHECK(!o->job.sensitivity,
                         "--int8-sensitivity measures during calibration: give --calib IMAGES");
#endif
            opts.calibration_cache = o->calib_cache;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const engine::Plan plan = engine::build_plan_from_onnx(onnx, opts);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        plan.save(out);
        const auto& info = plan.info();
        std::printf(
            "built %s in %.2f s: %zu layers, weights %.1f MB, arena %.1f MB, device '%s', precision %s\n",
            out.c_str(), secs, info.layers.size(), static_cast<double>(info.weight_bytes) / 1e6,
            static_cast<double>(info.arena_bytes) / 1e6, info.device_signature.c_str(),
            info.precision.c_str());
        return skipped > 0 ? 1 : 0;
    };
}

}  // namespace app
