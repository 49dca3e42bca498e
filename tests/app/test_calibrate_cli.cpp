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

namespace {

std::vector<std::string> build_args(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {RTDET_EXE, "build", app_test::small_model()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// `rtdet build --precision int8 --calib IMAGES`: calibrates (writing PLAN.calib.json), builds INT8
// layers where this CPU has INT8 kernels (else says so and builds without), and the cache alone
// rebuilds the same layers without calibrating again.
TEST(BuildInt8Cli, CalibratesBuildsAndRebuildsFromTheCache) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("build_int8_cli");
    std::string out, err;
    const std::string plan = (dir / "m.plan").string();
    ASSERT_EQ(app_test::run_to_end(build_args({"--precision", "int8", "--calib", coco_images(),
                                               "--calib-max-images", "6", "-o", plan}),
                                   dir, &out, &err),
              0)
        << out << err;
    EXPECT_NE(out.find("on 6 image(s) (entropy, darknet 320x320)"), std::string::npos) << out;
    ASSERT_TRUE(fs::exists(plan + ".calib.json"));
    std::string layers;
    ASSERT_EQ(app_test::run_to_end({RTDET_EXE, "info", "--layers", plan}, dir, &layers, &err), 0) << err;
    EXPECT_NE(layers.find("precision int8"), std::string::npos) << layers;
    const bool int8_here = layers.find(" i8") != std::string::npos;
    if (!int8_here) EXPECT_NE(err.find("has no INT8 kernels"), std::string::npos) << err;

    const std::string again = (dir / "again.plan").string();
    ASSERT_EQ(app_test::run_to_end(
                  build_args({"--precision", "int8", "--calib-cache", plan + ".calib.json", "-o", again}),
                  dir, &out, &err),
              0)
        << out << err;
    EXPECT_EQ(out.find("calibrated"), std::string::npos) << "the cache alone: no calibration";
    std::string layers_again;
    ASSERT_EQ(app_test::run_to_end({RTDET_EXE, "info", "--layers", again}, dir, &layers_again, &err), 0)
        << err;
    auto layer_lines = [](const std::string& s) { return s.substr(s.find("layers")); };
    EXPECT_EQ(layer_lines(layers_again), layer_lines(layers));

    // Keeping one conv in float by name.
    const std::string one = (dir / "one.plan").string();
    ASSERT_EQ(app_test::run_to_end(build_args({"--precision", "int8", "--calib-cache", plan + ".calib.json",
                                               "--int8-float", "layer_0_conv", "-o", one}),
                                   dir, &out, &err),
              0)
        << out << err;
    std::string layers_one;
    ASSERT_EQ(app_test::run_to_end({RTDET_EXE, "info", "--layers", one}, dir, &layers_one, &err), 0) << err;
    const size_t at = layers_one.find("layer_0_conv");
    ASSERT_NE(at, std::string::npos) << layers_one;
    const std::string line = layers_one.substr(at, layers_one.find('\n', at) - at);
    EXPECT_EQ(line.find("i8"), std::string::npos) << line;
    if (int8_here) EXPECT_NE(layers_one.find(" i8"), std::string::npos) << "the other convs stay INT8";

    // best from the same cache: INT8 only where it measured faster; the log and `rtdet info` say what
    // was timed and chosen (the choice itself depends on this machine).
    const std::string best = (dir / "best.plan").string();
    ASSERT_EQ(app_test::run_to_end(
                  build_args({"--precision", "best", "--calib-cache", plan + ".calib.json", "-o", best}), dir,
                  &out, &err),
              0)
        << out << err;
    const std::string best_log = err;
    std::string layers_best;
    ASSERT_EQ(app_test::run_to_end({RTDET_EXE, "info", "--layers", best}, dir, &layers_best, &err), 0) << err;
    if (int8_here) {
        EXPECT_NE(best_log.find("best: timed at batch 1: int8 "), std::string::npos) << best_log;
        EXPECT_NE(layers_best.find("tactic precision = "), std::string::npos) << layers_best;
        EXPECT_NE(layers_best.find("tactic precision.ms.int8 = "), std::string::npos) << layers_best;
        auto i8_convs = [](const std::string& s) {
            size_t n = 0;
            for (size_t at = s.find("\n  Conv"); at != std::string::npos; at = s.find("\n  Conv", at + 1))
                n += s.compare(s.find('\n', at + 1) - 3, 3, " i8") == 0;
            return n;
        };
        // INT8 chosen: the int8 plan's INT8 convs; else fewer.
        if (layers_best.find("tactic precision = int8\n") != std::string::npos)
            EXPECT_EQ(i8_convs(layers_best), i8_convs(layers));
        else
            EXPECT_LT(i8_convs(layers_best), i8_convs(layers));
    } else {
        EXPECT_EQ(layers_best.find(" i8"), std::string::npos) << layers_best;
    }

    // Cross-layer equalization: recorded in the cache, and a build from it equalizes the same way.
    const std::string eq = (dir / "eq.json").string();
    ASSERT_EQ(app_test::run_to_end(
                  calibrate_args({"--images", coco_images(), "--max-images", "2", "--equalize", "-o", eq}),
                  dir, &out, &err),
              0)
        << err;
    EXPECT_EQ(nlohmann::json::parse(app_test::read_text(eq))["equalize"], true);
    ASSERT_EQ(app_test::run_to_end(
                  build_args({"--precision", "int8", "--calib-cache", eq, "-o", (dir / "eq.plan").string()}),
                  dir, &out, &err),
              0)
        << err;
    EXPECT_NE(err.find("inputs, equalized)"), std::string::npos) << err;
}

TEST(BuildInt8Cli, SensitivityIsMeasuredReportedAndRecorded) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("build_int8_sensitivity");
    std::string out, err;
    const std::string cache = (dir / "s.json").string();
    ASSERT_EQ(app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "4", "--batch",
                                                   "2", "--int8-sensitivity", "--sensitivity-images", "2",
                                                   "--max-error", "1", "-o", cache}),
                                   dir, &out, &err),
              0)
        << out << err;
    const nlohmann::json j = nlohmann::json::parse(app_test::read_text(cache));
    EXPECT_NE(out.find("INT8 sensitivity"), std::string::npos) << out;
    if (j.contains("sensitivity")) {
        // One error per conv (the small model's 1x1 and 3x3 convs are all INT8 here), each reported;
        // max error 1 (100 %): nothing needs to stay in float.
        EXPECT_GT(j["sensitivity"].size(), 20u);
        for (const auto& [name, e] : j["sensitivity"].items()) {
            EXPECT_GE(e.get<double>(), 0.0) << name;
            EXPECT_NE(out.find("  " + name + " "), std::string::npos) << name;
        }
        EXPECT_FALSE(j.contains("float_layers"));
        EXPECT_NE(out.find("kept in float: 0 layer(s)"), std::string::npos) << out;
    } else {
        EXPECT_NE(err.find("has no INT8 kernels"), std::string::npos) << err;  // nothing to measure here
    }
}

