#include "app/detector_options.h"

#include <filesystem>

#include "detector/labels.h"
#include "detector/plan_cache.h"
#include "detector/resources.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

std::string default_model_path() {
    constexpr const char* kRel = "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg";
    std::error_code ec;
    const fs::path data = detector::data_dir();
    if (!data.empty() && fs::is_regular_file(data / kRel, ec)) return (data / kRel).string();
    const fs::path fetched = fs::path(detector::cache_dir()) / "models" / "yolo-fastest-1.1-xl.cfg";
    if (fs::is_regular_file(fetched, ec)) return fetched.string();
    ENGINE_THROW("no model: pass --model MODEL (.onnx, darknet .cfg with its .weights beside it, or .plan), ",
                 "or set RTDET_DATA to the data folder holding ", kRel, " (",
                 data.empty() ? std::string("none found") : "not in " + data.string(), "; not in the cache ",
                 fetched.string(), " either: scripts/fetch_model.sh downloads it)");
}

void add_detector_options(CLI::App* cmd, DetectorCliOptions& o) {
    cmd->add_option("--model", o.model,
                    "ONNX model, darknet .cfg (.weights beside it) or .plan (default: Yolo-Fastest-1.1-XL)");
    cmd->add_option("--device", o.device, "cpu | onednn | reference | cuda (what this build has)")
        ->capture_default_str();
    cmd->add_option("--precision", o.precision, "fp32 | fp16 | bf16 | best | int8 (int8 needs --calib-cache)")
        ->capture_default_str();
    cmd->add_option(
        "--calib-cache", o.calib_cache,
        "INT8 calibration cache (`rtdet calibrate`) the plan is built from (precision int8 / best)");
    cmd->add_option("--conf", o.conf, "Confidence threshold (objectness x class probability)")
        ->check(CLI::Range(0.0f, 1.0f))
        ->capture_default_str();
    cmd->add_option("--iou", o.iou, "NMS IoU threshold")
        ->check(CLI::Range(0.0f, 1.0f))
        ->capture_default_str();
    cmd->add_flag("--agnostic", o.agnostic, "Class-agnostic NMS (default: per class)");
    cmd->add_option("--max-det", o.max_det, "Most detections per image (0: no limit)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    cmd->add_option("--resize", o.resize,
                    "darknet | stretch | letterbox (default: the model's, else darknet)")
        ->check(CLI::IsMember({"darknet", "stretch", "letterbox"}));
    cmd->add_option("--names", o.names,
                    "Class names file, one per line (default: coco.names for 80 classes)");
    cmd->add_option("--threads", o.threads, "CPU threads (0: all cores)")
        ->check(CLI::Range(0, 1024))
        ->capture_default_str();
    cmd->add_option("--cache", o.cache, "Plan cache folder (default: $RTDET_CACHE or ~/.cache/rtdet)");
}

std::string describe_plan(const detector::Detector& det) {
    const engine::PlanInfo& info = det.plan_info();
    int bf16 = 0, f16 = 0;
    for (const auto& l : info.layers) {
        bf16 += l.precision == "bf16";
        f16 += l.precision == "f16";
    }
    const size_t n = info.layers.size();
    std::string s = engine::concat("plan: ", det.plan_origin(), "; ", n, " layers");
    if (info.precision != "fp32" || bf16 || f16) {
        if (info.precision == "bf16" || info.precision == "best" || bf16)
            s += engine::concat(", bf16 layers: ", bf16, "/", n);
        if (info.precision == "fp16" || info.precision == "best" || f16)
            s += engine::concat(", f16 layers: ", f16, "/", n);
    }
    return s + "; device '" + info.device_signature + "'";
}

void check_calibration_request(const std::string& precision, bool model_is_plan,
                               const std::string& calib_cache, const std::string& precision_name,
                               const std::string& cache_name) {
    ENGINE_CHECK(precision != "int8" || model_is_plan || !calib_cache.empty(), precision_name, " int8 needs ",
                 cache_name, ", a calibration cache made by `rtdet calibrate MODEL --images DIR`");
    ENGINE_CHECK(calib_cache.empty() || precision == "int8" || precision == "best",
                 cache_name.substr(0, cache_name.find(' ')), ": the cache is for precision int8 or best (",
                 precision_name, " is ", precision, ")");
}

detector::DetectorConfig make_detector_config(const DetectorCliOptions& o) {
    detector::DetectorConfig c;
    c.model = o.model.empty() ? default_model_path() : o.model;
    c.device = o.device;
    c.precision = engine::precision_from_name(o.precision);
    check_calibration_request(std::string(engine::precision_name(c.precision)),
                              fs::path(c.model).extension() == ".plan", o.calib_cache, "--precision",
                              "--calib-cache FILE");
    c.calibration_cache = o.calib_cache;
    c.max_batch = o.max_batch;
    c.threads = o.threads;
    c.plan_cache_dir = o.cache;
    if (!o.resize.empty()) c.resize = detector::resize_policy_from_name(o.resize);
    c.conf_threshold = o.conf;
    c.nms.iou_threshold = o.iou;
    c.nms.class_agnostic = o.agnostic;
    c.nms.max_detections = o.max_det;
    if (!o.names.empty()) c.class_names = detector::read_class_names(o.names);
    return c;
}

}  // namespace app
