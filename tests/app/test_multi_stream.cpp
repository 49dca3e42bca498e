// Many streams in one run, in process: the batcher (round-robin, timeout, exactly once, order per
// stream, live eviction), the stream list (.streams files, names, shards, the config's sources list),
// the latency histogram, and the whole pipeline over folder sources with a detector whose answer is
// computed from each image's pixels (so a frame given another frame's detections is caught).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "app/batcher.h"
#include "app/config.h"
#include "app/inference_stage.h"
#include "app/pipeline.h"
#include "app/stats.h"
#include "app/streams.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app::Batcher;
using app::Frame;
using namespace std::chrono_literals;

using app_test::error_of;

// ---- batcher ----

TEST(Batcher, TakesFramesRoundRobinAcrossStreams) {
    Batcher b(4, 0ms);
    std::vector<Frame> frames(9);
    for (int lane = 0; lane < 3; ++lane) ASSERT_EQ(b.add_lane(4, false), lane);
    for (int i = 0; i < 9; ++i) {
        frames[i].stream = i % 3;
        frames[i].index = i / 3;
        Frame* ev = nullptr;
        ASSERT_TRUE(b.push(i % 3, &frames[i], {}, &ev));
    }
    std::vector<Frame*> out;
    uint64_t seq = 99;
    ASSERT_TRUE(b.next(out, {}, &seq));
    EXPECT_EQ(seq, 0u);
    ASSERT_EQ(out.size(), 4u);
    // One per stream per pass: 0, 1, 2, then stream 0's second frame.
    EXPECT_EQ(out[0], &frames[0]);
    EXPECT_EQ(out[1], &frames[1]);
    EXPECT_EQ(out[2], &frames[2]);
    EXPECT_EQ(out[3], &frames[3]);
    // The next batch starts after the stream served last: 1, 2, 0, 1.
    ASSERT_TRUE(b.next(out, {}, &seq));
    EXPECT_EQ(seq, 1u);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0], &frames[4]);
    EXPECT_EQ(out[1], &frames[5]);
    EXPECT_EQ(out[2], &frames[6]);
    EXPECT_EQ(out[3], &frames[7]);
    for (int lane = 0; lane < 3; ++lane) b.end(lane);
    ASSERT_TRUE(b.next(out, {}, &seq));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], &frames[8]);
    EXPECT_FALSE(b.next(out, {}, &seq)) << "every lane ended and nothing queued";
}

TEST(Batcher, LiveLaneKeepsTheNewestAndHandsBackTheOldest) {
    Batcher b(8, 0ms);
    b.add_lane(2, /*live=*/true);
    std::vector<Frame> f(3);
    Frame* ev = nullptr;
    ASSERT_TRUE(b.push(0, &f[0], {}, &ev));
    EXPECT_EQ(ev, nullptr);
    ASSERT_TRUE(b.push(0, &f[1], {}, &ev));
    EXPECT_EQ(ev, nullptr);
    ASSERT_TRUE(b.push(0, &f[2], {}, &ev)) << "a live lane never blocks";
    EXPECT_EQ(ev, &f[0]);
    b.end(0);
    std::vector<Frame*> out;
    uint64_t seq = 0;
    ASSERT_TRUE(b.next(out, {}, &seq));
    EXPECT_EQ(out, (std::vector<Frame*>{&f[1], &f[2]}));
}

