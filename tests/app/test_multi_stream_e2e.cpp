// `rtdet run` with many sources, end to end: the real binary, the two real videos, a folder, and live
// streams sent by a real ffmpeg over TCP on loopback (ffmpeg listens; killing it is a real disconnect,
// SIGSTOP a real stall: the connection stays open and nothing comes).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>
#include <set>
#include <thread>

#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app_test::Process;

std::vector<std::string> rtdet_run(std::vector<std::string> extra) {
    extra.insert(extra.begin(), "--headless");
    return app_test::rtdet_run_args(std::string(RTDET_SOURCE_DIR) + "/configs/yolo-fastest.yaml", extra);
}

std::string second_video() { return app_test::data_file("videos/one-by-one-person-detection.mp4"); }
std::string samples_dir() { return app_test::data_file("images/darknet_samples"); }

// The real video as MPEG-TS over TCP; ffmpeg waits for one client on `port`.
std::vector<std::string> tcp_sender(int port) {
    return app_test::video_sender("tcp://127.0.0.1:" + std::to_string(port) + "?listen=1");
}

// Lines of a JSON-lines file per stream, parsed; missing file: empty.
std::vector<nlohmann::json> lines_of(const fs::path& p) {
    return fs::exists(p) ? app_test::read_json_lines(p) : std::vector<nlohmann::json>{};
}

// Every frame 0..n-1 exactly once, in order, all carrying stream `index` and `name`.
void expect_every_frame_once(const std::vector<nlohmann::json>& js, int n, int index,
                             const std::string& name) {
    ASSERT_EQ(js.size(), static_cast<size_t>(n)) << name;
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(js[i]["frame"].get<int>(), i) << name;
        ASSERT_EQ(js[i]["stream"].get<int>(), index) << name;
        ASSERT_EQ(js[i]["name"].get<std::string>(), name);
    }
}

#define SKIP_OR_FAIL_WITHOUT_MULTI_DATA()                                               \
    do {                                                                                \
        SKIP_OR_FAIL_WITHOUT_DATA();                                                    \
        if (second_video().empty() || samples_dir().empty())                            \
            RTDET_SKIP_OR_FAIL(                                                         \
                "data folder without videos/one-by-one-person-detection.mp4 or images/" \
                "darknet_samples");                                                     \
        if (!app_test::have_program("ffmpeg"))                                          \
            RTDET_SKIP_OR_FAIL("ffmpeg not installed (scripts/setup.sh installs it)");  \
    } while (0)

