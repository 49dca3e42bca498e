#include "app/pipeline.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "app/bounded_queue.h"
#include "app/progress.h"
#include "detector/darknet/darknet_to_onnx.h"
#include "detector/labels.h"
#include "detector/plan_cache.h"
#include "engine/core/error.h"

#if RTDET_WITH_MQTT
#include "app/mqtt_sink.h"
#endif
#if RTDET_WITH_OPENCV
#include "app/draw.h"
#include "app/opencv_peer.h"
#endif

namespace app {
namespace fs = std::filesystem;

namespace {

// ---- detectors ----

class RtdetFrameDetector final : public FrameDetector {
  public:
    explicit RtdetFrameDetector(const detector::DetectorConfig& c) : config_(c), det_(c) {}
    const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) override {
        return det_.detect(images);
    }
    const detector::StageTimes& last_times() const override { return det_.last_times(); }
    const std::vector<std::string>& class_names() const override { return det_.class_names(); }
    int max_batch() const override { return det_.max_batch(); }
    int input_width() const override { return det_.input_width(); }
    int input_height() const override { return det_.input_height(); }
    std::string describe() const override {
        return engine::concat("rtdet ", config_.device, " ", engine::precision_name(config_.precision), ", ",
                              config_.model, " ", det_.input_width(), "x", det_.input_height(), ", ",
                              detector::resize_policy_name(det_.resize_policy()), ", batch ",
                              det_.max_batch(), " (plan: ", det_.plan_origin(), ")");
    }

  private:
    detector::DetectorConfig config_;
    detector::Detector det_;
};

std::string file_stamp(const fs::path& p) {
    std::error_code ec;
    return engine::concat(fs::file_size(p, ec), "-", fs::last_write_time(p, ec).time_since_epoch().count());
}

// Sleeps until `t` or until stop. False when stopped.
bool sleep_until(Clock::time_point t, std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_until(lock, stop, t, [] { return false; });
    return !stop.stop_requested();
}

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

}  // namespace

// ---- model ----

std::string prepare_model(const AppConfig& cfg, bool /*live_source*/) {
    const fs::path model(cfg.model);
    if (model.extension() != ".cfg" || (cfg.random_weights < 0 && cfg.input_width == 0)) return cfg.model;
    const fs::path weights = fs::path(cfg.model).replace_extension(".weights");
    const bool random = cfg.random_weights >= 0;
    const std::string key = engine::concat(fs::absolute(model).string(), "|", file_stamp(model), "|",
                                           random ? std::string("random") : file_stamp(weights), "|",
                                           cfg.random_weights, "|", cfg.input_width, "x", cfg.input_height);
    const std::string size =
        cfg.input_width > 0 ? engine::concat(cfg.input_width, "x", cfg.input_height) : "cfg";
    const fs::path dir = fs::path(detector::cache_dir(cfg.plan_cache_dir)) / "models";
    std::error_code ec;
    fs::create_directories(dir, ec);
    ENGINE_CHECK(!ec, "cannot create ", dir.string(), ": ", ec.message());
    const fs::path out =
        dir / engine::concat(model.stem().string(), "-", size, "-",
                             random ? engine::concat("random", cfg.random_weights) : "weights", "-",
                             std::hash<std::string>{}(key) % 1000000007u, ".onnx");
    if (!fs::exists(out, ec)) {
        spdlog::info("converting {}{} at {} -> {}", cfg.model,
                     random ? engine::concat(" with random weights (seed ", cfg.random_weights, ")") : "",
                     size, out.string());
        detector::ConvertOptions opts;
        if (random) opts.random_weights_seed = static_cast<uint32_t>(cfg.random_weights);
        opts.input_width = cfg.input_width;
        opts.input_height = cfg.input_height;
        const fs::path tmp = engine::concat(out.string(), ".tmp", ::getpid());
        detector::convert_darknet(cfg.model, random ? "" : weights.string(), tmp.string(), opts);
        fs::rename(tmp, out);
    }
    return out.string();
}

