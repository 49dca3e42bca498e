// `rtdet detect` and `rtdet eval` run as the real binary (RTDET_EXE) on real images: bad inputs
// (warnings naming each file, the rest processed, exit 1), JSON contents, eval counts on a small
// slice of coco128 (backgrounds and orphan labels known from MANIFEST.md), and the error messages for
// missing folders, malformed labels and a missing default model.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"

namespace {
namespace fs = std::filesystem;

struct Result {
    int code = -1;
    std::string out;  // stdout and stderr together
};

// Runs rtdet with `args` (a shell-quoted string) and an environment prefix; the plan cache is shared
// between the tests of this file so the model is built once.
Result rtdet(const std::string& args, const std::string& env = "") {
    const std::string cache = (fs::path(RTDET_BINARY_DIR) / "test_models" / "cli_cache").string();
    const std::string cmd = "RTDET_CACHE='" + cache + "' " + env + " '" + RTDET_EXE + "' " + args + " 2>&1";
    Result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("rtdet_cli_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE((haystack).find(needle), std::string::npos) << "output:\n" << (haystack)

}  // namespace

TEST(DetectCli, BadFilesWarnAndTheRestIsProcessed) {
    const std::string data = testing_util::data_dir();
    if (data.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    const fs::path in = temp_dir("detect_in"), out = temp_dir("detect_out");
    fs::copy_file(data + "/images/darknet_samples/dog.jpg", in / "dog.jpg");
    // A JPEG signature followed by junk, a text file, an empty file, a truncated JPEG.
    // (the corrupt one ends with an end-of-image marker, so it reaches the decoder).
    std::ofstream(in / "corrupt.jpg", std::ios::binary)
        << std::string("\xff\xd8\xff\xe0 this is not a jpeg", 24) << std::string(200, 'x')
        << std::string("\xff\xd9", 2);
    std::ofstream(in / "notes.txt") << "not an image\n";
    std::ofstream(in / "empty.png").flush();
    {  // the first 30 kB of a real JPEG: libjpeg alone would decode it partially and only print a warning
        std::ifstream src(data + "/images/darknet_samples/horses.jpg", std::ios::binary);
        std::string head(30000, '\0');
        src.read(head.data(), static_cast<std::streamsize>(head.size()));
        std::ofstream(in / "truncated.jpg", std::ios::binary) << head;
    }
    const std::string json = (out / "d.json").string();
    const Result r =
        rtdet("detect '" + in.string() + "' --out '" + (out / "img").string() + "' --json '" + json + "'");
    EXPECT_EQ(r.code, 1) << r.out;
    for (const char* bad : {"corrupt.jpg", "notes.txt", "empty.png", "truncated.jpg"})
        EXPECT_CONTAINS(r.out, std::string("skipping ") + (in / bad).string());
    EXPECT_CONTAINS(r.out, "truncated.jpg: truncated JPEG");
    EXPECT_CONTAINS(r.out, "corrupt.jpg: not a readable image");
    EXPECT_CONTAINS(r.out, "5 images: 1 ok, 4 failed");
    EXPECT_CONTAINS(r.out, "dog: ");
    EXPECT_CONTAINS(r.out, "(left_x: ");
    EXPECT_TRUE(fs::exists(out / "img" / "dog.jpg"));

    std::ifstream f(json);
    ASSERT_TRUE(f.good()) << json;
    const nlohmann::json j = nlohmann::json::parse(f);
    ASSERT_EQ(j["images"].size(), 1u);
    const auto& img = j["images"][0];
    EXPECT_EQ(img["width"], 768);
    EXPECT_EQ(img["height"], 576);
    bool dog = false;
    for (const auto& d : img["detections"]) {
        EXPECT_GE(d["score"].get<double>(), 0.25);
        EXPECT_GE(d["box"]["x"].get<double>(), 0.0);
        EXPECT_LE(d["box"]["x"].get<double>() + d["box"]["w"].get<double>(), 768.0 + 1e-3);
        if (d["class"] == "dog" && d["class_id"] == 16) dog = true;
    }
    EXPECT_TRUE(dog);
    EXPECT_EQ(j["failed"].size(), 4u);
    EXPECT_EQ(j["summary"]["failed"], 4);
    fs::remove_all(in);
    fs::remove_all(out);
}

TEST(DetectCli, MissingDefaultModelSaysWhatToDo) {
    const fs::path empty = temp_dir("nomodel");
    const Result r =
        rtdet("detect x.jpg", "RTDET_DATA=/nonexistent/rtdet-data RTDET_CACHE='" + empty.string() + "'");
    EXPECT_EQ(r.code, 1);
    EXPECT_CONTAINS(r.out, "scripts/fetch_model.sh");
    EXPECT_CONTAINS(r.out, "--model");
    fs::remove_all(empty);
}

TEST(EvalCli, CountsOnACoco128Slice) {
    const std::string data = testing_util::data_dir();
    if (data.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    const fs::path root = temp_dir("eval_slice");
    fs::create_directories(root / "images");
    fs::create_directories(root / "labels");
    const fs::path src = fs::path(data) / "datasets" / "coco128";
    // Five labelled images, one background (250: no label file), one orphan label (656: no image).
    for (const char* id : {"000000000009", "000000000025", "000000000030", "000000000034", "000000000036"}) {
        fs::copy_file(src / "images" / "train2017" / (std::string(id) + ".jpg"),
                      root / "images" / (std::string(id) + ".jpg"));
        fs::copy_file(src / "labels" / "train2017" / (std::string(id) + ".txt"),
                      root / "labels" / (std::string(id) + ".txt"));
    }
    fs::copy_file(src / "images" / "train2017" / "000000000250.jpg", root / "images" / "000000000250.jpg");
    fs::copy_file(src / "labels" / "train2017" / "000000000656.txt", root / "labels" / "000000000656.txt");
    int boxes = 0;
    for (const auto& e : fs::directory_iterator(root / "labels")) {
        if (e.path().stem() == "000000000656") continue;
        std::ifstream f(e.path());
        for (std::string line; std::getline(f, line);) boxes += !line.empty();
    }
    const std::string json = (root / "e.json").string(), plot = (root / "pr.png").string();
    const Result r = rtdet("eval --images '" + (root / "images").string() + "' --labels '" +
                           (root / "labels").string() + "' --json '" + json + "' --plot '" + plot + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_CONTAINS(r.out, "images 6: 5 labelled, 1 background");
    EXPECT_CONTAINS(r.out, "1 orphan label files ignored");
    EXPECT_CONTAINS(r.out, "mAP@0.5 = ");
    std::ifstream f(json);
    const nlohmann::json j = nlohmann::json::parse(f);
    EXPECT_EQ(j["images"]["total"], 6);
    EXPECT_EQ(j["images"]["background"], 1);
    EXPECT_EQ(j["boxes"], boxes);
    ASSERT_EQ(j["orphan_labels"].size(), 1u);
    const double map50 = j["map50"], map = j["map50_95"];
    EXPECT_GT(map50, 0.05);  // a real model on real images finds something
    EXPECT_LE(map50, 1.0);
    EXPECT_LE(map, map50);
    EXPECT_GT(fs::file_size(plot), 1000u);
    fs::remove_all(root);
}

TEST(EvalCli, MissingFoldersAndMalformedLabels) {
    const fs::path root = temp_dir("eval_bad");
    Result r = rtdet("eval --images '" + (root / "nope").string() + "' --labels '" + root.string() + "'");
    EXPECT_EQ(r.code, 1);
    EXPECT_CONTAINS(r.out, "images folder not found: " + (root / "nope").string());
    fs::create_directories(root / "images");
    fs::create_directories(root / "labels");
    const std::string data = testing_util::data_dir();
    if (data.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    fs::copy_file(data + "/images/darknet_samples/dog.jpg", root / "images" / "dog.jpg");
    std::ofstream(root / "labels" / "dog.txt") << "16 0.5 0.5 0.2 0.2\n16 0.5 0.5 0.2\n";
    r = rtdet("eval --images '" + (root / "images").string() + "' --labels '" + (root / "labels").string() +
              "'");
    EXPECT_EQ(r.code, 1);
    EXPECT_CONTAINS(r.out, (root / "labels" / "dog.txt").string() + ":2:");
    fs::remove_all(root);
}

// `rtdet bench --streams N`: N contexts run from their own threads, every one for the requested
// iterations (the JSON counts them all), and the options that take one stream are refused.
TEST(BenchCli, StreamsRunEveryContext) {
    const std::string data = testing_util::data_dir();
    if (data.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    const std::string cfg = data + "/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg";
    const fs::path dir = temp_dir("bench_streams");
    const Result r = rtdet("bench '" + cfg +
                           "' --device reference --iterations 4 --warmup 1 --threads 1 --streams 3 --json '" +
                           (dir / "b.json").string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_CONTAINS(r.out, "12 timed runs after 1 warm-up, 3 streams");
    const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir / "b.json"));
    EXPECT_EQ(j["streams"], 3);
    EXPECT_EQ(j["iterations"], 12);
    EXPECT_GT(j["throughput_ips"].get<double>(), 0.0);
    const Result bad = rtdet("bench '" + cfg + "' --device reference --streams 2 --profile");
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_CONTAINS(bad.out, "--streams: --profile and --compare take one stream");
}

// The device switches are bench flags (no environment variable): on a host plan --no-graphs and
// --poison change nothing, and --no-transfers, which needs inputs and outputs a device backend handles,
// is refused before any run.
TEST(BenchCli, DeviceFlags) {
    const std::string data = testing_util::data_dir();
    if (data.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    const std::string cfg = data + "/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg";
    const Result r =
        rtdet("bench '" + cfg + "' --device reference --iterations 2 --warmup 1 --no-graphs --poison");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_CONTAINS(r.out, "2 timed runs after 1 warm-up");
    const Result nt = rtdet("bench '" + cfg + "' --device reference --iterations 2 --no-transfers");
    EXPECT_EQ(nt.code, 1) << nt.out;
    EXPECT_CONTAINS(nt.out, "--no-transfers: input 0 is read by a host backend");
}

TEST(BenchCli, StreamsOutOfRangeFailBeforeBuilding) {
    // CLI11's range check names the option and the value; no model is read (the path does not exist).
    for (const std::string v : {"0", "65", "two"}) {
        const Result r = rtdet("bench /nonexistent/model.cfg --streams " + v);
        EXPECT_NE(r.code, 0) << v;
        EXPECT_CONTAINS(r.out, "--streams: Value " + v + " not in range 1 to 64");
        EXPECT_EQ(r.out.find("model.cfg"), std::string::npos) << r.out;
    }
}