TEST(RunMulti, FourSourcesEveryFileFrameOnceAndALiveStreamReconnectsWhileOthersGoOn) {
    SKIP_OR_FAIL_WITHOUT_MULTI_DATA();
    const fs::path dir = app_test::scratch_dir("run_multi_four");
    const int port = app_test::free_tcp_port();
    const std::string url = "tcp://127.0.0.1:" + std::to_string(port);
    auto ff = std::make_unique<Process>(tcp_sender(port), dir / "ffmpeg1.out", dir / "ffmpeg1.err");
    Process rt(rtdet_run({"--source",
                          app_test::video_path(),
                          "--source",
                          second_video(),
                          "--source",
                          samples_dir(),
                          "--source",
                          url,
                          "--max-batch",
                          "4",
                          "--json",
                          (dir / "out-{stream}.jsonl").string(),
                          "--summary-json",
                          (dir / "summary.json").string(),
                          "--stream-timeout-ms",
                          "1500",
                          "--reconnect-interval-ms",
                          "200",
                          "--reconnect-attempts",
                          "60",
                          "--open-timeout-ms",
                          "5000"}),
               dir / "stdout.txt", dir / "stderr.txt");
    const auto count = [&](int s) {
        return app_test::count_lines(dir / ("out-" + std::to_string(s) + ".jsonl"));
    };
    ASSERT_TRUE(app_test::wait_until([&] { return count(3) >= 15 || !rt.running(); }, 90))
        << rt.err() << ff->err();
    ASSERT_TRUE(rt.running()) << rt.err();

    // The live sender dies: the stream is lost and retried; the file streams go on meanwhile.
    ff.reset();  // SIGKILL: the TCP connection closes
    ASSERT_TRUE(app_test::wait_until([&] { return rt.err().find("lost " + url) != std::string::npos; }, 20))
        << rt.err();
    const size_t person_at_loss = count(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const size_t person_during = count(1);
    ff = std::make_unique<Process>(tcp_sender(port), dir / "ffmpeg2.out", dir / "ffmpeg2.err");
    const size_t live_before = count(3);
    ASSERT_TRUE(app_test::wait_until(
        [&] {
            return rt.err().find("reconnected to " + url) != std::string::npos &&
                   count(3) >= live_before + 15;
        },
        60))
        << rt.err();

    // The files end on their own; the live stream runs until SIGINT.
    const int n0 = app_test::decoded_frame_count(app_test::video_path());
    const int n1 = app_test::decoded_frame_count(second_video());
    int n2 = 0;
    for (const auto& e : fs::directory_iterator(samples_dir())) n2 += e.is_regular_file() ? 1 : 0;
    ASSERT_TRUE(app_test::wait_until(
        [&] {
            return count(0) >= static_cast<size_t>(n0) && count(1) >= static_cast<size_t>(n1) &&
                   count(2) >= static_cast<size_t>(n2);
        },
        180))
        << rt.err();
    rt.signal(SIGINT);
    ASSERT_EQ(rt.wait(60), 0) << rt.err();
    ff.reset();

    EXPECT_TRUE(person_during > person_at_loss || count(1) == static_cast<size_t>(n1))
        << "the other streams are not held up by the lost one (" << person_at_loss << " -> " << person_during
        << ")";
    expect_every_frame_once(lines_of(dir / "out-0.jsonl"), n0, 0, "car-detection");
    expect_every_frame_once(lines_of(dir / "out-1.jsonl"), n1, 1, "one-by-one-person-detection");
    const auto folder = lines_of(dir / "out-2.jsonl");
    ASSERT_EQ(folder.size(), static_cast<size_t>(n2));
    std::set<std::string> files;
    for (const auto& j : folder) {
        EXPECT_EQ(j["stream"].get<int>(), 2);
        files.insert(j["source"].get<std::string>());
    }
    EXPECT_EQ(files.size(), static_cast<size_t>(n2)) << "each image once";
    // Live: frames may be dropped (gaps), never repeated or reordered.
    const auto live = lines_of(dir / "out-3.jsonl");
    for (size_t i = 1; i < live.size(); ++i) {
        ASSERT_GT(live[i]["frame"].get<int64_t>(), live[i - 1]["frame"].get<int64_t>());
        ASSERT_EQ(live[i]["stream"].get<int>(), 3);
    }

    const nlohmann::json sum = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    ASSERT_EQ(sum["streams"].size(), 4u);
    EXPECT_EQ(sum["streams"][3]["reconnects"].get<int>(), 1) << sum.dump(2);
    EXPECT_EQ(sum["streams"][3]["name"].get<std::string>(), "127.0.0.1-" + std::to_string(port));
    for (int s = 0; s < 3; ++s) {
        EXPECT_EQ(sum["streams"][s]["state"].get<std::string>(), "ended") << s;
        EXPECT_EQ(sum["streams"][s]["reconnects"].get<int>(), 0) << s;
        EXPECT_EQ(sum["streams"][s]["dropped"].get<int>(), 0) << "files never drop";
    }
    EXPECT_EQ(sum["failed_streams"].get<int>(), 0);
    EXPECT_TRUE(sum["interrupted"].get<bool>());
    EXPECT_NE(rt.out().find("reconn"), std::string::npos) << "the per-stream table: " << rt.out();
}

TEST(RunMulti, StalledUnreachableAndBadListedSourcesAreNamedTheOthersRun) {
    SKIP_OR_FAIL_WITHOUT_MULTI_DATA();
    const fs::path dir = app_test::scratch_dir("run_multi_bad");
    // A sender that stalls: it connects, sends a second of video, then stops (SIGSTOP) without closing.
    const int stall_port = app_test::free_tcp_port();
    const std::string stall_url = "tcp://127.0.0.1:" + std::to_string(stall_port);
    Process stall(tcp_sender(stall_port), dir / "stall.out", dir / "stall.err");
    const int dead_port = app_test::free_tcp_port();  // nothing listens there
    app_test::write_bytes(dir / "cams.streams",
                          "# a list with a camera that refuses, a missing file and a bad option\n"
                          "tcp://127.0.0.1:" +
                              std::to_string(dead_port) +
                              " name=refused\n"
                              "missing.mp4\n" +
                              app_test::video_path() + " name=cars-again speed=2\n");
    Process rt(rtdet_run({"--source",
                          app_test::video_path(),
                          "--source",
                          stall_url,
                          "--source",
                          (dir / "cams.streams").string(),
                          "--json",
                          (dir / "{name}.jsonl").string(),
                          "-o",
                          (dir / "{name}.mp4").string(),
                          "--summary-json",
                          (dir / "summary.json").string(),
                          "--stream-timeout-ms",
                          "3000",
                          "--open-timeout-ms",
                          "3000",
                          "--reconnect-interval-ms",
                          "200",
                          "--reconnect-attempts",
                          "2"}),
               dir / "stdout.txt", dir / "stderr.txt");
    ASSERT_TRUE(app_test::wait_until(
        [&] {
            return app_test::count_lines(dir / (("127.0.0.1-" + std::to_string(stall_port)) + ".jsonl")) >=
                       5 ||
                   !rt.running();
        },
        60))
        << rt.err() << stall.err();
    stall.signal(SIGSTOP);
    const int code = rt.wait(120);
    stall.signal(SIGCONT);
    ASSERT_EQ(code, 3) << "some streams failed: exit status 3\n" << rt.err();
    const std::string err = rt.err();
    const std::string stall_name = "127.0.0.1-" + std::to_string(stall_port);
    EXPECT_NE(err.find("stream 1 (" + stall_name + "): source: lost " + stall_url), std::string::npos) << err;
    EXPECT_NE(err.find("stream 2 (refused): source: could not connect to tcp://127.0.0.1:" +
                       std::to_string(dead_port)),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("stream 3 (missing): source: not found:"), std::string::npos) << err;
    EXPECT_NE(err.find("cams.streams:4: unknown option 'speed'"), std::string::npos) << err;
    EXPECT_NE(err.find("4 of 5 stream(s) failed"), std::string::npos) << err;

    // The good stream: every frame, in its own JSON file and video.
    const int n0 = app_test::decoded_frame_count(app_test::video_path());
    expect_every_frame_once(lines_of(dir / "car-detection.jsonl"), n0, 0, "car-detection");
    EXPECT_EQ(app_test::decoded_frame_count((dir / "car-detection.mp4").string()), n0)
        << "its own playable video";
    const nlohmann::json sum = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    ASSERT_EQ(sum["streams"].size(), 5u);
    EXPECT_EQ(sum["failed_streams"].get<int>(), 4);
    EXPECT_EQ(sum["streams"][0]["state"].get<std::string>(), "ended");
    for (int s = 1; s < 5; ++s) EXPECT_EQ(sum["streams"][s]["state"].get<std::string>(), "failed") << s;
    EXPECT_GE(sum["streams"][1]["frames_out"].get<int>(), 5) << "the stalled stream ran before it stalled";
}

TEST(RunMulti, BadSourceListsFailInOneLine) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("run_multi_lists");
    std::string out, err;
    // Nothing in the list can run: a configuration error, one line naming each.
    int code = app_test::run_to_end(
        rtdet_run({"--source", (dir / "a.mp4").string(), "--source", (dir / "b.streams").string()}), dir,
        &out, &err);
    EXPECT_EQ(code, 1);
    EXPECT_NE(err.find("sources: none of the 2 sources can run; stream 0 (a): source: not found: " +
                       (dir / "a.mp4").string()),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("stream 1 (b): source " + (dir / "b.streams").string() + ": .streams file not found"),
              std::string::npos)
        << err;
    // An empty .streams file.
    app_test::write_bytes(dir / "empty.streams", "# nothing\n\n");
    code = app_test::run_to_end(rtdet_run({"--source", (dir / "empty.streams").string()}), dir, &out, &err);
    EXPECT_EQ(code, 1);
    EXPECT_NE(err.find("the .streams file lists no source"), std::string::npos) << err;
    // Several streams into one video file: refused before anything runs.
    code = app_test::run_to_end(rtdet_run({"--source", app_test::video_path(), "--source",
                                           app_test::video_path(), "-o", (dir / "one.mp4").string()}),
                                dir, &out, &err);
    EXPECT_EQ(code, 1);
    EXPECT_NE(err.find("outputs.video: 2 streams need one video each: put {stream} or {name} in the path"),
              std::string::npos)
        << err;
    EXPECT_FALSE(fs::exists(dir / "one.mp4"));
    // A bad shard.
    code = app_test::run_to_end(rtdet_run({"--source", app_test::video_path(), "--shard", "2/2"}), dir, &out,
                                &err);
    EXPECT_EQ(code, 1);
    EXPECT_NE(err.find("pipeline.shard: expected I/N with 0 <= I < N"), std::string::npos) << err;
}

