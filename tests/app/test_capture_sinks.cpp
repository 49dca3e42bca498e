// Sources (classification, image lists with bad files, the real video) and sinks (JSON lines, video,
// images, overlay), each checked against what OpenCV / nlohmann read back independently.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "app/capture.h"
#include "app/media_opencv.h"
#include "app/sinks.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app::ReadStatus;
using app::SourceKind;

using app_test::write_bytes;

cv::Mat test_image(int w, int h, int seed) {
    cv::Mat m(h, w, CV_8UC3);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::rectangle(m, {seed % w, 5, 20, 20}, cv::Scalar(0, 255, 0), cv::FILLED);
    return m;
}

TEST(Capture, ClassifiesEveryKindOfSource) {
    const fs::path dir = app_test::scratch_dir("classify");
    write_bytes(dir / "clip.mp4", "x");
    write_bytes(dir / "photo.JPG", "x");
    write_bytes(dir / "list.txt", "photo.JPG\n");
    EXPECT_EQ(app::classify_source("0").kind, SourceKind::Camera);
    EXPECT_EQ(app::classify_source("2").camera_index, 2);
    EXPECT_EQ(app::classify_source("udp://127.0.0.1:5000").kind, SourceKind::Stream);
    EXPECT_EQ(app::classify_source("rtsp://cam.local/stream").kind, SourceKind::Stream);
    EXPECT_EQ(app::classify_source("HTTPS://x/y.m3u8").kind, SourceKind::Stream);
    EXPECT_TRUE(app::classify_source("udp://127.0.0.1:5000").live());
    EXPECT_EQ(app::classify_source((dir / "clip.mp4").string()).kind, SourceKind::VideoFile);
    EXPECT_EQ(app::classify_source("file://" + (dir / "clip.mp4").string()).kind, SourceKind::VideoFile);
    EXPECT_EQ(app::classify_source((dir / "photo.JPG").string()).kind, SourceKind::Image);
    EXPECT_EQ(app::classify_source((dir / "list.txt").string()).kind, SourceKind::ImageList);
    EXPECT_EQ(app::classify_source(dir.string()).kind, SourceKind::ImageFolder);
    EXPECT_EQ(app::classify_source((dir / "*.JPG").string()).kind, SourceKind::Glob);
    EXPECT_FALSE(app::classify_source(dir.string()).live());
}

TEST(Capture, ImageFolderReportsBadFilesByNameAndReadsTheRest) {
    const fs::path dir = app_test::scratch_dir("bad_folder");
    const cv::Mat a = test_image(64, 48, 3), b = test_image(40, 30, 9);
    ASSERT_TRUE(cv::imwrite((dir / "a_good.png").string(), a));
    ASSERT_TRUE(cv::imwrite((dir / "d_good.png").string(), b));
    write_bytes(dir / "b_corrupt.jpg", std::string("\xFF\xD8\xFF\xE0", 4) + std::string(300, 'z'));
    write_bytes(dir / "c_notes.txt", "not an image\n");
    write_bytes(dir / "c_zero.jpg", "");
    write_bytes(dir / ".hidden.png", "ignored");

    auto src = app::open_source(app::classify_source(dir.string()), {});
    EXPECT_EQ(src->frame_count(), 5);
    app::Frame f;
    std::vector<std::string> skipped;
    std::vector<cv::Mat> images;
    std::stop_source stop;
    for (int i = 0; i < 10; ++i) {
        const ReadStatus st = src->read(f, stop.get_token());
        if (st == ReadStatus::End) break;
        if (st == ReadStatus::Skipped) {
            skipped.push_back(src->skip_message());
            continue;
        }
        images.push_back(app::as_mat(f.image).clone());
    }
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(cv::norm(images[0], a, cv::NORM_INF), 0) << "PNG decodes to the pixels written";
    EXPECT_EQ(cv::norm(images[1], b, cv::NORM_INF), 0);
    ASSERT_EQ(skipped.size(), 3u);
    EXPECT_NE(skipped[0].find("b_corrupt.jpg: not a decodable image"), std::string::npos) << skipped[0];
    EXPECT_NE(skipped[1].find("c_notes.txt: not a decodable image"), std::string::npos) << skipped[1];
    EXPECT_NE(skipped[2].find("c_zero.jpg: empty file"), std::string::npos) << skipped[2];
}

