// Whole darknet models converted to ONNX by detector::convert_darknet, checked against two oracles:
//  1. OpenCV DNN's own darknet importer (readNetFromDarknet on the same cfg + weights) vs OpenCV DNN's
//     ONNX importer on our file: the outputs of the conv layers feeding each [yolo] layer (OpenCV's
//     [yolo] layer output is already decoded, so the raw head is taken one layer earlier).
//  2. Our engine (build_plan_from_onnx) vs OpenCV's ONNX importer on the same file: the reference
//     backend FP32 and device "cpu" (oneDNN + reference) FP32 within kTolerance; device "cpu" BF16
//     (where the CPU has it) within kBf16Tolerance.
// Models: Yolo-Fastest-1.1 and -XL (and once with BatchNormalization nodes kept) with
// their real COCO weights; YOLOv3-tiny-416, YOLOv3-416 and YOLOv4-tiny-416 with random weights (written with
// write_random_weights, so OpenCV reads the same numbers). Input: images/darknet_samples/dog.jpg resized
// without letterbox, RGB, 0..1. Converted ONNX and random weights are cached in
// ${RTDET_BINARY_DIR}/test_models/ and rebuilt when the test binary, the cfg or the weights are newer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <span>
#include <string>
#include <vector>

#include "detector/darknet/darknet_to_onnx.h"
#include "engine/backends/cpu/cpu_backend.h"
#include "engine/builder/builder.h"
#include "engine/runtime/runtime.h"
#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"

namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;  // max|a - b| / max|b|
// BF16 keeps 8 significant bits (relative rounding 2^-9 = 0.2% per stored activation and weight);
// through 20-75 conv layers the head error measured 0.9-4.4% of the head's largest value (AMX).
constexpr double kBf16Tolerance = 0.08;

struct ModelCase {
    std::string name;     // cache file stem
    std::string cfg;      // relative to the data dir
    std::string weights;  // relative to the data dir; empty: random weights with `seed`
    uint32_t seed = 0;
    int size = 0;  // square input size
    bool keep_batchnorm = false;
};

const ModelCase kFastest{"yolo-fastest-1.1", "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg",
                         "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights", 0, 320};
const ModelCase kFastestXl{"yolo-fastest-1.1-xl",
                           "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg",
                           "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.weights", 0, 320};
const ModelCase kYolov3Tiny{"yolov3-tiny-416-random", "models/darknet_cfg/yolov3-tiny.cfg", "", 1234, 416};
const ModelCase kYolov3{"yolov3-416-random", "models/darknet_cfg/yolov3.cfg", "", 4321, 416};
const ModelCase kYolov4Tiny{"yolov4-tiny-416-random", "models/darknet_cfg/yolov4-tiny.cfg", "", 99, 416};
// BatchNormalization nodes kept, so the engine's BN folding runs on a real model.
const ModelCase kFastestBn{"yolo-fastest-1.1-bn", kFastest.cfg, kFastest.weights, 0, 320, true};

// True when `out` exists and is newer than every existing dependency.
bool fresh(const fs::path& out, const std::vector<fs::path>& deps) {
    std::error_code ec;
    if (!fs::exists(out, ec)) return false;
    const auto t = fs::last_write_time(out, ec);
    for (const fs::path& d : deps)
        if (fs::exists(d, ec) && fs::last_write_time(d, ec) > t) return false;
    return true;
}

struct Prepared {
    std::string cfg, weights, onnx;
    std::vector<int> yolo_layers;  // indices of the [yolo] layers
    int size = 0;
};

// Converts (or reuses the cached conversion of) a model case; empty cfg when the data is missing.
Prepared prepare(const ModelCase& mc) {
    Prepared p;
    const std::string data = testing_util::data_dir();
    if (data.empty() || !fs::exists(fs::path(data) / mc.cfg)) return p;
    const fs::path cache = fs::path(RTDET_BINARY_DIR) / "test_models";
    fs::create_directories(cache);
    const fs::path exe = fs::read_symlink("/proc/self/exe");
    p.cfg = (fs::path(data) / mc.cfg).string();
    p.size = mc.size;
    if (mc.weights.empty()) {
        p.weights = (cache / (mc.name + ".weights")).string();
        if (!fresh(p.weights, {exe, p.cfg})) {
            detector::write_random_weights(p.cfg, mc.seed, p.weights + ".tmp");
            fs::rename(p.weights + ".tmp", p.weights);
        }
    } else {
        p.weights = (fs::path(data) / mc.weights).string();
    }
    p.onnx = (cache / (mc.name + ".onnx")).string();
    if (!fresh(p.onnx, {exe, p.cfg, p.weights})) {
        detector::ConvertOptions opt;
        opt.input_width = opt.input_height = mc.size;
        opt.keep_batchnorm = mc.keep_batchnorm;
        if (mc.weights.empty()) opt.random_weights_seed = mc.seed;  // same numbers as p.weights
        detector::convert_darknet(p.cfg, mc.weights.empty() ? "" : p.weights, p.onnx + ".tmp", opt);
        fs::rename(p.onnx + ".tmp", p.onnx);
    }
    const detector::DarknetModel model = detector::parse_cfg(p.cfg);
    for (size_t i = 0; i < model.layers.size(); ++i)
        if (model.layers[i].type == detector::DarknetLayerType::Yolo) {
            EXPECT_EQ(model.layers[i - 1].type, detector::DarknetLayerType::Convolutional);
            p.yolo_layers.push_back(static_cast<int>(i));
        }
    return p;
}

