// Output faults (issue 7, scripts/hardening/faults.sh): a disk that is full from the start (/dev/full) or
// fills up mid-run. The mid-run cases run in a forked child with RLIMIT_FSIZE set and SIGXFSZ ignored,
// so writes past the limit fail with EFBIG as they would with ENOSPC, without touching this process.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>

#include "app/media_opencv.h"
#include "app/sinks.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;

app::Frame frame_with_boxes(int64_t index, int boxes) {
    app::Frame f;
    f.index = index;
    f.timestamp_ms = 80.0 * static_cast<double>(index);
    app::copy_to_frame(cv::Mat(48, 64, CV_8UC3, cv::Scalar(10, 20, 30)), f.image);
    for (int i = 0; i < boxes; ++i) {
        detector::Detection d;
        d.class_id = i % 3;
        d.score = 0.5f;
        d.box = {1.0f * static_cast<float>(i), 2.0f, 30.0f, 40.0f};
        f.detections.push_back(d);
    }
    return f;
}

// Runs `body` in a child whose files may grow to `limit_bytes`; the child's exit code (128 + signal
// when killed).
int in_child_with_file_limit(rlim_t limit_bytes, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit lim{limit_bytes, limit_bytes};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(90);
        int code = 91;
        try {
            code = body();
        } catch (...) {
            code = 92;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const std::vector<std::string> kNames = {"person", "bicycle", "car"};

TEST(Faults, JsonLinesToDevFullIsAnErrorNamingTheFileAndFrame) {
    if (!fs::exists("/dev/full")) RTDET_SKIP_OR_FAIL("/dev/full not present");
    app::JsonLinesSink sink("/dev/full", kNames);
    try {
        sink.write(frame_with_boxes(0, 2));
        FAIL() << "writing to /dev/full did not throw";
    } catch (const engine::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("/dev/full"), std::string::npos) << msg;
        EXPECT_NE(msg.find("frame 0"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

TEST(Faults, JsonLinesOnAFullDiskKeepOnlyWholeLines) {
    const fs::path dir = app_test::scratch_dir("faults_json_full");
    const fs::path path = dir / "out.jsonl";
    // Each line is about 300 bytes: the limit falls inside a line (not at a line boundary).
    const rlim_t limit = 4000;
    const int code = in_child_with_file_limit(limit, [&] {
        app::JsonLinesSink sink(path.string(), kNames);
        for (int64_t i = 0; i < 1000; ++i) {
            try {
                sink.write(frame_with_boxes(i, 3));
            } catch (const engine::Error& e) {
                const std::string msg = e.what();
                const bool named = msg.find(path.string()) != std::string::npos &&
                                   msg.find("frame " + std::to_string(i)) != std::string::npos;
                return named ? 10 : 11;
            }
        }
        return 12;  // never failed
    });
    ASSERT_EQ(code, 10) << "10: error naming file and frame; 11: unnamed; 12: no error";
    // The independent oracle: a JSON parser over the file; no partial line at the end.
    const std::string text = app_test::read_text(path);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    EXPECT_LE(text.size(), limit);
    int64_t expect = 0;
    for (const std::string& line : app_test::read_lines(path)) {
        const nlohmann::json j = nlohmann::json::parse(line);  // throws on a cut line
        EXPECT_EQ(j["frame"].get<int64_t>(), expect++);
        EXPECT_EQ(j["detections"].size(), 3u);
    }
    EXPECT_GE(expect, 5);
}

TEST(Faults, VideoCutByAFullDiskIsAnErrorNotASilentLoss) {
    const fs::path dir = app_test::scratch_dir("faults_video_full");
    for (const std::string codec : {"mp4v", "MJPG"}) {
        const fs::path path = dir / (codec == "mp4v" ? "out.mp4" : "out.avi");
        const int code = in_child_with_file_limit(64 * 1024, [&] {
            app::VideoSink sink(path.string(), codec, [] { return 10.0; });
            cv::Mat noise(240, 320, CV_8UC3);
            for (int64_t i = 0; i < 60; ++i) {  // noise compresses badly: far more than 64 KB
                cv::randu(noise, 0, 255);
                app::Frame f;
                f.index = i;
                app::copy_to_frame(noise, f.image);
                sink.write(f);
            }
            try {
                sink.finish();
            } catch (const engine::Error& e) {
                return std::string(e.what()).find(path.string()) != std::string::npos ? 20 : 21;
            }
            return 22;
        });
        EXPECT_EQ(code, 20) << codec
                            << ": 20: error naming the file; 21: unnamed; 22: no error (silent loss)";
    }
}

TEST(Faults, CompleteVideoPassesTheReadBack) {
    // The read-back must not fail a video that was written completely (same codecs, no limit).
    const fs::path dir = app_test::scratch_dir("faults_video_ok");
    for (const std::string codec : {"mp4v", "MJPG"}) {
        const fs::path path = dir / (codec == "mp4v" ? "out.mp4" : "out.avi");
        {
            app::VideoSink sink(path.string(), codec, [] { return 12.5; });
            for (int64_t i = 0; i < 17; ++i) sink.write(frame_with_boxes(i, 0));
            EXPECT_NO_THROW(sink.finish()) << codec;
        }
        cv::VideoCapture cap(path.string(), cv::CAP_FFMPEG);
        ASSERT_TRUE(cap.isOpened()) << codec;
        cv::Mat m;
        int n = 0;
        while (cap.read(m)) ++n;
        EXPECT_EQ(n, 17) << codec;
    }
}

}  // namespace
