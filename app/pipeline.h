// The real-time pipeline of `rtdet run`:
//
//   capture thread ──in_q──► inference thread ──out_q──► output stage (calling thread) ──► sinks
//        ▲                                                      │
//        └──────────────────── free_q (frame pool) ◄────────────┘
//
// Threads are created once per run. Frames come from a fixed pool and are recycled through free_q, so
// in steady state no frame buffer is allocated. Live sources push with drop-oldest (the newest frame
// wins, drops are counted); offline sources block (backpressure, nothing lost) and may be batched:
// the inference stage takes up to max_batch frames that are already queued. The output stage runs on
// the calling thread because OpenCV's highgui (Qt) wants the main thread.
//
// Stopping: the source ends (files), a sink asks to quit (window q/Esc), max_frames is reached, or an
// interrupt arrives (SIGINT/SIGTERM): the capture stage stops and the frames in flight drain through
// the outputs. A second interrupt stops at once. An exception in any stage is stored (the first one
// wins), the other stages are stopped, the outputs are still finalized (the video stays playable),
// and run() hands the exception back with the summary.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "app/capture.h"
#include "app/config.h"
#include "app/sinks.h"
#include "app/stats.h"
#include "detector/detector.h"

namespace app {

// What the inference stage runs: rtdet's Detector, or the OpenCV DNN peer (same decode and NMS).
class FrameDetector {
  public:
    virtual ~FrameDetector() = default;
    // Detections in image pixels, one vector per image; images.size() <= max_batch().
    virtual const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) = 0;
    virtual const detector::StageTimes& last_times() const = 0;
    virtual const std::vector<std::string>& class_names() const = 0;
    virtual int max_batch() const = 0;
    virtual int input_width() const = 0;
    virtual int input_height() const = 0;
    // "rtdet cpu bf16, yolo-fastest-1.1-xl 320x320 (plan: cache hit)"
    virtual std::string describe() const = 0;
};

// The model file to load for `cfg`: model.path, or for a darknet .cfg with model.random_weights or
// an input size, an ONNX file converted into the cache folder (once).
std::string prepare_model(const AppConfig& cfg, bool live_source);
// Builds the detector (or the OpenCV peer) for `cfg`; checks the input size against model.input_*.
std::unique_ptr<FrameDetector> make_frame_detector(const AppConfig& cfg, bool live_source);

struct PipelineOptions {
    int queue_depth = 4;
    int max_batch = 1;       // offline sources only; live sources run one frame at a time
    int64_t max_frames = 0;  // 0: all
    bool realtime = false;   // pace video files at their frame rate
    bool progress = true;    // progress bar on a terminal for sources with a known length
    std::string stream_name;  // the stream's name in every frame (Frame::stream_name)
    // Interrupt counter (SIGINT/SIGTERM): 1 drains, 2 stops at once. May be null.
    const std::atomic<int>* interrupt = nullptr;
};

struct PipelineResult {
    RunSummary summary;
    std::exception_ptr error;  // the first exception of any stage (null: none)
};

class Pipeline {
  public:
    // `window` (may be null) is one of `sinks`; it gets the live overlay.
    Pipeline(Source& source, FrameDetector& detector, std::vector<std::unique_ptr<Sink>> sinks,
             WindowSink* window, PipelineOptions options);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Runs to the end (see the file comment). Never throws for a stage's failure: it comes back in
    // PipelineResult::error.
    PipelineResult run();

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// `rtdet run`: builds the source, detector and sinks from `cfg`, handles SIGINT/SIGTERM, runs the
// pipeline, prints the summary on stdout (and writes outputs.summary_json). Returns the exit code:
// 0 done, 2 done but some inputs were skipped (named in the log and the summary), 4 done but MQTT
// messages were lost (--publish: the spool overflowed; counted in the summary; checked first). Throws
// engine::Error for configuration problems and the first stage failure.
int run_app(const AppConfig& cfg);

}  // namespace app