cv::Mat dog_blob(int size) {
    const std::string path = testing_util::data_dir() + "/images/darknet_samples/dog.jpg";
    const cv::Mat img = cv::imread(path);
    EXPECT_FALSE(img.empty()) << path;
    return cv::dnn::blobFromImage(img, 1 / 255., cv::Size(size, size), cv::Scalar(), true, false);
}

struct Stats {
    double max_rel = INFINITY, ref_max_abs = 0;
};

Stats compare(const float* a, const float* b, size_t n) {
    double max_abs = 0, ref = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return {HUGE_VAL, HUGE_VAL};
        max_abs = std::max(max_abs, static_cast<double>(std::fabs(a[i] - b[i])));
        ref = std::max(ref, static_cast<double>(std::fabs(b[i])));
    }
    return {max_abs / std::max(ref, 1e-30), ref};
}

std::vector<cv::Mat> run_opencv(cv::dnn::Net& net, const cv::Mat& blob,
                                const std::vector<std::string>& names) {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    net.setInput(blob);
    std::vector<cv::Mat> out;
    net.forward(out, names);
    return out;
}

std::vector<std::string> head_names(const Prepared& p) {
    std::vector<std::string> names;
    for (int i : p.yolo_layers) names.push_back("yolo_" + std::to_string(i));
    return names;
}

