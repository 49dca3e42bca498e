#include "app/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "app/batcher.h"
#include "app/media.h"
#include "app/progress.h"
#include "app/source_stage.h"
#include "engine/core/error.h"

namespace app {

namespace {

// The first exception of any stage.
class ErrorSlot {
  public:
    void set(std::exception_ptr e) {
        std::lock_guard lock(m_);
        if (!error_) error_ = std::move(e);
    }
    std::exception_ptr get() const {
        std::lock_guard lock(m_);
        return error_;
    }

  private:
    mutable std::mutex m_;
    std::exception_ptr error_;
};

// What the output stage keeps per stream (bounded: a histogram, not a series).
struct StreamOut {
    LatencyHistogram e2e;
    int64_t frames_out = 0;
    Clock::time_point first_captured{}, last_out{};
};

}  // namespace

struct Pipeline::State {
    std::vector<FrameDetector*> detectors;
    std::vector<std::unique_ptr<Sink>> sinks;
    Window* window;
    PipelineOptions opt;
    int max_batch;
    Batcher batcher;
    SourceStage sources;
    InferenceStage inference;
    ErrorSlot error;
    RunStats stats;
    std::vector<StreamOut> per_stream;  // by position in `sources`
    bool interrupted = false;

    State(std::vector<StreamPlan> streams, std::vector<FrameDetector*> dets,
          std::vector<std::unique_ptr<Sink>> s, Window* w, PipelineOptions o)
        : detectors(std::move(dets)),
          sinks(std::move(s)),
          window(w),
          opt(o),
          max_batch(std::max(1, std::min(o.max_batch, detectors.at(0)->max_batch()))),
          batcher(max_batch, std::chrono::milliseconds(o.batch_timeout_ms)),
          sources(std::move(streams), batcher,
                  SourceStageOptions{o.queue_depth, max_batch, static_cast<int>(detectors.size()),
                                     o.max_frames, o.reconnect, detectors.at(0)->gpu_path()}),
          inference(detectors, batcher),
          per_stream(sources.size()) {}

    // The window's tiles show each stream's state: reconnecting, ended, failed ("" while frames flow).
    std::vector<std::string> tile_state;
    void update_tiles() {
        if (tile_state.size() != sources.size()) tile_state.assign(sources.size(), "");
        for (size_t i = 0; i < sources.size(); ++i) {
            const StreamState st = sources.state(i);
            const char* now = st == StreamState::Failed  ? "failed"
                              : st == StreamState::Ended ? "ended"
                              : sources.connecting(i)
                                  ? (st == StreamState::Opening ? "connecting" : "reconnecting")
                                  : "";
            if (tile_state[i] != now) {
                tile_state[i] = now;
                window->set_state(sources.plan(i).index, now);
            }
        }
    }

    int64_t skipped_total() const {
        int64_t n = 0;
        for (size_t i = 0; i < sources.size(); ++i) n += sources.skipped(i);
        return n;
    }

    // Runs on the calling thread until the inference stage is done (or on abort).
    void output_loop() {
        bool annotate = false;
        for (const auto& s : sinks) annotate = annotate || s->wants_annotated();
        const int64_t known = sources.total_frames();
        const int64_t total = opt.max_frames > 0 && known >= 0 ? std::min(opt.max_frames, known)
                              : opt.max_frames > 0             ? opt.max_frames
                                                               : known;
        ProgressBar progress("run", total > 0 ? static_cast<size_t>(total) : 0,
                             opt.progress && total > 0 && known >= 0 && window == nullptr);
        int seen_interrupts = 0;
        bool draining = false;
        auto last_status = Clock::now();
        const auto drain = [&](const char* why, bool budget = false) {
            if (!draining) {
                draining = true;
                progress.finish();
                spdlog::info("{}: stopping the sources, draining {} frame(s) in flight", why,
                             batcher.queued());
            }
            if (budget)
                sources.stop_live();
            else
                sources.request_stop();
        };
        while (true) {
            const int interrupts = opt.interrupt ? opt.interrupt->load() : 0;
            if (interrupts != seen_interrupts) {
                seen_interrupts = interrupts;
                interrupted = true;
                if (interrupts == 1) drain("interrupted");
                if (interrupts >= 2) {
                    spdlog::warn("interrupted again: stopping now");
                    return;
                }
            }
            if (!draining && sources.budget_spent()) drain("max_frames reached", /*budget=*/true);
            if (window != nullptr) update_tiles();
            Batch* b = inference.next(std::chrono::milliseconds(50));
            if (b == nullptr) {
                if (inference.done()) return;
                if (window != nullptr && window->poll() == SinkAction::Quit) drain("quit");
                continue;
            }
            bool quit = false;
            for (Frame* fp : b->frames) {
                Frame& f = *fp;
                // (Without OpenCV no sink wants annotated frames: validate_config refuses those.)
                if (annotate) media::draw_detections(f.image, f.detections, detectors[0]->class_names());
                if (window != nullptr) {
                    const auto recent = [](const LatencySeries& ls) { return ls.recent(); };
                    window->set_overlay({stats.live_fps(), recent(stats.preprocess()),
                                         recent(stats.inference()), recent(stats.postprocess()),
                                         recent(stats.end_to_end()), sources.dropped_total()});
                }
                for (auto& s : sinks) quit = (s->write(f) == SinkAction::Quit) || quit;
                const auto done = Clock::now();
                stats.record(f, done);
                StreamOut& so = per_stream[sources.position(f.stream)];
                if (so.frames_out++ == 0) so.first_captured = f.captured;
                so.last_out = done;
                so.e2e.add(std::chrono::duration<double, std::milli>(done - f.captured).count());
                sources.recycle(fp);
            }
            inference.release(b);
            if (quit) drain("quit");
            const auto now = Clock::now();
            if (progress.active()) {
                progress.update(static_cast<size_t>(stats.frames_out() + skipped_total()));
            } else if (now - last_status > std::chrono::seconds(5)) {
                last_status = now;
                int running = 0, failed = 0;
                for (size_t i = 0; i < sources.size(); ++i) {
                    running += sources.state(i) == StreamState::Running;
                    failed += sources.state(i) == StreamState::Failed;
                }
                if (sources.size() > 1)
                    spdlog::info(
                        "{} frames, {:.1f} FPS, end-to-end {:.1f} ms, dropped {}; streams: {} running, {} "
                        "failed, {} total",
                        stats.frames_out(), stats.live_fps(), stats.end_to_end().recent(),
                        sources.dropped_total(), running, failed, sources.size());
                else
                    spdlog::info("{} frames, {:.1f} FPS, end-to-end {:.1f} ms, dropped {}",
                                 stats.frames_out(), stats.live_fps(), stats.end_to_end().recent(),
                                 sources.dropped_total());
            }
        }
    }