TEST(Batcher, FileLaneBlocksWhileFullAndStopsOnRequest) {
    Batcher b(1, 0ms);
    b.add_lane(1, false);
    std::vector<Frame> f(2);
    Frame* ev = nullptr;
    ASSERT_TRUE(b.push(0, &f[0], {}, &ev));
    std::stop_source stop;
    std::atomic<bool> returned{false}, pushed{true};
    std::thread t([&] {
        pushed = b.push(0, &f[1], stop.get_token(), &ev);
        returned = true;
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(returned.load()) << "backpressure: the capture thread waits for room";
    stop.request_stop();
    t.join();
    EXPECT_FALSE(pushed.load()) << "a stopped push does not queue the frame";
}

TEST(Batcher, WaitsUpToTheTimeoutForAFullBatch) {
    Batcher b(4, 150ms);
    b.add_lane(4, false);
    b.add_lane(4, false);
    std::vector<Frame> f(4);
    Frame* ev = nullptr;
    ASSERT_TRUE(b.push(0, &f[0], {}, &ev));
    std::vector<Frame*> out;
    uint64_t seq = 0;
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(b.next(out, {}, &seq));
    double waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(out.size(), 1u);
    EXPECT_GE(waited, 120.0) << "not full: waits for the timeout since its first frame";
    EXPECT_LT(waited, 1000.0);

    // Frames arriving during the wait join the batch; a full batch goes at once.
    std::thread producer([&] {
        std::this_thread::sleep_for(30ms);
        Frame* e = nullptr;
        b.push(1, &f[1], {}, &e);
        b.push(0, &f[2], {}, &e);
        b.push(1, &f[3], {}, &e);
    });
    t0 = std::chrono::steady_clock::now();
    f[0].index = 7;
    ASSERT_TRUE(b.push(0, &f[0], {}, &ev));
    ASSERT_TRUE(b.next(out, {}, &seq));
    waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    producer.join();
    EXPECT_EQ(out.size(), 4u);
    EXPECT_LT(waited, 140.0) << "full before the timeout: no waiting for it";
}

TEST(Batcher, ZeroTimeoutTakesWhatIsReady) {
    Batcher b(4, 0ms);
    b.add_lane(4, false);
    b.add_lane(4, false);
    Frame f;
    Frame* ev = nullptr;
    ASSERT_TRUE(b.push(1, &f, {}, &ev));
    std::vector<Frame*> out;
    uint64_t seq = 0;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(b.next(out, {}, &seq));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 50.0);
    EXPECT_EQ(out.size(), 1u);
}

// Producers on 6 lanes, two consumers: every frame comes out exactly once, and within a stream the
// batch numbers never go backwards (the output stage orders batches by number).
TEST(Batcher, EveryFrameExactlyOnceInStreamOrderUnderConcurrency) {
    constexpr int kLanes = 6, kPerLane = 500;
    Batcher b(5, 1ms);
    for (int i = 0; i < kLanes; ++i) b.add_lane(3, false);
    std::vector<std::vector<Frame>> frames(kLanes, std::vector<Frame>(kPerLane));
    std::vector<std::jthread> producers;
    for (int lane = 0; lane < kLanes; ++lane)
        producers.emplace_back([&, lane] {
            for (int i = 0; i < kPerLane; ++i) {
                Frame& f = frames[lane][i];
                f.stream = lane;
                f.index = i;
                Frame* ev = nullptr;
                ASSERT_TRUE(b.push(lane, &f, {}, &ev));
            }
            b.end(lane);
        });
    std::mutex m;
    std::vector<std::pair<uint64_t, std::vector<Frame*>>> batches;
    std::vector<std::jthread> consumers;
    for (int c = 0; c < 2; ++c)
        consumers.emplace_back([&] {
            std::vector<Frame*> out;
            uint64_t seq = 0;
            while (b.next(out, {}, &seq)) {
                std::lock_guard lock(m);
                batches.emplace_back(seq, out);
            }
        });
    producers.clear();
    consumers.clear();
    std::sort(batches.begin(), batches.end(), [](auto& a, auto& c) { return a.first < c.first; });
    for (size_t i = 0; i < batches.size(); ++i)
        ASSERT_EQ(batches[i].first, i) << "batch numbers have no gaps";
    std::vector<int64_t> next(kLanes, 0);
    size_t total = 0;
    for (const auto& [seq, fs] : batches) {
        ASSERT_LE(fs.size(), 5u);
        for (const Frame* f : fs) {
            ASSERT_EQ(f->index, next[f->stream]) << "stream " << f->stream << " out of order or repeated";
            ++next[f->stream];
            ++total;
        }
    }
    EXPECT_EQ(total, static_cast<size_t>(kLanes * kPerLane));
}

// ---- the stream list ----

TEST(Streams, DefaultNamesAreShortFormsOfTheUri) {
    EXPECT_EQ(app::default_stream_name("/data/videos/car-detection.mp4"), "car-detection");
    EXPECT_EQ(app::default_stream_name("0"), "camera0");
    EXPECT_EQ(app::default_stream_name("rtsp://user:pw@10.0.0.7:8554/live/stream1"), "10.0.0.7-8554-stream1");
    EXPECT_EQ(app::default_stream_name("tcp://127.0.0.1:5000"), "127.0.0.1-5000");
    EXPECT_EQ(app::default_stream_name("images/darknet/"), "darknet");
    EXPECT_EQ(app::default_stream_name("frames/*.jpg"), "frames");
}

TEST(Streams, StreamsFileListsSourcesWithOptionsAndReportsBadLinesByLine) {
    const fs::path dir = app_test::scratch_dir("streams_file");
    fs::create_directories(dir / "a");
    app_test::write_bytes(dir / "clip.mp4", "x");
    app_test::write_bytes(dir / "list.streams",
                          "# two cameras and a clip\n"
                          "\n"
                          "clip.mp4  name=front fps=25\n"
                          "rtsp://10.1.1.1/cam realtime=true\n"
                          "a loop=maybe\n"
                          "a/ colour=red\n");
    std::vector<std::string> errors;
    const auto entries = app::read_streams_file((dir / "list.streams").string(), &errors);
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_EQ(entries[0].uri, (dir / "clip.mp4").string()) << "relative to the file's folder";
    EXPECT_EQ(entries[0].name, "front");
    EXPECT_DOUBLE_EQ(entries[0].fps, 25.0);
    EXPECT_EQ(entries[1].uri, "rtsp://10.1.1.1/cam");
    EXPECT_EQ(entries[1].realtime, 1);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("list.streams:5: loop must be true or false (got 'maybe')"), std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("list.streams:6: unknown option 'colour'"), std::string::npos) << errors[1];

    // In a run: the bad lines are streams that fail by name; the good ones run.
    app::AppConfig cfg;
    cfg.source = (dir / "list.streams").string();
    const auto plans = app::plan_streams(cfg);
    ASSERT_EQ(plans.size(), 4u);
    EXPECT_TRUE(plans[0].error.empty()) << plans[0].error;
    EXPECT_TRUE(plans[0].paced) << "fps= plays the file as a camera";
    EXPECT_TRUE(plans[0].live());
    EXPECT_TRUE(plans[1].error.empty()) << plans[1].error;
    EXPECT_NE(plans[2].error.find("list.streams:5"), std::string::npos) << plans[2].error;
    EXPECT_NE(plans[3].error.find("list.streams:6"), std::string::npos) << plans[3].error;

    const std::string missing = (dir / "missing.streams").string();
    EXPECT_NE(error_of([&] {
                  app::read_streams_file(missing, nullptr);
              }).find(missing + ": .streams file not found"),
              std::string::npos);
}