void darknet_vs_onnx(const ModelCase& mc, double min_ref, double max_ref) {
    const Prepared p = prepare(mc);
    if (p.cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: " << mc.cfg);
    const cv::Mat blob = dog_blob(p.size);
    cv::dnn::Net dk = cv::dnn::readNetFromDarknet(p.cfg, p.weights);
    cv::dnn::Net ox = cv::dnn::readNetFromONNX(p.onnx);
    std::vector<std::string> dk_names;
    for (int i : p.yolo_layers) dk_names.push_back("conv_" + std::to_string(i - 1));  // OpenCV's names
    const std::vector<cv::Mat> ref = run_opencv(dk, blob, dk_names);
    const std::vector<cv::Mat> got = run_opencv(ox, blob, head_names(p));
    ASSERT_EQ(ref.size(), p.yolo_layers.size());
    ASSERT_EQ(got.size(), p.yolo_layers.size());
    for (size_t k = 0; k < ref.size(); ++k) {
        ASSERT_EQ(ref[k].total(), got[k].total()) << dk_names[k];
        const Stats s = compare(got[k].ptr<float>(), ref[k].ptr<float>(), ref[k].total());
        EXPECT_LE(s.max_rel, kTolerance) << mc.name << " head " << k << " (" << dk_names[k] << ")";
        // The random-weight models must stay in a sensible range (neither vanishing nor exploding).
        EXPECT_GE(s.ref_max_abs, min_ref) << mc.name << " head " << k;
        EXPECT_LE(s.ref_max_abs, max_ref) << mc.name << " head " << k;
        std::cout << "[ darknet ] " << mc.name << " " << dk_names[k] << ": max_rel " << s.max_rel
                  << ", max |ref| " << s.ref_max_abs << "\n";
    }
}

void engine_vs_onnx(const ModelCase& mc, const std::string& device, engine::Precision precision) {
    const Prepared p = prepare(mc);
    if (p.cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: " << mc.cfg);
    const cv::Mat blob = dog_blob(p.size);
    cv::dnn::Net ox = cv::dnn::readNetFromONNX(p.onnx);

    engine::BuildOptions options;
    options.device = device;
    options.precision = precision;
    const bool bf16 = precision == engine::Precision::BF16;
#if RTDET_WITH_ONEDNN
    if (bf16 && !engine::onednn_cpu_has_bf16()) GTEST_SKIP() << "this CPU has no BF16 kernels";
#else
    if (bf16) GTEST_SKIP() << "built without oneDNN: no BF16 kernels";
#endif
    const std::string what = device + (bf16 ? " bf16" : " fp32");
    const engine::Plan plan = engine::build_plan_from_onnx(p.onnx, options);
    const std::shared_ptr<engine::Engine> eng = engine::Engine::load(plan);
    const std::unique_ptr<engine::ExecutionContext> ctx = eng->create_context();
    const engine::Tensor input = engine::Tensor::from_f32(
        {1, 3, p.size, p.size}, std::span<const float>(blob.ptr<float>(), blob.total()));
    const std::vector<engine::Tensor> outs = ctx->run({input});

    std::vector<std::string> names;
    for (const engine::IoDesc& io : eng->info().outputs) names.push_back(io.name);
    std::vector<std::string> expected_names = head_names(p);
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    std::sort(expected_names.begin(), expected_names.end());
    ASSERT_EQ(sorted, expected_names);
    ASSERT_EQ(outs.size(), names.size());
    const std::vector<cv::Mat> ref = run_opencv(ox, blob, names);
    for (size_t k = 0; k < names.size(); ++k) {
        ASSERT_EQ(static_cast<size_t>(outs[k].numel()), ref[k].total()) << names[k];
        const Stats s = compare(outs[k].data_as<float>(), ref[k].ptr<float>(), ref[k].total());
        EXPECT_LE(s.max_rel, bf16 ? kBf16Tolerance : kTolerance) << mc.name << " " << what << " " << names[k];
        std::cout << "[ engine  ] " << mc.name << " " << what << " " << names[k] << ": max_rel " << s.max_rel
                  << ", max |ref| " << s.ref_max_abs << "\n";
    }
}

TEST(DarknetVsOpenCv, YoloFastest11Coco) { darknet_vs_onnx(kFastest, 1.0, 1e3); }
TEST(DarknetVsOpenCv, YoloFastest11XlCoco) { darknet_vs_onnx(kFastestXl, 1.0, 1e3); }
TEST(DarknetVsOpenCv, Yolov3Tiny416RandomWeights) { darknet_vs_onnx(kYolov3Tiny, 0.5, 1e3); }
TEST(DarknetVsOpenCv, Yolov3_416RandomWeights) { darknet_vs_onnx(kYolov3, 0.5, 1e3); }
TEST(DarknetVsOpenCv, Yolov4Tiny416RandomWeights) { darknet_vs_onnx(kYolov4Tiny, 0.5, 1e3); }
TEST(DarknetVsOpenCv, YoloFastest11CocoKeepBatchNorm) { darknet_vs_onnx(kFastestBn, 1.0, 1e3); }

TEST(EngineVsOpenCvOnnx, YoloFastest11Coco) {
    engine_vs_onnx(kFastest, "reference", engine::Precision::FP32);
}
TEST(EngineVsOpenCvOnnx, YoloFastest11XlCoco) {
    engine_vs_onnx(kFastestXl, "reference", engine::Precision::FP32);
}
TEST(EngineVsOpenCvOnnx, Yolov3Tiny416RandomWeights) {
    engine_vs_onnx(kYolov3Tiny, "reference", engine::Precision::FP32);
}
TEST(EngineVsOpenCvOnnx, Yolov3_416RandomWeights) {
    engine_vs_onnx(kYolov3, "reference", engine::Precision::FP32);
}
TEST(EngineVsOpenCvOnnx, Yolov4Tiny416RandomWeights) {
    engine_vs_onnx(kYolov4Tiny, "reference", engine::Precision::FP32);
}
TEST(EngineVsOpenCvOnnx, YoloFastest11CocoKeepBatchNorm) {
    engine_vs_onnx(kFastestBn, "reference", engine::Precision::FP32);
}

TEST(OneDnnVsOpenCvOnnx, YoloFastest11Coco) { engine_vs_onnx(kFastest, "cpu", engine::Precision::FP32); }
TEST(OneDnnVsOpenCvOnnx, YoloFastest11XlCoco) { engine_vs_onnx(kFastestXl, "cpu", engine::Precision::FP32); }
TEST(OneDnnVsOpenCvOnnx, Yolov3Tiny416RandomWeights) {
    engine_vs_onnx(kYolov3Tiny, "cpu", engine::Precision::FP32);
}
TEST(OneDnnVsOpenCvOnnx, Yolov3_416RandomWeights) { engine_vs_onnx(kYolov3, "cpu", engine::Precision::FP32); }
TEST(OneDnnVsOpenCvOnnx, Yolov4Tiny416RandomWeights) {
    engine_vs_onnx(kYolov4Tiny, "cpu", engine::Precision::FP32);
}
TEST(OneDnnVsOpenCvOnnx, YoloFastest11CocoKeepBatchNorm) {
    engine_vs_onnx(kFastestBn, "cpu", engine::Precision::FP32);
}

TEST(OneDnnBf16VsOpenCvOnnx, YoloFastest11Coco) { engine_vs_onnx(kFastest, "cpu", engine::Precision::BF16); }
TEST(OneDnnBf16VsOpenCvOnnx, YoloFastest11XlCoco) {
    engine_vs_onnx(kFastestXl, "cpu", engine::Precision::BF16);
}
TEST(OneDnnBf16VsOpenCvOnnx, Yolov3Tiny416RandomWeights) {
    engine_vs_onnx(kYolov3Tiny, "cpu", engine::Precision::BF16);
}
TEST(OneDnnBf16VsOpenCvOnnx, Yolov3_416RandomWeights) {
    engine_vs_onnx(kYolov3, "cpu", engine::Precision::BF16);
}
TEST(OneDnnBf16VsOpenCvOnnx, Yolov4Tiny416RandomWeights) {
    engine_vs_onnx(kYolov4Tiny, "cpu", engine::Precision::BF16);
}
TEST(OneDnnBf16VsOpenCvOnnx, YoloFastest11CocoKeepBatchNorm) {
    engine_vs_onnx(kFastestBn, "cpu", engine::Precision::BF16);
}

}  // namespace
