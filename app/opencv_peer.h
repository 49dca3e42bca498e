// The OpenCV DNN peer for speed comparisons (`rtdet run --peer opencv`): the same pipeline, the same
// preprocessing (detector/preprocess.h), YOLO decode and NMS, with cv::dnn running the network in
// place of rtdet's engine. The model is the ONNX file rtdet converts (its metadata gives the heads).
// FP32 only, batch 1 (the converted ONNX has a fixed batch of 1).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/pipeline.h"

namespace app {

struct PeerOptions {
    std::string onnx;  // model file, with rtdet.yolo.heads metadata
    int threads = 0;   // cv::setNumThreads (0: OpenCV's default, all cores)
    std::optional<detector::ResizePolicy> resize;
    float pad_value = 0.5f;
    float conf_threshold = 0.25f;
    detector::NmsOptions nms;
    std::vector<std::string> class_names;  // empty: the defaults for the model's class count
};

std::unique_ptr<FrameDetector> make_opencv_peer(const PeerOptions& options);

}  // namespace app