    void summarize(RunSummary& sum) {
        sum.model = detectors[0]->describe();
        for (size_t i = 0; i < sources.size(); ++i) {
            StreamSummary st;
            const StreamPlan& p = sources.plan(i);
            st.index = p.index;
            st.name = p.name;
            st.source = sources.describe(i);
            const StreamState state = sources.state(i);
            st.state = state == StreamState::Running || state == StreamState::Opening
                           ? "stopped"
                           : stream_state_name(state);
            st.error = sources.error(i);
            st.frames_in = sources.frames_in(i);
            st.frames_out = per_stream[i].frames_out;
            st.dropped = sources.dropped(i);
            st.dropped_late = sources.dropped_late(i);
            st.first_dropped_frame = sources.first_dropped_frame(i);
            st.skipped = sources.skipped(i);
            st.reconnects = sources.reconnects(i);
            const double active_s =
                std::chrono::duration<double>(per_stream[i].last_out - per_stream[i].first_captured).count();
            st.fps =
                st.frames_out > 1 && active_s > 0 ? static_cast<double>(st.frames_out - 1) / active_s : 0;
            st.latency_mean = per_stream[i].e2e.mean();
            st.latency_p50 = per_stream[i].e2e.percentile(0.5);
            st.latency_p99 = per_stream[i].e2e.percentile(0.99);
            sum.frames_in += st.frames_in;
            sum.dropped += st.dropped;
            sum.skipped += st.skipped;
            sum.reconnects += st.reconnects;
            for (const std::string& item : sources.skipped_items(i)) sum.skipped_items.push_back(item);
            if (st.state == "failed") ++sum.failed_streams;
            sum.streams.push_back(std::move(st));
        }
        if (sources.size() == 1) {
            sum.source = sum.streams[0].source;
        } else {
            sum.source = engine::concat(sources.size(), " streams:");
            for (size_t i = 0; i < sources.size(); ++i) sum.source += (i ? ", " : " ") + sources.name(i);
        }
        sum.interrupted = interrupted;
        stats.summarize(sum);
    }
};

Pipeline::Pipeline(std::vector<StreamPlan> streams, std::vector<FrameDetector*> detectors,
                   std::vector<std::unique_ptr<Sink>> sinks, Window* window, PipelineOptions options)
    : s_(std::make_unique<State>(std::move(streams), std::move(detectors), std::move(sinks), window,
                                 options)) {}

Pipeline::~Pipeline() = default;

PipelineResult Pipeline::run() {
    State& s = *s_;
    const auto start = Clock::now();
    s.sources.start();
    s.inference.start();
    try {
        s.output_loop();
    } catch (...) {
        s.error.set(std::current_exception());
    }
    // On the normal path every stage has ended already; otherwise this stops them.
    s.sources.request_stop();
    s.inference.abort();
    s.sources.join();
    s.inference.join();
    if (std::exception_ptr e = s.inference.error()) s.error.set(e);
    for (auto& sink : s.sinks) {
        try {
            sink->finish();
        } catch (...) {
            s.error.set(std::current_exception());
        }
    }
    PipelineResult r;
    r.summary.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    s.summarize(r.summary);
    r.error = s.error.get();
    return r;
}

}  // namespace app
