// One frame as it travels capture -> inference -> output. Frames come from a fixed pool and go back
// to it after output, so their buffers (image, name, detections) are reused from frame to frame.
#pragma once

#include <chrono>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "detector/detector.h"
#include "detector/types.h"

namespace app {

using Clock = std::chrono::steady_clock;

struct Frame {
    int64_t index = 0;           // 0-based count of frames read from the source (live: gaps are drops)
    double timestamp_ms = 0;     // source timestamp (video position; live: ms since the source opened)
    Clock::time_point captured;  // when the capture stage finished reading it (end-to-end start)
    cv::Mat image;               // BGR; annotated in place by the output stage
    std::string name;            // image sources: the file; empty for video
    std::vector<detector::Detection> detections;
    detector::StageTimes times;  // this frame's share of its batch's stage times
};

}  // namespace app