TEST(Streams, ShardsKeepGlobalIndexesAndNamesAreUnique) {
    const fs::path dir = app_test::scratch_dir("streams_shard");
    app::AppConfig cfg;
    for (int i = 0; i < 5; ++i) {
        fs::create_directories(dir / ("d" + std::to_string(i)) / "cam");
        app::StreamConfig s;
        s.uri = (dir / ("d" + std::to_string(i)) / "cam").string();  // five folders all named "cam"
        cfg.sources.push_back(s);
    }
    auto plans = app::plan_streams(cfg);
    ASSERT_EQ(plans.size(), 5u);
    std::set<std::string> names;
    for (const auto& p : plans) names.insert(p.name);
    EXPECT_EQ(names, (std::set<std::string>{"cam", "cam-2", "cam-3", "cam-4", "cam-5"}));
    cfg.shard = "1/2";
    plans = app::plan_streams(cfg);
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[0].index, 1);
    EXPECT_EQ(plans[1].index, 3);
    for (const char* bad : {"2/2", "1", "a/b", "-1/3", "0/0", "1/2/3"}) {
        cfg.shard = bad;
        EXPECT_NE(error_of([&] { app::plan_streams(cfg); }).find("pipeline.shard: expected I/N"),
                  std::string::npos)
            << bad;
    }
    cfg.shard = "7/9";
    EXPECT_NE(error_of([&] { app::plan_streams(cfg); }).find("shard 7/9 has no stream (the list has 5)"),
              std::string::npos);
}

TEST(Streams, ConfigSourcesListTakesUrisAndMappingsAndNamesBadEntries) {
    app::AppConfig cfg;
    app::load_config_text(
        "sources:\n"
        "  - videos/a.mp4\n"
        "  - uri: rtsp://cam/1\n"
        "    name: gate\n"
        "  - {uri: b.mp4, fps: 25, loop: true}\n",
        "t.yaml", cfg);
    ASSERT_EQ(cfg.sources.size(), 3u);
    EXPECT_EQ(cfg.sources[0].uri, "videos/a.mp4");
    EXPECT_EQ(cfg.sources[1].name, "gate");
    EXPECT_DOUBLE_EQ(cfg.sources[2].fps, 25.0);
    EXPECT_EQ(cfg.sources[2].loop, 1);
    // Printed and read back: the same list.
    app::AppConfig again;
    app::load_config_text(app::config_to_yaml(cfg), "printed", again);
    ASSERT_EQ(again.sources.size(), 3u);
    EXPECT_EQ(again.sources[1].uri, "rtsp://cam/1");
    EXPECT_EQ(again.sources[2].loop, 1);

    const auto err = [](const std::string& yaml) {
        app::AppConfig c;
        return error_of([&] { app::load_config_text(yaml, "t.yaml", c); });
    };
    EXPECT_NE(err("sources: a.mp4\n").find("t.yaml:1: sources: expected a list"), std::string::npos);
    EXPECT_NE(
        err("sources:\n  - uri: a.mp4\n    fsp: 3\n").find("t.yaml:2: sources[0].fsp: unknown key 'fsp'"),
        std::string::npos)
        << err("sources:\n  - uri: a.mp4\n    fsp: 3\n");
    EXPECT_NE(
        err("sources:\n  - {uri: a.mp4, fps: 0}\n").find("sources[0].fps: expected a number in (0, 1000]"),
        std::string::npos);
    EXPECT_NE(err("sources:\n  - name: x\n").find("sources[0]: uri: empty"), std::string::npos);
}