std::unique_ptr<FrameDetector> make_frame_detector(const AppConfig& cfg, bool live_source) {
    const std::string model = prepare_model(cfg, live_source);
    std::vector<std::string> names;
    if (!cfg.names.empty()) names = detector::read_class_names(cfg.names);
    std::optional<detector::ResizePolicy> resize;
    if (cfg.resize != "model") resize = detector::resize_policy_from_name(cfg.resize);
    detector::NmsOptions nms;
    nms.iou_threshold = cfg.iou_threshold;
    nms.class_agnostic = cfg.nms == "agnostic";
    nms.max_detections = cfg.max_detections;

    std::unique_ptr<FrameDetector> det;
    if (cfg.peer == "opencv") {
#if RTDET_WITH_OPENCV
        PeerOptions p;
        p.onnx = detector::resolve_onnx_model(model, cfg.plan_cache_dir);
        p.threads = cfg.threads;
        p.resize = resize;
        p.pad_value = cfg.pad_value;
        p.conf_threshold = cfg.conf_threshold;
        p.nms = nms;
        p.class_names = std::move(names);
        det = make_opencv_peer(p);
#else
        ENGINE_THROW("engine.peer: opencv needs a build with OpenCV (this build runs rtdet only)");
#endif
    } else {
        detector::DetectorConfig d;
        d.model = model;
        d.device = cfg.device;
        d.precision = engine::precision_from_name(cfg.precision);
        d.max_batch = live_source ? 1 : cfg.max_batch;
        d.threads = cfg.threads;
        d.plan_cache_dir = cfg.plan_cache_dir;
        d.resize = resize;
        d.pad_value = cfg.pad_value;
        d.conf_threshold = cfg.conf_threshold;
        d.nms = nms;
        d.class_names = std::move(names);
        det = std::make_unique<RtdetFrameDetector>(d);
    }
    // One untimed run, so the first frame's numbers are not the one-time setup (kernel JIT, caches).
    const std::vector<uint8_t> warm(static_cast<size_t>(det->input_height()) * det->input_width() * 3, 114);
    det->detect(std::span<const detector::ImageView>(
        std::array{detector::ImageView{warm.data(), det->input_width(), det->input_height(),
                                       static_cast<int64_t>(det->input_width()) * 3}}));
    if (cfg.input_width > 0) {
        ENGINE_CHECK(det->input_width() == cfg.input_width && det->input_height() == cfg.input_height,
                     "model.input_width/input_height: ", cfg.input_width, "x", cfg.input_height,
                     " does not match the model's input ", det->input_width(), "x", det->input_height(), " (",
                     cfg.model, " has a fixed input size; set 0 to use it, or give a darknet .cfg)");
    }
    return det;
}

// ---- pipeline ----

struct Pipeline::State {
    Source& source;
    FrameDetector& detector;
    std::vector<std::unique_ptr<Sink>> sinks;
    WindowSink* window;
    PipelineOptions opt;
    bool live;
    int batch;

    std::vector<Frame> pool;
    BoundedQueue<Frame*> free_q, in_q, out_q;
    std::stop_source abort;
    ErrorSlot error;
    std::atomic<int64_t> frames_in{0}, dropped{0}, skipped_count{0};
    std::vector<std::string> skipped;  // written by capture, read after it ended
    RunStats stats;
    bool interrupted = false;

    State(Source& src, FrameDetector& det, std::vector<std::unique_ptr<Sink>> s, WindowSink* w,
          PipelineOptions o)
        : source(src),
          detector(det),
          sinks(std::move(s)),
          window(w),
          opt(o),
          live(src.live()),
          batch(live ? 1 : std::max(1, std::min(o.max_batch, det.max_batch()))),
          pool(static_cast<size_t>(2 * std::max(1, o.queue_depth) + batch + 3)),
          free_q(pool.size()),
          in_q(static_cast<size_t>(std::max(1, o.queue_depth))),
          out_q(static_cast<size_t>(std::max(1, o.queue_depth) + batch)) {
        for (Frame& f : pool) {
            f.detections.reserve(256);
            Frame* p = &f;
            free_q.push(p);
        }
    }

