// `rtdet run` configuration: configs/*.yaml (yaml-cpp) -> AppConfig, every key overridable from the
// command line, validated with one-line errors that name the key, the value and what is allowed.
//
// File layout (every key optional; see configs/yolo-fastest-xl.yaml):
//   model:     path, names, input_width, input_height, resize, pad_value, random_weights
//   detector:  conf_threshold, iou_threshold, nms, max_detections
//   engine:    device, precision, calib_cache, threads, plan_cache_dir, peer
//   source:    camera index, /dev/videoN, video file, URL, folder, glob, list .txt, image, .streams
//   sources:   a list of sources (each a URI, or {uri, name, realtime, loop, fps}): one run, many streams
//   outputs:   video, video_codec, images_dir, json, show, snapshot_dir, summary_json
//   pipeline:  queue_depth, max_batch, batch_timeout_ms, inference_workers, max_frames, realtime, loop,
//              fps, decode_threads, shard
//   reconnect: attempts, interval_ms, timeout_ms, open_timeout_ms
//   publish:   url, qos, client_id, username, password, tls_ca, tls_cert, tls_key, spool_dir,
//              spool_max_mb, keepalive_s, flush_timeout_s (MQTT, docs/mqtt.md; username and password
//              only from the file or $RTDET_MQTT_USERNAME / $RTDET_MQTT_PASSWORD, never --set)
// Paths may start with $DATA/ (the data folder: $RTDET_DATA, else ../shared beside the repository);
// relative paths are relative to the current directory, in files as on the command line.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "app/capture.h"
#include "app/publish.h"
#include "app/streams.h"

namespace app {

struct OutputConfig {
    std::string video;                 // annotated video file (empty: none)
    std::string video_codec = "mp4v";  // mp4v | MJPG
    std::string images_dir;            // annotated images, one per frame (empty: none)
    std::string json;                  // JSON lines, one per frame (empty: none)
    int show = -1;                     // window: 1 yes, 0 no (headless), -1 auto (yes when $DISPLAY is set)
    std::string snapshot_dir;          // where the window's `s` key saves (empty: images_dir, else the
                                       // video's or json's folder, else the current directory)
    std::string summary_json;          // the end-of-run summary as JSON (empty: none)
};

struct AppConfig {
    // model
    std::string model;    // .onnx, darknet .cfg (+ .weights beside it), or .plan
    std::string names;    // class names, one per line (empty: the model's, or coco.names for 80)
    int input_width = 0;  // 0: the model's; a darknet .cfg is converted at this size
    int input_height = 0;
    std::string resize = "model";  // model | darknet | stretch | letterbox
    float pad_value = 0.5f;        // letterbox padding in [0, 1]
    int64_t random_weights = -1;   // >= 0: a darknet .cfg with random weights from this seed (speed work)
    // detector
    float conf_threshold = 0.25f;
    float iou_threshold = 0.45f;
    std::string nms = "per-class";  // per-class | agnostic
    int max_detections = 100;       // 0: no limit
    // engine
    std::string device = "cpu";      // cpu | onednn | reference | cuda
    std::string precision = "fp32";  // fp32 | fp16 | bf16 | best | int8
    std::string calib_cache;         // INT8 ranges (`rtdet calibrate`) for int8 / best builds
    int threads = 0;                 // 0: all cores
    std::string plan_cache_dir;      // empty: the user cache folder
    std::string peer = "none";       // none | opencv: the same pipeline on OpenCV DNN (speed comparison)
    std::string gpu_wait =
        "auto";  // auto | spin | block: how threads wait for the GPU (auto: CUDA's choice, spin)
    // sources and outputs
    std::string source;                 // one source (used when `sources` is empty)
    std::vector<StreamConfig> sources;  // many sources (streams.h); --source (repeatable) sets this list
    OutputConfig outputs;
    // pipeline
    int queue_depth = 4;        // frames queued per stream between capture and the batcher
    int max_batch = 1;          // frames per inference batch, taken across streams (round-robin)
    int batch_timeout_ms = 0;   // a batch not full waits this long after its first frame (0: what is ready)
    int inference_workers = 0;  // batches in flight at once, each on its own context (0: 1 on CPU, 2 on cuda)
    int64_t max_frames = 0;     // stop after this many frames, all streams together (0: all)
    bool realtime =
        false;          // play files at their own frame rate as live cameras (newest frame, drops counted)
    double fps = 0;     // > 0: play files at this rate as live cameras (per source: fps)
    bool loop = false;  // start a video file again at its end (soak runs); with max_frames to stop
    int decode_threads = 1;  // image sources: threads decoding files ahead (frame order kept)
    std::string shard;       // "I/N": only the streams whose index % N == I (several processes, one list)
    ReconnectPolicy reconnect;
    PublishConfig publish;  // MQTT (empty url: none)
};

// Applies a YAML file over `cfg` (keys not in the file keep their values). Throws engine::Error:
// "<file>:<line>: <key>: <problem>", or "config file not found: <path>".
void load_config_file(const std::string& path, AppConfig& cfg);
// As load_config_file on text (`origin` names it in errors).
void load_config_text(const std::string& yaml, const std::string& origin, AppConfig& cfg);

// Sets one key (dotted, e.g. "detector.conf_threshold") from its text, as a command-line override;
// `origin` (e.g. "--conf") prefixes errors. Same parsing and range checks as the file.
void set_config_key(AppConfig& cfg, std::string_view key, const std::string& value, std::string_view origin);

// Cross-key and file-system checks: model and names exist, darknet weights beside the cfg, source
// exists and is a supported kind, show needs a display. Throws engine::Error naming the key.
// Returns the run's streams (plan_streams), so the caller need not plan them again.
std::vector<StreamPlan> validate_config(const AppConfig& cfg);

// The checks of validate_config() on the keys that make a detector (model.*, and engine.peer with a
// plan): the model file and its darknet weights, the input size, the names file. Throws engine::Error
// naming the key.
void validate_model_config(const AppConfig& cfg);

// Whether the window is shown (outputs.show, or auto: $DISPLAY set).
bool show_window(const AppConfig& cfg);

// A flag of `rtdet run` that sets one key: "--conf" -> detector.conf_threshold ("-o,--video": a short
// and a long name). cmd_run.cpp adds them; the Python API (python/src/detector_py.cpp) takes their long
// names without the dashes, '-' as '_', as keywords (conf=, max_det=).
struct ConfigFlag {
    const char* flag;
    const char* key;
    const char* type;  // what --help shows for the value
    const char* help;
};
std::span<const ConfigFlag> config_flags();

// Every key of the schema, in its order ("model.path", "model.names", ...).
std::vector<std::string_view> config_keys();

// The valid key closest to `key` (for "did you mean" hints): the closest last part by edit distance
// (typos, abbreviations, words added), ties to the closest whole key; empty when none is close.
std::string_view closest_config_key(std::string_view key);

// The effective configuration as YAML (for --print-config).
std::string config_to_yaml(const AppConfig& cfg);

// The default config: for a build-tree rtdet configs/yolo-fastest-xl.yaml from the current directory,
// else from the source tree; for an installed one share/rtdet/configs/yolo-fastest-xl.yaml. Empty when
// none exists.
std::string default_config_path();

}  // namespace app
