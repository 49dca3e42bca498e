// `rtdet run` end to end: the real binary on the real video, a live UDP stream from ffmpeg (killed and
// restarted), the window under Xvfb (screenshot), SIGINT, a folder with bad files, bad configs.
// Model: Yolo-Fastest-1.1 (the small one) from the data folder; plans cached in the build tree.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <set>

#include "app/draw.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app_test::Process;

std::vector<std::string> rtdet_run(std::vector<std::string> extra) {
    return app_test::rtdet_run_args(std::string(RTDET_SOURCE_DIR) + "/configs/yolo-fastest.yaml", extra);
}

using app_test::decoded_frame_count;
using app_test::read_json_lines;

TEST(RunVideo, EveryFrameComesOutAsJsonAndVideo) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("run_video");
    const std::string video = app_test::video_path();
    std::string out, err;
    const int code =
        app_test::run_to_end(rtdet_run({"--headless", "--source", video, "-o", (dir / "out.mp4").string(),
                                        "--json", (dir / "out.jsonl").string(), "--max-batch", "2",
                                        "--summary-json", (dir / "summary.json").string()}),
                             dir, &out, &err, 300);
    ASSERT_EQ(code, 0) << err;

    // The oracle: the file's own frame count, from its header and by decoding it.
    cv::VideoCapture cap(video, cv::CAP_FFMPEG);
    const auto header_count = static_cast<int>(cap.get(cv::CAP_PROP_FRAME_COUNT));
    const int decoded = decoded_frame_count(video);
    EXPECT_EQ(header_count, 377);
    ASSERT_EQ(decoded, header_count);

    const std::vector<nlohmann::json> lines = read_json_lines(dir / "out.jsonl");
    ASSERT_EQ(static_cast<int>(lines.size()), decoded) << "every frame comes out";
    size_t with_boxes = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        ASSERT_EQ(lines[i]["frame"], static_cast<int64_t>(i)) << "frame indices 0..N-1 in order";
        EXPECT_NEAR(lines[i]["timestamp_ms"].get<double>(), 80.0 * static_cast<double>(i), 1.0);
        EXPECT_EQ(lines[i]["width"], 768);
        EXPECT_EQ(lines[i]["height"], 432);
        for (const auto& d : lines[i]["detections"]) {
            const auto& b = d["box"];
            EXPECT_LE(b[0].get<double>(), b[2].get<double>());
            EXPECT_LE(b[1].get<double>(), b[3].get<double>());
            EXPECT_GE(d["score"].get<double>(), 0.25);
        }
        with_boxes += lines[i]["detections"].empty() ? 0 : 1;
    }
    EXPECT_GT(with_boxes, 0u) << "some frames have detections";

    cv::Size size;
    double fps = 0;
    EXPECT_EQ(decoded_frame_count((dir / "out.mp4").string(), &size, &fps), decoded) << "the written video";
    EXPECT_EQ(size, cv::Size(768, 432));
    EXPECT_NEAR(fps, 12.5, 0.01) << "same frame rate as the source";

    EXPECT_NE(out.find("frames: in 377, out 377, dropped 0, skipped 0"), std::string::npos) << out;
    EXPECT_NE(out.find("mean time over 377 images: preprocess"), std::string::npos) << out;
    const auto summary = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    EXPECT_EQ(summary["frames_out"], 377);
    EXPECT_EQ(summary["stages"]["inference"]["count"], 377);
    EXPECT_GT(summary["stages"]["inference"]["mean_ms"].get<double>(), 0);
}

TEST(RunVideo, SigintLeavesAPlayableVideoAndASummary) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("run_sigint");
    // --realtime: 12.5 frames a second, so the run is surely in the middle when interrupted.
    Process p(rtdet_run({"--headless", "--realtime", "--source", app_test::video_path(), "-o",
                         (dir / "out.mp4").string(), "--json", (dir / "out.jsonl").string()}),
              dir / "stdout.txt", dir / "stderr.txt");
    ASSERT_TRUE(app_test::wait_until(
        [&] { return app_test::count_lines(dir / "out.jsonl") >= 10 || !p.running(); }, 90))
        << p.err();
    ASSERT_TRUE(p.running()) << p.err();
    p.signal(SIGINT);
    const int code = p.wait(60);
    ASSERT_EQ(code, 0) << p.err();
    const std::string out = p.out();
    EXPECT_NE(out.find("summary:"), std::string::npos) << out;
    EXPECT_NE(out.find("(interrupted)"), std::string::npos) << out;
    EXPECT_NE(out.find("mean time over"), std::string::npos) << out;
    const size_t frames_out = app_test::count_lines(dir / "out.jsonl");
    EXPECT_LT(frames_out, 377u);
    const int in_video = decoded_frame_count((dir / "out.mp4").string());
    EXPECT_GT(in_video, 0) << "the video was finalized (playable)";
    EXPECT_EQ(in_video, static_cast<int>(frames_out)) << "every frame that came out is in the video";
}