    void capture_loop(std::stop_token drain) {
        const std::stop_token abort_token = abort.get_token();
        int64_t next = 0;
        Clock::time_point t0{};
        const bool pace = opt.realtime && !live && source.fps() > 0;
        while (!drain.stop_requested() && !abort_token.stop_requested()) {
            if (opt.max_frames > 0 && next >= opt.max_frames) break;
            std::optional<Frame*> slot = free_q.pop(abort_token);
            if (!slot) break;
            Frame* f = *slot;
            const ReadStatus st = source.read(*f, drain);
            if (st == ReadStatus::End) {
                free_q.push(f);
                break;
            }
            if (st == ReadStatus::Skipped) {
                spdlog::warn("skipped {}", source.skip_message());
                skipped.push_back(source.skip_message());
                skipped_count.fetch_add(1);
                free_q.push(f);
                continue;
            }
#if RTDET_WITH_OPENCV
            ENGINE_CHECK(f->image.type() == CV_8UC3, "source: frame ", next, " is not 8-bit BGR (type ",
                         f->image.type(), ")");
#endif
            f->index = next++;
            if (pace) {
                if (f->index == 0) t0 = Clock::now();
                const auto due =
                    t0 + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(f->index) / source.fps()));
                if (!sleep_until(due, drain)) {
                    free_q.push(f);
                    break;
                }
            }
            f->captured = Clock::now();
            f->wall_clock_ms = std::chrono::duration<double, std::milli>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
            f->stream_name = &opt.stream_name;
            frames_in.fetch_add(1);
            if (live) {
                if (std::optional<Frame*> evicted = in_q.push_drop_oldest(f)) {
                    dropped.fetch_add(1);
                    free_q.push(*evicted);
                }
            } else if (!in_q.push(f, abort_token)) {
                free_q.push(f);
                break;
            }
        }
    }

    void inference_loop() {
        const std::stop_token abort_token = abort.get_token();
        std::vector<Frame*> frames(static_cast<size_t>(batch));
        std::vector<detector::ImageView> views(static_cast<size_t>(batch));
        while (true) {
            std::optional<Frame*> first = in_q.pop(abort_token);
            if (!first) break;
            size_t n = 0;
            frames[n++] = *first;
            while (n < frames.size()) {
                std::optional<Frame*> more = in_q.try_pop();
                if (!more) break;
                frames[n++] = *more;
            }
            for (size_t i = 0; i < n; ++i) views[i] = image_view(frames[i]->image);
            const auto& results = detector.detect(std::span<const detector::ImageView>(views.data(), n));
            const detector::StageTimes& t = detector.last_times();
            const double share = 1.0 / static_cast<double>(n);
            for (size_t i = 0; i < n; ++i) {
                frames[i]->detections.assign(results[i].begin(), results[i].end());
                frames[i]->times = {t.preprocess_ms * share, t.inference_ms * share,
                                    t.postprocess_ms * share};
            }
            for (size_t i = 0; i < n; ++i) {
                if (!out_q.push(frames[i], abort_token)) return;
            }
        }
    }

    // Runs on the calling thread. Returns when out_q is drained and closed, or on abort.
    void output_loop(std::jthread& capture) {
        const std::stop_token abort_token = abort.get_token();
        bool annotate = false;
        for (const auto& s : sinks) annotate = annotate || s->wants_annotated();
        const int64_t total = opt.max_frames > 0 && source.frame_count() >= 0
                                  ? std::min<int64_t>(opt.max_frames, source.frame_count())
                              : opt.max_frames > 0 ? opt.max_frames
                                                   : source.frame_count();
        ProgressBar progress("run", total > 0 && !live ? static_cast<size_t>(total) : 0,
                             opt.progress && !live && total > 0 && window == nullptr);
        int seen_interrupts = 0;
        auto last_status = Clock::now();
        const auto drain = [&](const char* why) {
            if (!capture.get_stop_token().stop_requested()) {
                progress.finish();
                spdlog::info("{}: stopping capture, draining {} frame(s) in flight", why,
                             in_q.size() + out_q.size());
            }
            capture.request_stop();
        };
        while (!abort_token.stop_requested()) {
            const int interrupts = opt.interrupt ? opt.interrupt->load() : 0;
            if (interrupts != seen_interrupts) {
                seen_interrupts = interrupts;
                interrupted = true;
                if (interrupts == 1) drain("interrupted");
                if (interrupts >= 2) {
                    spdlog::warn("interrupted again: stopping now");
                    abort.request_stop();
                    break;
                }
            }
            std::optional<Frame*> item = out_q.pop_for(std::chrono::milliseconds(50), abort_token);
            if (!item) {
                if (!out_q.closed()) continue;
                item = out_q.try_pop();  // closed: whatever is left, then done
                if (!item) break;
            }
            Frame& f = **item;
#if RTDET_WITH_OPENCV
            if (annotate) draw_detections(f.image, f.detections, detector.class_names());
            if (window != nullptr) {
                const auto recent = [](const LatencySeries& ls) { return ls.recent(); };
                window->set_overlay({stats.live_fps(), recent(stats.preprocess()), recent(stats.inference()),
                                     recent(stats.postprocess()), recent(stats.end_to_end()),
                                     dropped.load()});
            }
#else
            (void)annotate;  // no drawing sinks without OpenCV (validate_config refuses them)
#endif
            bool quit = false;
            for (auto& s : sinks) quit = (s->write(f) == SinkAction::Quit) || quit;
            const auto done = Clock::now();
            stats.record(f, done);
            free_q.push(*item);
            if (quit) drain("quit");
            if (opt.max_frames > 0 && stats.frames_out() >= opt.max_frames) drain("max_frames reached");
            if (progress.active()) {
                progress.update(static_cast<size_t>(stats.frames_out() + skipped_count.load()));
            } else if (done - last_status > std::chrono::seconds(5)) {
                last_status = done;
                spdlog::info("{} frames, {:.1f} FPS, end-to-end {:.1f} ms, dropped {}", stats.frames_out(),
                             stats.live_fps(), stats.end_to_end().recent(), dropped.load());
            }
        }
        progress.finish();
    }
};

