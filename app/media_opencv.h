// The OpenCV implementation of the I/O seam (app/media.h), for the code and tests of the OpenCV build:
// frames as cv::Mat headers, the video and image writers, the window. Compiled only with OpenCV.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <opencv2/core/mat.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <utility>
#include <vector>

#include "app/frame.h"
#include "app/sinks.h"
#include "app/stats.h"

namespace app {

// A cv::Mat header over a frame image's pixels (no copy): what OpenCV reads, writes and draws on. An
// empty image gives an empty Mat. The const one must only be read.
cv::Mat as_mat(FrameImage& img);
cv::Mat as_mat(const FrameImage& img);

// Copies `m` (8-bit: BGR, gray or BGRA, converted) into `img`, reusing its buffer when large enough.
void copy_to_frame(const cv::Mat& m, FrameImage& img);

// Decodes `path` as 8-bit BGR with OpenCV (`rtdet detect`). Returns an empty Mat and sets `why` ("not a
// readable image", the reasons of read_image_file) when the file cannot be used. Never throws.
cv::Mat read_image(const std::string& path, std::string& why);

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
class WindowSink final : public Window {
  public:
    WindowSink(std::string title, std::string snapshot_dir);
    ~WindowSink() override;
    void set_overlay(const Overlay& o) override { overlay_ = o; }
    // The streams' names, in stream-index order, before the first write. More than one: the mosaic
    // (`max_size`: the largest the mosaic gets). A frame of a stream past the list grows it.
    void set_streams(std::vector<std::string> names) override { set_streams(std::move(names), {1920, 1080}); }
    void set_streams(std::vector<std::string> names, cv::Size max_size);
    int streams() const { return streams_; }
    // Marks a stream's tile: "ended", "reconnecting", "failed"; "" clears (the stream is back). Safe to
    // call from any thread (applied on the window's thread at the next write() or poll()). One stream:
    // ignored.
    void set_state(int stream, std::string state) override;
    SinkAction write(const Frame& frame) override;
    // For the output stage when no frame came for a while (every stream stalled or reconnecting): applies
    // states, refreshes the mosaic when due and reads keys. Opens the window (all tiles "waiting") if no
    // frame came yet. One stream: reads keys only once the window is open.
    SinkAction poll() override;
    void finish() override;
    // A counter that becomes non-zero when the run is interrupted (SIGINT): ends a pause.
    void set_interrupt(const std::atomic<int>* counter) override { interrupt_ = counter; }
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

}  // namespace app
