// rtdet run: the real-time app. Source -> detector -> window / video / images / JSON lines, with FPS
// and per-stage latency. Configuration from configs/*.yaml; every flag overrides its key.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/config.h"
#include "app/media.h"
#include "app/pipeline.h"
#include "app/stream_sinks.h"
#include "detector/gpu_host.h"
#include "detector/plan_cache.h"
#if RTDET_WITH_MQTT
#include "app/mqtt_sink.h"
#endif
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

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

std::string snapshot_dir_for(const AppConfig& cfg) {
    if (!cfg.outputs.snapshot_dir.empty()) return cfg.outputs.snapshot_dir;
    if (!cfg.outputs.images_dir.empty()) return cfg.outputs.images_dir;
    for (const std::string& f : {cfg.outputs.video, cfg.outputs.json}) {
        if (!f.empty() && !has_stream_template(f)) {
            const fs::path parent = fs::path(f).parent_path();
            return parent.empty() ? "." : parent.string();
        }
    }
    return ".";
}

// The sink for `path`: one file for all streams, or one per stream when the path has {stream}/{name}.
std::unique_ptr<Sink> maybe_per_stream(const std::string& path, bool annotated, PerStreamSink::Factory make) {
    if (has_stream_template(path)) return std::make_unique<PerStreamSink>(path, std::move(make), annotated);
    return make(path);
}

// engine.gpu_wait for the Detector's GPU path: auto leaves CUDA's choice (spin, with fewer contexts
// than cores). Measured on the H200 with 200 streams and 3 workers, block dropped more frames than
// spin (docs/app.md), so it is only an option.
void apply_gpu_wait(const AppConfig& cfg, const FrameDetector& det) {
    if (cfg.gpu_wait == "auto") return;
    if (!det.gpu_path()) {
        spdlog::warn("engine.gpu_wait applies to a GPU plan only; ignored");
        return;
    }
    const bool block = cfg.gpu_wait == "block";
    std::string why;
    if (!detector::set_gpu_wait(block ? detector::GpuWait::Block : detector::GpuWait::Spin, &why))
        spdlog::warn("engine.gpu_wait: the device refused {}: {}", cfg.gpu_wait, why);
    else
        spdlog::info("GPU wait: {}", cfg.gpu_wait);
}

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
    std::vector<StreamPlan> streams = validate_config(cfg);
    const bool multi = streams.size() > 1;
    ENGINE_CHECK(!multi || cfg.outputs.video.empty() || has_stream_template(cfg.outputs.video),
                 "outputs.video: ", streams.size(),
                 " streams need one video each: put {stream} or {name} in the path (got ", cfg.outputs.video,
                 ")");

    const int workers = inference_workers(cfg);
    std::vector<std::unique_ptr<FrameDetector>> dets;
    for (int w = 0; w < workers; ++w) dets.push_back(make_frame_detector(cfg));
    spdlog::info("model: {}{}", dets[0]->describe(),
                 workers > 1 ? engine::concat(", ", workers, " inference workers") : "");
    apply_gpu_wait(cfg, *dets[0]);
    if (multi)
        spdlog::info("{} streams, batches of up to {} frames", streams.size(),
                     std::min(cfg.max_batch, dets[0]->max_batch()));
    // From here on Ctrl-C drains the pipeline (before, it just ends the process: nothing to finalize).
    InterruptScope interrupts;

    std::vector<std::unique_ptr<Sink>> sinks;
    Window* window = nullptr;
    const std::vector<std::string>& names = dets[0]->class_names();
    if (!cfg.outputs.video.empty()) {
        // At the stream's rate (Frame::stream_fps: its pacing rate, else its source's).
        sinks.push_back(maybe_per_stream(cfg.outputs.video, true, [&cfg](const std::string& path) {
            return media::open_video_writer(path, cfg.outputs.video_codec, nullptr);
        }));
    }
    if (!cfg.outputs.images_dir.empty())
        sinks.push_back(maybe_per_stream(cfg.outputs.images_dir, true, [multi](const std::string& path) {
            return media::open_image_writer(path, multi);
        }));
    if (!cfg.outputs.json.empty())
        sinks.push_back(maybe_per_stream(cfg.outputs.json, false, [&names](const std::string& path) {
            return std::make_unique<JsonLinesSink>(path, names);
        }));
    if (show_window(cfg)) {
        std::unique_ptr<Window> w = media::open_window("rtdet", snapshot_dir_for(cfg));
        if (multi) {
            // Tiles by stream index (a shard's list skips indexes: their tiles are not made).
            std::vector<std::string> tile_names;
            for (const StreamPlan& p : streams) tile_names.push_back(p.name);
            w->set_streams(std::move(tile_names));
        }
        w->set_interrupt(&g_interrupts);
        window = w.get();
        sinks.push_back(std::move(w));
    }
#if RTDET_WITH_MQTT
    MqttSink* mqtt = nullptr;  // owned by the pipeline (alive until run_app returns): its counters
    if (!cfg.publish.url.empty()) {
        auto m = std::make_unique<MqttSink>(cfg.publish, dets[0]->describe(), dets[0]->class_names(),
                                            detector::cache_dir(cfg.plan_cache_dir));
        mqtt = m.get();
        sinks.push_back(std::move(m));
    }
