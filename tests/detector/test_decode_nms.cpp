// Hand-computed cases for YOLO decode, box mapping, preprocessing and NMS.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "detector/nms.h"
#include "detector/preprocess.h"
#include "detector/yolo_decode.h"

using namespace detector;

namespace {
// One anchor (16, 32), one class, 2x2 grid, every cell "off" (objectness logit -10) except (row 1, col 0).
std::vector<float> one_box_head(float tx, float ty, float tw, float th, float to, float tc) {
    const int plane = 4;
    std::vector<float> h(6 * plane, 0.f);
    for (int k = 0; k < plane; ++k) h[4 * plane + k] = -10.f;
    const int cell = 1 * 2 + 0;
    h[0 * plane + cell] = tx;
    h[1 * plane + cell] = ty;
    h[2 * plane + cell] = tw;
    h[3 * plane + cell] = th;
    h[4 * plane + cell] = to;
    h[5 * plane + cell] = tc;
    return h;
}
YoloHead head_desc(float scale_x_y = 1.f) {
    YoloHead d;
    d.anchors = {16.f, 32.f};
    d.classes = 1;
    d.scale_x_y = scale_x_y;
    return d;
}
}  // namespace

TEST(YoloDecode, HandComputedBox) {
    // sigmoid(0) = .5 -> centre (0 + .5)/2 * 64 = 16 px, (1 + .5)/2 * 64 = 48 px;
    // w = e^0 * 16 = 16 px, h = e^ln2 * 32 = 64 px -> (8, 16)-(24, 80), clipped to the 64x64 image.
    const auto h = one_box_head(0, 0, 0, std::log(2.f), 10.f, 0.f);
    const auto t = make_transform(ResizePolicy::Stretch, 64, 64, 64, 64);
    std::vector<Detection> out;
    decode_yolo_head(h.data(), 2, 2, head_desc(), 64, 64, 0.25f, t, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NEAR(out[0].box.x1, 8.f, 1e-4);
    EXPECT_NEAR(out[0].box.y1, 16.f, 1e-4);
    EXPECT_NEAR(out[0].box.x2, 24.f, 1e-4);
    EXPECT_NEAR(out[0].box.y2, 64.f, 1e-4);
    const float obj = 1.f / (1.f + std::exp(-10.f));
    EXPECT_NEAR(out[0].objectness, obj, 1e-6);
    EXPECT_NEAR(out[0].score, obj * 0.5f, 1e-6);
    EXPECT_EQ(out[0].class_id, 0);
}

TEST(YoloDecode, ThresholdsObjectnessAndClassScore) {
    std::vector<Detection> out;
    const auto t = make_transform(ResizePolicy::Stretch, 64, 64, 64, 64);
    // objectness .5 (logit 0) is not > .5
    auto h = one_box_head(0, 0, 0, 0, 0.f, 10.f);
    decode_yolo_head(h.data(), 2, 2, head_desc(), 64, 64, 0.5f, t, out);
    EXPECT_TRUE(out.empty());
    // objectness ~1 but class prob sigmoid(-3) = .047 -> score below .25
    h = one_box_head(0, 0, 0, 0, 10.f, -3.f);
    decode_yolo_head(h.data(), 2, 2, head_desc(), 64, 64, 0.25f, t, out);
    EXPECT_TRUE(out.empty());
}

TEST(YoloDecode, ScaleXY) {
    // tx large: sigmoid = 1. s=1: bx = (0+1)/2 -> 32 px. s=2: bx = (0 + 2 - .5)/2 -> 48 px.
    const auto t = make_transform(ResizePolicy::Stretch, 64, 64, 64, 64);
    const auto h = one_box_head(100.f, 0, 0, 0, 10.f, 10.f);
    std::vector<Detection> a, b;
    decode_yolo_head(h.data(), 2, 2, head_desc(1.f), 64, 64, 0.25f, t, a);
    decode_yolo_head(h.data(), 2, 2, head_desc(2.f), 64, 64, 0.25f, t, b);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_NEAR((a[0].box.x1 + a[0].box.x2) / 2, 32.f, 1e-4);
    EXPECT_NEAR((b[0].box.x1 + b[0].box.x2) / 2, 48.f, 1e-4);
}

TEST(InputTransform, LetterboxMapsBack) {
    // 200x100 into 64x64: scale .32, content 64x32 at y offset 16.
    const auto t = make_transform(ResizePolicy::Letterbox, 200, 100, 64, 64);
    EXPECT_FLOAT_EQ(t.pad_x, 0.f);
    EXPECT_FLOAT_EQ(t.pad_y, 16.f);
    const Box b = t.to_image({0, 16, 64, 48});
    EXPECT_NEAR(b.x1, 0.f, 1e-4);
    EXPECT_NEAR(b.y1, 0.f, 1e-4);
    EXPECT_NEAR(b.x2, 200.f, 1e-4);
    EXPECT_NEAR(b.y2, 100.f, 1e-4);
    const Box c = t.to_image({32, 32, 32, 32});
    EXPECT_NEAR(c.x1, 100.f, 1e-4);
    EXPECT_NEAR(c.y1, 50.f, 1e-4);
    // A box in the padding clips to the image edge (zero height).
    const Box d = t.to_image({10, 0, 20, 10});
    EXPECT_FLOAT_EQ(d.y1, 0.f);
    EXPECT_FLOAT_EQ(d.y2, 0.f);
}

TEST(InputTransform, StretchMapsBack) {
    const auto t = make_transform(ResizePolicy::Darknet, 640, 480, 320, 320);
    const Box b = t.to_image({160, 160, 320, 320});
    EXPECT_NEAR(b.x1, 320.f, 1e-3);
    EXPECT_NEAR(b.y1, 240.f, 1e-3);
    EXPECT_NEAR(b.x2, 640.f, 1e-3);
    EXPECT_NEAR(b.y2, 480.f, 1e-3);
}

TEST(Preprocess, DarknetCornerAlignedResize) {
    // 2x2 BGR image -> 3x3: corners copy the source, the centre is the mean of the four pixels, and
    // the planes come out R, G, B.
    const uint8_t px[2][2][3] = {{{0, 10, 20}, {100, 110, 120}}, {{200, 210, 220}, {50, 60, 70}}};
    ImageView v{&px[0][0][0], 2, 2, 6};
    std::vector<float> out(27), scratch;
    preprocess(v, ResizePolicy::Darknet, 3, 3, 0.5f, out.data(), scratch);
    const auto at = [&](int plane, int y, int x) {
        return out[static_cast<size_t>(plane * 9 + y * 3 + x)] * 255.f;
    };
    EXPECT_NEAR(at(0, 0, 0), 20.f, 1e-3);   // R of (0,0)
    EXPECT_NEAR(at(2, 0, 0), 0.f, 1e-3);    // B of (0,0)
    EXPECT_NEAR(at(2, 0, 2), 100.f, 1e-3);  // B of (0,1)
    EXPECT_NEAR(at(2, 2, 0), 200.f, 1e-3);
    EXPECT_NEAR(at(2, 1, 1), (0 + 100 + 200 + 50) / 4.f, 1e-3);
    EXPECT_NEAR(at(1, 0, 1), (10 + 110) / 2.f, 1e-3);
}

TEST(Preprocess, StretchMatchesOpenCvInterLinear) {
    cv::Mat img(37, 53, CV_8UC3);
    cv::randu(img, 0, 256);
    cv::Mat ref;
    cv::resize(img, ref, cv::Size(64, 48), 0, 0, cv::INTER_LINEAR);
    std::vector<float> out(3 * 64 * 48), scratch;
    preprocess({img.data, img.cols, img.rows, static_cast<int64_t>(img.step)}, ResizePolicy::Stretch, 64, 48,
               0.f, out.data(), scratch);
    double max_err = 0;
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x)
            for (int k = 0; k < 3; ++k) {
                const double ours = out[static_cast<size_t>(k * 64 * 48 + y * 64 + x)] * 255.0;
                const double theirs = ref.at<cv::Vec3b>(y, x)[2 - k];
                max_err = std::max(max_err, std::abs(ours - theirs));
            }
    EXPECT_LE(max_err, 1.0) << "OpenCV rounds to 8 bits; we keep floats";
}

