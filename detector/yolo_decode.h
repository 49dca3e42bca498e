// YOLO head decoding with darknet [yolo] semantics.
//
// A head tensor for one image is [A*(5+C), gh, gw] (A anchors, C classes); for anchor a at cell
// (row i, col j) the channels a*(5+C) + {0:tx, 1:ty, 2:tw, 3:th, 4:to, 5..: class logits} give
//   bx = (j + sigmoid(tx)*s - (s-1)/2) / gw      by = (i + sigmoid(ty)*s - (s-1)/2) / gh   (s = scale_x_y)
//   bw = exp(tw) * anchor_w / net_w              bh = exp(th) * anchor_h / net_h
//   objectness = sigmoid(to); a box is kept when objectness > threshold, and yields one detection per
//   class with score = objectness * sigmoid(class logit) > threshold (darknet's get_yolo_detections).
// Box centre/size are relative to the network input; the InputTransform maps them to image pixels
// (clipped to the image).
#pragma once

#include <vector>

#include "detector/preprocess.h"
#include "detector/types.h"

namespace detector {

// Appends the detections of one head of one image to `out` (no allocation once `out` has capacity).
void decode_yolo_head(const float* head, int gh, int gw, const YoloHead& desc, int net_w, int net_h,
                      float conf_threshold, const InputTransform& transform, std::vector<Detection>& out);

}  // namespace detector
