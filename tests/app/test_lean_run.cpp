// `rtdet run` without OpenCV (the GPU machine's build): its image source decodes JPEGs with
// libjpeg-turbo. Checked here, in the OpenCV build, against OpenCV's decoder on the same files (the
// source class is the same; SourceSpec::decoder picks libjpeg), with bad files and several decode
// threads; then the lean binary itself (build-lean/app/rtdet, or $RTDET_LEAN_EXE; skipped when it is
// not built) on a folder of JPEG frames, against this build's rtdet, and its one-line refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "app/capture.h"
#include "app/config.h"
#include "app/media_opencv.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app::ImageDecoder;
using app::ReadStatus;

using app_test::write_bytes;

// Smooth gradients with a few shapes: JPEG-friendly, and every pixel depends on x, y and channel.
cv::Mat test_image(int w, int h, int seed) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            m.at<cv::Vec3b>(y, x) =
                cv::Vec3b(static_cast<uchar>((x * 255) / w), static_cast<uchar>((y * 255) / h),
                          static_cast<uchar>((x + y + 40 * seed) % 256));
    cv::circle(m, {(17 * seed) % w, h / 2}, h / 4, cv::Scalar(0, 0, 255), cv::FILLED);
    cv::rectangle(m, {5, 5, w / 5, h / 6}, cv::Scalar(255, 255 - 20 * seed, 0), cv::FILLED);
    return m;
}

void write_jpeg(const fs::path& p, const cv::Mat& m, int quality = 90) {
    ASSERT_TRUE(cv::imwrite(p.string(), m, {cv::IMWRITE_JPEG_QUALITY, quality})) << p;
}

struct Item {
    ReadStatus status;
    std::string name, skip;
    cv::Mat image;
};

