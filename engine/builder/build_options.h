// Options of `rtdet build` / Builder, recorded in the plan.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

struct CalibrationTable;

// TensorRT's meaning: a reduced precision is *allowed* where a backend has kernels for it; inputs and
// outputs stay FP32. Best allows every precision the device has (INT8 too when calibrated). INT8
// allows INT8 where a layer's backend has an INT8 kernel and its activations are calibrated
// (docs/int8.md), FP32 elsewhere; on a device without INT8 kernels it builds the best other precision
// and says so.
enum class Precision : uint8_t { FP32, FP16, BF16, Best, INT8 };

std::string_view precision_name(Precision p);       // "fp32", "fp16", "bf16", "best", "int8"
Precision precision_from_name(std::string_view s);  // throws engine::Error listing the allowed names

struct BuildOptions {
    std::string device = "cpu";  // "cpu" (fastest CPU backends, reference last) or "reference"
    Precision precision = Precision::FP32;
    int max_batch = 1;                         // plans run any batch 1..max_batch
    int threads = 0;                           // 0: all cores
    std::string timing_cache;                  // file of measured tactic timings (optional)
    std::vector<std::string> disabled_passes;  // pass names to skip (tests, debugging)
    // Activation layout of the backends that keep their own (engine/ir/layout.h): "auto" builds the
    // plan in each layout the backends offer, times it and keeps the fastest; "plain", "nhwc" or
    // "blocked16" forces one (backends that do not offer it use plain).
    std::string layout = "auto";
    // cuda: time cuDNN's graph API candidates besides its legacy API (false: legacy API only, for
    // comparisons; `rtdet build --cudnn-legacy`). Recorded in the plan only when false.
    bool cudnn_graph_api = true;
    // false: no timing where a choice has a default (the activation layout: the backends' first;
    // oneDNN's residual mode: its first usable one), so a model gives the same plan on the same
    // machine every time, as INT8 calibration needs. The CUDA backend still times its convolutions
    // (it has no default). Recorded in the plan only when false.
    bool time_tactics = true;
    // INT8: the calibration cache (engine/builder/calibration.h, `rtdet calibrate`) whose ranges set
    // Value::amax by value name. Empty: only ranges the model carries (ONNX QDQ) are used.
    std::string calibration_cache;
    // INT8: the same in memory (used instead of calibration_cache when set; not recorded in the plan).
    std::shared_ptr<const CalibrationTable> calibration;
    // INT8: layers (node names, as `rtdet info --layers` lists them) kept out of INT8, besides the
    // calibration's float_layers.
    std::vector<std::string> float_layers;
};

}  // namespace engine
