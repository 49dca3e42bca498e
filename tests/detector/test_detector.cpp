// The Detector facade end to end on a tiny darknet model whose head output is known by construction:
// a 16x16 max-pool to a 2x2 grid, then a 1x1 conv with zero weights, so the head equals the conv biases
// whatever the image. With tx = ty = tw = th = 0 every cell has one box of anchor 0's size at the
// cell centre, so the detections are computed by hand (yolo_decode.h formulas). Also the plan cache
// (hit, corrupt -> rebuilt, foreign -> rebuilt), batches, class names and resize policies.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detector/calibrate.h"
#include "detector/detector.h"
#include "detector/plan_cache.h"
#include "engine/core/error.h"
#include "tests/testing/error_of.h"

using namespace detector;
namespace fs = std::filesystem;

namespace {

constexpr float kObjLogit = 8.f, kClassLogit = 6.f;
float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// 32x32 input, 2 anchors (4x4 and 8x6 px), 2 classes: head [N, 14, 2, 2].
const char* kCfg =
    "[net]\nwidth=32\nheight=32\nchannels=3\n"
    "[maxpool]\nsize=16\nstride=16\n"
    "[convolutional]\nfilters=14\nsize=1\nstride=1\nactivation=linear\n"
    "[yolo]\nmask=0,1\nanchors=4,4, 8,6\nclasses=2\nnum=2\n";

class DetectorTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("rtdet_test_detector_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        std::ofstream(dir_ / "tiny.cfg") << kCfg;
        // Weights: header 0.2.5 + int64 seen, then conv biases [14] and weights [14*3] (no batch norm).
        std::ofstream w(dir_ / "tiny.weights", std::ios::binary);
        const int32_t header[3] = {0, 2, 5};
        const int64_t seen = 0;
        w.write(reinterpret_cast<const char*>(header), sizeof header);
        w.write(reinterpret_cast<const char*>(&seen), sizeof seen);
        float bias[14] = {};
        bias[4] = kObjLogit;       // anchor 0 objectness
        bias[5] = kClassLogit;     // anchor 0 class 0
        bias[6] = -kClassLogit;    // anchor 0 class 1
        bias[7 + 4] = -kObjLogit;  // anchor 1: nothing
        w.write(reinterpret_cast<const char*>(bias), sizeof bias);
        const std::vector<float> weights(14 * 3, 0.f);
        w.write(reinterpret_cast<const char*>(weights.data()),
                static_cast<std::streamsize>(weights.size() * 4));
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }

    static DetectorConfig config(const std::string& cache = "cache") {
        DetectorConfig c;
        c.model = (dir_ / "tiny.cfg").string();
        c.plan_cache_dir = (dir_ / cache).string();
        c.threads = 1;
        return c;
    }
    static fs::path only_plan(const std::string& cache) {
        std::vector<fs::path> plans;
        for (const auto& e : fs::directory_iterator(dir_ / cache / "plans"))
            if (e.path().extension() == ".plan") plans.push_back(e.path());
        EXPECT_EQ(plans.size(), 1u);
        return plans.empty() ? fs::path() : plans.front();
    }

    static fs::path dir_;
};
fs::path DetectorTest::dir_;

struct Image {
    std::vector<uint8_t> bgr;
    int w = 0, h = 0;
    ImageView view() const { return {bgr.data(), w, h, static_cast<int64_t>(w) * 3}; }
};
Image gray(int w, int h) { return {std::vector<uint8_t>(static_cast<size_t>(w * h * 3), 128), w, h}; }

// The 4 expected boxes on a w x h image stretched to 32x32: cell centres (8|24, 8|24) in network
// pixels, 4x4 in size, scaled by (w/32, h/32); sorted like the detector's output (equal scores: by x1, y1).
std::vector<Box> expected_stretch_boxes(int w, int h) {
    std::vector<Box> boxes;
    const float sx = static_cast<float>(w) / 32, sy = static_cast<float>(h) / 32;
    for (float cy : {8.f, 24.f})
        for (float cx : {8.f, 24.f})
            boxes.push_back({(cx - 2) * sx, (cy - 2) * sy, (cx + 2) * sx, (cy + 2) * sy});
    std::sort(boxes.begin(), boxes.end(),
              [](const Box& a, const Box& b) { return std::tie(a.x1, a.y1) < std::tie(b.x1, b.y1); });
    return boxes;
}