Pipeline::Pipeline(Source& source, FrameDetector& detector, std::vector<std::unique_ptr<Sink>> sinks,
                   WindowSink* window, PipelineOptions options)
    : s_(std::make_unique<State>(source, detector, std::move(sinks), window, options)) {}

Pipeline::~Pipeline() = default;

PipelineResult Pipeline::run() {
    State& s = *s_;
    const auto start = Clock::now();
    const auto fail = [&](std::exception_ptr e) {
        s.error.set(std::move(e));
        s.abort.request_stop();
    };
    {
        std::jthread capture([&](std::stop_token drain) {
            try {
                s.capture_loop(drain);
            } catch (...) {
                // A source failure (e.g. a stream that does not come back): keep what is in flight.
                s.error.set(std::current_exception());
            }
            s.in_q.close();
        });
        std::jthread inference([&] {
            try {
                s.inference_loop();
            } catch (...) {
                fail(std::current_exception());
            }
            s.out_q.close();
        });
        try {
            s.output_loop(capture);
        } catch (...) {
            fail(std::current_exception());
        }
        // On the normal path both workers have ended already; otherwise this unblocks them.
        capture.request_stop();
        s.abort.request_stop();
    }  // joins
    for (auto& sink : s.sinks) {
        try {
            sink->finish();
        } catch (...) {
            s.error.set(std::current_exception());
        }
    }
    PipelineResult r;
    RunSummary& sum = r.summary;
    sum.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    sum.source = s.source.describe();
    sum.model = s.detector.describe();
    sum.frames_in = s.frames_in.load();
    sum.dropped = s.dropped.load();
    sum.skipped = static_cast<int64_t>(s.skipped.size());
    sum.skipped_items = s.skipped;
    sum.reconnects = s.source.reconnects();
    sum.interrupted = s.interrupted;
    s.stats.summarize(sum);
    r.error = s.error.get();
    return r;
}

// ---- rtdet run ----