TEST(Streams, ValidateNamesAStreamThatCannotRunOnlyWhenItIsTheOnlyOne) {
    const fs::path dir = app_test::scratch_dir("streams_validate");
    fs::create_directories(dir / "frames");
    app_test::write_bytes(dir / "m.onnx", "x");
    app::AppConfig cfg;
    cfg.model = (dir / "m.onnx").string();
    app::StreamConfig good, bad;
    good.uri = (dir / "frames").string();
    bad.uri = (dir / "nope.mp4").string();
    cfg.sources = {bad};
    EXPECT_NE(error_of([&] { app::validate_config(cfg); }).find("nope.mp4"), std::string::npos);
    cfg.sources = {good, bad};
    EXPECT_EQ(error_of([&] { app::validate_config(cfg); }), "") << "the others run; the bad one is reported";
    cfg.sources = {bad, bad};
    EXPECT_NE(error_of([&] { app::validate_config(cfg); }).find("none of the 2 sources can run"),
              std::string::npos);
}

TEST(Streams, NewPipelineKeysRefuseBadValuesNamingTheKey) {
    app::AppConfig cfg;
    const auto err = [&](const char* key, const char* value) {
        return error_of([&] { app::set_config_key(cfg, key, value, "--set"); });
    };
    EXPECT_NE(err("pipeline.batch_timeout_ms", "-1")
                  .find("--set (pipeline.batch_timeout_ms): must be an integer in [0, 60000] (got '-1')"),
              std::string::npos);
    EXPECT_NE(err("pipeline.inference_workers", "17")
                  .find("--set (pipeline.inference_workers): must be an integer in [0, 16]"),
              std::string::npos);
    EXPECT_NE(
        err("pipeline.fps", "fast").find("--set (pipeline.fps): expected a number in [0, 1000] (got 'fast')"),
        std::string::npos);
    EXPECT_NE(err("pipeline.max_batch", "257").find("must be an integer in [1, 256]"), std::string::npos);
    EXPECT_NE(err("engine.gpu_wait", "yield").find("--set (engine.gpu_wait)"), std::string::npos);
    EXPECT_NE(err("engine.gpu_wait", "yield").find("must be one of auto, spin, block (got 'yield')"),
              std::string::npos);
    app::set_config_key(cfg, "engine.gpu_wait", "block", "--set");
    EXPECT_EQ(cfg.gpu_wait, "block");
    EXPECT_EQ(cfg.batch_timeout_ms, 0) << "a refused value leaves the key as it was";
    EXPECT_EQ(cfg.inference_workers, 0);
    EXPECT_EQ(cfg.fps, 0.0);
    // pipeline.fps paces files only: with live sources alone it is refused.
    const fs::path dir = app_test::scratch_dir("streams_fps_live");
    app_test::write_bytes(dir / "m.onnx", "x");
    cfg.model = (dir / "m.onnx").string();
    cfg.source = "rtsp://10.0.0.7/stream1";
    cfg.fps = 25;
    EXPECT_NE(error_of([&] {
                  app::validate_config(cfg);
              }).find("pipeline.fps: paces files and folders; every source here is live"),
              std::string::npos);
}

// ---- latency histogram ----

TEST(LatencyHistogram, PercentilesWithinOnePercentOfTheExactOnes) {
    std::mt19937 rng(7);
    std::lognormal_distribution<double> dist(3.0, 1.0);
    app::LatencySeries exact;
    app::LatencyHistogram h;
    for (int i = 0; i < 20000; ++i) {
        const double v = dist(rng);
        exact.add(v);
        h.add(v);
    }
    for (double q : {0.01, 0.5, 0.9, 0.99, 1.0}) {
        const double e = exact.percentile(q), a = h.percentile(q);
        EXPECT_NEAR(a, e, 0.0101 * e) << "q " << q;
        EXPECT_GE(a, e * 0.999) << "the bucket's upper edge: never below the exact value";
    }
    EXPECT_NEAR(h.mean(), exact.mean(), 1e-9 * exact.mean());
    EXPECT_EQ(h.count(), 20000);
    app::LatencyHistogram empty;
    EXPECT_EQ(empty.percentile(0.5), 0.0);
}

