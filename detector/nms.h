// Non-maximum suppression, greedy, darknet's rule: a box is suppressed when its IoU with a kept box
// of higher score (same class, unless class-agnostic) is > iou_threshold.
// Order is deterministic: score descending, ties broken by class id, then x1, y1, x2, y2 ascending,
// then input order. Zero-area boxes (e.g. boxes entirely outside the image, clipped to nothing) are
// dropped first. At most max_detections are returned (0: no limit).
#pragma once

#include <vector>

#include "detector/types.h"

namespace detector {

struct NmsOptions {
    float iou_threshold = 0.45f;
    bool class_agnostic = false;
    int max_detections = 300;
};

// Filters `dets` in place.
void nms(std::vector<Detection>& dets, const NmsOptions& options);

}  // namespace detector