void expect_boxes(const std::vector<Detection>& dets, const std::vector<Box>& boxes) {
    ASSERT_EQ(dets.size(), boxes.size());
    const float score = sigmoid(kObjLogit) * sigmoid(kClassLogit);
    for (size_t i = 0; i < boxes.size(); ++i) {
        EXPECT_EQ(dets[i].class_id, 0);
        EXPECT_NEAR(dets[i].score, score, 1e-5);
        EXPECT_NEAR(dets[i].objectness, sigmoid(kObjLogit), 1e-5);
        EXPECT_NEAR(dets[i].box.x1, boxes[i].x1, 1e-3) << i;
        EXPECT_NEAR(dets[i].box.y1, boxes[i].y1, 1e-3) << i;
        EXPECT_NEAR(dets[i].box.x2, boxes[i].x2, 1e-3) << i;
        EXPECT_NEAR(dets[i].box.y2, boxes[i].y2, 1e-3) << i;
    }
}

}  // namespace

TEST_F(DetectorTest, HandComputedDetectionsAndMetadata) {
    Detector det(config());
    EXPECT_EQ(det.input_width(), 32);
    EXPECT_EQ(det.input_height(), 32);
    EXPECT_EQ(det.resize_policy(), ResizePolicy::Darknet);  // metadata rtdet.resize of a non-letterbox cfg
    ASSERT_EQ(det.heads().size(), 1u);
    EXPECT_EQ(det.heads()[0].classes, 2);
    EXPECT_EQ(det.heads()[0].anchors, (std::vector<float>{4, 4, 8, 6}));
    EXPECT_EQ(det.class_names(), (std::vector<std::string>{"class0", "class1"}));
    const Image img = gray(64, 32);
    expect_boxes(det.detect(img.view()), expected_stretch_boxes(64, 32));
    const StageTimes& t = det.last_times();
    EXPECT_GE(t.preprocess_ms, 0);
    EXPECT_GT(t.inference_ms + t.preprocess_ms + t.postprocess_ms, 0);
}

TEST_F(DetectorTest, LetterboxMapsThroughThePadding) {
    // 64x32 into 32x32: scale .5, 32x16 centred with 8 rows of padding above. Net y centre 8 -> image
    // (8 - 8) / .5 = 0, box y in [-4, 4] clipped to [0, 4]; centre 24 -> 32, box [28, 36] clipped to [28,
    // 32].
    DetectorConfig c = config();
    c.resize = ResizePolicy::Letterbox;
    Detector det(c);
    const Image img = gray(64, 32);
    expect_boxes(det.detect(img.view()),
                 {{12, 0, 20, 4}, {12, 28, 20, 32}, {44, 0, 52, 4}, {44, 28, 52, 32}});
}

TEST_F(DetectorTest, ThresholdsAndNmsOptionsApply) {
    DetectorConfig c = config();
    c.conf_threshold = 0.999f;  // above sigmoid(8) * sigmoid(6) = .9973
    Detector none(c);
    const Image img = gray(40, 40);
    EXPECT_TRUE(none.detect(img.view()).empty());
    c.conf_threshold = 0.001f;  // class 1 (sigmoid(8) * sigmoid(-6) = .0025) appears too
    c.nms.max_detections = 6;
    Detector low(c);
    const auto& dets = low.detect(img.view());
    ASSERT_EQ(dets.size(), 6u);
    EXPECT_EQ(std::count_if(dets.begin(), dets.end(), [](const Detection& d) { return d.class_id == 1; }), 2);
}

TEST_F(DetectorTest, BatchesMapEachImageItsOwnWay) {
    DetectorConfig c = config("cache_b2");
    c.max_batch = 2;
    c.resize = ResizePolicy::Stretch;
    Detector det(c);
    EXPECT_EQ(det.max_batch(), 2);
    const Image a = gray(64, 32), b = gray(32, 96);
    const ImageView views[2] = {a.view(), b.view()};
    const auto& res = det.detect(std::span<const ImageView>(views, 2));
    ASSERT_GE(res.size(), 2u);
    expect_boxes(res[0], expected_stretch_boxes(64, 32));
    expect_boxes(res[1], expected_stretch_boxes(32, 96));
    const ImageView three[3] = {a.view(), b.view(), a.view()};
    EXPECT_THROW(det.detect(std::span<const ImageView>(three, 3)), engine::Error);
}

TEST_F(DetectorTest, ClassNamesFromConfigAreCompleted) {
    DetectorConfig c = config();
    c.class_names = {"thing"};
    Detector det(c);
    EXPECT_EQ(det.class_names(), (std::vector<std::string>{"thing", "class1"}));
}