TEST(RunImages, BadFilesAreReportedByNameAndTheRestProcessed) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const std::string dog = app_test::data_file("images/darknet_samples/dog.jpg");
    const std::string person = app_test::data_file("images/darknet_samples/person.jpg");
    ASSERT_FALSE(dog.empty());
    const fs::path dir = app_test::scratch_dir("run_bad_folder");
    const fs::path in = dir / "in";
    fs::create_directories(in);
    fs::copy_file(dog, in / "dog.jpg");
    fs::copy_file(person, in / "person.jpg");
    std::ofstream(in / "broken.jpg", std::ios::binary)
        << std::string("\xFF\xD8\xFF\xE0", 4) << std::string(500, 'q');
    std::ofstream(in / "notes.txt") << "this is not an image\n";
    std::ofstream(in / "empty.jpg") << "";
    std::string out, err;
    const int code = app_test::run_to_end(
        rtdet_run({"--headless", "--source", in.string(), "--json", (dir / "out.jsonl").string(),
                   "--images-dir", (dir / "annotated").string()}),
        dir, &out, &err, 120);
    EXPECT_NE(code, 0) << "bad inputs make the exit code non-zero";
    EXPECT_NE(code, -1) << "timed out";
    for (const char* name : {"broken.jpg", "notes.txt", "empty.jpg"})
        EXPECT_NE(err.find((in / name).string()), std::string::npos) << name << " is named in:\n" << err;
    EXPECT_NE(err.find("empty file"), std::string::npos) << err;
    EXPECT_NE(out.find("skipped 3"), std::string::npos) << out;

    const std::vector<nlohmann::json> lines = read_json_lines(dir / "out.jsonl");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["source"], (in / "dog.jpg").string());
    EXPECT_EQ(lines[1]["source"], (in / "person.jpg").string());
    std::set<std::string> dog_classes;
    for (const auto& d : lines[0]["detections"]) dog_classes.insert(d["class"].get<std::string>());
    EXPECT_TRUE(dog_classes.count("dog")) << "the darknet sample dog.jpg shows a dog";
    EXPECT_TRUE(fs::exists(dir / "annotated" / "dog.jpg"));
    EXPECT_TRUE(fs::exists(dir / "annotated" / "person.jpg"));
}

TEST(RunConfig, BadConfigsFailWithOneLineNamingTheKey) {
    SKIP_OR_FAIL_WITHOUT_DATA();  // the default config's $DATA paths must expand
    const fs::path dir = app_test::scratch_dir("run_bad_config");
    std::ofstream(dir / "bad.yaml") << "detector:\n  conf_threshold: 0.3\n  nms_mode: agnostic\n";
    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {{"--config", (dir / "bad.yaml").string()},
         "bad.yaml:3: unknown key 'detector.nms_mode' (did you mean 'detector.nms'?)"},
        {{"--set", "detector.conff=0.3"},
         "--set: unknown key 'detector.conff' (did you mean 'detector.conf_threshold'?)"},
        {{"--conf", "1.5"}, "--conf (detector.conf_threshold): must be a number in (0, 1] (got '1.5')"},
        {{"--queue-depth", "two"},
         "--queue-depth (pipeline.queue_depth): expected an integer in [1, 256] (got 'two')"},
        {{"--config", (dir / "missing.yaml").string()},
         "config file not found: " + (dir / "missing.yaml").string()},
        {{"--model", (dir / "missing.onnx").string()},
         "model.path: file not found: " + (dir / "missing.onnx").string()},
        {{"--source", (dir / "missing.mp4").string()},
         "source: not found: " + (dir / "missing.mp4").string()},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {RTDET_EXE, "run", "--headless"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        std::string out, err;
        const int code = app_test::run_to_end(args, dir, &out, &err, 60);
        EXPECT_EQ(code, 1) << c.expected;
        EXPECT_NE(err.find(c.expected), std::string::npos) << "expected: " << c.expected << "\ngot: " << err;
        // One line: "rtdet: error: ..." and nothing else on stderr.
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    }
}

