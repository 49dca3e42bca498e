// Run statistics: per-stage latency series (mean, p50, p99), a live FPS meter, frame counters, and
// the end-of-run summary ("mean time over N images").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/frame.h"
#include "app/publish.h"

namespace app {

// Samples in milliseconds. Storage is reserved up front; percentiles sort a copy (end of run only).
class LatencySeries {
  public:
    explicit LatencySeries(size_t reserve = 1 << 16) { samples_.reserve(reserve); }
    void add(double ms);
    size_t count() const { return samples_.size(); }
    double sum() const { return sum_; }
    double mean() const { return samples_.empty() ? 0 : sum_ / static_cast<double>(samples_.size()); }
    // Nearest-rank percentile, q in [0, 1] (p50: q = 0.5). 0 when empty.
    double percentile(double q) const;
    // Exponential moving average (alpha 0.1), for live overlays.
    double recent() const { return ema_; }

  private:
    std::vector<double> samples_;
    double sum_ = 0, ema_ = 0;
};

// Frames per second over the last kWindow frames.
class FpsMeter {
  public:
    static constexpr size_t kWindow = 30;
    void tick(Clock::time_point t);
    double fps() const;

  private:
    std::array<Clock::time_point, kWindow> times_{};
    size_t count_ = 0;
};

// Latency percentiles in bounded memory (per stream, whatever the run's length): log-spaced buckets
// 1 % apart from 0.01 ms to 10^6 ms (1,851 counters); percentile() answers within 1 %.
class LatencyHistogram {
  public:
    LatencyHistogram();
    void add(double ms);
    int64_t count() const { return count_; }
    double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
    // Nearest rank, q in [0, 1]: the upper edge of the bucket holding that rank (0 when empty).
    double percentile(double q) const;

  private:
    std::vector<uint32_t> buckets_;
    int64_t count_ = 0;
    double sum_ = 0;
};

struct StageSummary {
    std::string name;
    size_t count = 0;
    double mean = 0, p50 = 0, p99 = 0;
};

// One stream of a multi-stream run.
struct StreamSummary {
    int index = 0;
    std::string name, source;  // source: the source's description (or its URI when it never opened)
    std::string state;         // "ended", "stopped" (run ended first), "failed"
    std::string error;         // why it failed (empty otherwise)
    int64_t frames_in = 0, frames_out = 0, dropped = 0, skipped = 0;
    int64_t dropped_late = 0;          // of `dropped`: the capture was late (the rest: a full queue)
    int64_t first_dropped_frame = -1;  // -1: none dropped
    int reconnects = 0;
    double fps = 0;  // frames out / the stream's time from first capture to last output
    double latency_mean = 0, latency_p50 = 0, latency_p99 = 0;  // capture to output, ms
};

struct RunSummary {
    std::string source, model;
    std::vector<StreamSummary> streams;  // one per stream (also for a single source)
    int failed_streams = 0;
    int64_t frames_in = 0, frames_out = 0, dropped = 0, skipped = 0;
    int reconnects = 0;
    double wall_s = 0;
    double fps = 0;                    // frames out / wall time
    std::vector<StageSummary> stages;  // preprocess, inference, postprocess, end-to-end
    bool interrupted = false;
    std::vector<std::string> skipped_items;
    std::optional<PublishStats> publish;  // with --publish: the MQTT publisher's counters

    std::string to_text() const;
    std::string to_json() const;
};

// What the output stage accumulates.
class RunStats {
  public:
    // Records one frame that left the pipeline at `done`.
    void record(const Frame& frame, Clock::time_point done);
    const LatencySeries& preprocess() const { return pre_; }
    const LatencySeries& inference() const { return inf_; }
    const LatencySeries& postprocess() const { return post_; }
    const LatencySeries& end_to_end() const { return e2e_; }
    double live_fps() const { return fps_.fps(); }
    int64_t frames_out() const { return static_cast<int64_t>(e2e_.count()); }
    // Fills the frame count out, the stage table and FPS of `s` (wall_s set by the caller).
    void summarize(RunSummary& s) const;

  private:
    LatencySeries pre_, inf_, post_, e2e_;
    FpsMeter fps_;
};

}  // namespace app
