// rtdet run: the real-time app. Source -> detector -> window / video / images / JSON lines, with FPS
// and per-stage latency. Configuration from configs/*.yaml; every flag overrides its key.
#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "engine/core/error.h"

namespace app {
namespace {

struct FlagKey {
    const char* flag;
    const char* key;
    const char* type;
    const char* help;
};

// clang-format off
constexpr FlagKey kFlags[] = {
    {"--source",                "source",                  "SOURCE",    "Camera index, /dev/videoN, video file, rtsp/http(s)/udp URL, folder, glob, .txt list, or image"},
    {"--model",                 "model.path",              "FILE",      "ONNX model, darknet .cfg (.weights beside it) or .plan"},
    {"--names",                 "model.names",             "FILE",      "Class names file, one per line"},
    {"--width",                 "model.input_width",       "INT",       "Network input width (0: the model's; a darknet .cfg is converted at it)"},
    {"--height",                "model.input_height",      "INT",       "Network input height (0: the model's)"},
    {"--resize",                "model.resize",            "POLICY",    "model | darknet | stretch | letterbox"},
    {"--pad-value",             "model.pad_value",         "FLOAT",     "Letterbox padding value in [0, 1]"},
    {"--random-weights",        "model.random_weights",    "SEED",      "Darknet .cfg with random weights from this seed (speed work)"},
    {"--conf",                  "detector.conf_threshold", "FLOAT",     "Confidence threshold in (0, 1]"},
    {"--iou",                   "detector.iou_threshold",  "FLOAT",     "NMS IoU threshold in (0, 1]"},
    {"--nms",                   "detector.nms",            "MODE",      "per-class | agnostic"},
    {"--max-det",               "detector.max_detections", "INT",       "Most detections per frame (0: no limit)"},
    {"--device",                "engine.device",           "DEVICE",    "cpu | onednn | reference | cuda"},
    {"--precision",             "engine.precision",        "PRECISION", "fp32 | fp16 | bf16 | best"},
    {"--threads",               "engine.threads",          "INT",       "Inference threads (0: all cores)"},
    {"--cache",                 "engine.plan_cache_dir",   "DIR",       "Plan cache folder (default: $RTDET_CACHE or ~/.cache/rtdet)"},
    {"--peer",                  "engine.peer",             "PEER",      "none | opencv: run the same pipeline on OpenCV DNN (comparison)"},
    {"-o,--video",              "outputs.video",           "FILE",      "Write the annotated video here (.mp4 / .avi)"},
    {"--codec",                 "outputs.video_codec",     "CODEC",     "mp4v | MJPG"},
    {"--images-dir",            "outputs.images_dir",      "DIR",       "Write annotated images into this folder"},
    {"--json",                  "outputs.json",            "FILE",      "Write detections as JSON lines (one per frame) here"},
    {"--snapshot-dir",          "outputs.snapshot_dir",    "DIR",       "Where the window's s key saves snapshots"},
    {"--summary-json",          "outputs.summary_json",    "FILE",      "Write the end-of-run summary as JSON here"},
    {"--publish",               "publish.url",             "URL",       "Publish one JSON message per frame over MQTT: mqtt[s]://HOST[:PORT]/TOPIC, TOPIC may hold {stream} and {name} (docs/mqtt.md)"},
    {"--queue-depth",           "pipeline.queue_depth",    "INT",       "Frames queued between stages"},
    {"--max-batch",             "pipeline.max_batch",      "INT",       "Files and folders: frames per inference batch"},
    {"--max-frames",            "pipeline.max_frames",     "INT",       "Stop after this many frames (0: all)"},
    {"--decode-threads",        "pipeline.decode_threads", "INT",       "Files and folders: threads decoding images ahead (order kept)"},
    {"--reconnect-attempts",    "reconnect.attempts",      "INT",       "Live sources: reopen attempts after a loss (0: none)"},
    {"--reconnect-interval-ms", "reconnect.interval_ms",   "MS",        "Live sources: first wait before reopening (doubles, up to 8x)"},
    {"--stream-timeout-ms",     "reconnect.timeout_ms",    "MS",        "Live sources: open/read timeout that counts as a loss"},
    {"--open-timeout-ms",       "reconnect.open_timeout_ms", "MS",      "Live sources: how long opening (probing) a stream may take"},
};
// clang-format on

}  // namespace

CommandFn setup_run(CLI::App& root) {
    struct Opts {
        std::string config;
        std::array<std::optional<std::string>, std::size(kFlags)> values;
        std::vector<std::string> sets;
        bool show = false, headless = false, realtime = false, loop = false, print_config = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = root.add_subcommand(
        "run", "Real-time detection on a camera, stream, video or images: window, video, images, JSON lines");
    cmd->add_option("-c,--config", o->config, "YAML config (default: configs/yolo-fastest-xl.yaml)");
    for (size_t i = 0; i < std::size(kFlags); ++i)
        cmd->add_option(kFlags[i].flag, o->values[i],
                        std::string(kFlags[i].help) + "  [" + kFlags[i].key + "]")
            ->type_name(kFlags[i].type);
    auto* show =
        cmd->add_flag("--show", o->show, "Show the window (default when $DISPLAY is set)  [outputs.show]");
    auto* headless = cmd->add_flag("--headless", o->headless, "No window  [outputs.show: false]");
    show->excludes(headless);
    cmd->add_flag("--realtime", o->realtime, "Read video files at their frame rate  [pipeline.realtime]");
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
        for (size_t i = 0; i < std::size(kFlags); ++i) {
            if (!o->values[i]) continue;
            std::string flag = kFlags[i].flag;
            if (const size_t comma = flag.find(','); comma != std::string::npos)
                flag = flag.substr(comma + 1);
            set_config_key(cfg, kFlags[i].key, *o->values[i], flag);
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