// The OpenCV DNN peer of scripts/bench/app.sh runs the same pipeline: on the same image it must find the same
// objects (same preprocessing, decode and NMS; only the network runtime differs).
TEST(RunPeer, OpenCvPeerFindsWhatRtdetFinds) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const std::string dog = app_test::data_file("images/darknet_samples/dog.jpg");
    const fs::path dir = app_test::scratch_dir("run_peer");
    std::vector<std::vector<nlohmann::json>> dets;
    for (const char* peer : {"none", "opencv"}) {
        const fs::path json = dir / (std::string(peer) + ".jsonl");
        std::string out, err;
        ASSERT_EQ(app_test::run_to_end(
                      rtdet_run({"--headless", "--source", dog, "--peer", peer, "--json", json.string()}),
                      dir, &out, &err, 120),
                  0)
            << err;
        EXPECT_NE(out.find(std::string(peer) == "opencv" ? "OpenCV DNN" : "rtdet cpu"), std::string::npos)
            << out;
        const auto lines = read_json_lines(json);
        ASSERT_EQ(lines.size(), 1u);
        dets.emplace_back(lines[0]["detections"].begin(), lines[0]["detections"].end());
    }
    ASSERT_FALSE(dets[0].empty());
    ASSERT_EQ(dets[0].size(), dets[1].size());
    for (size_t i = 0; i < dets[0].size(); ++i) {
        const auto& a = dets[0][i];
        const auto& b = dets[1][i];
        EXPECT_EQ(a["class"], b["class"]);
        EXPECT_NEAR(a["score"].get<double>(), b["score"].get<double>(), 0.02);
        for (int k = 0; k < 4; ++k) EXPECT_NEAR(a["box"][k].get<double>(), b["box"][k].get<double>(), 3.0);
    }
}

using app_test::free_udp_port;

TEST(RunLive, UdpStreamIsReadLiveAndReconnectsAfterTheSenderRestarts) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    if (!app_test::have_program("ffmpeg"))
        RTDET_SKIP_OR_FAIL("ffmpeg not installed (scripts/setup.sh installs it)");
    const fs::path dir = app_test::scratch_dir("run_udp");
    const std::string url = "udp://127.0.0.1:" + std::to_string(free_udp_port());
    const std::vector<std::string> sender = app_test::video_sender(url + "?pkt_size=1316");
    auto ff = std::make_unique<Process>(sender, dir / "ffmpeg1.out", dir / "ffmpeg1.err");
    Process rt(rtdet_run({"--headless", "--source", url, "--json", (dir / "out.jsonl").string(),
                          "--stream-timeout-ms", "1500", "--reconnect-interval-ms", "200",
                          "--reconnect-attempts", "60"}),
               dir / "stdout.txt", dir / "stderr.txt");
    const auto lines = [&] { return app_test::count_lines(dir / "out.jsonl"); };
    ASSERT_TRUE(app_test::wait_until([&] { return lines() >= 15 || !rt.running(); }, 60))
        << rt.err() << ff->err();
    ASSERT_TRUE(rt.running()) << rt.err();

    // The sender dies: rtdet notices (no frame for 1.5 s) and tries to reconnect.
    ff.reset();  // SIGKILL
    ASSERT_TRUE(app_test::wait_until([&] { return rt.err().find("lost " + url) != std::string::npos; }, 15))
        << rt.err();
    EXPECT_TRUE(rt.running());
    const size_t before_restart = lines();
    ff = std::make_unique<Process>(sender, dir / "ffmpeg2.out", dir / "ffmpeg2.err");
    ASSERT_TRUE(app_test::wait_until(
        [&] {
            return rt.err().find("reconnected to " + url) != std::string::npos &&
                   lines() >= before_restart + 15;
        },
        40))
        << rt.err();

    rt.signal(SIGINT);
    ASSERT_EQ(rt.wait(30), 0) << rt.err();
    ff.reset();
    const std::string out = rt.out();
    EXPECT_NE(out.find("reconnects 1"), std::string::npos) << out;
    EXPECT_NE(out.find("(interrupted)"), std::string::npos) << out;
    // Live: frames may be dropped (index gaps), never reordered.
    const std::vector<nlohmann::json> js = read_json_lines(dir / "out.jsonl");
    for (size_t i = 1; i < js.size(); ++i)
        ASSERT_GT(js[i]["frame"].get<int64_t>(), js[i - 1]["frame"].get<int64_t>());
}