TEST_F(DetectorTest, PlanCacheHitCorruptAndForeign) {
    const std::string cache = "cache_pc";
    {
        Detector first(config(cache));
        EXPECT_EQ(first.plan_origin(), "built");
    }
    {
        Detector second(config(cache));
        EXPECT_EQ(second.plan_origin(), "cache hit");
    }
    const fs::path plan = only_plan(cache);
    // Corrupt one byte in the middle: the checksum catches it, the plan is rebuilt and works.
    {
        std::fstream f(plan, std::ios::in | std::ios::out | std::ios::binary);
        const auto at = static_cast<std::streamoff>(fs::file_size(plan) / 2);
        f.seekg(at);
        const char byte = static_cast<char>(f.get() ^ 0xff);
        f.seekp(at);
        f.put(byte);
    }
    {
        Detector third(config(cache));
        EXPECT_EQ(third.plan_origin().rfind("rebuilt (", 0), 0u) << third.plan_origin();
        const Image img = gray(64, 32);
        expect_boxes(third.detect(img.view()), expected_stretch_boxes(64, 32));
    }
    EXPECT_EQ(Detector(config(cache)).plan_origin(), "cache hit");
    // A plan for another request (max batch 3) in this request's file: rebuilt, saying why.
    {
        DetectorConfig c3 = config("cache_pc3");
        c3.max_batch = 3;
        Detector other(c3);
        fs::copy_file(only_plan("cache_pc3"), plan, fs::copy_options::overwrite_existing);
    }
    Detector fourth(config(cache));
    EXPECT_NE(fourth.plan_origin().find("max batch 3"), std::string::npos) << fourth.plan_origin();
    // Garbage (not a plan at all).
    std::ofstream(plan, std::ios::trunc) << "not a plan";
    EXPECT_EQ(Detector(config(cache)).plan_origin().rfind("rebuilt (", 0), 0u);
}

// A cached plan older than the engine's code (librtdet_engine.so, or this test binary when static) is
// rebuilt; a program built after the plan that only uses the libraries (this test binary, in a shared
// build) is not a reason to rebuild.
TEST_F(DetectorTest, PlanCacheRebuildsPlansOlderThanTheEngine) {
    const std::string cache = "cache_age";
    { Detector first(config(cache)); }
    const fs::path plan = only_plan(cache);
    const auto exe_time = fs::last_write_time(fs::read_symlink("/proc/self/exe"));
    fs::last_write_time(plan, exe_time + std::chrono::hours(1));
    EXPECT_EQ(Detector(config(cache)).plan_origin(), "cache hit");
    // Older than every file involved: rebuilt, naming the engine's file.
    fs::last_write_time(plan, exe_time - std::chrono::hours(24 * 365 * 10));
    const std::string origin = Detector(config(cache)).plan_origin();
    EXPECT_EQ(origin.rfind("rebuilt (the engine (", 0), 0u) << origin;
    EXPECT_NE(origin.find("newer than the cached plan"), std::string::npos) << origin;
    EXPECT_EQ(Detector(config(cache)).plan_origin(), "cache hit");
}

TEST_F(DetectorTest, PlanCacheKeySeparatesRequests) {
    engine::BuildOptions a;
    engine::BuildOptions b = a;
    b.max_batch = 2;
    engine::BuildOptions p = a;
    p.precision = engine::Precision::BF16;
    EXPECT_EQ(plan_cache_key("abc", a), plan_cache_key("abc", a));
    EXPECT_NE(plan_cache_key("abc", a), plan_cache_key("abd", a));
    EXPECT_NE(plan_cache_key("abc", a), plan_cache_key("abc", b));
    EXPECT_NE(plan_cache_key("abc", a), plan_cache_key("abc", p));
}

TEST_F(DetectorTest, ErrorsNameTheProblem) {
    DetectorConfig c = config();
    c.model = (dir_ / "missing.cfg").string();
    try {
        Detector d(c);
        FAIL() << "expected engine::Error";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.cfg"), std::string::npos) << e.what();
    }
    c = config();
    c.pad_value = 2.f;
    EXPECT_THROW(Detector{c}, engine::Error);
}