TEST(Capture, ListFileResolvesRelativePathsAndSkipsComments) {
    const fs::path dir = app_test::scratch_dir("list_source");
    fs::create_directories(dir / "imgs");
    ASSERT_TRUE(cv::imwrite((dir / "imgs" / "x.png").string(), test_image(16, 16, 1)));
    write_bytes(dir / "list.txt", "# a comment\n\nimgs/x.png\n  imgs/missing.png  \n");
    const auto paths = app::list_images(app::classify_source((dir / "list.txt").string()));
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(paths[0], (dir / "imgs" / "x.png").string());
    EXPECT_EQ(paths[1], (dir / "imgs" / "missing.png").string());
    auto src = app::open_source(app::classify_source((dir / "list.txt").string()), {});
    app::Frame f;
    EXPECT_EQ(src->read(f, {}), ReadStatus::Frame);
    EXPECT_EQ(f.name, paths[0]);
    EXPECT_EQ(src->read(f, {}), ReadStatus::Skipped);
    EXPECT_NE(src->skip_message().find("missing.png: cannot be opened"), std::string::npos);
    EXPECT_EQ(src->read(f, {}), ReadStatus::End);
}

TEST(Capture, VideoFileReadsFramesWithTimestamps) {
    const std::string video = app_test::video_path();
    if (video.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    auto src = app::open_source(app::classify_source(video), {});
    EXPECT_FALSE(src->live());
    EXPECT_EQ(src->frame_count(), 377);
    EXPECT_NEAR(src->fps(), 12.5, 1e-6);
    app::Frame f;
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(src->read(f, {}), ReadStatus::Frame);
        EXPECT_EQ(f.image.cols, 768);
        EXPECT_EQ(f.image.rows, 432);
        EXPECT_NEAR(f.timestamp_ms, i * 80.0, 1.0) << "12.5 fps: 80 ms apart";
    }
    const uchar* buffer = f.image.data;
    ASSERT_EQ(src->read(f, {}), ReadStatus::Frame);
    EXPECT_EQ(f.image.data, buffer) << "same-size frames reuse the buffer";
    EXPECT_NE(src->describe().find("768x432"), std::string::npos) << src->describe();
}

// A looped file starts again after its last frame: the frame after frame N-1 is frame 0 again (same
// pixels), timestamps keep increasing, and the frame count is unknown (-1), like a live source's.
TEST(Capture, LoopedVideoStartsAgainWithIncreasingTimestamps) {
    const std::string video = app_test::video_path();
    if (video.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    app::SourceSpec spec = app::classify_source(video);
    spec.loop = true;
    auto src = app::open_source(spec, {});
    EXPECT_EQ(src->frame_count(), -1);
    app::Frame f;
    ASSERT_EQ(src->read(f, {}), ReadStatus::Frame);
    const cv::Mat first = app::as_mat(f.image).clone();
    double last = f.timestamp_ms;
    for (int i = 1; i < 377; ++i) {
        ASSERT_EQ(src->read(f, {}), ReadStatus::Frame) << "frame " << i;
        EXPECT_GT(f.timestamp_ms, last) << "frame " << i;
        last = f.timestamp_ms;
    }
    ASSERT_EQ(src->read(f, {}), ReadStatus::Frame) << "the loop did not start again";
    EXPECT_GT(f.timestamp_ms, last);
    EXPECT_NEAR(f.timestamp_ms, 377 * 80.0, 1.0) << "12.5 fps: the second pass continues the clock";
    EXPECT_EQ(cv::norm(app::as_mat(f.image), first, cv::NORM_INF), 0.0)
        << "the second pass starts with frame 0";
}

TEST(Capture, UnreadableVideoFileIsNamed) {
    const fs::path dir = app_test::scratch_dir("bad_video");
    write_bytes(dir / "junk.mp4", std::string(1000, 'j'));
    try {
        app::open_source(app::classify_source((dir / "junk.mp4").string()), {});
        FAIL() << "expected an error";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open video file " + (dir / "junk.mp4").string()),
                  std::string::npos)
            << e.what();
    }
}

app::Frame frame_with(int64_t index, const cv::Mat& img, std::vector<detector::Detection> dets) {
    app::Frame f;
    f.index = index;
    f.timestamp_ms = 80.0 * static_cast<double>(index);
    app::copy_to_frame(img, f.image);
    f.detections = std::move(dets);
    return f;
}

