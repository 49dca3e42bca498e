// rtdet calibrate MODEL --images DIR|LIST|GLOB -o CACHE.json: INT8 calibration (issue 16,
// docs/int8.md). Each image goes through the Detector's own preprocessing into an FP32 run on the CPU
// that sees every activation the builder keeps; the per-tensor ranges (entropy, percentile or minmax)
// are written as the calibration cache, which does not depend on the device (TensorRT's
// calibrator + calibration cache).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/capture.h"
#include "app/commands.h"
#include "app/frame.h"
#include "app/image_io.h"
#include "app/media.h"
#include "detector/calibrate.h"
#include "detector/preprocess.h"
#include "engine/core/error.h"

namespace app {

CalibrateResult run_calibration(const CalibrateJob& j) {
    detector::CalibrationOptions co;
    co.method = engine::parse_calib_method(j.method);
    co.percentile = j.percentile;
    ENGINE_CHECK(co.percentile > 0, "--percentile: ", co.percentile, " is not in (0, 100]");
    co.batch = j.batch;
    co.threads = j.threads;
    co.sensitivity_images = j.sensitivity ? j.sensitivity_images : 0;
    co.max_error = j.max_error;
    detector::DetectorConfig dc;
    dc.model = j.model;
    dc.pad_value = j.pad_value;
    dc.plan_cache_dir = j.cache;
    if (!j.resize.empty()) dc.resize = detector::resize_policy_from_name(j.resize);

    const SourceSpec spec = classify_source(j.images);
    ENGINE_CHECK(spec.images(), "--images ", j.images, ": a ", source_kind_name(spec.kind),
                 "; calibration reads image files (a folder, an image list or a glob)");
    std::vector<std::string> files = list_images(spec);
    if (j.max_images > 0 && files.size() > static_cast<size_t>(j.max_images))
        files.resize(static_cast<size_t>(j.max_images));
    ENGINE_CHECK(!files.empty(), "--images ", j.images, ": no image files");

    const auto t0 = std::chrono::steady_clock::now();
    detector::Calibrator cal(dc, co);
    std::vector<uint8_t> bytes;
    FrameImage img;
    CalibrateResult r;
    for (const std::string& f : files) {
        std::string why;
        if (!read_image_file(f, bytes, why) || !media::decode_image(bytes, img, why)) {
            spdlog::warn("{}: skipped: {}", f, why);
            ++r.skipped;
            continue;
        }
        cal.add(image_view(img), f);
    }
    ENGINE_CHECK(static_cast<size_t>(r.skipped) < files.size(), "--images ", j.images, ": none of the ",
                 files.size(), " image(s) could be read");
    const engine::CalibrationTable table = cal.finish();
    if (j.sensitivity) std::fputs(engine::format_sensitivity(cal.sensitivity(), j.max_error).c_str(), stdout);
    const std::filesystem::path model(j.model);
    r.path = j.output.empty() ? (model.parent_path() / (model.stem().string() + ".calib.json")).string()
                              : j.output;
    table.save(r.path);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("calibrated %s on %lld image(s) (%s, %s) in %.1f s: %zu tensors -> %s\n",
                model.filename().string().c_str(), static_cast<long long>(table.inputs),
                engine::calib_method_name(table.method), table.preprocess.c_str(), secs, table.amax.size(),
                r.path.c_str());
    if (r.skipped > 0)
        std::fprintf(stderr, "rtdet: %d of %zu image(s) skipped (named above); the cache holds the rest\n",
                     r.skipped, files.size());
    return r;
}

void add_sensitivity_options(CLI::App* cmd, CalibrateJob& job) {
    cmd->add_flag(
        "--int8-sensitivity", job.sensitivity,
        "Measure each layer's INT8 output error, report it, and keep the fewest most sensitive "
        "layers in float so that the INT8 plan's output error is <= --max-error (recorded in the cache)");
    cmd->add_option("--sensitivity-images", job.sensitivity_images,
                    "--int8-sensitivity: images it measures on (the first of the calibration images)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd->add_option(
           "--max-error", job.max_error,
           "--int8-sensitivity: the INT8 plan's output error (relative squared, vs FP32) to stay within")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
}

CommandFn setup_calibrate(CLI::App& root) {
    auto o = std::make_shared<CalibrateJob>();
    CLI::App* cmd = root.add_subcommand(
        "calibrate", "INT8 calibration: per-tensor ranges over real images, written as a calibration cache");
    cmd->add_option("model", o->model, "ONNX model, or darknet .cfg (its .weights beside it)")->required();
    cmd->add_option("--images", o->images, "Calibration images: a folder, an image list (.txt) or a glob")
        ->required();
    cmd->add_option("-o,--output", o->output, "Calibration cache to write (default: MODEL.calib.json)");
    cmd->add_option("--method", o->method, "entropy | percentile | minmax")->capture_default_str();
    cmd->add_option("--percentile", o->percentile, "--method percentile: the percentile kept")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--max-images", o->max_images, "Use at most this many images (0: all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--batch", o->batch,
                    "Images per FP32 run (the ranges depend on it only by float rounding)")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd->add_option("--resize", o->resize, "darknet | stretch | letterbox (default: the model's)");
    cmd->add_option("--pad-value", o->pad_value, "Letterbox padding in [0, 1]")->capture_default_str();
    cmd->add_option("--threads", o->threads, "CPU threads (0: all cores)")->capture_default_str();
    cmd->add_option("--cache", o->cache, "Folder of converted models (default: the user cache folder)");
    add_sensitivity_options(cmd, *o);
    return [o]() { return run_calibration(*o).skipped > 0 ? 1 : 0; };
}

}  // namespace app
