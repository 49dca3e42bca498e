// The command-line options every detecting command shares (detect, eval, run): model, device,
// precision, thresholds, NMS, resize policy, class names; and the default model.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "detector/detector.h"

namespace app {

// Yolo-Fastest-1.1-XL (COCO-80) as darknet .cfg (.weights beside it): from the data folder
// (models/yolo-fastest/yolo-fastest-1.1_coco/), else where scripts/fetch_model.sh downloads it (the
// cache folder's models/). Throws engine::Error saying to run scripts/fetch_model.sh or pass --model.
std::string default_model_path();

struct DetectorCliOptions {
    std::string model;  // empty: default_model_path()
    std::string device = "cpu";
    std::string precision = "fp32";
    float conf = 0.25f;
    float iou = 0.45f;
    bool agnostic = false;
    int max_det = 300;
    std::string resize;  // empty: the model's
    std::string names;   // class names file
    int threads = 0;
    int max_batch = 1;
    std::string cache;        // plan cache folder (empty: default)
    std::string calib_cache;  // INT8 calibration cache (precision int8 / best)
};

// Adds --model, --device, --precision, --calib-cache, --conf, --iou, --agnostic, --max-det, --resize,
// --names, --threads, --cache to `cmd`; `o` holds the defaults shown in --help.
void add_detector_options(CLI::App* cmd, DetectorCliOptions& o);

// The INT8 calibration rule of the detecting commands and of `rtdet run`'s config: precision int8 from a
// model (a .plan carries its own ranges) needs a calibration cache, and a cache is for int8 or best.
// `precision_name` / `cache_name` are the flag or config key the user set ("--precision",
// "engine.precision"; "--calib-cache FILE", "engine.calibration (--calib-cache)"). Throws
// engine::Error naming them.
void check_calibration_request(const std::string& precision, bool model_is_plan,
                               const std::string& calib_cache, const std::string& precision_name,
                               const std::string& cache_name);

// One line about the detector's plan: origin, layer count, how many layers compute in each reduced
// precision (so a BF16 request that fell back to FP32 shows), e.g.
// "plan: cache hit; 61 layers, bf16 layers: 40/61; device 'onednn=cpu x86_64 avx512_core_amx'".
std::string describe_plan(const detector::Detector& det);

// The DetectorConfig for the options (default model resolved, names file read). Throws engine::Error.
detector::DetectorConfig make_detector_config(const DetectorCliOptions& o);

}  // namespace app