namespace {

std::atomic<int> g_interrupts{0};

extern "C" void on_interrupt(int) {
    // Third interrupt: the user insists; leave without cleanup (async-signal-safe).
    if (g_interrupts.fetch_add(1) + 1 >= 3) ::_exit(130);
}

// Installs SIGINT/SIGTERM handlers for its lifetime.
class InterruptScope {
  public:
    InterruptScope() {
        g_interrupts.store(0);
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~InterruptScope() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

  private:
    struct sigaction old_int_ {
    }, old_term_{};
};

#if RTDET_WITH_OPENCV
std::string snapshot_dir_for(const AppConfig& cfg) {
    if (!cfg.outputs.snapshot_dir.empty()) return cfg.outputs.snapshot_dir;
    if (!cfg.outputs.images_dir.empty()) return cfg.outputs.images_dir;
    for (const std::string& f : {cfg.outputs.video, cfg.outputs.json}) {
        if (!f.empty()) {
            const fs::path parent = fs::path(f).parent_path();
            return parent.empty() ? "." : parent.string();
        }
    }
    return ".";
}
#endif

}  // namespace

int run_app(const AppConfig& cfg) {
    // Logs on stderr, so stdout carries only the summary.
    std::shared_ptr<spdlog::logger> log = spdlog::get("rtdet-run");
    if (!log) log = spdlog::stderr_color_mt("rtdet-run");
    log->set_level(spdlog::get_level());
    log->set_pattern("[%l] %v");
    spdlog::set_default_logger(log);
    // FFmpeg's decoder chatter ("Invalid frame dimensions 0x0" while joining a stream mid-GOP) only
    // with --verbose; must be set before OpenCV first touches FFmpeg.
    if (spdlog::get_level() > spdlog::level::debug) ::setenv("OPENCV_FFMPEG_LOGLEVEL", "8", /*overwrite=*/0);
    validate_config(cfg);
    SourceSpec spec = classify_source(cfg.source);
    spec.loop = cfg.loop;  // validate_config: only for video files
    spec.decode_threads = cfg.decode_threads;
    std::unique_ptr<FrameDetector> det = make_frame_detector(cfg, spec.live());
    spdlog::info("model: {}", det->describe());
    std::unique_ptr<Source> source = open_source(spec, cfg.reconnect);
    spdlog::info("source: {}", source->describe());
    // From here on Ctrl-C drains the pipeline (before, it just ends the process: nothing to finalize).
    InterruptScope interrupts;

    std::vector<std::unique_ptr<Sink>> sinks;
    WindowSink* window = nullptr;
#if RTDET_WITH_OPENCV
    Source* src = source.get();
    if (!cfg.outputs.video.empty())
        sinks.push_back(std::make_unique<VideoSink>(cfg.outputs.video, cfg.outputs.video_codec,
                                                    [src] { return src->fps(); }));
    if (!cfg.outputs.images_dir.empty())
        sinks.push_back(std::make_unique<ImageDirSink>(cfg.outputs.images_dir));
#endif
    if (!cfg.outputs.json.empty())
        sinks.push_back(std::make_unique<JsonLinesSink>(cfg.outputs.json, det->class_names()));
#if RTDET_WITH_OPENCV
    if (show_window(cfg)) {
        auto w = std::make_unique<WindowSink>("rtdet", snapshot_dir_for(cfg));
        w->set_interrupt(&g_interrupts);
        window = w.get();
        sinks.push_back(std::move(w));
    }
#endif
#if RTDET_WITH_MQTT
    MqttSink* mqtt = nullptr;  // owned by the pipeline (alive until run_app returns): its counters
    if (!cfg.publish.url.empty()) {
        auto m = std::make_unique<MqttSink>(cfg.publish, det->describe(), det->class_names(),
                                            detector::cache_dir(cfg.plan_cache_dir));
        mqtt = m.get();
        sinks.push_back(std::move(m));
    }
#endif
    if (sinks.empty())
        spdlog::info("no outputs configured (--show, --video, --images-dir, --json, --publish): summary only");

    PipelineOptions opt;
    opt.queue_depth = cfg.queue_depth;
    opt.max_batch = cfg.max_batch;
    opt.max_frames = cfg.max_frames;
    opt.realtime = cfg.realtime;
    opt.progress = spdlog::get_level() <= spdlog::level::info;
    opt.interrupt = &g_interrupts;
    const fs::path src_path(spec.location);
    opt.stream_name = src_path.has_stem() ? src_path.stem().string() : spec.location;
    Pipeline pipeline(*source, *det, std::move(sinks), window, opt);
    PipelineResult r = pipeline.run();
#if RTDET_WITH_MQTT
    if (mqtt != nullptr) r.summary.publish = mqtt->stats();  // final: run() has called finish()
#endif

    std::fputs(r.summary.to_text().c_str(), stdout);
    std::fflush(stdout);
    if (!cfg.outputs.summary_json.empty()) {
        std::ofstream js(cfg.outputs.summary_json);
        ENGINE_CHECK(js << r.summary.to_json(), "outputs.summary_json: cannot write ",
                     cfg.outputs.summary_json);
    }
    if (r.error) std::rethrow_exception(r.error);
    if (r.summary.publish && r.summary.publish->dropped() > 0) {
        spdlog::error("publish: {} MQTT message(s) were lost (spool full or not kept at exit); exit status 4",
                      r.summary.publish->dropped());
        return 4;
    }
    if (!r.summary.skipped_items.empty()) {
        spdlog::error("{} input(s) could not be read:", r.summary.skipped_items.size());
        for (const std::string& item : r.summary.skipped_items) spdlog::error("  {}", item);
        return 2;
    }
    return 0;
}

}  // namespace app