TEST(Preprocess, LetterboxPadsWithValue) {
    cv::Mat img(10, 20, CV_8UC3, cv::Scalar(255, 255, 255));
    std::vector<float> out(3 * 16 * 16), scratch;
    const auto t = preprocess({img.data, img.cols, img.rows, static_cast<int64_t>(img.step)},
                              ResizePolicy::Letterbox, 16, 16, 0.25f, out.data(), scratch);
    EXPECT_FLOAT_EQ(t.pad_y, 4.f);
    EXPECT_FLOAT_EQ(out[0], 0.25f);             // top padding row
    EXPECT_FLOAT_EQ(out[8 * 16 + 8], 1.f);      // inside the image
    EXPECT_FLOAT_EQ(out[15 * 16 + 15], 0.25f);  // bottom padding
}

namespace {
Detection det(float x1, float y1, float x2, float y2, float score, int cls = 0) {
    return {{x1, y1, x2, y2}, cls, score, score};
}
}  // namespace

TEST(Iou, HandComputed) {
    EXPECT_NEAR(iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.f / 150.f, 1e-6);
    EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {10, 0, 20, 10}), 0.f);  // touching
    EXPECT_FLOAT_EQ(iou({0, 0, 0, 10}, {0, 0, 10, 10}), 0.f);    // zero area
    EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.f);
}