TEST(BuildInt8Cli, BadInputsAreOneLineAndWriteNoPlan) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("build_int8_bad");
    app_test::write_bytes(dir / "corrupt.json",
                          "{\"format\": \"rtdet-calibration\", \"version\": 1, \"method\": 3}");
    app_test::write_bytes(dir / "other.json",
                          "{\"format\": \"rtdet-calibration\", \"version\": 1, \"method\": \"minmax\", "
                          "\"inputs\": 1, \"amax\": {\"someone_else\": 1.0}}");
    std::string out, err;
    // A usable cache for this model.
    ASSERT_EQ(app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "2", "-o",
                                                   (dir / "good.json").string()}),
                                   dir, &out, &err),
              0)
        << err;
    const std::string good = (dir / "good.json").string();
    struct Bad {
        std::vector<std::string> args;
        std::string expect;
    };
    const std::vector<Bad> bad = {
        {{"--precision", "fp32", "--calib", coco_images()}, "INT8 needs --precision int8 or best"},
        {{"--precision", "int8"}, "precision int8 needs activation ranges"},
        {{"--precision", "int8", "--calib-cache", (dir / "missing.json").string()},
         "cannot read calibration cache"},
        {{"--precision", "int8", "--calib-cache", (dir / "corrupt.json").string()}, "corrupt.json"},
        {{"--precision", "int8", "--calib-cache", (dir / "other.json").string()},
         "has no range for any activation"},
        {{"--precision", "int8", "--calib-cache", good, "--int8-float", "nope"}, "float layer 'nope'"},
        {{"--precision", "int8", "--calib-cache", good, "--int8-sensitivity"}, "give --calib IMAGES"},
        {{"--precision", "int8", "--calib", app_test::video_path()}, "calibration reads image files"},
        {{"--precision", "int4", "--calib-cache", good}, "unknown precision 'int4'"},
    };
    for (const Bad& b : bad) {
        std::vector<std::string> extra = b.args;
        extra.push_back("-o");
        extra.push_back((dir / "never.plan").string());
        const int code = app_test::run_to_end(build_args(extra), dir, &out, &err);
        EXPECT_NE(code, 0) << b.expect;
        EXPECT_NE(err.find(b.expect), std::string::npos) << b.expect << ": " << err;
        EXPECT_FALSE(fs::exists(dir / "never.plan")) << b.expect;
    }
}