// ---- the whole pipeline, in process ----

// Answers from the pixels: one detection whose class is the image's first blue value and whose score
// encodes its first green value, so each frame's result is tied to its own image.
class PixelDetector final : public app::FrameDetector {
  public:
    explicit PixelDetector(int max_batch, int sleep_ms = 2) : max_batch_(max_batch), sleep_ms_(sleep_ms) {}
    const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) override {
        EXPECT_LE(images.size(), static_cast<size_t>(max_batch_));
        results_.resize(images.size());
        for (size_t i = 0; i < images.size(); ++i) {
            detector::Detection d;
            d.class_id = images[i].data[0];
            d.score = images[i].data[1] / 255.f;
            d.box = {0, 0, 1, 1};
            results_[i].assign(1, d);
        }
        batches_.fetch_add(1);
        if (images.size() > 1) multi_.fetch_add(1);
        // As long as a small network: the other worker forms the next batch meanwhile.
        std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
        return results_;
    }
    const detector::StageTimes& last_times() const override { return times_; }
    const std::vector<std::string>& class_names() const override { return names_; }
    int max_batch() const override { return max_batch_; }
    int input_width() const override { return 32; }
    int input_height() const override { return 32; }
    std::string describe() const override { return "pixel detector"; }
    int batches() const { return batches_.load(); }
    int multi_frame_batches() const { return multi_.load(); }

  private:
    int max_batch_, sleep_ms_;
    std::vector<std::vector<detector::Detection>> results_;
    detector::StageTimes times_;
    std::vector<std::string> names_;
    std::atomic<int> batches_{0}, multi_{0};
};

// The warm-up runs every batch size the run forms once (a plan sets each one up on its first run),
// on grey images of the network's size.
TEST(InferenceStage, WarmUpRunsEveryBatchSizeOnceOnGreyImagesOfTheInputSize) {
    class SizeRecorder final : public app::FrameDetector {
      public:
        const std::vector<std::vector<detector::Detection>>& detect(
            std::span<const detector::ImageView> images) override {
            sizes.push_back(images.size());
            for (const detector::ImageView& v : images) {
                EXPECT_EQ(v.width, 48);
                EXPECT_EQ(v.height, 40);
                EXPECT_EQ(v.data[0], 114);
                EXPECT_EQ(v.data[v.height * v.row_stride - 1], 114);
            }
            results_.resize(images.size());
            return results_;
        }
        const detector::StageTimes& last_times() const override { return times_; }
        const std::vector<std::string>& class_names() const override { return names_; }
        int max_batch() const override { return 8; }
        int input_width() const override { return 48; }
        int input_height() const override { return 40; }
        std::string describe() const override { return "size recorder"; }
        std::vector<size_t> sizes;

      private:
        std::vector<std::vector<detector::Detection>> results_;
        detector::StageTimes times_;
        std::vector<std::string> names_;
    } d;
    EXPECT_GE(app::warm_up(d, 5), 0.0);
    EXPECT_EQ(d.sizes, (std::vector<size_t>{1, 2, 3, 4, 5}));
    d.sizes.clear();
    app::warm_up(d, 0);  // batch 1 at least
    EXPECT_EQ(d.sizes, (std::vector<size_t>{1}));
}

struct Seen {
    int stream;
    int64_t index;
    int class_id;
    float score;
    app::Clock::time_point captured;
};

class RecordingSink final : public app::Sink {
  public:
    explicit RecordingSink(std::vector<Seen>& out) : out_(out) {}
    bool wants_annotated() const override { return false; }
    app::SinkAction write(const Frame& f) override {
        EXPECT_EQ(f.detections.size(), 1u);
        EXPECT_NE(f.stream_name, nullptr);
        out_.push_back({f.stream, f.index, f.detections.empty() ? -1 : f.detections[0].class_id,
                        f.detections.empty() ? -1.f : f.detections[0].score, f.captured});
        return app::SinkAction::Continue;
    }

  private:
    std::vector<Seen>& out_;
};

// The pipeline over cfg's sources with one PixelDetector of batch 2 (taking `detect_ms` a batch);
// `seen` gets every frame written.
app::PipelineResult run_recorded(const app::AppConfig& cfg, std::vector<Seen>& seen, int64_t max_frames = 0,
                                 int detect_ms = 2) {
    PixelDetector d(2, detect_ms);
    std::vector<std::unique_ptr<app::Sink>> sinks;
    sinks.push_back(std::make_unique<RecordingSink>(seen));
    app::PipelineOptions opt;
    opt.max_batch = 2;
    opt.max_frames = max_frames;
    opt.progress = false;
    app::Pipeline pipeline(app::plan_streams(cfg), {&d}, std::move(sinks), nullptr, opt);
    return pipeline.run();
}

