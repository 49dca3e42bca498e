// Where frames go after detection: annotated video file, annotated images, JSON lines, a window.
// The sink interface and JSON lines are here; the video and image writers and the window are made by
// the I/O seam (app/media.h; OpenCV's in app/media_opencv.h). Without OpenCV (the GPU machine's build)
// only JSON lines (validate_config refuses the others). All optional and combinable; all run on the
// output stage (the thread that called run_pipeline()).
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/frame.h"
#include "app/stats.h"

namespace app {

// What a sink may ask of the pipeline after a frame.
enum class SinkAction { Continue, Quit };

class Sink {
  public:
    virtual ~Sink() = default;
    // Whether the sink wants frame.image with the boxes drawn on it.
    virtual bool wants_annotated() const { return true; }
    virtual SinkAction write(const Frame& frame) = 0;
    // Closes files (a video stays playable). Idempotent; also called by the destructor.
    virtual void finish() {}
};

// Creates the folder `file` goes into; throws engine::Error naming `key` (the config key) when it cannot.
void make_parent_dirs(const std::string& file, const char* key);

// One JSON object per line and frame (both builds):
//   {"stream":0,"name":"car-detection","frame":12,"timestamp_ms":960.0,"source":"a.jpg","width":768,"height":432,
//    "detections":[{"class_id":2,"class":"car","score":0.87,"box":[x1,y1,x2,y2]}]}
// ("source" only for image sources). Lines are flushed as written.
class JsonLinesSink final : public Sink {
  public:
    JsonLinesSink(const std::string& path, const std::vector<std::string>& class_names);
    ~JsonLinesSink() override;
    bool wants_annotated() const override { return false; }
    SinkAction write(const Frame& frame) override;
    void finish() override;

  private:
    std::string path_;
    const std::vector<std::string>& names_;
    std::FILE* file_ = nullptr;
    std::string line_;     // reused
    size_t bytes_ok_ = 0;  // bytes of the lines written completely
};

// Text drawn in the window's corner: live FPS and per-stage milliseconds.
struct Overlay {
    double fps = 0, preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0, end_to_end_ms = 0;
    int64_t dropped = 0;
};

// The window (media::open_window; OpenCV's highgui: WindowSink, app/media_opencv.h). Keys: q / Esc
// quit, space pause (again to resume), s snapshot. Closing it quits too. Runs on the output stage's
// thread (main: highgui wants it). With more than one stream, a mosaic of them (app/mosaic.h).
class Window : public Sink {
  public:
    // The live figures shown with the next frame.
    virtual void set_overlay(const Overlay& o) = 0;
    // The streams' names, in stream-index order, before the first write. More than one: the mosaic.
    virtual void set_streams(std::vector<std::string> names) = 0;
    // Marks a stream's tile: "ended", "reconnecting", "failed"; "" clears (the stream is back). Safe to
    // call from any thread. One stream: ignored.
    virtual void set_state(int stream, std::string state) = 0;
    // For the output stage when no frame came for a while: applies states, refreshes and reads keys.
    virtual SinkAction poll() = 0;
    // A counter that becomes non-zero when the run is interrupted (SIGINT): ends a pause.
    virtual void set_interrupt(const std::atomic<int>* counter) = 0;
};

}  // namespace app