#endif
    if (sinks.empty())
        spdlog::info(
            "no outputs configured (--show, --video, --images-dir, --json, --publish): summary only");

    PipelineOptions opt;
    opt.queue_depth = cfg.queue_depth;
    opt.max_batch = cfg.max_batch;
    opt.batch_timeout_ms = cfg.batch_timeout_ms;
    opt.max_frames = cfg.max_frames;
    opt.reconnect = cfg.reconnect;
    opt.progress = spdlog::get_level() <= spdlog::level::info;
    opt.interrupt = &g_interrupts;
    std::vector<FrameDetector*> det_ptrs;
    for (auto& d : dets) det_ptrs.push_back(d.get());
    Pipeline pipeline(std::move(streams), det_ptrs, std::move(sinks), window, opt);
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
    int code = 0;
    const bool lost_messages = r.summary.publish && r.summary.publish->dropped() > 0;
    if (lost_messages)
        spdlog::error("publish: {} MQTT message(s) were lost (spool full or not kept at exit); exit status 4",
                      r.summary.publish->dropped());
    if (!r.summary.skipped_items.empty()) {
        spdlog::error("{} input(s) could not be read:", r.summary.skipped_items.size());
        for (const std::string& item : r.summary.skipped_items) spdlog::error("  {}", item);
        code = 2;
    }
    if (r.summary.failed_streams > 0) {
        spdlog::error("{} of {} stream(s) failed:", r.summary.failed_streams, r.summary.streams.size());
        for (const StreamSummary& st : r.summary.streams)
            if (st.state == "failed") spdlog::error("  stream {} ({}): {}", st.index, st.name, st.error);
        code = 3;
    }
    return lost_messages ? 4 : code;
}

CommandFn setup_run(CLI::App& root) {
    struct Opts {
        std::string config;
        std::vector<std::optional<std::string>> values;  // one per config_flags() entry
        std::vector<std::string> sets, sources;
        bool show = false, headless = false, realtime = false, loop = false, print_config = false;
    };
    auto o = std::make_shared<Opts>();
    o->values.resize(config_flags().size());
    CLI::App* cmd = root.add_subcommand(
        "run", "Real-time detection on a camera, stream, video or images: window, video, images, JSON lines");
    cmd->add_option("-c,--config", o->config, "YAML config (default: configs/yolo-fastest-xl.yaml)");
    cmd->add_option(
           "--source", o->sources,
           "Camera index, /dev/videoN, video file, rtsp/http(s)/udp/tcp URL, folder, glob, .txt list, image, "
           "or .streams file (one source per line); repeatable: one stream each  [source, sources]")
        ->type_name("SOURCE")
        ->allow_extra_args(false);
    const std::span<const ConfigFlag> run_flags = config_flags();
    for (size_t i = 0; i < run_flags.size(); ++i)
        cmd->add_option(run_flags[i].flag, o->values[i],
                        std::string(run_flags[i].help) + "  [" + run_flags[i].key + "]")
            ->type_name(run_flags[i].type);
    auto* show =
        cmd->add_flag("--show", o->show, "Show the window (default when $DISPLAY is set)  [outputs.show]");
    auto* headless = cmd->add_flag("--headless", o->headless, "No window  [outputs.show: false]");
    show->excludes(headless);
    cmd->add_flag("--realtime", o->realtime,
                  "Play files at their own frame rate as live cameras (newest frame, drops counted)  "
                  "[pipeline.realtime]");
    cmd->add_flag("--loop", o->loop,
                  "Start a video file again at its end (stop with --max-frames or Ctrl-C)  [pipeline.loop]");
    cmd->add_option("--set", o->sets, "Any key: --set detector.nms=agnostic (repeatable)");
    cmd->add_flag("--print-config", o->print_config, "Print the effective configuration as YAML and exit");
    return [o]() {
        AppConfig cfg;
        const std::string path = o->config.empty() ? default_config_path() : o->config;
        if (!path.empty()) {
            spdlog::debug("config: {}", path);
            load_config_file(path, cfg);
        }
        for (const std::string& kv : o->sets) {
            const size_t eq = kv.find('=');
            ENGINE_CHECK(eq != std::string::npos && eq > 0, "--set: expected KEY=VALUE (got '", kv, "')");
            set_config_key(cfg, kv.substr(0, eq), kv.substr(eq + 1), "--set");
        }
        const std::span<const ConfigFlag> flags = config_flags();
        for (size_t i = 0; i < flags.size(); ++i) {
            if (!o->values[i]) continue;
            std::string flag = flags[i].flag;
            if (const size_t comma = flag.find(','); comma != std::string::npos)
                flag = flag.substr(comma + 1);
            set_config_key(cfg, flags[i].key, *o->values[i], flag);
        }
        if (!o->sources.empty()) {
            cfg.source.clear();
            cfg.sources.clear();
            for (const std::string& uri : o->sources) {
                ENGINE_CHECK(!uri.empty(),
                             "--source: empty (a camera index, device, URL, file, folder, glob, list or "
                             ".streams file)");
                StreamConfig sc;
                sc.uri = uri;
                cfg.sources.push_back(std::move(sc));
            }
        }
        if (o->show) cfg.outputs.show = 1;
        if (o->headless) cfg.outputs.show = 0;
        if (o->realtime) cfg.realtime = true;
        if (o->loop) cfg.loop = true;
        if (o->print_config) {
            std::fputs(config_to_yaml(cfg).c_str(), stdout);
            return 0;
        }
        return run_app(cfg);
    };
}

}  // namespace app
