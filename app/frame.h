// One frame as it travels capture -> inference -> output. Frames come from a fixed pool and go back
// to it after output, so their buffers (image, name, detections) are reused from frame to frame.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "detector/detector.h"
#include "detector/gpu_host.h"
#include "detector/preprocess.h"
#include "detector/types.h"

namespace app {

using Clock = std::chrono::steady_clock;

// An owned 8-bit BGR buffer, rows packed (3 * cols bytes apart): the frame image of both builds. Code
// that needs OpenCV wraps it in a cv::Mat header (app/media_opencv.h: as_mat), so decoders write into
// it and drawing happens in place. With use_pinned(), the buffer is page-locked memory when the build
// has some to give (detector/gpu_host.h): the Detector's GPU path then uploads the frame without a
// staging copy.
class PackedImage {
  public:
    uint8_t* data = nullptr;
    int cols = 0, rows = 0;

    PackedImage() = default;
    ~PackedImage() { free_buffer(); }
    PackedImage(const PackedImage& o) { *this = o; }
    PackedImage& operator=(const PackedImage& o) {  // a deep copy (into ordinary memory unless pinned wanted)
        if (this == &o) return *this;
        if (o.empty()) {
            release();
        } else {
            create(o.cols, o.rows);
            std::memcpy(data, o.data, static_cast<size_t>(cols) * static_cast<size_t>(rows) * 3);
        }
        return *this;
    }
    PackedImage(PackedImage&& o) noexcept { *this = std::move(o); }
    PackedImage& operator=(PackedImage&& o) noexcept {
        if (this == &o) return *this;
        free_buffer();
        data = std::exchange(o.data, nullptr);
        cols = std::exchange(o.cols, 0);
        rows = std::exchange(o.rows, 0);
        buffer_ = std::exchange(o.buffer_, nullptr);
        capacity_ = std::exchange(o.capacity_, 0);
        pinned_ = std::exchange(o.pinned_, false);
        want_pinned_ = o.want_pinned_;
        return *this;
    }

    bool empty() const { return data == nullptr || cols <= 0 || rows <= 0; }
    // Resizes for a cols x rows image (the buffer only grows: reused from frame to frame). Throws
    // std::bad_alloc.
    void create(int width, int height) {
        const size_t n = static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
        if (capacity_ < n) {
            free_buffer();
            void* p = want_pinned_ ? detector::allocate_pinned(n) : nullptr;
            pinned_ = p != nullptr;
            if (p == nullptr) p = ::operator new(n);
            buffer_ = static_cast<uint8_t*>(p);
            capacity_ = n;
        }
        data = buffer_;
        cols = width;
        rows = height;
    }
    void release() {
        data = nullptr;
        cols = rows = 0;
    }
    // Makes room for a width x height image now (empty afterwards): a pool allocates before its frames
    // are timed.
    void reserve(int width, int height) {
        create(width, height);
        release();
    }
    // Page-locked memory for the buffers allocated from now on (when there is some to give).
    void use_pinned(bool on) { want_pinned_ = on; }
    // Whether the current buffer is page-locked.
    bool pinned() const { return pinned_; }

  private:
    void free_buffer() noexcept {
        if (buffer_ != nullptr) {
            if (pinned_) {
                detector::free_pinned(buffer_);
            } else {
                ::operator delete(buffer_);
            }
        }
        buffer_ = data = nullptr;
        capacity_ = 0;
        pinned_ = false;
        cols = rows = 0;
    }

    uint8_t* buffer_ = nullptr;
    size_t capacity_ = 0;
    bool pinned_ = false;
    bool want_pinned_ = false;
};

using FrameImage = PackedImage;

// Row stride in bytes, and the detector's view of a frame image.
inline int64_t image_stride(const FrameImage& img) { return static_cast<int64_t>(img.cols) * 3; }
inline detector::ImageView image_view(const FrameImage& img) {
    return detector::ImageView{img.data, img.cols, img.rows, image_stride(img)};
}
// Frames whose buffers should be page-locked (the GPU path uploads them without a staging copy).
inline void use_pinned_memory(FrameImage& img, bool on) { img.use_pinned(on); }

// Makes room in an unused pooled frame for a width x height image ahead of use. For page-locked
// frames, slow to allocate: a capture thread does it before its clock starts, not on a timed frame.
inline void reserve_image(FrameImage& img, int width, int height) { img.reserve(width, height); }

struct Frame {
    int stream = 0;  // the stream's index (its position in the source list)
    const std::string* stream_name =
        nullptr;                 // the stream's name (owned by the pipeline; never null in a run)
    int64_t index = 0;           // 0-based count of frames read from this stream (live: gaps are drops)
    double timestamp_ms = 0;     // source timestamp (video position; live: ms since the source opened)
    Clock::time_point captured;  // when the capture stage finished reading it (end-to-end start)
    FrameImage image;            // BGR; annotated in place by the output stage (drawing sinks)
    std::string name;            // image sources: the file; empty for video
    std::vector<detector::Detection> detections;
    detector::StageTimes times;  // this frame's share of its batch's stage times
    double wall_clock_ms = 0;    // system clock (ms since the Unix epoch) when it was captured
    double stream_fps = 0;       // the stream's frame rate (its pacing rate, else the source's; 0: unknown)

    // The stream's name, or "" outside a run.
    const std::string& stream_label() const {
        static const std::string none;
        return stream_name ? *stream_name : none;
    }
};

}  // namespace app
