// The eval path's image readers (app/image_io.h): libjpeg-turbo's decode against OpenCV's own decode
// of the same JPEG (written by OpenCV), and the failures the reader must report without crashing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "app/frame.h"
#include "app/image_io.h"
#include "detector/gpu_host.h"
#include "tests/app/app_test_util.h"

namespace {

// A 61x37 BGR test card: smooth gradients in each channel, a hard-edged block and a grey ramp (odd
// sizes: partial MCUs at the right and bottom edges).
cv::Mat test_card() {
    cv::Mat img(37, 61, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x) {
            auto& p = img.at<cv::Vec3b>(y, x);
            p[0] = static_cast<uint8_t>(x * 4);
            p[1] = static_cast<uint8_t>(y * 6);
            p[2] = static_cast<uint8_t>(255 - (x + y) * 2);
            if (x > 20 && x < 35 && y > 10 && y < 25) p = cv::Vec3b(30, 200, 90);
            if (y > 30)
                p = cv::Vec3b(static_cast<uint8_t>(x * 4), static_cast<uint8_t>(x * 4),
                              static_cast<uint8_t>(x * 4));
        }
    return img;
}

std::vector<uint8_t> encode_jpeg(const cv::Mat& img, int quality) {
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(".jpg", img, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}));
    return bytes;
}

// Largest per-byte difference between `ours` and the BGR Mat `ref` (same size required).
int max_diff(const app::BgrImage& ours, const cv::Mat& ref) {
    EXPECT_EQ(ours.width, ref.cols);
    EXPECT_EQ(ours.height, ref.rows);
    EXPECT_EQ(ref.type(), CV_8UC3);
    if (ours.width != ref.cols || ours.height != ref.rows) return 256;
    int worst = 0;
    for (int y = 0; y < ref.rows; ++y)
        for (int x = 0; x < ref.cols * 3; ++x)
            worst =
                std::max(worst, std::abs(int{ours.data[y * ours.stride + x]} - int{ref.ptr<uint8_t>(y)[x]}));
    return worst;
}

#if RTDET_HAS_LIBJPEG

TEST(ImageIo, LibjpegMatchesOpenCvOnAColourJpeg) {
    const cv::Mat card = test_card();
    for (int quality : {95, 60}) {
        const std::vector<uint8_t> bytes = encode_jpeg(card, quality);
        const cv::Mat ref = cv::imdecode(bytes, cv::IMREAD_COLOR);
        ASSERT_FALSE(ref.empty());
        std::string why;
        const app::BgrImage ours = app::decode_jpeg(bytes.data(), bytes.size(), why);
        ASSERT_FALSE(ours.empty()) << why;
        EXPECT_EQ(ours.stride, ours.width * 3);
        EXPECT_LE(max_diff(ours, ref), 3) << "quality " << quality;
        // And both are the card, give or take JPEG's loss (channel order: BGR, not RGB).
        EXPECT_NEAR(ours.data[(15 * ours.stride) + 25 * 3 + 1], 200, 24);
        EXPECT_NEAR(ours.data[(15 * ours.stride) + 25 * 3 + 0], 30, 24);
    }
}

TEST(ImageIo, LibjpegExpandsGreyscaleToBgr) {
    cv::Mat grey(16, 24, CV_8UC1);
    for (int y = 0; y < grey.rows; ++y)
        for (int x = 0; x < grey.cols; ++x) grey.at<uint8_t>(y, x) = static_cast<uint8_t>(x * 10);
    const std::vector<uint8_t> bytes = encode_jpeg(grey, 90);
    const cv::Mat ref = cv::imdecode(bytes, cv::IMREAD_COLOR);
    std::string why;
    const app::BgrImage ours = app::decode_jpeg(bytes.data(), bytes.size(), why);
    ASSERT_FALSE(ours.empty()) << why;
    EXPECT_LE(max_diff(ours, ref), 3);
    for (int x = 0; x < ours.width; ++x) {
        const uint8_t* p = ours.data + 5 * ours.stride + x * 3;
        EXPECT_EQ(p[0], p[1]);
        EXPECT_EQ(p[1], p[2]);
    }
}

TEST(ImageIo, LibjpegReportsBrokenDataWithoutCrashing) {
    const std::vector<uint8_t> bytes = encode_jpeg(test_card(), 90);
    std::string why;
    // The header alone (cut before the scan data): libjpeg's fatal error comes back as `why`.
    const app::BgrImage cut = app::decode_jpeg(bytes.data(), 20, why);
    EXPECT_TRUE(cut.empty());
    EXPECT_NE(why.find("cannot decode"), std::string::npos) << why;
    why.clear();
    const std::vector<uint8_t> junk = {0xFF, 0xD8, 0xFF, 0x00, 0x12, 0x34, 0xFF, 0xD9};
    EXPECT_TRUE(app::decode_jpeg(junk.data(), junk.size(), why).empty());
    EXPECT_FALSE(why.empty());
}

#endif  // RTDET_HAS_LIBJPEG

