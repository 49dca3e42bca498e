// The I/O seam (app/media.h) in the OpenCV build: frames are app::FrameImage read and written through
// cv::Mat headers without extra copies or reallocation (imdecode into the frame's buffer, VideoCapture
// retrieving into it), the two image decoders agree on the same JPEGs, and drawing lands in the frame.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "app/capture.h"
#include "app/image_io.h"
#include "app/media.h"
#include "app/media_opencv.h"
#include "tests/app/app_test_util.h"

namespace {

cv::Mat card(int w, int h, int seed) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 4 + seed) & 0xff),
                                              static_cast<uchar>((y * 3 + seed) & 0xff),
                                              static_cast<uchar>(((x + y) * 2) & 0xff));
    return m;
}

std::vector<uint8_t> encode(const cv::Mat& m, const char* ext) {
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(ext, m, bytes));
    return bytes;
}

TEST(Media, OpenCvBuildHasEverything) {
    const app::media::Features& f = app::media::features();
    EXPECT_TRUE(f.any_image_format && f.video && f.drawing && f.window && f.opencv_peer);
}

TEST(Media, AsMatIsAHeaderOverTheFrame) {
    app::FrameImage img;
    EXPECT_TRUE(app::as_mat(img).empty());
    img.create(5, 3);
    const cv::Mat m = app::as_mat(img);
    EXPECT_EQ(m.data, img.data);
    EXPECT_EQ(m.cols, 5);
    EXPECT_EQ(m.rows, 3);
    EXPECT_EQ(m.type(), CV_8UC3);
    EXPECT_EQ(static_cast<int64_t>(m.step[0]), app::image_stride(img));
    // copy_to_frame: BGR as is, gray expanded, into the same buffer when it is large enough.
    const uint8_t* buffer = img.data;
    app::copy_to_frame(cv::Mat(3, 5, CV_8UC1, cv::Scalar(77)), img);
    EXPECT_EQ(img.data, buffer);
    EXPECT_EQ(cv::norm(app::as_mat(img), cv::Mat(3, 5, CV_8UC3, cv::Scalar::all(77)), cv::NORM_INF), 0.0);
}

// cv::imdecode writes straight into the frame's buffer (no allocation once it is large enough), for
// PNG and JPEG, colour and grey; pixels equal OpenCV's own decode; a failure empties the frame.
TEST(Media, DecodeImageReusesTheFrameBuffer) {
    app::FrameImage img;
    std::string why;
    const cv::Mat a = card(64, 48, 1), b = card(64, 48, 99), small = card(20, 10, 5);
    ASSERT_TRUE(app::media::decode_image(encode(a, ".png"), img, why)) << why;
    EXPECT_EQ(cv::norm(app::as_mat(img), a, cv::NORM_INF), 0.0);
    const uint8_t* buffer = img.data;
    ASSERT_TRUE(app::media::decode_image(encode(b, ".png"), img, why)) << why;
    EXPECT_EQ(img.data, buffer) << "same size: decoded into the same buffer";
    EXPECT_EQ(cv::norm(app::as_mat(img), b, cv::NORM_INF), 0.0);
    ASSERT_TRUE(app::media::decode_image(encode(small, ".png"), img, why)) << why;
    EXPECT_EQ(img.data, buffer) << "smaller: the buffer is reused";
    EXPECT_EQ(img.cols, 20);
    EXPECT_EQ(img.rows, 10);
    EXPECT_EQ(cv::norm(app::as_mat(img), small, cv::NORM_INF), 0.0);

    const std::vector<uint8_t> jpg = encode(a, ".jpg");
    ASSERT_TRUE(app::media::decode_image(jpg, img, why)) << why;
    EXPECT_EQ(img.data, buffer);
    EXPECT_EQ(cv::norm(app::as_mat(img), cv::imdecode(jpg, cv::IMREAD_COLOR), cv::NORM_INF), 0.0);

    cv::Mat grey;
    cv::cvtColor(a, grey, cv::COLOR_BGR2GRAY);
    const std::vector<uint8_t> grey_png = encode(grey, ".png");
    ASSERT_TRUE(app::media::decode_image(grey_png, img, why)) << why;
    EXPECT_EQ(cv::norm(app::as_mat(img), cv::imdecode(grey_png, cv::IMREAD_COLOR), cv::NORM_INF), 0.0);

    const std::vector<uint8_t> junk(100, 'j');
    EXPECT_FALSE(app::media::decode_image(junk, img, why));
    EXPECT_TRUE(img.empty());
    EXPECT_NE(why.find("not a decodable image"), std::string::npos) << why;
    ASSERT_TRUE(app::media::decode_image(encode(a, ".png"), img, why)) << why;
    EXPECT_EQ(img.data, buffer) << "a failure keeps the buffer";
}

