// Mean average precision, COCO style (pycocotools COCOeval semantics for bounding boxes, no crowd
// regions, one area range):
//   - per image and class, detections sorted by score (stable) and cut to max_dets_per_image;
//   - greedy matching at each IoU threshold t in .50:.05:.95: in score order, a detection takes the
//     unmatched ground-truth box of its class with the highest IoU >= t (a TP), else it is a FP;
//   - per class, all images' detections in one stable score order (ties: image order, then the order
//     within the image); precision made non-increasing from the right; AP = the mean over the 101 recall
//     points 0, .01, ..., 1 of the precision at the first rank reaching that recall (0 when never
//     reached);
//   - mAP = mean AP over the classes that have ground truth (classes without are left out, as in COCO).
#pragma once

#include <array>
#include <span>
#include <vector>

#include "detector/types.h"

namespace detector {

inline constexpr int kNumIouThresholds = 10;  // .50, .55, ..., .95
inline constexpr int kNumRecallPoints = 101;  // 0, .01, ..., 1

// IoU threshold i (0 -> .50, 9 -> .95) and recall point i (0 -> 0, 100 -> 1), computed as numpy does.
double iou_threshold(int i);
double recall_point(int i);

struct GroundTruthBox {
    Box box;  // pixels
    int class_id = 0;
};

struct ClassAp {
    int class_id = 0;
    int num_gt = 0;
    int num_det = 0;      // detections of this class kept for evaluation
    double ap50 = 0;      // AP at IoU .50
    double ap75 = 0;      // AP at IoU .75
    double ap50_95 = 0;   // mean AP over the ten thresholds
    double recall50 = 0;  // highest recall at IoU .50 (all detections)
    std::array<double, kNumRecallPoints>
        precision50{};  // interpolated precision at each recall point, IoU .50
};

struct MapResult {
    double map50 = 0, map75 = 0, map50_95 = 0;
    std::vector<ClassAp> classes;                             // classes with ground truth, by class id
    std::array<double, kNumRecallPoints> mean_precision50{};  // mean over `classes` of precision50
    int num_images = 0;
    int num_gt = 0;
    int num_det = 0;
};

class MapEvaluator {
  public:
    explicit MapEvaluator(int max_dets_per_image = 100);

    // One image: its ground truth and detections (any order; classes are any non-negative ids).
    void add_image(std::span<const GroundTruthBox> gt, std::span<const Detection> dets);
    // Computes the result from everything added so far (add_image may continue afterwards).
    MapResult compute() const;

  private:
    struct Record {
        float score = 0;
        uint16_t tp = 0;  // bit t: a true positive at IoU threshold t
    };
    void ensure_class(int c);

    int max_dets_;
    int num_images_ = 0;
    std::vector<int> num_gt_;                   // per class
    std::vector<std::vector<Record>> records_;  // per class, in image order
    // Per-image scratch, kept to avoid reallocating.
    std::vector<size_t> order_;
    std::vector<uint8_t> matched_;
};

}  // namespace detector
