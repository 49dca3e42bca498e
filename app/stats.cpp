#include "app/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace app {

void LatencySeries::add(double ms) {
    ema_ = samples_.empty() ? ms : 0.9 * ema_ + 0.1 * ms;
    samples_.push_back(ms);
    sum_ += ms;
}

double LatencySeries::percentile(double q) const {
    if (samples_.empty()) return 0;
    std::vector<double> sorted(samples_);
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    const auto n = static_cast<double>(sorted.size());
    size_t rank = static_cast<size_t>(std::ceil(std::clamp(q, 0.0, 1.0) * n));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank - 1), sorted.end());
    return sorted[rank - 1];
}

namespace {
constexpr double kHistMin = 0.01, kHistStep = 1.01;
constexpr size_t kHistBuckets = 1851;  // 0.01 * 1.01^1851 > 10^6 ms
}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kHistBuckets, 0) {}

void LatencyHistogram::add(double ms) {
    size_t b = 0;
    if (ms > kHistMin)
        b = std::min(kHistBuckets - 1,
                     static_cast<size_t>(std::ceil(std::log(ms / kHistMin) / std::log(kHistStep))));
    ++buckets_[b];
    ++count_;
    sum_ += ms;
}

double LatencyHistogram::percentile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = std::clamp<int64_t>(
        static_cast<int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))), 1, count_);
    int64_t seen = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
        seen += buckets_[b];
        if (seen >= rank) return kHistMin * std::pow(kHistStep, static_cast<double>(b));
    }
    return kHistMin * std::pow(kHistStep, static_cast<double>(buckets_.size() - 1));
}

void FpsMeter::tick(Clock::time_point t) {
    times_[count_ % kWindow] = t;
    ++count_;
}

double FpsMeter::fps() const {
    if (count_ < 2) return 0;
    const size_t n = std::min(count_, kWindow);
    const Clock::time_point newest = times_[(count_ - 1) % kWindow];
    const Clock::time_point oldest = times_[(count_ - n) % kWindow];
    const double s = std::chrono::duration<double>(newest - oldest).count();
    return s > 0 ? static_cast<double>(n - 1) / s : 0;
}

void RunStats::record(const Frame& frame, Clock::time_point done) {
    pre_.add(frame.times.preprocess_ms);
    inf_.add(frame.times.inference_ms);
    post_.add(frame.times.postprocess_ms);
    e2e_.add(std::chrono::duration<double, std::milli>(done - frame.captured).count());
    fps_.tick(done);
}

void RunStats::summarize(RunSummary& s) const {
    s.frames_out = frames_out();
    s.stages.clear();
    const std::pair<const char*, const LatencySeries*> series[] = {
        {"preprocess", &pre_}, {"inference", &inf_}, {"postprocess", &post_}, {"end-to-end", &e2e_}};
    for (const auto& [name, ls] : series)
        s.stages.push_back({name, ls->count(), ls->mean(), ls->percentile(0.5), ls->percentile(0.99)});
    s.fps = s.wall_s > 0 ? static_cast<double>(s.frames_out) / s.wall_s : 0;
}

std::string RunSummary::to_text() const {
    std::string out;
    out += fmt::format("summary: {}\n", source);
    out += fmt::format("  model: {}\n", model);
    out += fmt::format("  frames: in {}, out {}, dropped {}, skipped {}", frames_in, frames_out, dropped,
                       skipped);
    if (reconnects > 0) out += fmt::format(", reconnects {}", reconnects);
    out += interrupted ? " (interrupted)\n" : "\n";
    out += fmt::format("  wall time {:.2f} s, {:.1f} FPS end to end\n", wall_s, fps);
    if (streams.size() > 1 || failed_streams > 0) {
        size_t w = 6;
        for (const StreamSummary& st : streams) w = std::max(w, st.name.size());
        out +=
            fmt::format("  {:>3} {:<{}} {:>8} {:>8} {:>8} {:>7} {:>6} {:>8} {:>8} {:>8}  {}\n", "#", "stream",
                        w, "in", "out", "dropped", "skipped", "reconn", "FPS", "p50 ms", "p99 ms", "state");
        for (const StreamSummary& st : streams)
            out += fmt::format(
                "  {:>3} {:<{}} {:>8} {:>8} {:>8} {:>7} {:>6} {:>8.1f} {:>8.1f} {:>8.1f}  {}{}\n", st.index,
                st.name, w, st.frames_in, st.frames_out, st.dropped, st.skipped, st.reconnects, st.fps,
                st.latency_p50, st.latency_p99, st.state, st.error.empty() ? "" : ": " + st.error);
    }
    out += fmt::format("  {:<12} {:>9} {:>9} {:>9}\n", "latency ms", "mean", "p50", "p99");
    for (const StageSummary& st : stages)
        out += fmt::format("  {:<12} {:>9.3f} {:>9.3f} {:>9.3f}\n", st.name, st.mean, st.p50, st.p99);
    if (!stages.empty() && frames_out > 0) {
        double total = 0;
        std::string parts;
        for (size_t i = 0; i + 1 < stages.size(); ++i) {
            total += stages[i].mean;
            parts += fmt::format("{}{} {:.3f} ms", i ? ", " : "", stages[i].name, stages[i].mean);
        }
        out += fmt::format("mean time over {} images: {}, total {:.3f} ms\n", frames_out, parts, total);
    }
    if (publish) out += "  " + publish_summary_line(*publish) + "\n";
    return out;
}

std::string RunSummary::to_json() const {
    nlohmann::json j;
    j["source"] = source;
    j["model"] = model;
    j["frames_in"] = frames_in;
    j["frames_out"] = frames_out;
    j["dropped"] = dropped;
    j["skipped"] = skipped;
    j["skipped_items"] = skipped_items;
    j["reconnects"] = reconnects;
    j["wall_s"] = wall_s;
    j["fps"] = fps;
    j["interrupted"] = interrupted;
    double total = 0;
    for (const StageSummary& st : stages) {
        j["stages"][st.name] = {
            {"count", st.count}, {"mean_ms", st.mean}, {"p50_ms", st.p50}, {"p99_ms", st.p99}};
        if (st.name != "end-to-end") total += st.mean;
    }
    j["mean_total_ms"] = total;
    j["failed_streams"] = failed_streams;
    j["streams"] = nlohmann::json::array();
    for (const StreamSummary& st : streams)
        j["streams"].push_back(
            {{"index", st.index},
             {"name", st.name},
             {"source", st.source},
             {"state", st.state},
             {"error", st.error},
             {"frames_in", st.frames_in},
             {"frames_out", st.frames_out},
             {"dropped", st.dropped},
             {"dropped_late", st.dropped_late},
             {"first_dropped_frame", st.first_dropped_frame},
             {"skipped", st.skipped},
             {"reconnects", st.reconnects},
             {"fps", st.fps},
             {"latency_ms", {{"mean", st.latency_mean}, {"p50", st.latency_p50}, {"p99", st.latency_p99}}}});
    if (publish) j["publish"] = nlohmann::json::parse(publish_stats_json(*publish));
    return j.dump(2) + "\n";
}

}  // namespace app
