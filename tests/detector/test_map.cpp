// mAP on hand-made cases whose answers are computed by hand from the COCO definition (map.h):
// 101 recall points, precision made non-increasing from the right, IoU thresholds .50:.05:.95.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "detector/eval/map.h"
#include "detector/eval/yolo_labels.h"
#include "engine/core/error.h"

using namespace detector;

namespace {

Detection det(float x1, float y1, float x2, float y2, float score, int cls = 0) {
    Detection d;
    d.box = {x1, y1, x2, y2};
    d.score = score;
    d.class_id = cls;
    return d;
}
GroundTruthBox gtbox(float x1, float y1, float x2, float y2, int cls = 0) { return {{x1, y1, x2, y2}, cls}; }

// A box that overlaps [0,0,10,10] with the given IoU: [0,0,10,10*iou] has IoU = iou exactly.
Detection det_with_iou(float iou_value, float score, int cls = 0) {
    return det(0, 0, 10, 10 * iou_value, score, cls);
}

}  // namespace

TEST(Map, RecallPointsAndThresholds) {
    EXPECT_DOUBLE_EQ(recall_point(0), 0.0);
    EXPECT_DOUBLE_EQ(recall_point(50), 0.5);
    EXPECT_DOUBLE_EQ(recall_point(100), 1.0);
    EXPECT_DOUBLE_EQ(iou_threshold(0), 0.5);
    EXPECT_NEAR(iou_threshold(5), 0.75, 1e-12);
    EXPECT_DOUBLE_EQ(iou_threshold(9), 0.95);
}

TEST(Map, PerfectDetectionsGiveOne) {
    MapEvaluator e;
    const std::vector<GroundTruthBox> gt = {gtbox(0, 0, 10, 10), gtbox(20, 20, 40, 30, 1)};
    const std::vector<Detection> d = {det(0, 0, 10, 10, .9f), det(20, 20, 40, 30, .8f, 1)};
    e.add_image(gt, d);
    e.add_image(gt, d);
    const MapResult r = e.compute();
    EXPECT_DOUBLE_EQ(r.map50, 1.0);
    EXPECT_DOUBLE_EQ(r.map50_95, 1.0);
    ASSERT_EQ(r.classes.size(), 2u);
    EXPECT_EQ(r.classes[0].num_gt, 2);
    EXPECT_EQ(r.num_gt, 4);
    EXPECT_EQ(r.num_det, 4);
    EXPECT_EQ(r.num_images, 2);
}

TEST(Map, TruePositiveThenFalsePositive) {
    // One box; TP at .9, FP at .8: recall reaches 1 at rank 1 with precision 1 -> AP 1.
    MapEvaluator e;
    const std::vector<GroundTruthBox> gt = {gtbox(0, 0, 10, 10)};
    e.add_image(gt, std::vector<Detection>{det(0, 0, 10, 10, .9f), det(50, 50, 60, 60, .8f)});
    EXPECT_DOUBLE_EQ(e.compute().map50, 1.0);
}

TEST(Map, FalsePositiveThenTruePositive) {
    // FP at .9, TP at .8: ranks (P, R) = (0, 0), (.5, 1); the interpolated precision is .5 at every
    // recall point (0 included) -> AP .5.
    MapEvaluator e;
    const std::vector<GroundTruthBox> gt = {gtbox(0, 0, 10, 10)};
    e.add_image(gt, std::vector<Detection>{det(50, 50, 60, 60, .9f), det(0, 0, 10, 10, .8f)});
    EXPECT_NEAR(e.compute().map50, 0.5, 1e-12);
}

TEST(Map, InterpolationOverRecallPoints) {
    // Two boxes; ranks TP, FP, TP: (P, R) = (1, .5), (.5, .5), (2/3, 1). Non-increasing from the right:
    // 1, 2/3, 2/3. Recall points 0...0.50 (51 of them) take rank 1 (P 1), 0.51...1 (50) take rank 3
    // (P 2/3): AP = (51 + 50 * 2/3) / 101.
    MapEvaluator e;
    const std::vector<GroundTruthBox> gt = {gtbox(0, 0, 10, 10), gtbox(100, 100, 110, 110)};
    e.add_image(gt, std::vector<Detection>{det(0, 0, 10, 10, .9f), det(50, 50, 60, 60, .8f),
                                           det(100, 100, 110, 110, .7f)});
    EXPECT_NEAR(e.compute().map50, (51 + 50 * 2.0 / 3.0) / 101, 1e-12);
}