// rtdet's darknet resize policy against an independent numpy implementation of darknet's
// resize_image() (scripts/tools/check_darknet_resize.py, which wrote tests/data/darknet_resize_cases.bin):
// downscale, upscale, one-pixel-wide and -high sources. The only expected difference is how 1/255 is
// applied (darknet divides in double, rtdet multiplies in float): a few float ulps.
TEST(DarknetResize, MatchesNumpyDarknetImplementation) {
    const fs::path path = fs::path(RTDET_SOURCE_DIR) / "tests" / "data" / "darknet_resize_cases.bin";
    std::ifstream f(path, std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    char magic[4];
    int32_t count = 0;
    f.read(magic, 4);
    f.read(reinterpret_cast<char*>(&count), 4);
    ASSERT_EQ(std::string(magic, 4), "DRZ1");
    ASSERT_EQ(count, 7);
    std::vector<float> out, scratch;
    for (int i = 0; i < count; ++i) {
        int32_t dims[4];
        f.read(reinterpret_cast<char*>(dims), sizeof dims);
        const int iw = dims[0], ih = dims[1], ow = dims[2], oh = dims[3];
        std::vector<uint8_t> img(static_cast<size_t>(iw * ih * 3));
        std::vector<float> expected(static_cast<size_t>(3 * ow * oh));
        f.read(reinterpret_cast<char*>(img.data()), static_cast<std::streamsize>(img.size()));
        f.read(reinterpret_cast<char*>(expected.data()), static_cast<std::streamsize>(expected.size() * 4));
        ASSERT_TRUE(f.good()) << "case " << i;
        out.assign(expected.size(), -1.f);
        preprocess({img.data(), iw, ih, static_cast<int64_t>(iw) * 3}, ResizePolicy::Darknet, ow, oh, 0.5f,
                   out.data(), scratch);
        float max_diff = 0;
        for (size_t k = 0; k < out.size(); ++k) max_diff = std::max(max_diff, std::abs(out[k] - expected[k]));
        EXPECT_LE(max_diff, 4e-7f) << "case " << i << ": " << iw << "x" << ih << " -> " << ow << "x" << oh;
    }
}

// INT8 calibration through the Detector's preprocessing, by hand: the tiny model's max-pool of a
// uniform image is the image's value / 255, and its head is the conv biases (zero weights): largest
// |bias| 8. Five images in batches of 2 (the last one partial).
TEST_F(DetectorTest, CalibratorRangesByHand) {
    CalibrationOptions o;
    o.method = engine::CalibMethod::MinMax;
    o.batch = 2;
    o.threads = 1;
    Calibrator cal(config(), o);
    EXPECT_EQ(cal.input_width(), 32);
    EXPECT_EQ(cal.resize_policy(), ResizePolicy::Darknet);
    for (int i = 0; i < 5; ++i) {
        Image img = gray(40 + i, 24);
        std::fill(img.bgr.begin(), img.bgr.end(), static_cast<uint8_t>(100 + 25 * i));  // up to 200
        cal.add(img.view(), "gray" + std::to_string(i));
    }
    const engine::CalibrationTable t = cal.finish();
    EXPECT_EQ(t.inputs, 5);
    EXPECT_EQ(t.model, "tiny.cfg");
    EXPECT_EQ(t.preprocess, "darknet 32x32");
    ASSERT_EQ(t.amax.size(), 3u) << "the input, the max-pool and the head";
    std::vector<double> amax;
    for (const auto& [name, a] : t.amax) amax.push_back(a);
    std::sort(amax.begin(), amax.end());
    EXPECT_NEAR(amax[0], 200.0 / 255, 1e-6);
    EXPECT_NEAR(amax[1], 200.0 / 255, 1e-6);
    EXPECT_DOUBLE_EQ(amax[2], kObjLogit);
}

// The table does not depend on how the images are batched (histograms are fed image by image).
TEST_F(DetectorTest, CalibrationIsTheSameForAnyBatch) {
    std::vector<Image> images;
    uint32_t state = 12345;
    for (int i = 0; i < 7; ++i) {
        Image img = gray(33 + 3 * i, 30 + i);
        for (uint8_t& b : img.bgr) b = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
        images.push_back(std::move(img));
    }
    std::string first;
    for (int batch : {1, 3, 8}) {
        CalibrationOptions o;
        o.batch = batch;
        o.threads = 1;
        Calibrator cal(config(), o);
        for (size_t i = 0; i < images.size(); ++i) cal.add(images[i].view(), std::to_string(i));
        const std::string json = cal.finish().to_json();
        if (first.empty()) first = json;
        EXPECT_EQ(json, first) << "batch " << batch;
    }
}

TEST_F(DetectorTest, CalibratorErrorsNameTheProblem) {
    using testing_util::error_of;
    DetectorConfig c = config();
    c.model = (dir_ / "x.plan").string();
    EXPECT_NE(error_of([&] { Calibrator(c, {}); }).find("is a plan"), std::string::npos);
    CalibrationOptions o;
    o.batch = 0;
    EXPECT_NE(error_of([&] { Calibrator(config(), o); }).find("batch must be >= 1"), std::string::npos);
    Calibrator cal(config(), {});
    EXPECT_NE(
        error_of([&] { cal.add(ImageView{}, "broken.jpg"); }).find("calibration image broken.jpg: empty"),
        std::string::npos);
    EXPECT_NE(error_of([&] { cal.finish(); }).find("no images"), std::string::npos);
}