TEST(RunWindow, ShowsDetectionsUnderXvfb) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    if (!app_test::have_program("xvfb-run") || !app_test::have_program("ffmpeg"))
        RTDET_SKIP_OR_FAIL("xvfb-run or ffmpeg not installed (scripts/setup.sh installs them)");
    const fs::path dir = app_test::scratch_dir("run_window");
    // Inside the virtual display: start rtdet with the window, wait until frames flow, take a
    // screenshot of the whole screen with ffmpeg's x11grab, then stop rtdet with SIGINT.
    std::string cmd;
    for (const std::string& a : rtdet_run({"--show", "--realtime", "--conf", "0.05", "--source",
                                           app_test::video_path(), "--json", (dir / "out.jsonl").string()}))
        cmd += "'" + a + "' ";
    const std::string script =
        "cd '" + dir.string() + "'\n" + cmd + " > rtdet.out 2> rtdet.err &\n" +
        "pid=$!\n"
        "i=0\n"
        "while [ $i -lt 900 ] && kill -0 $pid 2>/dev/null &&\n"
        "      [ \"$(cat out.jsonl 2>/dev/null | wc -l)\" -lt 20 ]; do\n"
        "  sleep 0.1; i=$((i+1))\n"
        "done\n"
        "sleep 1\n"
        "ffmpeg -hide_banner -loglevel error -f x11grab -video_size 1280x720 -i \"$DISPLAY\" "
        "-frames:v 1 -y shot.png\n"
        "kill -INT $pid\n"
        "wait $pid\n"
        "echo \"rtdet exit $?\"\n";
    std::ofstream(dir / "window.sh") << script;
    std::string out, err;
    const int code = app_test::run_to_end(
        {"xvfb-run", "-a", "-s", "-screen 0 1280x720x24", "sh", (dir / "window.sh").string()}, dir, &out,
        &err, 150);
    ASSERT_EQ(code, 0) << out << err << app_test::read_text(dir / "rtdet.err");
    EXPECT_NE(out.find("rtdet exit 0"), std::string::npos) << out << app_test::read_text(dir / "rtdet.err");
    EXPECT_NE(app_test::read_text(dir / "rtdet.out").find("summary:"), std::string::npos);

    const cv::Mat shot = cv::imread((dir / "shot.png").string());
    ASSERT_FALSE(shot.empty()) << "no screenshot";
    ASSERT_EQ(shot.size(), cv::Size(1280, 720));
    // The window: the non-black part of the screen (Xvfb's root is black) is the 768x432 video.
    cv::Mat gray;
    cv::cvtColor(shot, gray, cv::COLOR_BGR2GRAY);
    const cv::Rect drawn = cv::boundingRect(gray > 8);
    EXPECT_GE(drawn.width, 700) << "window region " << drawn;
    EXPECT_GE(drawn.height, 400) << "window region " << drawn;
    cv::Scalar mean, stddev;
    cv::meanStdDev(shot(drawn), mean, stddev);
    EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 30) << "not blank";
    // Boxes: pixels in the colours draw_detections gives the classes detected (box lines and label
    // backgrounds are solid class colour).
    std::set<int> classes;
    for (const nlohmann::json& j : read_json_lines(dir / "out.jsonl"))
        for (const auto& d : j["detections"]) classes.insert(d["class_id"].get<int>());
    ASSERT_FALSE(classes.empty()) << "no detections at --conf 0.05";
    int box_pixels = 0;
    for (int c : classes) {
        const cv::Scalar col = app::class_color(c);
        cv::Mat mask;
        cv::inRange(shot, col - cv::Scalar::all(6), col + cv::Scalar::all(6), mask);
        box_pixels += cv::countNonZero(mask);
    }
    EXPECT_GT(box_pixels, 100) << "box-coloured pixels on screen";
    // The overlay's white text in the top-left corner of the window.
    cv::Mat corner = shot(cv::Rect(drawn.x, drawn.y, 200, 60) & cv::Rect(0, 0, 1280, 720));
    cv::Mat white;
    cv::inRange(corner, cv::Scalar::all(230), cv::Scalar::all(255), white);
    EXPECT_GT(cv::countNonZero(white), 50) << "FPS overlay text";
}

}  // namespace
