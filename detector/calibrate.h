// INT8 calibration of a detector model over real images (issue 16): each image goes through the
// Detector's own preprocessing (its resize policy, letterbox padding and input size, chosen by the
// same rule as the Detector: the config, else the model's rtdet.resize metadata, else darknet), then
// an FP32 run on the CPU that exposes every activation the builder keeps
// (engine::ActivationGatherer); the result is the calibration cache (engine::CalibrationTable).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detector/detector.h"
#include "detector/preprocess.h"
#include "engine/builder/calibration.h"
#include "engine/builder/sensitivity.h"

namespace detector {

struct CalibrationOptions {
    engine::CalibMethod method = engine::CalibMethod::Entropy;
    double percentile = 99.99;  // CalibMethod::Percentile
    int batch = 8;    // images per FP32 run (the ranges depend on it only by the kernels' float rounding)
    int threads = 0;  // CPU threads (0: all cores)
    // Mixed precision by measurement (engine/builder/sensitivity.h): > 0 measures each layer's INT8
    // error on the first this many images and records in the table the layers to keep in float.
    int sensitivity_images = 0;
    double max_error = 0.01;  // the whole INT8 plan's output error to stay within
};

class Calibrator {
  public:
    // Resolves config.model (.onnx or darknet .cfg; a .plan has lost what calibration needs) and
    // builds the FP32 gathering plan. Throws engine::Error naming the model.
    Calibrator(const DetectorConfig& config, const CalibrationOptions& options);
    ~Calibrator();
    Calibrator(const Calibrator&) = delete;
    Calibrator& operator=(const Calibrator&) = delete;

    // Adds one image (8-bit BGR); `name` names it in errors.
    void add(const ImageView& image, const std::string& name);
    // Runs what is left and returns the table (method, image count, model, preprocessing; with
    // sensitivity_images, the float layers and each layer's error). Throws when no image was added.
    engine::CalibrationTable finish();
    // The sensitivity measurement of the last finish() (empty without sensitivity_images).
    const engine::Int8Sensitivity& sensitivity() const { return sensitivity_; }

    ResizePolicy resize_policy() const { return resize_; }
    int input_width() const { return net_w_; }
    int input_height() const { return net_h_; }

  private:
    void run_batch();

    CalibrationOptions options_;
    std::string model_;
    ResizePolicy resize_ = ResizePolicy::Darknet;
    float pad_value_ = 0.5f;
    int net_w_ = 0, net_h_ = 0;
    std::unique_ptr<engine::ActivationGatherer> gather_;
    engine::ActivationHistograms hist_;
    engine::Tensor batch_;
    int filled_ = 0;
    std::vector<float> scratch_;
    engine::Graph graph_;                            // the imported model (sensitivity builds)
    std::vector<std::vector<engine::Tensor>> kept_;  // preprocessed batches for the sensitivity
    int kept_images_ = 0;
    engine::Int8Sensitivity sensitivity_;
};

}  // namespace detector