// The detector commands (eval here; detect and run share the options) build the INT8 plan themselves
// from --calib-cache: the same plan `rtdet build --precision int8 --calib-cache` makes, so the same
// detections and mAP. Their bad inputs: int8 without a cache, a cache with a float precision.
TEST(DetectorInt8Cli, BuildsFromTheCalibrationCacheAsRtdetBuildDoes) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("detector_int8_cli");
    std::string out, err;
    const std::string cache = (dir / "c.json").string();
    ASSERT_EQ(
        app_test::run_to_end(calibrate_args({"--images", coco_images(), "--max-images", "2", "-o", cache}),
                             dir, &out, &err),
        0)
        << err;
    const std::string plan = (dir / "m.plan").string();
    ASSERT_EQ(app_test::run_to_end(build_args({"--precision", "int8", "--calib-cache", cache, "-o", plan}),
                                   dir, &out, &err),
              0)
        << err;
    fs::create_directories(dir / "images");
    for (const char* name : {"000000000009.jpg", "000000000025.jpg", "000000000030.jpg"})
        fs::copy_file(fs::path(coco_images()) / name, dir / "images" / name,
                      fs::copy_options::overwrite_existing);
    const std::string labels = app_test::data_file("datasets/coco128/labels/train2017");
    auto eval = [&](std::vector<std::string> model_args, const std::string& json) {
        std::vector<std::string> args = {
            RTDET_EXE,   "eval", "--images", (dir / "images").string(), "--labels", labels,
            "--threads", "2",    "--cache",  app_test::plan_cache(),    "--json",   (dir / json).string()};
        args.insert(args.end(), model_args.begin(), model_args.end());
        std::string e_out, e_err;
        const int code = app_test::run_to_end(args, dir, &e_out, &e_err);
        err = e_err;
        return code;
    };
    ASSERT_EQ(
        eval({"--model", app_test::small_model(), "--precision", "int8", "--calib-cache", cache}, "a.json"),
        0)
        << err;
    ASSERT_EQ(eval({"--model", plan}, "b.json"), 0) << err;
    const auto a = nlohmann::json::parse(app_test::read_text(dir / "a.json"));
    const auto b = nlohmann::json::parse(app_test::read_text(dir / "b.json"));
    EXPECT_EQ(a["detections"], b["detections"]);
    EXPECT_EQ(a["map50"], b["map50"]);
    EXPECT_EQ(a["map50_95"], b["map50_95"]);
    EXPECT_GT(a["detections"].get<int>(), 0);

    EXPECT_NE(eval({"--model", app_test::small_model(), "--precision", "int8"}, "never.json"), 0);
    EXPECT_NE(err.find("--precision int8 needs --calib-cache FILE"), std::string::npos) << err;
    EXPECT_NE(eval({"--model", app_test::small_model(), "--precision", "fp16", "--calib-cache", cache},
                   "never.json"),
              0);
    EXPECT_NE(err.find("--calib-cache: the cache is for precision int8 or best (--precision is fp16)"),
              std::string::npos)
        << err;
    EXPECT_NE(eval({"--model", app_test::small_model(), "--precision", "int8", "--calib-cache",
                    (dir / "absent.json").string()},
                   "never.json"),
              0);
    EXPECT_NE(err.find("absent.json"), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(dir / "never.json"));
}

}  // namespace