// A JPEG with an EXIF orientation (6: rotate 90 degrees): imdecode transposes the image in place after
// decoding, which cannot reuse the buffer it decoded into; the allocator steps aside for OpenCV's own
// and the frame gets the rotated pixels, as cv::imdecode gives them.
TEST(Media, ExifRotatedJpegDecodesAsOpenCvDoes) {
    const cv::Mat a = card(40, 24, 3);
    std::vector<uint8_t> jpg = encode(a, ".jpg");
    // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation (0x0112) = 6.
    const std::vector<uint8_t> exif = {'E', 'x', 'i',  'f',  0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,  // header
                                       1,   0,   0x12, 0x01, 3, 0, 1,   0,   0,  0, 6, 0, 0, 0,  // one entry
                                       0,   0,   0,    0};                                       // next IFD
    const auto len = static_cast<uint16_t>(exif.size() + 2);
    std::vector<uint8_t> app1 = {0xFF, 0xE1, static_cast<uint8_t>(len >> 8),
                                 static_cast<uint8_t>(len & 0xff)};
    app1.insert(app1.end(), exif.begin(), exif.end());
    jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());  // right after SOI
    const cv::Mat expected = cv::imdecode(jpg, cv::IMREAD_COLOR);
    ASSERT_EQ(expected.size(), cv::Size(24, 40)) << "OpenCV applied the orientation";
    app::FrameImage img;
    img.create(64, 64);  // room for either orientation
    std::string why;
    ASSERT_TRUE(app::media::decode_image(jpg, img, why)) << why;
    EXPECT_EQ(img.cols, 24);
    EXPECT_EQ(img.rows, 40);
    EXPECT_EQ(cv::norm(app::as_mat(img), expected, cv::NORM_INF), 0.0);
}

// Both decoders of the seam (OpenCV's, and libjpeg's of the build without OpenCV) agree on JPEGs.
TEST(Media, BothDecodersAgreeOnJpegs) {
#if RTDET_HAS_LIBJPEG
    for (const auto& [w, h, q] : {std::tuple{64, 48, 90}, {61, 37, 40}, {17, 9, 95}}) {
        const cv::Mat src = card(w, h, w + h);
        std::vector<uint8_t> jpg;
        ASSERT_TRUE(cv::imencode(".jpg", src, jpg, {cv::IMWRITE_JPEG_QUALITY, q}));
        app::FrameImage ocv, lj;
        std::string why;
        ASSERT_TRUE(app::media::decode_image(jpg, ocv, why)) << why;
        ASSERT_TRUE(app::decode_jpeg_into(jpg.data(), jpg.size(), lj, why)) << why;
        ASSERT_EQ(ocv.cols, lj.cols);
        ASSERT_EQ(ocv.rows, lj.rows);
        EXPECT_LE(cv::norm(app::as_mat(ocv), app::as_mat(lj), cv::NORM_INF), 2.0) << w << "x" << h;
    }
#else
    GTEST_SKIP() << "libjpeg-turbo not in this build";
#endif
}

// VideoCapture retrieves every frame into the frame's own buffer: after the first frame, the data
// pointer never changes (no reallocation, no copy of ours), and the pixels are OpenCV's own read.
TEST(Media, VideoFramesAreReadIntoTheSameBuffer) {
    const std::string video = app_test::video_path();
    if (video.empty()) RTDET_SKIP_OR_FAIL("data folder (../shared or $RTDET_DATA) not found");
    auto src = app::open_source(app::classify_source(video), {});
    cv::VideoCapture oracle(video, cv::CAP_FFMPEG);
    ASSERT_TRUE(oracle.isOpened());
    app::Frame f;
    const uint8_t* buffer = nullptr;
    cv::Mat expected;
    for (int i = 0; i < 30; ++i) {
        ASSERT_EQ(src->read(f, {}), app::ReadStatus::Frame);
        ASSERT_TRUE(oracle.read(expected));
        if (i == 0) buffer = f.image.data;
        EXPECT_EQ(f.image.data, buffer) << "frame " << i;
        EXPECT_EQ(cv::norm(app::as_mat(f.image), expected, cv::NORM_INF), 0.0) << "frame " << i;
    }
}

TEST(Media, DrawingLandsInTheFrame) {
    app::FrameImage img;
    app::copy_to_frame(cv::Mat(120, 160, CV_8UC3, cv::Scalar::all(0)), img);
    const uint8_t* buffer = img.data;
    detector::Detection d;
    d.box = {20, 30, 100, 90};
    d.class_id = 0;
    d.score = 0.9f;
    app::media::draw_detections(img, std::vector<detector::Detection>{d}, {"person"});
    EXPECT_EQ(img.data, buffer);
    EXPECT_GT(cv::countNonZero(app::as_mat(img).reshape(1)), 0) << "the box was drawn in place";
}

}  // namespace