TEST(MultiStreamPipeline, EveryFrameOfEveryStreamOnceWithItsOwnDetections) {
    const fs::path dir = app_test::scratch_dir("multi_pipeline");
    const int counts[] = {7, 11, 13};
    for (int s = 0; s < 3; ++s) {
        fs::create_directories(dir / ("s" + std::to_string(s)));
        for (int i = 0; i < counts[s]; ++i) {
            // Blue = 40 s + i identifies the image; green = the stream.
            cv::Mat img(24, 32, CV_8UC3, cv::Scalar(40 * s + i, 10 + s, 0));
            char name[32];
            std::snprintf(name, sizeof name, "%03d.png", i);
            ASSERT_TRUE(cv::imwrite((dir / ("s" + std::to_string(s)) / name).string(), img));
        }
    }
    app::AppConfig cfg;
    for (int s = 0; s < 3; ++s) {
        app::StreamConfig c;
        c.uri = (dir / ("s" + std::to_string(s))).string();
        cfg.sources.push_back(c);
    }
    app::StreamConfig missing;
    missing.uri = (dir / "gone").string();
    cfg.sources.push_back(missing);
    std::vector<app::StreamPlan> plans = app::plan_streams(cfg);
    ASSERT_EQ(plans.size(), 4u);

    PixelDetector d1(4), d2(4);
    std::vector<Seen> seen;
    std::vector<std::unique_ptr<app::Sink>> sinks;
    sinks.push_back(std::make_unique<RecordingSink>(seen));
    app::PipelineOptions opt;
    opt.max_batch = 4;
    opt.queue_depth = 2;
    opt.batch_timeout_ms = 20;  // batches fill up (with timeout 0 a fast detector could get single frames)
    opt.progress = false;
    app::Pipeline pipeline(plans, {&d1, &d2}, std::move(sinks), nullptr, opt);
    const app::PipelineResult r = pipeline.run();
    ASSERT_FALSE(r.error);

    std::map<int, std::vector<int64_t>> order;
    for (const Seen& x : seen) {
        ASSERT_GE(x.stream, 0);
        ASSERT_LT(x.stream, 3) << "the missing stream delivers nothing";
        EXPECT_EQ(x.class_id, 40 * x.stream + x.index) << "stream " << x.stream << " frame " << x.index;
        EXPECT_NEAR(x.score, (10 + x.stream) / 255.f, 1e-6);
        order[x.stream].push_back(x.index);
    }
    for (int s = 0; s < 3; ++s) {
        ASSERT_EQ(order[s].size(), static_cast<size_t>(counts[s])) << "stream " << s;
        for (int i = 0; i < counts[s]; ++i)
            EXPECT_EQ(order[s][i], i) << "stream " << s << " in order, once each";
    }
    EXPECT_GT(d1.multi_frame_batches() + d2.multi_frame_batches(), 0)
        << "frames of several streams share batches";
    EXPECT_GT(d1.batches(), 0);
    EXPECT_GT(d2.batches(), 0) << "both inference workers ran";

    ASSERT_EQ(r.summary.streams.size(), 4u);
    EXPECT_EQ(r.summary.failed_streams, 1);
    EXPECT_EQ(r.summary.streams[3].state, "failed");
    EXPECT_NE(r.summary.streams[3].error.find("gone"), std::string::npos) << r.summary.streams[3].error;
    for (int s = 0; s < 3; ++s) {
        EXPECT_EQ(r.summary.streams[s].state, "ended");
        EXPECT_EQ(r.summary.streams[s].frames_in, counts[s]);
        EXPECT_EQ(r.summary.streams[s].frames_out, counts[s]);
        EXPECT_EQ(r.summary.streams[s].dropped, 0);
    }
    EXPECT_EQ(r.summary.frames_out, 7 + 11 + 13);
    const nlohmann::json j = nlohmann::json::parse(r.summary.to_json());
    EXPECT_EQ(j["streams"].size(), 4u);
    EXPECT_EQ(j["streams"][1]["frames_out"], 11);
    EXPECT_EQ(j["failed_streams"], 1);
}