TEST(Sinks, JsonLinesParseWithEveryField) {
    const fs::path dir = app_test::scratch_dir("json_sink");
    const std::vector<std::string> names = {"person", "odd \"name\"\\", "car"};
    {
        app::JsonLinesSink sink((dir / "sub" / "d.jsonl").string(), names);
        const cv::Mat img(30, 40, CV_8UC3, cv::Scalar::all(0));
        detector::Detection d1{{1.5f, 2.f, 10.25f, 20.f}, 2, 0.875f, 0.9f};
        detector::Detection d2{{0, 0, 5, 5}, 1, 0.5f, 0.6f};
        detector::Detection d3{{0, 0, 1, 1}, 7, 0.3f, 0.3f};  // beyond the names
        sink.write(frame_with(0, img, {d1, d2, d3}));
        app::Frame named = frame_with(1, img, {});
        named.name = "dir/a b.jpg";
        sink.write(named);
    }
    const auto lines = app_test::read_lines(dir / "sub" / "d.jsonl");
    ASSERT_EQ(lines.size(), 2u);
    const auto j0 = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(j0["frame"], 0);
    EXPECT_DOUBLE_EQ(j0["timestamp_ms"].get<double>(), 0.0);
    EXPECT_EQ(j0["width"], 40);
    EXPECT_EQ(j0["height"], 30);
    EXPECT_FALSE(j0.contains("source"));
    ASSERT_EQ(j0["detections"].size(), 3u);
    EXPECT_EQ(j0["detections"][0]["class"], "car");
    EXPECT_EQ(j0["detections"][0]["class_id"], 2);
    EXPECT_NEAR(j0["detections"][0]["score"].get<double>(), 0.875, 1e-6);
    EXPECT_NEAR(j0["detections"][0]["box"][0].get<double>(), 1.5, 1e-6);
    EXPECT_NEAR(j0["detections"][0]["box"][2].get<double>(), 10.25, 1e-6);
    EXPECT_EQ(j0["detections"][1]["class"], "odd \"name\"\\") << "escaped and read back";
    EXPECT_EQ(j0["detections"][2]["class"], "class7");
    const auto j1 = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(j1["frame"], 1);
    EXPECT_DOUBLE_EQ(j1["timestamp_ms"].get<double>(), 80.0);
    EXPECT_EQ(j1["source"], "dir/a b.jpg");
    EXPECT_TRUE(j1["detections"].empty());
}

TEST(Sinks, VideoFileOpensWithEveryFrame) {
    const fs::path dir = app_test::scratch_dir("video_sink");
    for (const char* codec : {"mp4v", "MJPG"}) {
        SCOPED_TRACE(codec);
        const fs::path path = dir / (std::string(codec) + (std::string(codec) == "MJPG" ? ".avi" : ".mp4"));
        {
            app::VideoSink sink(path.string(), codec, [] { return 10.0; });
            for (int i = 0; i < 12; ++i) sink.write(frame_with(i, test_image(96, 64, i * 5), {}));
            // A frame of another size is resized to the first one's.
            sink.write(frame_with(12, test_image(50, 50, 0), {}));
            EXPECT_EQ(sink.frames_written(), 13);
        }
        cv::VideoCapture cap(path.string());
        ASSERT_TRUE(cap.isOpened());
        EXPECT_NEAR(cap.get(cv::CAP_PROP_FPS), 10.0, 1e-3);
        cv::Mat m;
        int n = 0;
        while (cap.read(m)) {
            EXPECT_EQ(m.cols, 96);
            EXPECT_EQ(m.rows, 64);
            ++n;
        }
        EXPECT_EQ(n, 13);
    }
}

TEST(Sinks, ImageDirNamesFilesAfterTheirSource) {
    const fs::path dir = app_test::scratch_dir("image_sink");
    app::ImageDirSink sink((dir / "out").string());
    sink.write(frame_with(7, test_image(32, 32, 1), {}));
    app::Frame named = frame_with(0, test_image(32, 32, 2), {});
    named.name = "/some/where/dog.png";
    sink.write(named);
    EXPECT_TRUE(fs::exists(dir / "out" / "frame_000007.jpg"));
    const cv::Mat back = cv::imread((dir / "out" / "dog.jpg").string());
    ASSERT_FALSE(back.empty());
    EXPECT_EQ(back.size(), cv::Size(32, 32));
}

TEST(Sinks, OverlayDrawsOnlyInTheCorner) {
    cv::Mat img(432, 768, CV_8UC3, cv::Scalar(90, 160, 200));
    const cv::Mat before = img.clone();
    app::draw_overlay(img, {31.4, 1.2, 20.5, 0.7, 45.0, 3});
    cv::Mat diff;
    cv::absdiff(img, before, diff);
    cv::Mat gray;
    cv::cvtColor(diff, gray, cv::COLOR_BGR2GRAY);
    const cv::Rect changed = cv::boundingRect(gray > 0);
    EXPECT_GT(changed.area(), 0);
    EXPECT_EQ(changed.x, 0);
    EXPECT_EQ(changed.y, 0);
    EXPECT_LT(changed.width, img.cols / 2);
    EXPECT_LT(changed.height, img.rows / 3);
}

}  // namespace
