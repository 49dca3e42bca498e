// One frame as it travels capture -> inference -> output. Frames come from a fixed pool and go back
// to it after output, so their buffers (image, name, detections) are reused from frame to frame.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "detector/detector.h"
#include "detector/preprocess.h"
#include "detector/types.h"

#if RTDET_WITH_OPENCV
#include <opencv2/core/mat.hpp>
#endif

namespace app {

using Clock = std::chrono::steady_clock;

#if RTDET_WITH_OPENCV
// The OpenCV build: frames are cv::Mat (8-bit BGR), as VideoCapture, imdecode and drawing want them.
using FrameImage = cv::Mat;
#else
// The build without OpenCV (the GPU machine's): an owned 8-bit BGR buffer, rows packed (3 * cols
// bytes apart). The members the pipeline reads have cv::Mat's names, so shared code reads the same.
struct FrameImage {
    std::vector<uint8_t> pixels;
    uint8_t* data = nullptr;
    int cols = 0, rows = 0;

    bool empty() const { return data == nullptr || cols <= 0 || rows <= 0; }
    // Resizes for a cols x rows image (the buffer only grows: reused from frame to frame).
    void create(int width, int height) {
        const size_t n = static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
        if (pixels.size() < n) pixels.resize(n);
        data = pixels.data();
        cols = width;
        rows = height;
    }
    void release() {
        data = nullptr;
        cols = rows = 0;
    }
};
#endif

// Row stride in bytes, and the detector's view of a frame image (both builds).
inline int64_t image_stride(const FrameImage& img) {
#if RTDET_WITH_OPENCV
    return static_cast<int64_t>(img.step[0]);
#else
    return static_cast<int64_t>(img.cols) * 3;
#endif
}
inline detector::ImageView image_view(const FrameImage& img) {
    return detector::ImageView{img.data, img.cols, img.rows, image_stride(img)};
}

struct Frame {
    int stream = 0;                   // the stream's index (its position in the source list)
    const std::string* stream_name = nullptr;  // the stream's name (owned by the pipeline; never null in a run)
    int64_t index = 0;           // 0-based count of frames read from this stream (live: gaps are drops)
    double timestamp_ms = 0;     // source timestamp (video position; live: ms since the source opened)
    Clock::time_point captured;  // when the capture stage finished reading it (end-to-end start)
    FrameImage image;            // BGR; annotated in place by the output stage (OpenCV build)
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
