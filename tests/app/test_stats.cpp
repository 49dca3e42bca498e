#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/stats.h"

namespace {

using app::Clock;

TEST(LatencySeries, MeanAndNearestRankPercentiles) {
    app::LatencySeries s(8);
    EXPECT_EQ(s.percentile(0.5), 0);
    // 1..100 shuffled: nearest rank p50 = 50, p99 = 99, p100 = 100, p0 -> the smallest.
    for (int i = 0; i < 100; ++i) s.add(static_cast<double>((i * 37) % 100 + 1));
    EXPECT_EQ(s.count(), 100u);
    EXPECT_DOUBLE_EQ(s.mean(), 50.5);
    EXPECT_DOUBLE_EQ(s.percentile(0.5), 50);
    EXPECT_DOUBLE_EQ(s.percentile(0.99), 99);
    EXPECT_DOUBLE_EQ(s.percentile(1.0), 100);
    EXPECT_DOUBLE_EQ(s.percentile(0.0), 1);
}

TEST(LatencySeries, SmallSamples) {
    app::LatencySeries s(4);
    s.add(10);
    s.add(30);
    s.add(20);
    EXPECT_DOUBLE_EQ(s.mean(), 20);
    EXPECT_DOUBLE_EQ(s.percentile(0.5), 20);  // ceil(1.5) = 2nd smallest
    EXPECT_DOUBLE_EQ(s.percentile(0.99), 30);
}

TEST(FpsMeter, CountsFramesOverTheWindow) {
    app::FpsMeter m;
    EXPECT_EQ(m.fps(), 0);
    const Clock::time_point t0{};
    // 100 frames 40 ms apart: 25 FPS.
    for (int i = 0; i < 100; ++i) m.tick(t0 + std::chrono::milliseconds(40 * i));
    EXPECT_NEAR(m.fps(), 25.0, 1e-9);
    // Then 10 ms apart: the window follows.
    const Clock::time_point t1 = t0 + std::chrono::milliseconds(40 * 99);
    for (int i = 1; i <= 40; ++i) m.tick(t1 + std::chrono::milliseconds(10 * i));
    EXPECT_NEAR(m.fps(), 100.0, 1e-9);
}

TEST(RunStats, SummaryHasTheMeanTimeLine) {
    app::RunStats stats;
    app::Frame f;
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < 4; ++i) {
        f.times = {1.0 + i, 10.0, 0.5};  // preprocess 1,2,3,4 -> mean 2.5
        f.captured = t0;
        stats.record(f, t0 + std::chrono::milliseconds(20));
    }
    app::RunSummary s;
    s.source = "video file x.mp4";
    s.model = "rtdet cpu fp32";
    s.frames_in = 4;
    s.wall_s = 2.0;
    stats.summarize(s);
    EXPECT_EQ(s.frames_out, 4);
    EXPECT_DOUBLE_EQ(s.fps, 2.0);
    ASSERT_EQ(s.stages.size(), 4u);
    EXPECT_EQ(s.stages[0].name, "preprocess");
    EXPECT_DOUBLE_EQ(s.stages[0].mean, 2.5);
    EXPECT_DOUBLE_EQ(s.stages[3].mean, 20.0);
    const std::string text = s.to_text();
    EXPECT_NE(text.find("frames: in 4, out 4, dropped 0, skipped 0"), std::string::npos) << text;
    EXPECT_NE(
        text.find("mean time over 4 images: preprocess 2.500 ms, inference 10.000 ms, postprocess 0.500 ms, "
                  "total 13.000 ms"),
        std::string::npos)
        << text;
    const auto j = nlohmann::json::parse(s.to_json());
    EXPECT_EQ(j["frames_out"], 4);
    EXPECT_DOUBLE_EQ(j["mean_total_ms"].get<double>(), 13.0);
    EXPECT_DOUBLE_EQ(j["stages"]["inference"]["p50_ms"].get<double>(), 10.0);
}

}  // namespace