TEST(MultiStreamPipeline, MaxFramesCountsAllStreamsTogether) {
    const fs::path dir = app_test::scratch_dir("multi_max_frames");
    for (int s = 0; s < 2; ++s) {
        fs::create_directories(dir / ("s" + std::to_string(s)));
        for (int i = 0; i < 20; ++i) {
            cv::Mat img(8, 8, CV_8UC3, cv::Scalar(i, s, 0));
            ASSERT_TRUE(cv::imwrite(
                (dir / ("s" + std::to_string(s)) / (std::to_string(100 + i) + ".png")).string(), img));
        }
    }
    app::AppConfig cfg;
    for (int s = 0; s < 2; ++s) {
        app::StreamConfig c;
        c.uri = (dir / ("s" + std::to_string(s))).string();
        cfg.sources.push_back(c);
    }
    std::vector<Seen> seen;
    const app::PipelineResult r = run_recorded(cfg, seen, /*max_frames=*/9);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(seen.size(), 9u);
    EXPECT_EQ(r.summary.frames_out, 9);
}

// Paced streams start their clocks together, once every file stream (paced or not) has its first
// frame: here the second stream's only image is a 48-megapixel JPEG (hundreds of ms to decode: a slow
// disk, or a pool of pinned buffers being allocated), and the paced stream's frame 0 is due only after
// it is read.
void expect_start_line(bool slow_paced) {
    const fs::path dir = app_test::scratch_dir(slow_paced ? "multi_start_line_paced" : "multi_start_line");
    fs::create_directories(dir / "paced");
    fs::create_directories(dir / "slow");
    for (int i = 0; i < 4; ++i) {
        cv::Mat img(8, 8, CV_8UC3, cv::Scalar(i, 1, 0));
        ASSERT_TRUE(cv::imwrite((dir / "paced" / (std::to_string(100 + i) + ".png")).string(), img));
    }
    cv::Mat big(6000, 8000, CV_8UC3);
    cv::randu(big, cv::Scalar::all(0), cv::Scalar::all(255));
    ASSERT_TRUE(cv::imwrite((dir / "slow" / "big.jpg").string(), big));

    app::AppConfig cfg;
    app::StreamConfig paced;
    paced.uri = (dir / "paced").string();
    paced.fps = 100;
    cfg.sources.push_back(paced);
    app::StreamConfig slow;
    slow.uri = (dir / "slow").string();
    if (slow_paced) slow.fps = 100;
    cfg.sources.push_back(slow);

    std::vector<Seen> seen;
    const app::Clock::time_point start = app::Clock::now();
    const app::PipelineResult r = run_recorded(cfg, seen);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.summary.streams.size(), 2u);
    EXPECT_EQ(r.summary.streams[0].frames_out, 4);
    EXPECT_EQ(r.summary.streams[0].dropped, 0);
    EXPECT_EQ(r.summary.streams[1].frames_out, 1);
    std::optional<app::Clock::time_point> paced0, slow0;
    for (const Seen& x : seen)
        if (x.index == 0) (x.stream == 0 ? paced0 : slow0) = x.captured;
    ASSERT_TRUE(paced0 && slow0);
    using ms = std::chrono::duration<double, std::milli>;
    // The slow stream's first frame (captured when read, or due just after the start line when paced)
    // came late enough to tell the two apart ...
    ASSERT_GT(ms(*slow0 - start).count(), 60.0) << "the big JPEG decoded too fast for this test";
    // ... and the paced stream's frame 0 was due no earlier (the slow stream arrives at the start line
    // just before it stamps its frame: a few ms of slack; paced, it is due 5 ms after the other).
    EXPECT_GT(ms(*paced0 - *slow0).count(), -20.0)
        << "the paced stream's clock started before the slow stream's first frame";
}

TEST(MultiStreamPipeline, PacedStreamsStartTogetherOnceEveryFileStreamHasItsFirstFrame) {
    expect_start_line(/*slow_paced=*/false);
}

// The same when every stream is paced (many cameras made of files: the pools of all are allocated
// before any clock starts).
TEST(MultiStreamPipeline, PacedStreamsWaitForEachOtherAtTheStartLine) {
    expect_start_line(/*slow_paced=*/true);
}

