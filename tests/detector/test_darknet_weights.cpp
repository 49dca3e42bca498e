// Darknet .weights reading against hand-built files, size checks, random weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detector/darknet/darknet_to_onnx.h"
#include "detector/darknet/darknet_weights.h"
#include "engine/core/error.h"
#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"

namespace {

namespace fs = std::filesystem;

template <typename Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected engine::Error";
    return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

class DarknetWeights : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("rtdet_darknet_weights_" + std::to_string(getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // Raw little-endian file: header ints, seen (64 or 32 bit), floats.
    std::string write_raw(const std::string& name, std::vector<int32_t> header, bool seen64,
                          const std::vector<float>& v) {
        std::ofstream f(path(name), std::ios::binary);
        for (int32_t h : header) f.write(reinterpret_cast<const char*>(&h), 4);
        if (seen64) {
            const int64_t seen = 123456789012;
            f.write(reinterpret_cast<const char*>(&seen), 8);
        } else {
            const int32_t seen = 77;
            f.write(reinterpret_cast<const char*>(&seen), 4);
        }
        f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
        return path(name);
    }

    fs::path dir_;
};

// 0: conv 2 filters 1x1 on 3 channels, bias only (2 + 6 = 8 params)
// 1: conv 2 filters 1x1 on 2 channels, batch norm (4*2 + 4 = 12 params)
const char* kCfg =
    "[net]\nwidth=4\nheight=4\nchannels=3\n"
    "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
    "[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\nactivation=leaky\n";

std::vector<float> iota_floats(int n, float start) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<float>(i);
    return v;
}

TEST_F(DarknetWeights, ReadsLayersInDarknetOrder) {
    const auto model = detector::parse_cfg_text(kCfg, "w.cfg");
    ASSERT_EQ(detector::darknet_param_count(model), 20);
    const std::string file = write_raw("a.weights", {0, 2, 5}, true, iota_floats(20, 1.f));
    const auto w = detector::read_darknet_weights(file, model);
    EXPECT_EQ(w.major, 0);
    EXPECT_EQ(w.minor, 2);
    EXPECT_EQ(w.revision, 5);
    EXPECT_EQ(w.seen, 123456789012u);
    ASSERT_EQ(w.layers.size(), 2u);
    EXPECT_EQ(w.layers[0].biases, (std::vector<float>{1, 2}));
    EXPECT_EQ(w.layers[0].weights, (std::vector<float>{3, 4, 5, 6, 7, 8}));
    EXPECT_TRUE(w.layers[0].scales.empty());
    EXPECT_EQ(w.layers[1].biases, (std::vector<float>{9, 10}));
    EXPECT_EQ(w.layers[1].scales, (std::vector<float>{11, 12}));
    EXPECT_EQ(w.layers[1].rolling_mean, (std::vector<float>{13, 14}));
    EXPECT_EQ(w.layers[1].rolling_variance, (std::vector<float>{15, 16}));
    EXPECT_EQ(w.layers[1].weights, (std::vector<float>{17, 18, 19, 20}));
}

TEST_F(DarknetWeights, OldHeaderHasInt32Seen) {
    const auto model = detector::parse_cfg_text(kCfg, "w.cfg");
    const std::string file = write_raw("old.weights", {0, 1, 0}, false, iota_floats(20, 1.f));
    ASSERT_EQ(fs::file_size(file), 16u + 80u);
    const auto w = detector::read_darknet_weights(file, model);
    EXPECT_EQ(w.seen, 77u);
    EXPECT_EQ(w.layers[0].biases, (std::vector<float>{1, 2}));
    EXPECT_EQ(w.layers[1].weights, (std::vector<float>{17, 18, 19, 20}));
}

TEST_F(DarknetWeights, SizeMismatchSaysExpectedAndFoundBytes) {
    const auto model = detector::parse_cfg_text(kCfg, "w.cfg");
    const std::string short_file = write_raw("short.weights", {0, 2, 5}, true, iota_floats(19, 1.f));
    std::string msg = error_of([&] { detector::read_darknet_weights(short_file, model); });
    EXPECT_CONTAINS(msg, short_file);
    EXPECT_CONTAINS(msg, "w.cfg");
    EXPECT_CONTAINS(msg, "expected 100 bytes");
    EXPECT_CONTAINS(msg, "found 96 bytes");
    EXPECT_CONTAINS(msg, "truncated");

    const std::string long_file = write_raw("long.weights", {0, 2, 5}, true, iota_floats(21, 1.f));
    msg = error_of([&] { detector::read_darknet_weights(long_file, model); });
    EXPECT_CONTAINS(msg, "expected 100 bytes");
    EXPECT_CONTAINS(msg, "found 104 bytes");

    // A 32-bit-seen header makes the same floats 4 bytes shorter: 96 expected.
    const std::string old_long = write_raw("old_long.weights", {0, 1, 0}, false, iota_floats(21, 1.f));
    EXPECT_CONTAINS(error_of([&] { detector::read_darknet_weights(old_long, model); }), "expected 96 bytes");
}

TEST_F(DarknetWeights, TruncatedHeaderAndMissingFile) {
    const auto model = detector::parse_cfg_text(kCfg, "w.cfg");
    {
        std::ofstream f(path("tiny.weights"), std::ios::binary);
        f.write("\0\0\0\0\2\0\0\0", 8);
    }
    EXPECT_CONTAINS(error_of([&] { detector::read_darknet_weights(path("tiny.weights"), model); }),
                    "truncated header");
    const std::string missing = path("missing.weights");
    EXPECT_CONTAINS(error_of([&] { detector::read_darknet_weights(missing, model); }),
                    missing + ": cannot open darknet weights file");
    EXPECT_CONTAINS(error_of([&] { detector::write_random_weights(path("none.cfg"), 1, path("x.weights")); }),
                    "none.cfg: cannot open darknet cfg file");
}

TEST_F(DarknetWeights, WeightsOfAnotherCfgAreRejected) {
    const std::string v3 = testing_util::data_dir() + "/models/darknet_cfg/yolov3-tiny.cfg";
    const std::string fastest =
        testing_util::data_dir() + "/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights";
    if (!fs::exists(v3) || !fs::exists(fastest))
        RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing");
    const auto model = detector::parse_cfg(v3);
    const std::string msg = error_of([&] { detector::read_darknet_weights(fastest, model); });
    EXPECT_CONTAINS(msg, "expected 35434956 bytes");
    EXPECT_CONTAINS(msg, "found 1384268 bytes");
}

TEST_F(DarknetWeights, RealYoloFastestWeightsLoad) {
    const std::string base =
        testing_util::data_dir() + "/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1";
    if (!fs::exists(base + ".weights")) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing");
    const auto model = detector::parse_cfg(base + ".cfg");
    const auto w = detector::read_darknet_weights(base + ".weights", model);
    EXPECT_EQ(w.major, 0);
    EXPECT_EQ(w.minor, 2);
    EXPECT_EQ(w.revision, 5);
    EXPECT_EQ(w.seen, 14231680u);  // MANIFEST
    for (size_t i = 0; i < w.layers.size(); ++i)
        for (float v : w.layers[i].rolling_variance) EXPECT_GE(v, 0.f) << "layer " << i;
}

TEST_F(DarknetWeights, RandomWeightsAreDeterministicAndScaled) {
    const auto model = detector::parse_cfg_text(kCfg, "w.cfg");
    const auto a = detector::random_darknet_weights(model, 7);
    const auto b = detector::random_darknet_weights(model, 7);
    const auto c = detector::random_darknet_weights(model, 8);
    EXPECT_EQ(a.layers[0].weights, b.layers[0].weights);
    EXPECT_EQ(a.layers[1].rolling_variance, b.layers[1].rolling_variance);
    EXPECT_NE(a.layers[0].weights, c.layers[0].weights);
    // fan_in of both layers: 3 and 2 -> |w| <= 0.9 * sqrt(6 / fan_in).
    for (float v : a.layers[0].weights) EXPECT_LE(std::fabs(v), 0.9f * std::sqrt(6.f / 3.f));
    for (float v : a.layers[1].weights) EXPECT_LE(std::fabs(v), 0.9f * std::sqrt(6.f / 2.f));
    for (float v : a.layers[1].scales) EXPECT_TRUE(v >= 0.5f && v <= 1.5f) << v;
    for (float v : a.layers[1].rolling_variance) EXPECT_TRUE(v >= 0.5f && v <= 1.5f) << v;
    for (float v : a.layers[1].rolling_mean) EXPECT_LE(std::fabs(v), 0.1f);
    for (float v : a.layers[0].biases) EXPECT_LE(std::fabs(v), 0.1f);
}

TEST_F(DarknetWeights, WriteRandomWeightsRoundTrips) {
    const std::string cfg = path("m.cfg");
    {
        std::ofstream f(cfg);
        f << kCfg;
    }
    detector::write_random_weights(cfg, 42, path("m.weights"));
    EXPECT_EQ(fs::file_size(path("m.weights")), 20u + 4u * 20u);
    const auto model = detector::parse_cfg(cfg);
    const auto read = detector::read_darknet_weights(path("m.weights"), model);
    const auto expect = detector::random_darknet_weights(model, 42);
    EXPECT_EQ(read.major, 0);
    EXPECT_EQ(read.minor, 2);
    EXPECT_EQ(read.revision, 5);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(read.layers[i].biases, expect.layers[i].biases);
        EXPECT_EQ(read.layers[i].scales, expect.layers[i].scales);
        EXPECT_EQ(read.layers[i].rolling_mean, expect.layers[i].rolling_mean);
        EXPECT_EQ(read.layers[i].rolling_variance, expect.layers[i].rolling_variance);
        EXPECT_EQ(read.layers[i].weights, expect.layers[i].weights);
    }
}

}  // namespace
