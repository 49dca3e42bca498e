// Where frames go after detection: annotated video file, annotated images, JSON lines, a window.
// Without OpenCV (the GPU machine's build) only JSON lines (validate_config refuses the others).
// All optional and combinable; all run on the output stage (the thread that called run_pipeline()).
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

#if RTDET_WITH_OPENCV
#include <opencv2/core/mat.hpp>
#include <opencv2/videoio.hpp>
#endif

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

#if RTDET_WITH_OPENCV
// cv::VideoWriter, opened at the first frame (its size) with the source's fps (25 when unknown);
// frames of another size are resized to the first one's. Codec "mp4v" or "MJPG".
class VideoSink final : public Sink {
  public:
    // `fps` is asked when the first frame arrives (a live source knows its rate only once connected);
    // when it is null or says 0, the frame's stream_fps, else 25.
    VideoSink(std::string path, std::string codec, std::function<double()> fps);
    ~VideoSink() override;
    SinkAction write(const Frame& frame) override;
    void finish() override;
    int64_t frames_written() const { return written_; }

  private:
    std::string path_, codec_;
    std::function<double()> fps_;
    cv::VideoWriter writer_;
    cv::Size size_;
    cv::Mat resized_;
    int64_t written_ = 0;
};

// One annotated JPEG per frame: image sources keep their file's stem, video frames are
// frame_000123.jpg; with `prefix_stream` (several streams into one folder) the stream's name and '_'
// come first.
class ImageDirSink final : public Sink {
  public:
    explicit ImageDirSink(std::string dir, bool prefix_stream = false);
    SinkAction write(const Frame& frame) override;

  private:
    std::string dir_;
    bool prefix_stream_ = false;
    std::string path_;  // reused
};

#endif  // RTDET_WITH_OPENCV

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

#if RTDET_WITH_OPENCV
// Text drawn in the window's corner: live FPS and per-stage milliseconds.
struct Overlay {
    double fps = 0, preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0, end_to_end_ms = 0;
    int64_t dropped = 0;
};

class Mosaic;

// cv::imshow window "rtdet". Keys: q / Esc quit, space pause (again to resume), s snapshot (PNG into
// `snapshot_dir`). Closing the window quits too. Must run on the thread that owns highgui (main).
//
// One stream (the default): each frame as it is, at its own size, with the overlay; shown every frame.
// Many streams (set_streams() with more than one name): a mosaic (app/mosaic.h), a tile per stream with
// its name and FPS (measured here, per stream, as frames reach the window) and the overlay's figures in
// a status bar. Each write() updates its stream's tile (at most once between two refreshes); the window
// is refreshed, and keys are read, at most ~30 times a second (cv::waitKey(1) costs ~2 ms: per frame it
// would slow the output stage); s saves the mosaic.
class WindowSink final : public Sink {
  public:
    WindowSink(std::string title, std::string snapshot_dir);
    ~WindowSink() override;
    void set_overlay(const Overlay& o) { overlay_ = o; }
    // The streams' names, in stream-index order, before the first write. More than one: the mosaic
    // (`max_size`: the largest the mosaic gets). A frame of a stream past the list grows it.
    void set_streams(std::vector<std::string> names, cv::Size max_size = {1920, 1080});
    int streams() const { return streams_; }
    // Marks a stream's tile: "ended", "reconnecting", "failed"; "" clears (the stream is back). Safe to
    // call from any thread (applied on the window's thread at the next write() or poll()). One stream:
    // ignored.
    void set_state(int stream, std::string state);
    SinkAction write(const Frame& frame) override;
    // For the output stage when no frame came for a while (every stream stalled or reconnecting): applies
    // states, refreshes the mosaic when due and reads keys. Opens the window (all tiles "waiting") if no
    // frame came yet. One stream: reads keys only once the window is open.
    SinkAction poll();
    void finish() override;
    // A counter that becomes non-zero when the run is interrupted (SIGINT): ends a pause.
    void set_interrupt(const std::atomic<int>* counter) { interrupt_ = counter; }
    // What the window shows (last drawn): the frame with the overlay, or the mosaic.
    const cv::Mat& canvas() const;

  private:
    SinkAction handle_key(int key, int64_t snapshot_number);
    void snapshot(int64_t number);
    void open();
    SinkAction refresh(Clock::time_point now);  // mosaic: status bar, imshow, keys
    void apply_states();

    std::string title_, snapshot_dir_;
    Overlay overlay_;
    cv::Mat canvas_;  // reused
    bool open_ = false;
    const std::atomic<int>* interrupt_ = nullptr;
    int64_t last_index_ = 0;

    // Many streams.
    int streams_ = 1;
    cv::Size max_size_{1920, 1080};
    std::unique_ptr<Mosaic> mosaic_;
    std::vector<FpsMeter> fps_;
    std::vector<char> drawn_;  // the tile was updated since the last refresh
    Clock::time_point last_refresh_{};
    int64_t refreshes_ = 0;
    std::string status_;  // reused
    std::mutex states_mutex_;
    std::vector<std::pair<int, std::string>> states_;  // set_state() calls not applied yet
    std::atomic<bool> states_pending_{false};
};

// Draws the overlay text block onto `image` (exposed for tests).
void draw_overlay(cv::Mat& image, const Overlay& o);
#else
class WindowSink;  // OpenCV (highgui) only; the pipeline takes a null one
#endif

}  // namespace app