// Paced streams are spread over a frame interval (stream i of n starts i/n of it after stream 0), as
// real cameras are not in phase: at 10 FPS, stream 1 of 2 is due 50 ms after stream 0, frame by frame.
TEST(MultiStreamPipeline, PacedStreamsAreSpreadOverOneFrameInterval) {
    const fs::path dir = app_test::scratch_dir("multi_phase");
    app::AppConfig cfg;
    for (int s = 0; s < 2; ++s) {
        fs::create_directories(dir / ("s" + std::to_string(s)));
        for (int i = 0; i < 3; ++i)
            ASSERT_TRUE(
                cv::imwrite((dir / ("s" + std::to_string(s)) / (std::to_string(100 + i) + ".png")).string(),
                            cv::Mat(8, 8, CV_8UC3, cv::Scalar(i, s, 0))));
        app::StreamConfig c;
        c.uri = (dir / ("s" + std::to_string(s))).string();
        c.fps = 10;
        cfg.sources.push_back(c);
    }
    std::vector<Seen> seen;
    const app::PipelineResult r = run_recorded(cfg, seen);
    ASSERT_FALSE(r.error);
    std::map<std::pair<int, int64_t>, app::Clock::time_point> due;
    for (const Seen& x : seen) due[{x.stream, x.index}] = x.captured;
    ASSERT_EQ(due.size(), 6u);
    using ms = std::chrono::duration<double, std::milli>;
    for (int64_t i = 0; i < 3; ++i) {
        // Due times are exact multiples of the interval from each stream's start; the two starts are
        // two clock readings apart (microseconds, more on a loaded machine or under TSan).
        EXPECT_NEAR(ms(due[{1, i}] - due[{0, i}]).count(), 50.0, 20.0) << "frame " << i;
        if (i > 0) {
            EXPECT_NEAR(ms(due[{0, i}] - due[{0, i - 1}]).count(), 100.0, 0.01) << "frame " << i;
        }
    }
}

// One stream: the images of `dir` played as a camera at `fps`, inference taking `detect_ms` a batch.
app::PipelineResult run_paced_folder(const fs::path& dir, double fps, int detect_ms) {
    app::AppConfig cfg;
    app::StreamConfig c;
    c.uri = dir.string();
    c.fps = fps;
    cfg.sources.push_back(c);
    std::vector<Seen> seen;
    return run_recorded(cfg, seen, 0, detect_ms);
}

// A paced stream faster than inference: its queue overflows, the oldest frames are pushed out and
// counted as dropped, not late (the capture kept its clock).
TEST(MultiStreamPipeline, DropsFromAFullQueueAreCountedApartFromLateCaptures) {
    const fs::path dir = app_test::scratch_dir("multi_drop_queue");
    for (int i = 0; i < 40; ++i)
        ASSERT_TRUE(cv::imwrite((dir / (std::to_string(100 + i) + ".png")).string(),
                                cv::Mat(8, 8, CV_8UC3, cv::Scalar(i, 1, 0))));
    // 2 ms apart; inference takes 25 ms per batch of 2
    const app::PipelineResult r = run_paced_folder(dir, /*fps=*/500, /*detect_ms=*/25);
    ASSERT_FALSE(r.error);
    const app::StreamSummary& st = r.summary.streams.at(0);
    EXPECT_EQ(st.frames_in, 40);
    EXPECT_EQ(st.frames_out + st.dropped, 40);
    EXPECT_GE(st.dropped, 20) << "4 frames queue, 2 per 25 ms go out: most of 40 frames in 80 ms drop";
    EXPECT_LT(st.dropped_late, st.dropped / 2) << "the capture kept up with its clock";
    EXPECT_GE(st.first_dropped_frame, 0);
    EXPECT_LT(st.first_dropped_frame, 15);
    const nlohmann::json j = nlohmann::json::parse(r.summary.to_json());
    EXPECT_EQ(j["streams"][0]["dropped_late"].get<int64_t>(), st.dropped_late);
    EXPECT_EQ(j["streams"][0]["first_dropped_frame"].get<int64_t>(), st.first_dropped_frame);
}

// A paced stream whose frames take longer to decode than its interval: the capture is late for them
// (more than a queue of frames behind its clock) and drops them as a camera would, counted as late.
TEST(MultiStreamPipeline, FramesTheCaptureIsLateForAreCountedAsLate) {
    const fs::path dir = app_test::scratch_dir("multi_drop_late");
    cv::Mat noise(2000, 2000, CV_8UC3);
    for (int i = 0; i < 6; ++i) {
        cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
        ASSERT_TRUE(cv::imwrite((dir / (std::to_string(100 + i) + ".jpg")).string(), noise));
    }
    // 1 ms apart, 4 frames of slack; a 4-megapixel noise JPEG takes tens of ms to decode
    const app::PipelineResult r = run_paced_folder(dir, /*fps=*/1000, /*detect_ms=*/0);
    ASSERT_FALSE(r.error);
    const app::StreamSummary& st = r.summary.streams.at(0);
    EXPECT_EQ(st.frames_in, 6);
    EXPECT_EQ(st.frames_out, 1) << "only frame 0, due when it was read";
    EXPECT_EQ(st.dropped, 5);
    EXPECT_EQ(st.dropped_late, 5);
    EXPECT_EQ(st.first_dropped_frame, 1);
}

}  // namespace