TEST(Nms, Empty) {
    std::vector<Detection> d;
    nms(d, {});
    EXPECT_TRUE(d.empty());
}

TEST(Nms, AllOverlappingKeepsBest) {
    std::vector<Detection> d = {det(0, 0, 10, 10, .5f), det(1, 1, 10, 10, .9f), det(0, 0, 9, 9, .7f)};
    nms(d, {});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_FLOAT_EQ(d[0].score, .9f);
}

TEST(Nms, PerClassVersusAgnostic) {
    std::vector<Detection> d = {det(0, 0, 10, 10, .9f, 0), det(0, 0, 10, 10, .8f, 1)};
    auto a = d;
    nms(a, {});
    EXPECT_EQ(a.size(), 2u);
    NmsOptions agn;
    agn.class_agnostic = true;
    nms(d, agn);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].class_id, 0);
}

TEST(Nms, ThresholdIsStrict) {
    // IoU exactly 1/3: kept at threshold 1/3 (suppression needs IoU > threshold), dropped below it.
    std::vector<Detection> d = {det(0, 0, 10, 10, .9f), det(5, 0, 15, 10, .8f)};
    auto a = d;
    NmsOptions o;
    o.iou_threshold = 50.f / 150.f;
    nms(a, o);
    EXPECT_EQ(a.size(), 2u);
    o.iou_threshold = 0.3f;
    nms(d, o);
    EXPECT_EQ(d.size(), 1u);
}

TEST(Nms, TiesAreDeterministic) {
    // Equal scores: class id first, then x1 ascending, regardless of input order.
    std::vector<Detection> d = {det(50, 0, 60, 10, .5f, 1), det(20, 0, 30, 10, .5f, 0),
                                det(0, 0, 10, 10, .5f, 1)};
    auto e = std::vector<Detection>{d[2], d[0], d[1]};
    nms(d, {});
    nms(e, {});
    ASSERT_EQ(d.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(d[i].class_id, e[i].class_id);
        EXPECT_FLOAT_EQ(d[i].box.x1, e[i].box.x1);
    }
    EXPECT_EQ(d[0].class_id, 0);
    EXPECT_FLOAT_EQ(d[1].box.x1, 0.f);
    EXPECT_FLOAT_EQ(d[2].box.x1, 50.f);
}

TEST(Nms, DropsZeroAreaAndCapsCount) {
    std::vector<Detection> d = {det(0, 0, 0, 10, .99f), det(5, 5, 5, 5, .98f)};
    for (int i = 0; i < 10; ++i) d.push_back(det(20.f * i, 0, 20.f * i + 10, 10, .5f + .01f * i));
    NmsOptions o;
    o.max_detections = 4;
    nms(d, o);
    ASSERT_EQ(d.size(), 4u);
    EXPECT_FLOAT_EQ(d[0].score, .59f);
    for (const auto& x : d) EXPECT_GT(x.box.area(), 0.f);
}