// Every item of an image source, in order.
std::vector<Item> read_all(const std::string& location, ImageDecoder decoder, int threads = 1) {
    app::SourceSpec spec = app::classify_source(location);
    spec.decoder = decoder;
    spec.decode_threads = threads;
    auto src = app::open_source(spec, {});
    std::vector<Item> items;
    app::Frame f;
    std::stop_source stop;
    while (true) {
        const ReadStatus st = src->read(f, stop.get_token());
        if (st == ReadStatus::End) break;
        Item it{st, f.name, st == ReadStatus::Skipped ? src->skip_message() : "", {}};
        if (st == ReadStatus::Frame) it.image = app::as_mat(f.image).clone();
        items.push_back(std::move(it));
        if (items.size() > 10000) break;
    }
    return items;
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

TEST(LeanSource, LibjpegDecodesAsOpenCvDoes) {
    const fs::path dir = app_test::scratch_dir("lean_decode");
    write_jpeg(dir / "a_color.jpg", test_image(97, 61, 1));            // odd size: MCU padding
    write_jpeg(dir / "b_color_q60.jpg", test_image(320, 200, 2), 60);  // 4:2:0 at low quality
    cv::Mat gray;
    cv::cvtColor(test_image(64, 48, 3), gray, cv::COLOR_BGR2GRAY);
    write_jpeg(dir / "c_gray.jpg", gray);  // expanded to BGR
    // Real images when the data folder is there: a darknet sample and frames of the real video.
    if (const std::string dog = app_test::data_file("images/darknet_samples/dog.jpg"); !dog.empty())
        fs::copy_file(dog, dir / "d_dog.jpg");
    if (const std::string video = app_test::video_path(); !video.empty()) {
        cv::VideoCapture cap(video, cv::CAP_FFMPEG);
        cv::Mat frame;
        for (int i = 0; i < 3 && cap.read(frame); ++i)
            write_jpeg(dir / ("e_frame" + std::to_string(i) + ".jpg"), frame);
    }
    const auto ocv = read_all(dir.string(), ImageDecoder::OpenCV);
    const auto jpg = read_all(dir.string(), ImageDecoder::Libjpeg);
    ASSERT_GE(ocv.size(), 3u);
    ASSERT_EQ(ocv.size(), jpg.size());
    for (size_t i = 0; i < ocv.size(); ++i) {
        SCOPED_TRACE(ocv[i].name);
        ASSERT_EQ(ocv[i].status, ReadStatus::Frame) << ocv[i].skip;
        ASSERT_EQ(jpg[i].status, ReadStatus::Frame) << jpg[i].skip;
        EXPECT_EQ(jpg[i].name, ocv[i].name);
        ASSERT_EQ(jpg[i].image.type(), CV_8UC3);
        ASSERT_EQ(jpg[i].image.size(), ocv[i].image.size());
        // Both are libjpeg-turbo's IDCT; allow a little for a different build of it inside OpenCV.
        EXPECT_LE(max_abs_diff(jpg[i].image, ocv[i].image), 2.0);
        // And both are close to what was encoded (channel order: a BGR/RGB swap is far off).
        const cv::Mat original = cv::imread(ocv[i].name, cv::IMREAD_COLOR);
        EXPECT_LE(cv::norm(jpg[i].image, original, cv::NORM_L1) / static_cast<double>(original.total() * 3),
                  0.5);
    }
    // The gray JPEG comes out as three equal channels.
    const cv::Mat& g = jpg[2].image;
    std::vector<cv::Mat> ch;
    cv::split(g, ch);
    EXPECT_EQ(cv::norm(ch[0], ch[1], cv::NORM_INF), 0.0);
    EXPECT_EQ(cv::norm(ch[0], ch[2], cv::NORM_INF), 0.0);
    EXPECT_LE(cv::norm(ch[0], gray, cv::NORM_L1) / static_cast<double>(gray.total()), 2.0);
}

TEST(LeanSource, LibjpegSkipsWhatItCannotReadByNameAndReason) {
    const fs::path dir = app_test::scratch_dir("lean_bad");
    write_jpeg(dir / "a_good.jpg", test_image(64, 48, 4));
    ASSERT_TRUE(cv::imwrite((dir / "b_image.png").string(), test_image(32, 32, 5)));
    std::vector<uchar> full;
    ASSERT_TRUE(cv::imencode(".jpg", test_image(64, 48, 6), full));
    write_bytes(dir / "c_cut.jpg",
                std::string(full.begin(), full.begin() + static_cast<long>(full.size() / 2)));
    write_bytes(dir / "d_junk.jpg", std::string("\xFF\xD8\xFF\xE0", 4) + std::string(300, 'z') + "\xFF\xD9");
    write_bytes(dir / "e_zero.jpg", "");
    write_jpeg(dir / "f_good.jpg", test_image(40, 30, 7));
    const auto items = read_all(dir.string(), ImageDecoder::Libjpeg);
    ASSERT_EQ(items.size(), 6u);
    EXPECT_EQ(items[0].status, ReadStatus::Frame);
    EXPECT_EQ(items[5].status, ReadStatus::Frame);
    EXPECT_EQ(items[5].image.size(), cv::Size(40, 30)) << "a smaller image after bad ones: no stale size";
    const std::pair<size_t, const char*> expected[] = {
        {1, "not a JPEG"}, {2, "truncated JPEG"}, {3, "cannot decode: "}, {4, "empty file"}};
    for (const auto& [i, why] : expected) {
        SCOPED_TRACE(items[i].name);
        EXPECT_EQ(items[i].status, ReadStatus::Skipped);
        EXPECT_EQ(items[i].skip.rfind(items[i].name + ": ", 0), 0u) << items[i].skip;
        EXPECT_NE(items[i].skip.find(why), std::string::npos) << items[i].skip;
    }
}

TEST(LeanSource, DecodeThreadsKeepTheFilesOrder) {
    const fs::path dir = app_test::scratch_dir("lean_threads");
    for (int i = 0; i < 23; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%06d.jpg", i);
        // Sizes differ, so a frame out of order or a stale buffer shows.
        write_jpeg(dir / name, test_image(48 + 8 * (i % 5), 40 + 4 * (i % 3), i));
        if (i == 7) write_bytes(dir / "000007b.jpg", "not a jpeg");
    }
    for (const ImageDecoder d : {ImageDecoder::Libjpeg, ImageDecoder::OpenCV}) {
        const auto one = read_all(dir.string(), d, 1);
        ASSERT_EQ(one.size(), 24u);
        for (const int threads : {2, 5}) {
            SCOPED_TRACE(threads);
            const auto many = read_all(dir.string(), d, threads);
            ASSERT_EQ(many.size(), one.size());
            for (size_t i = 0; i < one.size(); ++i) {
                EXPECT_EQ(many[i].name, one[i].name);
                ASSERT_EQ(many[i].status, one[i].status) << one[i].name;
                EXPECT_EQ(many[i].skip, one[i].skip);
                if (one[i].status == ReadStatus::Frame) {
                    const cv::Mat original = cv::imread(one[i].name, cv::IMREAD_COLOR);
                    ASSERT_EQ(many[i].image.size(), original.size()) << one[i].name;
                    EXPECT_LE(max_abs_diff(many[i].image, original), 60.0) << one[i].name;
                    EXPECT_EQ(max_abs_diff(many[i].image, one[i].image), 0.0) << one[i].name;
                }
            }
        }
    }
}

TEST(LeanSource, StopEndsAThreadedSourceEarly) {
    const fs::path dir = app_test::scratch_dir("lean_stop");
    for (int i = 0; i < 12; ++i) write_jpeg(dir / (std::to_string(10 + i) + ".jpg"), test_image(32, 32, i));
    app::SourceSpec spec = app::classify_source(dir.string());
    spec.decoder = ImageDecoder::Libjpeg;
    spec.decode_threads = 3;
    auto src = app::open_source(spec, {});
    app::Frame f;
    std::stop_source stop;
    ASSERT_EQ(src->read(f, stop.get_token()), ReadStatus::Frame);
    EXPECT_NE(src->describe().find("3 decode threads"), std::string::npos) << src->describe();
    stop.request_stop();
    EXPECT_EQ(src->read(f, stop.get_token()), ReadStatus::End);
    src.reset();  // joins the workers (some blocked on full slots)
}

TEST(LeanConfig, DecodeThreadsIsAKeyWithARange) {
    app::AppConfig c;
    app::set_config_key(c, "pipeline.decode_threads", "4", "--decode-threads");
    EXPECT_EQ(c.decode_threads, 4);
    try {
        app::set_config_key(c, "pipeline.decode_threads", "0", "--decode-threads");
        ADD_FAILURE() << "0 threads accepted";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("pipeline.decode_threads"), std::string::npos) << e.what();
    }
    EXPECT_NE(app::config_to_yaml(c).find("decode_threads: 4"), std::string::npos);
}