TEST(Map, MissedGroundTruthCapsRecall) {
    // Two boxes, one found (first): recall .5 at precision 1 -> points 0...0.50 = 1, the rest 0:
    // AP = 51 / 101.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10), gtbox(100, 100, 110, 110)},
                std::vector<Detection>{det(0, 0, 10, 10, .9f)});
    const MapResult r = e.compute();
    EXPECT_NEAR(r.map50, 51.0 / 101, 1e-12);
    EXPECT_NEAR(r.classes[0].recall50, 0.5, 1e-12);
}

TEST(Map, TwoClassesAreAveraged) {
    // Class 0 perfect (AP 1); class 1: FP then TP (AP .5); class 2 only has a detection (no ground truth:
    // left out of the mean). mAP = .75.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10, 0), gtbox(20, 20, 30, 30, 1)},
                std::vector<Detection>{det(0, 0, 10, 10, .9f, 0), det(0, 0, 10, 10, .95f, 1),
                                       det(20, 20, 30, 30, .5f, 1), det(70, 70, 80, 80, .9f, 2)});
    const MapResult r = e.compute();
    ASSERT_EQ(r.classes.size(), 2u);
    EXPECT_NEAR(r.classes[0].ap50, 1.0, 1e-12);
    EXPECT_NEAR(r.classes[1].ap50, 0.5, 1e-12);
    EXPECT_NEAR(r.map50, 0.75, 1e-12);
    // A detection of the right box with the wrong class is a FP for its class, not a TP.
    EXPECT_EQ(r.classes[1].num_det, 2);
}

TEST(Map, IouThresholdBoundaryIsInclusive) {
    // IoU exactly .5 matches at .50 (COCO: iou >= t), not at .55 and above -> AP50 1, AP50:95 = 1/10.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10)},
                std::vector<Detection>{det_with_iou(0.5f, .9f)});
    const MapResult r = e.compute();
    EXPECT_DOUBLE_EQ(r.map50, 1.0);
    EXPECT_NEAR(r.map50_95, 0.1, 1e-12);
    EXPECT_DOUBLE_EQ(r.map75, 0.0);
}

TEST(Map, IouSteps) {
    // IoU .8 matches at .50 ... .80 (7 thresholds) -> AP50:95 = .7.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10)},
                std::vector<Detection>{det_with_iou(0.8f, .9f)});
    EXPECT_NEAR(e.compute().map50_95, 0.7, 1e-12);
}

TEST(Map, EmptyPredictions) {
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10)}, {});
    e.add_image({}, {});  // a background image
    const MapResult r = e.compute();
    EXPECT_DOUBLE_EQ(r.map50, 0.0);
    EXPECT_DOUBLE_EQ(r.map50_95, 0.0);
    EXPECT_EQ(r.num_images, 2);
    ASSERT_EQ(r.classes.size(), 1u);
    EXPECT_EQ(r.classes[0].num_det, 0);
}

TEST(Map, NothingAtAll) {
    MapEvaluator e;
    const MapResult r = e.compute();
    EXPECT_TRUE(r.classes.empty());
    EXPECT_DOUBLE_EQ(r.map50, 0.0);
}

TEST(Map, DuplicateDetectionIsFalsePositive) {
    // Two detections on one box: the higher-scored one takes it, the second is a FP -> AP 1 still
    // (recall 1 reached at rank 1), but with the duplicate first in score order for another box the FP
    // counts: box A det .9 (TP), box A dup .8 (FP), box B det .7 (TP) -> as TP, FP, TP above.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10), gtbox(100, 100, 110, 110)},
                std::vector<Detection>{det(0, 0, 10, 10, .9f), det(0, 0, 10, 9.9f, .8f),
                                       det(100, 100, 110, 110, .7f)});
    EXPECT_NEAR(e.compute().map50, (51 + 50 * 2.0 / 3.0) / 101, 1e-12);
}

TEST(Map, DetectionTakesTheBestUnmatchedBox) {
    // Boxes A (0,0)-(10,10) and B (0,0)-(10,6). Det 1 (.9) = (0,0)-(10,6.5): IoU .65 with A, 60/65 = .92
    // with B: it takes B. Det 2 (.8) = (0,4)-(10,10): IoU .6 with A, .2 with B: takes A. Both TP -> AP 1.
    // (Taking the first box above the threshold instead would give det 1 box A and leave det 2 a FP.)
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10), gtbox(0, 0, 10, 6)},
                std::vector<Detection>{det(0, 0, 10, 6.5f, .9f), det(0, 4, 10, 10, .8f)});
    EXPECT_DOUBLE_EQ(e.compute().map50, 1.0);
}

TEST(Map, ScoresAcrossImagesAreRankedTogether) {
    // Image 1: FP .9. Image 2: TP .8 -> same as FP then TP: AP .5.
    MapEvaluator e;
    e.add_image(std::vector<GroundTruthBox>{}, std::vector<Detection>{det(0, 0, 10, 10, .9f)});
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10)},
                std::vector<Detection>{det(0, 0, 10, 10, .8f)});
    EXPECT_NEAR(e.compute().map50, 0.5, 1e-12);
}

