// The detector facade: the only API the app uses. It owns the engine (plan built from the model once
// and cached), preallocated input/output buffers, and runs preprocess -> engine -> decode -> NMS.
// The YOLO head description comes from the model's ONNX metadata_props (written by `rtdet convert`);
// DetectorConfig fields override it.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "detector/nms.h"
#include "detector/preprocess.h"
#include "detector/types.h"
#include "engine/builder/build_options.h"
#include "engine/plan/plan.h"

namespace detector {

struct DetectorConfig {
    std::string model;           // .onnx, darknet .cfg (.weights beside it), or .plan
    ModelConversion conversion;  // darknet .cfg only: random weights, input size (types.h)
    std::string device = "cpu";
    engine::Precision precision = engine::Precision::FP32;
    // INT8 / best: the calibration cache (`rtdet calibrate`) the plan is built from (part of the plan
    // cache's key: another cache builds another plan).
    std::string calibration_cache;
    int max_batch = 1;
    int threads = 0;                     // 0: all cores
    std::string plan_cache_dir;          // empty: the user cache folder (~/.cache/rtdet or $RTDET_CACHE)
    std::optional<ResizePolicy> resize;  // empty: the model's metadata (rtdet.resize), else darknet
    float pad_value = 0.5f;              // letterbox padding, in [0, 1]
    float conf_threshold = 0.25f;
    NmsOptions nms;
    std::vector<std::string> class_names;  // empty: COCO's names (data/coco.names) for 80-class models
    // Plans on a GPU (device cuda, in a build with CUDA): preprocess and decode on the GPU too, so only
    // the frames go up and only the candidates above conf_threshold come back (detector/cuda/gpu_path.h).
    // false: on the CPU, as for other devices (for comparisons).
    bool gpu_pre_post = true;
};

// Wall time of each stage of the last detect() call. On the GPU path (Detector::gpu_pre_post):
// preprocess = frames to pinned staging (frames in pinned memory skip it) + upload + kernel,
// inference = the engine run, postprocess = decode kernel + copy of the candidates + NMS; each stage
// waits for its GPU work.
struct StageTimes {
    double preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0;
};

class Detector {
  public:
    // Builds or loads the plan (see plan_cache.h), reads the head description. Throws engine::Error.
    explicit Detector(const DetectorConfig& config);
    ~Detector();
    Detector(const Detector&) = delete;
    Detector& operator=(const Detector&) = delete;

    // Detections in image pixels, one vector per image; images.size() <= max_batch. The result
    // vectors are reused between calls (no allocation in steady state).
    const std::vector<std::vector<Detection>>& detect(std::span<const ImageView> images);
    const std::vector<Detection>& detect(const ImageView& image);

    const StageTimes& last_times() const;
    const std::vector<std::string>& class_names() const;
    int input_width() const;
    int input_height() const;
    int max_batch() const;
    ResizePolicy resize_policy() const;
    const std::vector<YoloHead>& heads() const;
    // Where the plan came from: "built", "cache hit", "rebuilt (<reason>)", "loaded".
    const std::string& plan_origin() const;
    // The plan's description (layers with backend and compute precision, device signature, metadata).
    const engine::PlanInfo& plan_info() const;
    // Whether preprocessing and decoding run on the GPU (DetectorConfig::gpu_pre_post on a GPU plan).
    bool gpu_pre_post() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace detector