TEST(RunMulti, ShardsSplitOneListBetweenProcesses) {
    SKIP_OR_FAIL_WITHOUT_MULTI_DATA();
    const fs::path dir = app_test::scratch_dir("run_multi_shard");
    // Three streams, two processes: shard 0 gets streams 0 and 2, shard 1 stream 1; indexes stay global.
    std::string list =
        samples_dir() + " name=a\n" + samples_dir() + " name=b\n" + samples_dir() + " name=c\n";
    app_test::write_bytes(dir / "all.streams", list);
    std::map<int, std::set<int>> streams_of;
    for (int shard = 0; shard < 2; ++shard) {
        const fs::path sd = dir / ("shard" + std::to_string(shard));
        fs::create_directories(sd);
        std::string out, err;
        const int code = app_test::run_to_end(
            rtdet_run({"--source", (dir / "all.streams").string(), "--shard", std::to_string(shard) + "/2",
                       "--json", (sd / "out.jsonl").string()}),
            sd, &out, &err);
        ASSERT_EQ(code, 0) << err;
        for (const auto& j : app_test::read_json_lines(sd / "out.jsonl"))
            streams_of[shard].insert(j["stream"].get<int>());
    }
    EXPECT_EQ(streams_of[0], (std::set<int>{0, 2}));
    EXPECT_EQ(streams_of[1], (std::set<int>{1}));
}

}  // namespace