TEST(Map, MaxDetsPerImageDropsTheLowestScores) {
    // Max 1 detection per image and class: the TP at .5 is cut after the FP at .9 -> AP 0.
    MapEvaluator e(1);
    e.add_image(std::vector<GroundTruthBox>{gtbox(0, 0, 10, 10)},
                std::vector<Detection>{det(0, 0, 10, 10, .5f), det(50, 50, 60, 60, .9f)});
    EXPECT_DOUBLE_EQ(e.compute().map50, 0.0);
}

// ---- YOLO label files ----

namespace {
std::string write_temp(const std::string& name, const std::string& text) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("rtdet_test_map_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto p = dir / name;
    std::ofstream(p) << text;
    return p.string();
}
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const engine::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(YoloLabels, ReadsAndConvertsToPixels) {
    const auto p = write_temp("ok.txt", "0 0.5 0.5 0.5 0.25\n\n  17 0.1 0.2 0.1 0.2  \n");
    const auto labels = read_yolo_labels(p);
    ASSERT_EQ(labels.size(), 2u);
    EXPECT_EQ(labels[1].class_id, 17);
    EXPECT_EQ(labels[1].line, 3);
    const Box b = labels[0].to_pixels(200, 100);  // centre (100, 50), size 100 x 25
    EXPECT_FLOAT_EQ(b.x1, 50);
    EXPECT_FLOAT_EQ(b.y1, 37.5f);
    EXPECT_FLOAT_EQ(b.x2, 150);
    EXPECT_FLOAT_EQ(b.y2, 62.5f);
}

TEST(YoloLabels, MalformedLinesNameFileAndLine) {
    const auto few = write_temp("few.txt", "0 0.5 0.5 0.5 0.5\n1 0.5 0.5 0.5\n");
    {
        const std::string e = error_of([&] { read_yolo_labels(few); });
        EXPECT_NE(e.find(few + ":2:"), std::string::npos) << e;
        EXPECT_NE(e.find("5 fields"), std::string::npos) << e;
    }
    const auto nan = write_temp("nan.txt", "0 0.5 abc 0.5 0.5\n");
    EXPECT_NE(error_of([&] { read_yolo_labels(nan); }).find(nan + ":1: field 3 'abc'"), std::string::npos);
    const auto frac = write_temp("frac.txt", "1.5 0.5 0.5 0.5 0.5\n");
    EXPECT_NE(error_of([&] { read_yolo_labels(frac); }).find("not a non-negative integer"),
              std::string::npos);
    const auto big = write_temp("big.txt", "1 0.5 0.5 1.7 0.5\n");
    EXPECT_NE(error_of([&] { read_yolo_labels(big); }).find(big + ":1: w = 1.7 is outside [0, 1]"),
              std::string::npos);
    EXPECT_NE(error_of([&] { read_yolo_labels("/nonexistent/x.txt"); }).find("/nonexistent/x.txt"),
              std::string::npos);
}

TEST(YoloLabels, DatasetCountsBackgroundsAndOrphans) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("rtdet_test_ds_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "images");
    fs::create_directories(root / "labels");
    for (const char* n : {"a.jpg", "b.PNG", "c.jpg", "notes.txt"}) std::ofstream(root / "images" / n) << "x";
    std::ofstream(root / "labels" / "a.txt") << "0 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1\n";
    std::ofstream(root / "labels" / "b.txt") << "";
    std::ofstream(root / "labels" / "orphan.txt") << "0 0.5 0.5 0.1 0.1\n";
    const YoloDataset ds = scan_yolo_dataset((root / "images").string(), (root / "labels").string());
    ASSERT_EQ(ds.images.size(), 3u);  // notes.txt is not an image
    EXPECT_EQ(fs::path(ds.images[0].image).filename(), "a.jpg");
    EXPECT_EQ(ds.images[0].labels.size(), 2u);
    EXPECT_EQ(ds.num_background, 1);    // c.jpg
    EXPECT_EQ(ds.num_empty_labels, 1);  // b.PNG
    EXPECT_EQ(ds.num_boxes, 2);
    ASSERT_EQ(ds.orphan_labels.size(), 1u);
    EXPECT_EQ(fs::path(ds.orphan_labels[0]).filename(), "orphan.txt");
    EXPECT_NE(error_of([&] {
                  scan_yolo_dataset((root / "nope").string(), (root / "labels").string());
              }).find("images folder not found"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  scan_yolo_dataset((root / "images").string(), (root / "nope").string());
              }).find("labels folder not found"),
              std::string::npos);
    fs::remove_all(root);
}
