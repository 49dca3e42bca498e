// Detector value types: boxes in pixels of the original image, detections, YOLO head descriptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace detector {

// Axis-aligned box, corners in pixels (x2 >= x1, y2 >= y1 for a valid box).
struct Box {
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    float width() const { return x2 - x1; }
    float height() const { return y2 - y1; }
    float area() const { return (x2 > x1 && y2 > y1) ? (x2 - x1) * (y2 - y1) : 0.f; }
};

// Intersection over union; 0 when either box has zero area.
float iou(const Box& a, const Box& b);

struct Detection {
    Box box;
    int class_id = 0;
    float score = 0;       // objectness x class probability
    float objectness = 0;  // sigmoid(t_o)
};

// One darknet [yolo] layer: the head tensor is [N, num_anchors*(5+classes), gh, gw] (raw conv output).
struct YoloHead {
    std::string output;          // graph output name
    std::vector<float> anchors;  // w0,h0,w1,h1,... in input pixels, only this head's (masked) anchors
    int classes = 80;
    float scale_x_y = 1.f;
    int num_anchors() const { return static_cast<int>(anchors.size() / 2); }
};

// How a darknet .cfg is converted (ignored for other models): random weights from a seed instead of
// MODEL.weights (speed work), and an input size other than the cfg's (0: the cfg's).
struct ModelConversion {
    std::optional<uint32_t> random_weights_seed;
    int input_width = 0, input_height = 0;
};

}  // namespace detector
