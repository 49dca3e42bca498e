// The pieces `rtdet detect` / `rtdet eval` draw and print with: class colours, label text colour,
// detection drawing, the PR plot, and the progress bar's text.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "app/draw.h"
#include "app/progress.h"

namespace {

double distance(const cv::Scalar& a, const cv::Scalar& b) {
    return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                     (a[2] - b[2]) * (a[2] - b[2]));
}

}  // namespace

TEST(DrawColors, NeighbouringClassesDifferClearly) {
    for (int c = 0; c < 80; ++c) {
        EXPECT_GT(distance(app::class_color(c), app::class_color(c + 1)), 60.0) << c;
        EXPECT_EQ(app::class_color(c), app::class_color(c));  // stable
    }
}

TEST(DrawColors, TextIsBlackOnLightAndWhiteOnDark) {
    EXPECT_EQ(app::text_color_on(cv::Scalar(255, 255, 255)), cv::Scalar(0, 0, 0));
    EXPECT_EQ(app::text_color_on(cv::Scalar(0, 255, 255)), cv::Scalar(0, 0, 0));  // yellow
    EXPECT_EQ(app::text_color_on(cv::Scalar(0, 0, 0)), cv::Scalar(255, 255, 255));
    EXPECT_EQ(app::text_color_on(cv::Scalar(128, 0, 0)), cv::Scalar(255, 255, 255));  // dark blue
}

TEST(DrawDetections, BoxInClassColourAndLabelAbove) {
    cv::Mat img(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
    detector::Detection d;
    d.box = {100, 80, 200, 180};
    d.class_id = 3;
    d.score = 0.93f;
    app::draw_detections(img, std::vector<detector::Detection>{d}, {"a", "b", "c", "dog"});
    const cv::Scalar c = app::class_color(3);
    const cv::Vec3b bottom_edge = img.at<cv::Vec3b>(180, 150);  // middle of the bottom side
    EXPECT_LT(distance(cv::Scalar(bottom_edge[0], bottom_edge[1], bottom_edge[2]), c), 40.0);
    // The label background (class colour) sits just above the box's top-left corner.
    const cv::Vec3b above = img.at<cv::Vec3b>(78, 101);
    EXPECT_LT(distance(cv::Scalar(above[0], above[1], above[2]), c), 40.0);
    // Inside the box stays untouched.
    EXPECT_EQ(img.at<cv::Vec3b>(130, 150), cv::Vec3b(0, 0, 0));
    // Nothing to draw, nothing drawn; an empty image is left alone.
    cv::Mat blank(50, 50, CV_8UC3, cv::Scalar(7, 7, 7));
    app::draw_detections(blank, {}, {});
    EXPECT_EQ(cv::countNonZero(cv::Mat(blank != 7).reshape(1)), 0);
    cv::Mat empty;
    app::draw_detections(empty, std::vector<detector::Detection>{d}, {});
    EXPECT_TRUE(empty.empty());
}

TEST(DrawPrPlot, CurveGoesThroughItsPoints) {
    // One curve at precision .8 up to recall .5. Plot area: left 80, right 30, top 60, bottom 70 ->
    // 790 x 570 px, so precision .8 is row 60 + .2 * 570 = 174 (a grey grid line without the curve).
    app::PrCurve c{"x", {0, 0.25, 0.5}, {0.8, 0.8, 0.8}, true};
    const cv::Mat img = app::draw_pr_plot({c}, "t", 900, 700);
    ASSERT_EQ(img.size(), cv::Size(900, 700));
    const cv::Point on(80 + static_cast<int>(0.25 * 790), 174);
    const cv::Point off(80 + static_cast<int>(0.75 * 790), 174);
    EXPECT_LT(img.at<cv::Vec3b>(on)[0], 60);    // the black (emphasised) curve
    EXPECT_GT(img.at<cv::Vec3b>(off)[0], 200);  // past recall .5: only the light grid line
}

TEST(ProgressBar, RendersBarCountRateAndEta) {
    EXPECT_EQ(app::ProgressBar::render("eval", 5, 10, 2.0, 10),
              "eval [#####-----]  50% 5/10  2.5 it/s  ETA 2s");
    EXPECT_EQ(app::ProgressBar::render("eval", 10, 10, 4.0, 4), "eval [####] 100% 10/10  2.5 it/s");
    EXPECT_EQ(app::ProgressBar::render("run", 7, 0, 0.0, 10), "run 7  0.0 it/s");
}
