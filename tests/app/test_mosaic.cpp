// The window's mosaic of many streams (app/mosaic.h): the grid for 1 to 17 streams, the compositor
// checked by pixels (each tile's colour, letterbox bars, label strips, "waiting", states), no
// reallocation per frame; and the WindowSink's mosaic on a virtual display (Xvfb), checked on a
// screenshot taken with ffmpeg's x11grab.
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "app/mosaic.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;

cv::Vec3b px(const cv::Mat& m, cv::Point p) { return m.at<cv::Vec3b>(p); }

cv::Vec3b bgr(const cv::Scalar& s) {
    return {static_cast<uchar>(s[0]), static_cast<uchar>(s[1]), static_cast<uchar>(s[2])};
}

bool near(const cv::Vec3b& a, const cv::Vec3b& b, int tol = 2) {
    for (int c = 0; c < 3; ++c)
        if (std::abs(a[c] - b[c]) > tol) return false;
    return true;
}

::testing::AssertionResult colour_is(const cv::Mat& m, cv::Point p, const cv::Vec3b& want, int tol = 2) {
    const cv::Vec3b got = px(m, p);
    if (near(got, want, tol)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "pixel " << p << " is " << got << ", want " << want;
}

// Pixels of `r` in `m` that differ from `background` by more than a few levels.
int pixels_unlike(const cv::Mat& m, const cv::Rect& r, const cv::Scalar& background) {
    cv::Mat same;
    cv::inRange(m(r), background - cv::Scalar::all(3), background + cv::Scalar::all(3), same);
    return r.area() - cv::countNonZero(same);
}

cv::Point centre(const cv::Rect& r) { return {r.x + r.width / 2, r.y + r.height / 2}; }

TEST(MosaicLayout, GridsForOneToSeventeenStreams) {
    struct Case {
        int n, cols, rows;
    };
    const cv::Size max(1920, 1080);
    for (const Case c : {Case{1, 1, 1}, Case{2, 2, 1}, Case{3, 2, 2}, Case{4, 2, 2}, Case{5, 3, 2},
                         Case{9, 3, 3}, Case{16, 4, 4}, Case{17, 5, 4}}) {
        SCOPED_TRACE("streams " + std::to_string(c.n));
        const app::MosaicLayout l = app::mosaic_layout(c.n, 16.0 / 9.0, max);
        EXPECT_EQ(l.cols, c.cols);
        EXPECT_EQ(l.rows, c.rows);
        EXPECT_LE(l.canvas.width, max.width);
        EXPECT_LE(l.canvas.height, max.height);
        ASSERT_EQ(l.cells.size(), static_cast<size_t>(c.n));
        ASSERT_EQ(l.strips.size(), static_cast<size_t>(c.n));
        ASSERT_EQ(l.images.size(), static_cast<size_t>(c.n));
        // Tiles of the aspect asked (to the pixel), filling the width or the height of the canvas.
        EXPECT_NEAR(l.image.width / 16.0 * 9.0, l.image.height, 1.0);
        EXPECT_TRUE(l.canvas.width > max.width - c.cols - 2 * app::kMosaicGap - 2 ||
                    l.canvas.height > max.height - 2 * c.rows - 2 * app::kMosaicGap)
            << "canvas " << l.canvas << " could be larger";
        const cv::Rect canvas(cv::Point(0, 0), l.canvas);
        EXPECT_EQ(l.status & canvas, l.status);
        EXPECT_EQ(l.status.width, l.canvas.width);
        for (int i = 0; i < c.n; ++i) {
            const cv::Rect cell = l.cells[static_cast<size_t>(i)];
            EXPECT_EQ(cell & canvas, cell) << "tile " << i << " " << cell << " outside " << l.canvas;
            EXPECT_EQ(l.strips[static_cast<size_t>(i)] & cell, l.strips[static_cast<size_t>(i)]);
            EXPECT_EQ(l.images[static_cast<size_t>(i)] & cell, l.images[static_cast<size_t>(i)]);
            EXPECT_EQ(l.images[static_cast<size_t>(i)].size(), l.image);
            EXPECT_EQ((l.strips[static_cast<size_t>(i)] & l.images[static_cast<size_t>(i)]).area(), 0);
            EXPECT_EQ((cell & l.status).area(), 0) << "tile " << i << " under the status bar";
            // Row-major order: tile i in row i / cols, column i % cols.
            EXPECT_EQ(cell.x, app::kMosaicGap + (i % l.cols) * (l.image.width + app::kMosaicGap));
            for (int j = 0; j < i; ++j)
                EXPECT_EQ((cell & l.cells[static_cast<size_t>(j)]).area(), 0)
                    << "tiles " << j << " and " << i;
        }
    }
}

TEST(MosaicLayout, KeepsTheAspectAndTheWidthLimit) {
    // 4:3 frames of 320 pixels, two streams: tiles 320x240 side by side.
    const app::MosaicLayout l = app::mosaic_layout(2, 4.0 / 3.0, {1920, 1080}, 320);
    EXPECT_EQ(l.image, cv::Size(320, 240));
    EXPECT_EQ(l.canvas.width, 2 * 320 + 3 * app::kMosaicGap);
    EXPECT_EQ(l.canvas.height, 240 + 2 * app::kMosaicStripHeight + 2 * app::kMosaicGap);
    // Tall frames (9:16) on a wide canvas: the height decides.
    const app::MosaicLayout tall = app::mosaic_layout(3, 9.0 / 16.0, {1920, 1080});
    EXPECT_LE(tall.canvas.height, 1080);
    EXPECT_NEAR(tall.image.height * 9.0 / 16.0, tall.image.width, 1.0);
    EXPECT_GT(tall.canvas.height, 1000);
}

// Five streams on a 1280x720 canvas; the first frame (320x180) fixes the tiles at 320x180.
class MosaicPixels : public ::testing::Test {
  protected:
    void SetUp() override {
        mosaic.set_streams({"red", "green", "blue 4:3", "wide", "never"});
        mosaic.update(0, solid(320, 180, red), "", 29.97);
        mosaic.update(1, solid(160, 90, green), "", 15);   // enlarged to fill
        mosaic.update(2, solid(240, 180, blue), "", 10);   // bars left and right
        mosaic.update(3, solid(400, 100, yellow), "", 5);  // bars above and below
    }
    static cv::Mat solid(int w, int h, const cv::Scalar& c) { return cv::Mat(h, w, CV_8UC3, c); }
    cv::Rect image(int i) const { return mosaic.layout().images[static_cast<size_t>(i)]; }
    cv::Rect strip(int i) const { return mosaic.layout().strips[static_cast<size_t>(i)]; }

    const cv::Scalar red{0, 0, 255}, green{0, 200, 0}, blue{255, 0, 0}, yellow{0, 220, 220};
    app::Mosaic mosaic{cv::Size(1280, 720)};
};

TEST_F(MosaicPixels, EachTileShowsItsStreamLetterboxed) {
    const cv::Mat& c = mosaic.canvas();
    ASSERT_EQ(mosaic.layout().cols, 3);
    ASSERT_EQ(mosaic.layout().rows, 2);
    ASSERT_EQ(mosaic.layout().image, cv::Size(320, 180));
    ASSERT_EQ(c.size(), mosaic.layout().canvas);
    EXPECT_TRUE(colour_is(c, centre(image(0)), bgr(red)));
    EXPECT_TRUE(colour_is(c, centre(image(1)), bgr(green)));
    EXPECT_TRUE(colour_is(c, centre(image(2)), bgr(blue)));
    EXPECT_TRUE(colour_is(c, centre(image(3)), bgr(yellow)));
    // Frames of the tile's aspect fill it, corner to corner.
    for (int i : {0, 1}) {
        const cv::Rect r = image(i);
        EXPECT_TRUE(colour_is(c, r.tl(), px(c, centre(r))));
        EXPECT_TRUE(colour_is(c, r.br() - cv::Point(1, 1), px(c, centre(r))));
    }
    // 240x180 in 320x180: 40-pixel bars left and right.
    const cv::Rect b = image(2);
    const cv::Vec3b bg = bgr(app::kMosaicBackground);
    EXPECT_TRUE(colour_is(c, {b.x + 20, b.y + 90}, bg));
    EXPECT_TRUE(colour_is(c, {b.x + 300, b.y + 90}, bg));
    EXPECT_TRUE(colour_is(c, {b.x + 42, b.y + 90}, bgr(blue)));
    EXPECT_TRUE(colour_is(c, {b.x + 277, b.y + 90}, bgr(blue)));
    // 400x100 scaled to 320x80 in 320x180: 50-pixel bars above and below.
    const cv::Rect w = image(3);
    EXPECT_TRUE(colour_is(c, {w.x + 160, w.y + 25}, bg));
    EXPECT_TRUE(colour_is(c, {w.x + 160, w.y + 155}, bg));
    EXPECT_TRUE(colour_is(c, {w.x + 160, w.y + 52}, bgr(yellow)));
    EXPECT_TRUE(colour_is(c, {w.x + 160, w.y + 127}, bgr(yellow)));
    // The gap between tiles and the unused sixth cell: the gap's colour.
    EXPECT_TRUE(colour_is(c, {image(0).br().x, centre(image(0)).y}, bgr(app::kMosaicGapColor)));
    const cv::Rect sixth(image(2).x, strip(4).y, 320, 180 + app::kMosaicStripHeight);
    EXPECT_EQ(pixels_unlike(c, sixth, app::kMosaicGapColor), 0);
}

TEST_F(MosaicPixels, LabelStripsHoldNameAndFps) {
    const cv::Mat& c = mosaic.canvas();
    for (int i = 0; i < 5; ++i) {
        const cv::Rect s = strip(i);
        EXPECT_TRUE(colour_is(c, s.tl(), bgr(app::kMosaicStrip))) << "strip " << i;
        // The name on the left, the FPS on the right (frames only): text pixels in both halves.
        const cv::Rect left(s.x, s.y, s.width / 2, s.height),
            right(s.x + s.width / 2, s.y, s.width / 2, s.height);
        EXPECT_GT(pixels_unlike(c, left, app::kMosaicStrip), 20) << "name of " << i;
        if (i < 4)
            EXPECT_GT(pixels_unlike(c, right, app::kMosaicStrip), 20) << "FPS of " << i;
        else
            EXPECT_EQ(pixels_unlike(c, right, app::kMosaicStrip), 0) << "no FPS before a frame";
    }
    // The FPS figure is green text; another figure draws other pixels.
    const cv::Mat before = c(strip(0)).clone();
    mosaic.update(0, cv::Mat(180, 320, CV_8UC3, red), "", 7.5);
    EXPECT_GT(cv::norm(before, c(strip(0)), cv::NORM_L1), 0);
    // A name too long for the strip stays inside it.
    mosaic.update(1, cv::Mat(90, 160, CV_8UC3, green),
                  "rtsp://a-very-long-camera-host-name.example.org:8554/streams/front-door", 15);
    const cv::Rect s1 = strip(1);
    const cv::Rect beside(s1.br().x, s1.y, app::kMosaicGap, s1.height);
    EXPECT_EQ(pixels_unlike(c, beside, app::kMosaicGapColor), 0);
}

TEST_F(MosaicPixels, AStreamWithoutFramesWaits) {
    const cv::Mat& c = mosaic.canvas();
    EXPECT_FALSE(mosaic.has_frame(4));
    const cv::Rect r = image(4);
    // "waiting", centred: text pixels in the middle band, background in the corners.
    EXPECT_TRUE(colour_is(c, r.tl() + cv::Point(3, 3), bgr(app::kMosaicBackground)));
    const cv::Rect middle(r.x, r.y + r.height / 3, r.width, r.height / 3);
    cv::Mat grey;
    cv::inRange(c(middle), cv::Scalar::all(120), cv::Scalar::all(255), grey);
    EXPECT_GT(cv::countNonZero(grey), 40) << "no 'waiting' text";
}

TEST_F(MosaicPixels, StatesShowOverTheLastFrameUntilCleared) {
    const cv::Mat& c = mosaic.canvas();
    const cv::Rect r = image(0);
    const cv::Point corner = r.tl() + cv::Point(4, 4);
    mosaic.set_state(0, "ended");
    EXPECT_EQ(mosaic.state(0), "ended");
    // The last frame dimmed, the word on a black box in the middle.
    EXPECT_TRUE(colour_is(c, corner, {0, 0, 102}));
    EXPECT_GT(pixels_unlike(c, r, cv::Scalar(0, 0, 102)), 500);
    // Frames keep coming under the state (in flight when the stream ended).
    mosaic.update(0, cv::Mat(180, 320, CV_8UC3, cv::Scalar(255, 255, 255)), "", 1);
    EXPECT_TRUE(colour_is(c, corner, {102, 102, 102}));
    mosaic.set_state(0, "");
    EXPECT_TRUE(colour_is(c, corner, {255, 255, 255}));
    EXPECT_TRUE(colour_is(c, centre(r), {255, 255, 255}));
    // A stream that failed before its first frame: "failed" in red instead of "waiting".
    mosaic.set_state(4, "failed");
    cv::Mat reddish;
    cv::inRange(c(image(4)), cv::Scalar(0, 0, 150), cv::Scalar(140, 140, 255), reddish);
    EXPECT_GT(cv::countNonZero(reddish), 30);
    mosaic.set_state(2, "reconnecting");
    cv::Mat amber;
    cv::inRange(c(image(2)), cv::Scalar(0, 120, 180), cv::Scalar(60, 230, 255), amber);
    EXPECT_GT(cv::countNonZero(amber), 30);
}

TEST_F(MosaicPixels, UpdatesDrawInPlace) {
    const uchar* data = mosaic.canvas().data;
    const cv::Size size = mosaic.canvas().size();
    const std::vector<cv::Mat> frames = {
        cv::Mat(180, 320, CV_8UC3, red),  cv::Mat(90, 160, CV_8UC3, green),
        cv::Mat(180, 240, CV_8UC3, blue), cv::Mat(100, 400, CV_8UC3, yellow),
        cv::Mat(720, 1280, CV_8UC3, red), cv::Mat(100, 100, CV_8UC1, cv::Scalar(200))};
    for (int i = 0; i < 100; ++i) {
        const int s = i % 5;
        mosaic.update(s, frames[static_cast<size_t>(i) % frames.size()], i % 7 == 0 ? "renamed" : "",
                      i * 0.5);
        if (i % 10 == 0) mosaic.set_state(s, i % 20 == 0 ? "reconnecting" : "");
        mosaic.set_status("4 streams  120.0 FPS");
        ASSERT_EQ(mosaic.canvas().data, data) << "update " << i << " reallocated the canvas";
    }
    EXPECT_EQ(mosaic.canvas().size(), size);
    // The gray frame came out gray.
    mosaic.set_state(0, "");
    mosaic.update(0, frames[5], "", 1);
    EXPECT_TRUE(colour_is(mosaic.canvas(), centre(image(0)), {200, 200, 200}));
}

TEST(Mosaic, OneStreamFillsOneTile) {
    app::Mosaic m({1920, 1080});
    m.set_streams({"only"});
    m.update(0, cv::Mat(432, 768, CV_8UC3, cv::Scalar(10, 20, 30)), "", 25);
    EXPECT_EQ(m.layout().image, cv::Size(768, 432));  // its own size: never enlarged past the first frame
    EXPECT_TRUE(colour_is(m.canvas(), centre(m.layout().images[0]), {10, 20, 30}));
}

// The WindowSink with four streams, on a virtual display: tests/app/helpers/mosaic_window_demo.cpp
// writes solid-colour frames (red, green, blue 4:3, yellow) with names, then marks the fourth stream
// "ended"; the screen is grabbed with ffmpeg's x11grab.
TEST(MosaicWindow, ShowsFourTilesUnderXvfb) {
    if (!app_test::have_program("xvfb-run") || !app_test::have_program("ffmpeg"))
        RTDET_SKIP_OR_FAIL("xvfb-run or ffmpeg not installed (scripts/setup.sh installs them)");
    const fs::path dir = app_test::scratch_dir("mosaic_window");
    const std::string script =
        "cd '" + dir.string() + "'\n'" RTDET_MOSAIC_WINDOW_DEMO "' . > demo.out 2> demo.err &\n" +
        "pid=$!\n"
        "i=0\n"
        "while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null && [ ! -e ready ]; do\n"
        "  sleep 0.1; i=$((i+1))\n"
        "done\n"
        "sleep 1\n"
        "ffmpeg -hide_banner -loglevel error -f x11grab -draw_mouse 0 -video_size 1280x720 -i \"$DISPLAY\" "
        "-frames:v 1 -y shot.png\n"
        "touch stop\n"
        "wait $pid\n"
        "echo \"demo exit $?\"\n";
    std::ofstream(dir / "window.sh") << script;
    std::string out, err;
    const int code = app_test::run_to_end(
        {"xvfb-run", "-a", "-s", "-screen 0 1280x720x24", "sh", (dir / "window.sh").string()}, dir, &out,
        &err, 120);
    ASSERT_EQ(code, 0) << out << err << app_test::read_text(dir / "demo.err");
    EXPECT_NE(out.find("demo exit 0"), std::string::npos) << out << app_test::read_text(dir / "demo.err");

    const cv::Mat shot = cv::imread((dir / "shot.png").string());
    ASSERT_FALSE(shot.empty()) << "no screenshot";
    ASSERT_EQ(shot.size(), cv::Size(1280, 720));
    // The window: the non-black part of the screen (Xvfb's root is black; the mosaic's background is
    // not) is the mosaic, 2x2 tiles of 320x180 (the first frame's size).
    const app::MosaicLayout l = app::mosaic_layout(4, 16.0 / 9.0, {1280, 720}, 320);
    cv::Mat gray;
    cv::cvtColor(shot, gray, cv::COLOR_BGR2GRAY);
    const cv::Rect drawn = cv::boundingRect(gray > 8);
    ASSERT_EQ(drawn.size(), l.canvas) << "window region " << drawn;
    const cv::Mat win = shot(drawn);
    const cv::Vec3b colours[4] = {{0, 0, 255}, {0, 200, 0}, {255, 0, 0}, {0, 220, 220}};
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(colour_is(win, centre(l.images[static_cast<size_t>(i)]), colours[i], 4)) << "tile " << i;
    // Names and FPS: white and green text in each label strip.
    for (int i = 0; i < 4; ++i)
        EXPECT_GT(pixels_unlike(win, l.strips[static_cast<size_t>(i)], app::kMosaicStrip), 60)
            << "label " << i;
    // The fourth stream was marked "ended" (from another thread): its last frame dimmed, the word in
    // white on black in the middle.
    const cv::Rect ended = l.images[3];
    EXPECT_TRUE(colour_is(win, ended.tl() + cv::Point(20, 20), {0, 88, 88}, 4));
    cv::Mat white;
    cv::inRange(win(ended), cv::Scalar::all(190), cv::Scalar::all(255), white);
    EXPECT_GT(cv::countNonZero(white), 40) << "'ended' text";
    // Stream 2 is 4:3: bars left and right of it.
    EXPECT_TRUE(colour_is(win, l.images[2].tl() + cv::Point(10, 90), bgr(app::kMosaicBackground), 4));
    // The status bar with the run's totals.
    EXPECT_GT(pixels_unlike(win, l.status, app::kMosaicStrip), 60) << "status bar";
    // What the demo's window held at the end (WindowSink::canvas()), same layout.
    const cv::Mat canvas = cv::imread((dir / "canvas.png").string());
    ASSERT_EQ(canvas.size(), l.canvas);
    EXPECT_TRUE(colour_is(canvas, centre(l.images[0]), colours[0]));
}

}  // namespace