// ---- the lean binary ----

std::string lean_exe() {
    if (const char* e = std::getenv("RTDET_LEAN_EXE"); e != nullptr && *e != '\0') return e;
    const fs::path p = fs::path(RTDET_SOURCE_DIR) / "build-lean" / "app" / "rtdet";
    return fs::exists(p) ? p.string() : "";
}

// A skip even under CI=true: scripts/test.sh (CI) builds no lean rtdet, so its absence is expected
// there (tests/testing/require.h); once it is there, the data must be too.
#define SKIP_WITHOUT_LEAN()                                                                            \
    do {                                                                                               \
        if (lean_exe().empty())                                                                        \
            GTEST_SKIP() << "no rtdet built without OpenCV (build-lean/app/rtdet or $RTDET_LEAN_EXE)"; \
        SKIP_OR_FAIL_WITHOUT_DATA();                                                                   \
    } while (0)

std::vector<std::string> run_args(const std::string& exe, const std::string& cache,
                                  std::vector<std::string> extra) {
    std::vector<std::string> args = {
        exe,           "run",
        "--config",    std::string(RTDET_SOURCE_DIR) + "/configs/yolo-fastest.yaml",
        "--model",     app_test::small_model(),
        "--cache",     cache,
        "--device",    "cpu",
        "--precision", "fp32",
        "--conf",      "0.1",
        "--headless"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

using app_test::read_json_lines;

TEST(LeanRun, JpegFramesGiveTheSameJsonAsTheOpenCvBuild) {
    SKIP_WITHOUT_LEAN();
    const fs::path dir = app_test::scratch_dir("lean_run");
    const fs::path frames = dir / "frames";
    fs::create_directories(frames);
    {
        cv::VideoCapture cap(app_test::video_path(), cv::CAP_FFMPEG);
        cv::Mat m;
        // Every 30th frame: 12 frames across the whole video (cars come and go).
        for (int i = 0, n = 0; n < 12 && cap.read(m); ++i) {
            if (i % 30 != 0) continue;
            char name[32];
            std::snprintf(name, sizeof name, "%06d.jpg", n++);
            write_jpeg(frames / name, m);
        }
    }
    write_bytes(frames / "000005b.png", "png? no");
    const std::string lean_cache = (dir / "cache").string();
    std::string out, err;
    const int code = app_test::run_to_end(
        run_args(lean_exe(), lean_cache,
                 {"--source", frames.string(), "--json", (dir / "lean.jsonl").string(), "--decode-threads",
                  "3", "--max-batch", "4", "--summary-json", (dir / "summary.json").string()}),
        dir, &out, &err, 240);
    ASSERT_NE(code, -1) << "timed out";
    EXPECT_EQ(code, 2) << "one file skipped: exit code 2\n" << err;
    EXPECT_NE(err.find("000005b.png: not a JPEG"), std::string::npos) << err;
    EXPECT_NE(out.find("mean time over 12 images"), std::string::npos) << out;
    ASSERT_EQ(app_test::run_to_end(run_args(RTDET_EXE, app_test::plan_cache(),
                                            {"--source", frames.string(), "--json",
                                             (dir / "opencv.jsonl").string(), "--max-batch", "4"}),
                                   dir, &out, &err, 240),
              2)
        << err;
    const auto lean = read_json_lines(dir / "lean.jsonl");
    const auto ref = read_json_lines(dir / "opencv.jsonl");
    ASSERT_EQ(lean.size(), 12u);
    ASSERT_EQ(ref.size(), 12u);
    size_t boxes = 0;
    for (size_t i = 0; i < lean.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(lean[i]["frame"], ref[i]["frame"]);
        EXPECT_EQ(lean[i]["source"], ref[i]["source"]);
        EXPECT_EQ(lean[i]["width"], 768);
        EXPECT_EQ(lean[i]["height"], 432);
        const auto& a = lean[i]["detections"];
        const auto& b = ref[i]["detections"];
        ASSERT_EQ(a.size(), b.size());
        for (size_t k = 0; k < a.size(); ++k) {
            EXPECT_EQ(a[k]["class_id"], b[k]["class_id"]);
            EXPECT_NEAR(a[k]["score"].get<double>(), b[k]["score"].get<double>(), 0.01);
            for (int c = 0; c < 4; ++c)
                EXPECT_NEAR(a[k]["box"][c].get<double>(), b[k]["box"][c].get<double>(), 1.5);
        }
        boxes += a.size();
    }
    EXPECT_GT(boxes, 12u) << "the video shows cars in every frame";
    const auto summary = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    EXPECT_EQ(summary["skipped"], 1) << summary.dump();
}

TEST(LeanRun, WhatNeedsOpenCvIsRefusedInOneLineNamingIt) {
    SKIP_WITHOUT_LEAN();
    const fs::path dir = app_test::scratch_dir("lean_refuse");
    write_jpeg(dir / "a.jpg", test_image(64, 48, 1));
    const std::string cache = (dir / "cache").string();
    const std::string src = (dir / "a.jpg").string();
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{"--source", app_test::video_path()},
         "video file " + app_test::video_path() + " needs a build with OpenCV (FFmpeg)"},
        {{"--source", "udp://127.0.0.1:5999"}, "stream udp://127.0.0.1:5999 needs a build with OpenCV"},
        {{"--source", "0"}, "camera 0 needs a build with OpenCV"},
        {{"--source", src, "-o", (dir / "o.mp4").string()}, "outputs.video: "},
        {{"--source", src, "--images-dir", (dir / "img").string()}, "outputs.images_dir: "},
        {{"--source", src, "--peer", "opencv"}, "engine.peer: "},
    };
    for (const auto& [extra, message] : cases) {
        std::string out, err;
        const int code = app_test::run_to_end(run_args(lean_exe(), cache, extra), dir, &out, &err, 60);
        EXPECT_EQ(code, 1) << message << "\n" << err;
        EXPECT_NE(err.find(message), std::string::npos) << err;
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line:\n" << err;
    }
    // The window is refused too (outputs.show: true, without --headless).
    std::string out, err;
    auto args = run_args(lean_exe(), cache, {"--source", src, "--set", "outputs.show=true"});
    args.erase(std::find(args.begin(), args.end(), "--headless"));
    EXPECT_EQ(app_test::run_to_end(args, dir, &out, &err, 60), 1) << err;
    EXPECT_NE(err.find("outputs.show: "), std::string::npos) << err;
}

}  // namespace
