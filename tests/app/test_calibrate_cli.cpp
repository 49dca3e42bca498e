// `rtdet calibrate` as the real binary (RTDET_EXE) on real images with Yolo-Fastest-1.1: the cache it
// writes (format, method, image count, the Detector's preprocessing, one usable range per tensor), the
// same file when run again, the same ranges to float rounding for another batch (oneDNN's kernels at
// batch 1 and 4 differ in the last bits), and its bad inputs (one line naming them, a non-zero exit; a
// corrupt image among good ones is named and skipped, the rest still calibrated).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/app/app_test_util.h"

namespace {
namespace fs = std::filesystem;

std::string coco_images() { return app_test::data_file("datasets/coco128/images/train2017"); }

std::vector<std::string> calibrate_args(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        RTDET_EXE, "calibrate", app_test::small_model(), "--cache", app_test::plan_cache(), "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

TEST(CalibrateCli, WritesOneUsableRangePerTensorTheSameWhateverTheBatch) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("calibrate_cli");
    std::string out, err;
    ASSERT_EQ(app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "6", "--batch",
                                                   "4", "-o", (dir / "b4.json").string()}),
                                   dir, &out, &err),
              0)
        << out << err;
    EXPECT_NE(out.find("on 6 image(s) (entropy, darknet 320x320)"), std::string::npos) << out;
    const nlohmann::json j = nlohmann::json::parse(app_test::read_text(dir / "b4.json"));
    EXPECT_EQ(j["format"], "rtdet-calibration");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["method"], "entropy");
    EXPECT_EQ(j["inputs"], 6);
    EXPECT_EQ(j["model"], "yolo-fastest-1.1.cfg");
    EXPECT_EQ(j["preprocess"], "darknet 320x320");
    ASSERT_GT(j["amax"].size(), 50u) << "every float activation of the optimized graph";
    // The input is RGB / 255 of real photos: its range reaches (nearly) 1.
    EXPECT_GT(j["amax"]["images"].get<double>(), 0.9);
    EXPECT_LE(j["amax"]["images"].get<double>(), 1.0);
    for (const auto& [name, a] : j["amax"].items()) {
        EXPECT_TRUE(std::isfinite(a.get<double>())) << name;
        EXPECT_GE(a.get<double>(), 0.0) << name;
    }
    ASSERT_EQ(app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "6", "--batch",
                                                   "1", "-o", (dir / "b1.json").string()}),
                                   dir, &out, &err),
              0)
        << out << err;
    const nlohmann::json k = nlohmann::json::parse(app_test::read_text(dir / "b1.json"));
    ASSERT_EQ(k["amax"].size(), j["amax"].size());
    for (const auto& [name, a] : j["amax"].items())
        EXPECT_NEAR(k["amax"][name].get<double>(), a.get<double>(), 1e-5 * a.get<double>()) << name;
    // Run again: the same file, byte for byte.
    ASSERT_EQ(app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "6", "--batch",
                                                   "4", "-o", (dir / "again.json").string()}),
                                   dir, &out, &err),
              0)
        << out << err;
    EXPECT_EQ(app_test::read_text(dir / "again.json"), app_test::read_text(dir / "b4.json"));
}

TEST(CalibrateCli, BadInputsAreOneLineAndACorruptImageIsSkipped) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("calibrate_cli_bad");
    // Two good images and a cut one.
    fs::create_directories(dir / "imgs");
    const std::vector<std::string> coco = {"000000000009.jpg", "000000000025.jpg"};
    for (const std::string& f : coco) fs::copy_file(fs::path(coco_images()) / f, dir / "imgs" / f);
    const std::string good = app_test::read_text(fs::path(coco_images()) / "000000000030.jpg");
    app_test::write_bytes(dir / "imgs" / "cut.jpg", good.substr(0, good.size() / 2));
    std::string out, err;
    EXPECT_EQ(app_test::run_to_end(calibrate_args({"--images", (dir / "imgs").string(), "-o",
                                                   (dir / "c.json").string(), "--method", "minmax"}),
                                   dir, &out, &err),
              1);
    EXPECT_NE(err.find("cut.jpg: skipped"), std::string::npos) << err;
    EXPECT_NE(err.find("1 of 3 image(s) skipped"), std::string::npos) << err;
    const nlohmann::json j = nlohmann::json::parse(app_test::read_text(dir / "c.json"));
    EXPECT_EQ(j["inputs"], 2);
    EXPECT_EQ(j["method"], "minmax");

    struct Bad {
        std::vector<std::string> args;
        std::string expect;
    };
    const std::vector<Bad> bad = {
        {{"--images", (dir / "missing").string()}, "missing"},
        {{"--images", app_test::video_path()}, "calibration reads image files"},
        {{"--images", (dir / "imgs").string(), "--method", "kl"}, "unknown calibration method 'kl'"},
        {{"--images", (dir / "imgs").string(), "-o", "/nonexistent/dir/c.json"},
         "cannot write calibration cache"},
        {{"--images", (dir / "imgs").string(), "--resize", "bicubic"}, "unknown resize policy 'bicubic'"},
    };
    for (const Bad& b : bad) {
        const int code = app_test::run_to_end(calibrate_args(b.args), dir, &out, &err);
        EXPECT_NE(code, 0) << b.expect;
        EXPECT_NE(err.find(b.expect), std::string::npos) << b.expect << ": " << err;
    }
    // A plan is not calibrated (it has lost the FP32 graph and the model's preprocessing metadata).
    app_test::write_bytes(dir / "m.plan", "not a plan");
    std::vector<std::string> args = calibrate_args({"--images", (dir / "imgs").string()});
    args[2] = (dir / "m.plan").string();
    EXPECT_NE(app_test::run_to_end(args, dir, &out, &err), 0);
    EXPECT_NE(err.find("is a plan"), std::string::npos) << err;
}

}  // namespace