// The eval reader (OpenCV's decoder in this build) gives the Mat's pixels, and the file checks'
// reasons.
TEST(ImageIo, ReadBgrImageFromFiles) {
    const auto dir = app_test::scratch_dir("image_io");
    const cv::Mat card = test_card();
    const std::string jpg = (dir / "card.jpg").string();
    ASSERT_TRUE(cv::imwrite(jpg, card));
    const cv::Mat ref = cv::imread(jpg, cv::IMREAD_COLOR);
    std::string why;
    const app::BgrImage img = app::read_bgr_image(jpg, why);
    ASSERT_FALSE(img.empty()) << why;
    EXPECT_EQ(max_diff(img, ref), 0);

    why.clear();
    EXPECT_TRUE(app::read_bgr_image((dir / "missing.jpg").string(), why).empty());
    EXPECT_EQ(why, "no such file");
    std::vector<uint8_t> bytes = encode_jpeg(card, 90);
    bytes.resize(bytes.size() / 2);  // no end-of-image marker
    const std::string cut = (dir / "cut.jpg").string();
    {
        std::ofstream f(cut, std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    why.clear();
    EXPECT_TRUE(app::read_bgr_image(cut, why).empty());
    EXPECT_EQ(why, "truncated JPEG (no end-of-image marker)");
}

}  // namespace

// The frame image of the build without OpenCV (app::PackedImage, compiled in every build): the buffer
// grows and is reused, copies are deep, moves hand the buffer over, and pinned memory is used only
// when there is some (no CUDA device here: ordinary memory, same behaviour).
namespace {

void fill(app::PackedImage& img, uint8_t seed) {
    for (size_t i = 0; i < static_cast<size_t>(img.cols) * img.rows * 3; ++i)
        img.data[i] = static_cast<uint8_t>(seed + i * 7);
}

TEST(PackedImage, GrowsReusesCopiesMoves) {
    app::PackedImage a;
    EXPECT_TRUE(a.empty());
    a.create(8, 4);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a.cols, 8);
    EXPECT_EQ(a.rows, 4);
    fill(a, 3);
    const uint8_t* first = a.data;
    a.create(4, 4);  // smaller: same buffer
    EXPECT_EQ(a.data, first);
    a.create(8, 4);  // back to the size it had: still the same buffer
    EXPECT_EQ(a.data, first);
    EXPECT_EQ(a.data[5], static_cast<uint8_t>(3 + 5 * 7)) << "reuse keeps the bytes";

    app::PackedImage b(a);  // deep copy
    ASSERT_NE(b.data, a.data);
    EXPECT_EQ(b.cols, 8);
    EXPECT_EQ(std::memcmp(a.data, b.data, 8 * 4 * 3), 0);
    b.data[0] = static_cast<uint8_t>(a.data[0] + 1);
    EXPECT_NE(a.data[0], b.data[0]);

    app::PackedImage c(std::move(a));  // the buffer moves
    EXPECT_EQ(c.data, first);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from image is empty
    app::PackedImage d;
    d.create(2, 2);
    d = std::move(c);
    EXPECT_EQ(d.data, first);
    EXPECT_EQ(d.cols, 8);

    d.release();
    EXPECT_TRUE(d.empty());
    d.create(8, 4);  // release keeps the buffer
    EXPECT_EQ(d.data, first);
    app::PackedImage e;
    e = d;  // copy-assign from a released-then-recreated image
    EXPECT_EQ(e.cols, 8);
    d.release();
    e = d;  // copy of an empty image: empty
    EXPECT_TRUE(e.empty());
}

TEST(PackedImage, PinnedOnlyWhenThereIsSome) {
    void* probe = detector::allocate_pinned(64);
    const bool have_pinned = probe != nullptr;
    detector::free_pinned(probe);
    app::PackedImage img;
    img.use_pinned(true);
    img.create(64, 32);
    EXPECT_EQ(img.pinned(), have_pinned);
    fill(img, 1);
    EXPECT_EQ(img.data[64 * 32 * 3 - 1], static_cast<uint8_t>(1 + (64 * 32 * 3 - 1) * 7));
    app::PackedImage copy(img);
    EXPECT_EQ(std::memcmp(copy.data, img.data, 64 * 32 * 3), 0);
    img.use_pinned(false);
    img.create(128, 64);  // grows: ordinary memory now
    EXPECT_FALSE(img.pinned());
}

// Without a CUDA device (this machine, CI): no pinned memory, and the GPU wait mode is refused with
// a reason (rtdet run then logs a warning and goes on).
TEST(GpuHost, WithoutADeviceNothingIsPinnedAndTheWaitModeIsRefused) {
    void* p = detector::allocate_pinned(4096);
    if (p != nullptr) {
        detector::free_pinned(p);
        GTEST_SKIP() << "this machine has a CUDA device: detector_cuda_tests cover it";
    }
    std::string why;
    EXPECT_FALSE(detector::set_gpu_wait(detector::GpuWait::Block, &why));
    EXPECT_FALSE(why.empty());
    detector::free_pinned(nullptr);  // nothing to free: no effect
}

}  // namespace
