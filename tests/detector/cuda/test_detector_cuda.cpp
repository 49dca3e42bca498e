// The Detector's GPU path (detector/cuda/gpu_path.h) against the CPU code as the oracle:
//   - GpuPreprocessor vs detector::preprocess, every resize policy, odd frame sizes (1x1, 7x5, padded
//     rows), batches whose slots hold frames of different sizes, staging buffers growing between runs,
//     frames in pinned memory (uploaded without staging) equal to the staging path;
//   - GpuDecoder vs decode_yolo_head on random heads (several heads, batch 3, per-image transforms),
//     hand-computed threshold edge cases (objectness or score exactly at the threshold), and the
//     overflow of the candidate buffer (the image falls back to the host decoder, complete);
//   - the Detector on Yolo-Fastest-1.1 (data folder): GPU path vs the host path on the same CUDA plan,
//     and vs the CPU device.
// Without a GPU every test skips, saying why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <random>

#include "detector/cuda/gpu_path.h"
#include "detector/detector.h"
#include "detector/gpu_host.h"
#include "detector/yolo_decode.h"
#include "engine/backends/cuda/cuda_util.h"
#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_image.h"

namespace detector {
// gtest prints parameters in test listings (ctest's test names): the policy's name.
void PrintTo(ResizePolicy p, std::ostream* os) { *os << resize_policy_name(p); }
}  // namespace detector

namespace {

namespace fs = std::filesystem;
using detector::Detection;
using detector::ImageView;
using detector::InputTransform;
using detector::ResizePolicy;
using engine::cuda::DeviceBuffer;

#define SKIP_WITHOUT_GPU()                                                          \
    do {                                                                            \
        std::string why_;                                                           \
        if (!engine::cuda::cuda_device_available(&why_))                            \
            GTEST_SKIP() << "no CUDA device (" << why_ << "): GPU path not tested"; \
    } while (0)

using Image = testing_util::BgrTestImage;
using testing_util::random_image;

// A scene a detector reacts to more than to noise: a gradient with filled boxes and discs.
Image scene(int w, int h, uint32_t seed) {
    Image img;
    img.w = w;
    img.h = h;
    img.stride = 3 * w;
    img.bytes.resize(static_cast<size_t>(img.stride) * h);
    std::mt19937 rng(seed);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            uint8_t* p = &img.bytes[static_cast<size_t>(y) * img.stride + 3 * x];
            p[0] = static_cast<uint8_t>(255 * x / w);
            p[1] = static_cast<uint8_t>(255 * y / h);
            p[2] = static_cast<uint8_t>(128);
        }
    for (int k = 0; k < 12; ++k) {
        const int cx = static_cast<int>(rng() % w), cy = static_cast<int>(rng() % h);
        const int rx = 10 + static_cast<int>(rng() % (w / 4)), ry = 10 + static_cast<int>(rng() % (h / 4));
        const uint8_t col[3] = {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                                static_cast<uint8_t>(rng())};
        const bool disc = k % 2 == 0;
        for (int y = std::max(0, cy - ry); y < std::min(h, cy + ry); ++y)
            for (int x = std::max(0, cx - rx); x < std::min(w, cx + rx); ++x) {
                const float dx = static_cast<float>(x - cx) / rx, dy = static_cast<float>(y - cy) / ry;
                if (disc && dx * dx + dy * dy > 1) continue;
                uint8_t* p = &img.bytes[static_cast<size_t>(y) * img.stride + 3 * x];
                p[0] = col[0];
                p[1] = col[1];
                p[2] = col[2];
            }
    }
    return img;
}

// ---- preprocessing ----

class GpuPreprocess : public ::testing::TestWithParam<ResizePolicy> {
  protected:
    void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(GpuPreprocess, MatchesCpuPerSlot) {
    const ResizePolicy policy = GetParam();
    const float pad = 0.3f;
    // Frames of different sizes in one batch; some rows padded (stride > 3 * width).
    std::vector<Image> imgs = {random_image(1, 1, 0, 1), random_image(7, 5, 3, 2),
                               random_image(640, 480, 0, 3), random_image(768, 432, 5, 4)};
    struct Net {
        int w, h;
    };
    detector::cuda::GpuPreprocessor pre(4, nullptr);
    double overall = 0;
    for (const Net net : {Net{416, 416}, Net{320, 256}}) {
        const size_t sample = static_cast<size_t>(3) * net.w * net.h;
        DeviceBuffer out(4 * sample * sizeof(float));
        // Two runs: the second with the slots' frames reversed (slot 0's staging grows from 1x1).
        for (int pass = 0; pass < 2; ++pass) {
            std::vector<ImageView> views;
            for (const Image& im : imgs) views.push_back(im.view());
            if (pass == 1) std::reverse(views.begin(), views.end());
            std::vector<InputTransform> ts(4);
            pre.run(views, policy, net.w, net.h, pad, out.as<float>(), ts);
            std::vector<float> gpu(4 * sample);
            out.download(gpu.data(), gpu.size() * sizeof(float));
            for (size_t b = 0; b < views.size(); ++b) {
                std::vector<float> cpu(sample), scratch;
                const InputTransform t =
                    detector::preprocess(views[b], policy, net.w, net.h, pad, cpu.data(), scratch);
                const std::string what =
                    engine::concat(detector::resize_policy_name(policy), " ", views[b].width, "x",
                                   views[b].height, " -> ", net.w, "x", net.h, " slot ", b, " pass ", pass);
                EXPECT_EQ(ts[b].scale_x, t.scale_x) << what;
                EXPECT_EQ(ts[b].scale_y, t.scale_y) << what;
                EXPECT_EQ(ts[b].pad_x, t.pad_x) << what;
                EXPECT_EQ(ts[b].pad_y, t.pad_y) << what;
                double worst = 0;
                size_t at = 0;
                for (size_t i = 0; i < sample; ++i) {
                    const double d = std::fabs(static_cast<double>(gpu[b * sample + i]) - cpu[i]);
                    if (!(d <= worst)) {  // NaN counts as worst
                        worst = std::isnan(d) ? 1e9 : d;
                        at = i;
                    }
                }
                // The kernels round each float operation as the CPU code does (no FMA): equal in
                // practice; the bound is the 1e-5.
                EXPECT_LE(worst, 1e-5) << what << " at element " << at;
                overall = std::max(overall, worst);
            }
        }
    }
    std::printf("gpu preprocess %s: max |gpu - cpu| %.3g over 16 frames\n",
                std::string(detector::resize_policy_name(policy)).c_str(), overall);
}

// Frames in page-locked memory (detector/gpu_host.h) are uploaded directly, padded rows included:
// the same result as the staging path, bit for bit.
TEST_P(GpuPreprocess, PinnedFramesMatchPageable) {
    const ResizePolicy policy = GetParam();
    std::vector<Image> imgs = {random_image(7, 5, 3, 2), random_image(768, 432, 0, 3),
                               random_image(640, 480, 5, 4)};  // 5 bytes of padding per row
    std::vector<void*> pinned;
    std::vector<ImageView> paged, locked;
    for (const Image& im : imgs) {
        void* p = detector::allocate_pinned(im.bytes.size());
        ASSERT_NE(p, nullptr) << "no pinned memory with a CUDA device";
        std::memcpy(p, im.bytes.data(), im.bytes.size());
        pinned.push_back(p);
        paged.push_back(im.view());
        locked.push_back(ImageView{static_cast<const uint8_t*>(p), im.w, im.h, im.stride});
        EXPECT_TRUE(detector::cuda::is_pinned(p));
        EXPECT_FALSE(detector::cuda::is_pinned(im.bytes.data()));
    }
    const int net = 320;
    const size_t sample = static_cast<size_t>(3) * net * net;
    detector::cuda::GpuPreprocessor pre(3, nullptr);
    DeviceBuffer out(3 * sample * sizeof(float));
    std::vector<InputTransform> ts(3);
    std::vector<float> a(3 * sample), b(3 * sample);
    pre.run(paged, policy, net, net, 0.5f, out.as<float>(), ts);
    out.download(a.data(), a.size() * sizeof(float));
    pre.run(locked, policy, net, net, 0.5f, out.as<float>(), ts);
    out.download(b.data(), b.size() * sizeof(float));
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    for (void* p : pinned) detector::free_pinned(p);
}

// engine.gpu_wait: the device's scheduling flags change on a device already in use, both ways.
TEST(GpuWait, SetsTheDeviceSchedulingFlags) {
    SKIP_WITHOUT_GPU();
    DeviceBuffer warm(16);  // the device is initialized
    std::string why;
    ASSERT_TRUE(detector::set_gpu_wait(detector::GpuWait::Block, &why)) << why;
    unsigned flags = 0;
    ASSERT_EQ(cudaGetDeviceFlags(&flags), cudaSuccess);
    EXPECT_EQ(flags & cudaDeviceScheduleMask, static_cast<unsigned>(cudaDeviceScheduleBlockingSync));
    ASSERT_TRUE(detector::set_gpu_wait(detector::GpuWait::Spin, &why)) << why;
    ASSERT_EQ(cudaGetDeviceFlags(&flags), cudaSuccess);
    EXPECT_EQ(flags & cudaDeviceScheduleMask, static_cast<unsigned>(cudaDeviceScheduleSpin));
}

TEST_P(GpuPreprocess, EmptyFrameIsAnError) {
    detector::cuda::GpuPreprocessor pre(2, nullptr);
    const Image ok = random_image(8, 8, 0, 1);
    const ImageView views[2] = {ok.view(), ImageView{nullptr, 0, 0, 0}};
    std::vector<InputTransform> ts(2);
    DeviceBuffer out(2 * 3 * 32 * 32 * sizeof(float));
    try {
        pre.run(views, GetParam(), 32, 32, 0.5f, out.as<float>(), ts);
        FAIL() << "expected an error for the empty frame";
    } catch (const engine::Error& e) {
        EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(Policies, GpuPreprocess,
                         ::testing::Values(ResizePolicy::Darknet, ResizePolicy::Stretch,
                                           ResizePolicy::Letterbox),
                         [](const ::testing::TestParamInfo<ResizePolicy>& p) {
                             return std::string(detector::resize_policy_name(p.param));
                         });

// ---- decoding ----

// Whether two detection lists (both in the CPU decoder's order) agree: equal classes and values;
// an entry may be missing on one side only when its score or objectness is within 1e-6 of the
// threshold (the last bit of exp() could decide it).
void expect_same_detections(const std::vector<Detection>& gpu, const std::vector<Detection>& cpu, float thr,
                            const std::string& what) {
    const auto borderline = [&](const Detection& d) {
        return std::fabs(d.score - thr) < 1e-6f || std::fabs(d.objectness - thr) < 1e-6f;
    };
    size_t i = 0, j = 0, skipped = 0, equal = 0;
    const auto same = [](const Detection& a, const Detection& b) {
        return a.class_id == b.class_id && std::fabs(a.score - b.score) <= 1e-6f &&
               std::fabs(a.box.x1 - b.box.x1) <= 1e-3f && std::fabs(a.box.y1 - b.box.y1) <= 1e-3f &&
               std::fabs(a.box.x2 - b.box.x2) <= 1e-3f && std::fabs(a.box.y2 - b.box.y2) <= 1e-3f;
    };
    while (i < gpu.size() || j < cpu.size()) {
        if (i < gpu.size() && j < cpu.size() && same(gpu[i], cpu[j])) {
            ++i, ++j, ++equal;
            continue;
        }
        if (j < cpu.size() && borderline(cpu[j])) {
            ++j, ++skipped;
            continue;
        }
        if (i < gpu.size() && borderline(gpu[i])) {
            ++i, ++skipped;
            continue;
        }
        ADD_FAILURE() << what << ": detection " << i << " (gpu) / " << j << " (cpu) differ; gpu has "
                      << gpu.size() << ", cpu " << cpu.size();
        return;
    }
    EXPECT_LE(skipped, 2u) << what;
    std::printf("gpu decode %s: %zu detections, %zu equal, %zu at the threshold's edge\n", what.c_str(),
                cpu.size(), equal, skipped);
}

detector::YoloHead make_head(const std::string& name, std::vector<float> anchors, int classes, float s) {
    detector::YoloHead h;
    h.output = name;
    h.anchors = std::move(anchors);
    h.classes = classes;
    h.scale_x_y = s;
    return h;
}

class GpuDecode : public ::testing::Test {
  protected:
    void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_F(GpuDecode, MatchesCpuOnRandomHeads) {
    const std::vector<detector::YoloHead> heads = {make_head("h13", {81, 82, 135, 169, 344, 319}, 80, 1.05f),
                                                   make_head("h26", {10, 14, 23, 27, 37, 58}, 80, 1.f)};
    const int gs[2][2] = {{13, 15}, {26, 30}};
    const int n = 3, net_w = 480, net_h = 416;
    const float thr = 0.3f;
    std::vector<engine::Tensor> host;
    std::vector<DeviceBuffer> dev;
    std::vector<detector::cuda::GpuHead> gh;
    for (int h = 0; h < 2; ++h) {
        // Logits spread so that some objectness and class scores pass the threshold.
        host.push_back(testing_util::random_tensor({n, 3 * 85, gs[h][0], gs[h][1]}, 50 + h, -6.f, 3.f));
        dev.emplace_back(host.back().bytes());
        dev.back().upload(host.back().data(), host.back().bytes());
        gh.push_back({dev.back().as<float>(), gs[h][0], gs[h][1]});
    }
    const std::vector<InputTransform> ts = {
        detector::make_transform(ResizePolicy::Letterbox, 640, 480, net_w, net_h),
        detector::make_transform(ResizePolicy::Darknet, 1280, 720, net_w, net_h),
        detector::make_transform(ResizePolicy::Stretch, 7, 5, net_w, net_h)};
    detector::cuda::GpuDecoder dec(heads, 4, nullptr);
    std::vector<std::vector<Detection>> got(4);
    for (int rep = 0; rep < 2; ++rep) {
        dec.run(gh, n, net_w, net_h, thr, ts, got);
        for (int b = 0; b < n; ++b) {
            std::vector<Detection> want;
            for (int h = 0; h < 2; ++h) {
                const size_t sample = static_cast<size_t>(3 * 85) * gs[h][0] * gs[h][1];
                detector::decode_yolo_head(host[static_cast<size_t>(h)].data_as<float>() + b * sample,
                                           gs[h][0], gs[h][1], heads[static_cast<size_t>(h)], net_w, net_h,
                                           thr, ts[static_cast<size_t>(b)], want);
            }
            ASSERT_GT(want.size(), 100u) << "the test heads should yield candidates";
            expect_same_detections(got[static_cast<size_t>(b)], want, thr,
                                   engine::concat("image ", b, " rep ", rep));
        }
    }
    EXPECT_EQ(dec.overflows(), 0);
}

// One anchor (16x8 pixels), two classes, a 1x2 grid, network 64x32, image 128x64 stretched, threshold
// 0.5. Cell 0: objectness logit 0 -> exactly 0.5, not above the threshold: nothing, whatever the
// classes say. Cell 1: objectness logit 20 -> 1.0f; class 0 logit 0 -> score exactly 0.5: dropped;
// class 1 logit 0.01 -> score sigmoid(0.01) = 0.50250: kept. Its box: centre ((1 + 0.5) / 2, 0.5) of
// the network, size 16x8 -> network box (40, 12)-(56, 20) -> image (80, 24)-(112, 40).
TEST_F(GpuDecode, HandComputedThresholdEdges) {
    const detector::YoloHead head = make_head("h", {16, 8}, 2, 1.f);
    // Channels tx, ty, tw, th, to, c0, c1; each a 1x2 plane (cell 0, cell 1).
    const std::vector<float> h = {0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 20, 0, 20, 0.01f};
    DeviceBuffer d(h.size() * sizeof(float));
    d.upload(h.data(), h.size() * sizeof(float));
    const std::vector<detector::cuda::GpuHead> gh = {{d.as<float>(), 1, 2}};
    const std::vector<InputTransform> ts = {detector::make_transform(ResizePolicy::Stretch, 128, 64, 64, 32)};
    detector::cuda::GpuDecoder dec({head}, 1, nullptr);
    std::vector<std::vector<Detection>> got(1);
    dec.run(gh, 1, 64, 32, 0.5f, ts, got);
    ASSERT_EQ(got[0].size(), 1u);
    const Detection& det = got[0][0];
    EXPECT_EQ(det.class_id, 1);
    EXPECT_NEAR(det.score, 1.f / (1.f + std::exp(-0.01f)), 1e-7);
    EXPECT_EQ(det.objectness, 1.f);
    EXPECT_NEAR(det.box.x1, 80.f, 1e-4);
    EXPECT_NEAR(det.box.y1, 24.f, 1e-4);
    EXPECT_NEAR(det.box.x2, 112.f, 1e-4);
    EXPECT_NEAR(det.box.y2, 40.f, 1e-4);
    // The CPU decoder agrees (the oracle of the other tests).
    std::vector<Detection> cpu;
    detector::decode_yolo_head(h.data(), 1, 2, head, 64, 32, 0.5f, ts[0], cpu);
    ASSERT_EQ(cpu.size(), 1u);
    EXPECT_EQ(cpu[0].class_id, 1);
    // Just below the threshold: cell 0's objectness (0.5) and cell 1's class 0 (0.5) both pass.
    dec.run(gh, 1, 64, 32, 0.4999f, ts, got);
    EXPECT_EQ(got[0].size(), 4u);  // cell 0: both classes (0.5 * 1.0); cell 1: 0.5 and 0.5025
}

TEST_F(GpuDecode, OverflowFallsBackToTheHostComplete) {
    const detector::YoloHead head = make_head("h", {10, 14, 23, 27, 37, 58}, 20, 1.f);
    const int gh = 9, gw = 11, n = 2, net = 288;
    const float thr = 0.2f;
    engine::Tensor t = testing_util::random_tensor({n, 3 * 25, gh, gw}, 9, -3.f, 3.f);
    // Image 1: everything far below the threshold (no candidates).
    float* p = t.data_as<float>();
    const size_t sample = static_cast<size_t>(3 * 25) * gh * gw;
    for (size_t i = 0; i < sample; ++i) p[sample + i] = -30.f;
    DeviceBuffer d(t.bytes());
    d.upload(t.data(), t.bytes());
    const std::vector<detector::cuda::GpuHead> heads = {{d.as<float>(), gh, gw}};
    const std::vector<InputTransform> ts(2,
                                         detector::make_transform(ResizePolicy::Darknet, 300, 200, net, net));
    std::vector<Detection> want;
    detector::decode_yolo_head(p, gh, gw, head, net, net, thr, ts[0], want);
    ASSERT_GT(want.size(), 8u);
    detector::cuda::GpuDecoder dec({head}, 2, nullptr, /*capacity=*/8);
    std::vector<std::vector<Detection>> got(2);
    dec.run(heads, n, net, net, thr, ts, got);
    EXPECT_EQ(dec.overflows(), 1);
    ASSERT_EQ(got[0].size(), want.size());  // the host decoder's own output: identical
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[0][i].class_id, want[i].class_id) << i;
        EXPECT_EQ(got[0][i].score, want[i].score) << i;
        EXPECT_EQ(got[0][i].box.x1, want[i].box.x1) << i;
    }
    EXPECT_TRUE(got[1].empty());
}

// ---- the Detector ----

std::string yolo_fastest_cfg() {
    const std::string data = testing_util::data_dir();
    if (data.empty()) return {};
    const fs::path cfg = fs::path(data) / "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg";
    return fs::exists(cfg) && fs::exists(fs::path(cfg).replace_extension(".weights")) ? cfg.string()
                                                                                      : std::string();
}

// Every detection of `a` has one in `b` of the same class with a box within `px` pixels and a score
// within `ds`, and the other way round, except detections whose score is within `edge` of the
// threshold (they may fall either side with FP32 rounding differences).
void expect_matching(const std::vector<Detection>& a, const std::vector<Detection>& b, float px, float ds,
                     float thr, float edge, const std::string& what) {
    const auto find = [&](const Detection& d, const std::vector<Detection>& in) {
        for (const Detection& e : in)
            if (e.class_id == d.class_id && std::fabs(e.score - d.score) <= ds &&
                std::fabs(e.box.x1 - d.box.x1) <= px && std::fabs(e.box.y1 - d.box.y1) <= px &&
                std::fabs(e.box.x2 - d.box.x2) <= px && std::fabs(e.box.y2 - d.box.y2) <= px)
                return true;
        return false;
    };
    for (const Detection& d : a) {
        if (d.score - thr <= edge) continue;
        EXPECT_TRUE(find(d, b)) << what << ": class " << d.class_id << " score " << d.score << " box "
                                << d.box.x1 << "," << d.box.y1 << "," << d.box.x2 << "," << d.box.y2
                                << " has no match";
    }
    for (const Detection& d : b) {
        if (d.score - thr <= edge) continue;
        EXPECT_TRUE(find(d, a)) << what << ": (other way) class " << d.class_id << " score " << d.score
                                << " has no match";
    }
}

class GpuDetector : public ::testing::TestWithParam<ResizePolicy> {
  protected:
    void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(GpuDetector, MatchesHostPathAndCpu) {
    const std::string cfg = yolo_fastest_cfg();
    if (cfg.empty())
        RTDET_SKIP_OR_FAIL("Yolo-Fastest-1.1 cfg/weights not in the data folder (../shared or $RTDET_DATA)");
    const fs::path cache = fs::temp_directory_path() / ("rtdet_detector_cuda_" + std::to_string(::getpid()));
    detector::DetectorConfig c;
    c.model = cfg;
    c.device = "cuda";
    c.max_batch = 2;
    c.plan_cache_dir = cache.string();
    c.resize = GetParam();
    c.conf_threshold = 0.05f;
    detector::Detector gpu(c);
    ASSERT_TRUE(gpu.gpu_pre_post()) << "a cuda plan of Yolo-Fastest should take the GPU path";
    c.gpu_pre_post = false;
    detector::Detector host(c);
    EXPECT_FALSE(host.gpu_pre_post());
    c.device = "cpu";
    c.gpu_pre_post = true;
    detector::Detector cpu(c);
    EXPECT_FALSE(cpu.gpu_pre_post());

    const Image a = scene(640, 480, 1), b = scene(500, 375, 2), small = scene(33, 17, 3);
    const std::vector<std::vector<ImageView>> batches = {
        {a.view(), b.view()}, {small.view()}, {b.view(), a.view()}};
    size_t total = 0;
    for (size_t k = 0; k < batches.size(); ++k) {
        const auto& g = gpu.detect(batches[k]);
        const auto& h = host.detect(batches[k]);
        const auto& r = cpu.detect(batches[k]);
        for (size_t i = 0; i < batches[k].size(); ++i) {
            const std::string what =
                engine::concat(detector::resize_policy_name(GetParam()), " batch ", k, " image ", i);
            total += g[i].size();
            // Same plan, inputs equal to 1e-5: the same detections up to FP32 noise.
            expect_matching(g[i], h[i], 0.05f, 1e-4f, c.conf_threshold, 1e-4f, what + " gpu vs host path");
            // Another backend (cuDNN vs the CPU's kernels): FP32 summation-order differences.
            expect_matching(g[i], r[i], 0.5f, 2e-3f, c.conf_threshold, 2e-3f, what + " gpu vs cpu");
        }
        const detector::StageTimes& t = gpu.last_times();
        EXPECT_GT(t.preprocess_ms, 0);
        EXPECT_GT(t.inference_ms, 0);
        EXPECT_GT(t.postprocess_ms, 0);
    }
    EXPECT_GT(total, 0u) << "the scenes should give some detections at threshold " << c.conf_threshold;
    fs::remove_all(cache);
}

INSTANTIATE_TEST_SUITE_P(Policies, GpuDetector,
                         ::testing::Values(ResizePolicy::Darknet, ResizePolicy::Letterbox),
                         [](const ::testing::TestParamInfo<ResizePolicy>& p) {
                             return std::string(detector::resize_policy_name(p.param));
                         });

// Not a check: ms per detect() call, host vs GPU pre/post-processing, at batch 1 and 64, when
// RTDET_DETECTOR_BENCH names a model (scripts/gpu/run.sh's `dbench` stage: YOLOv3-416 FP16). Skipped
// otherwise.
TEST(GpuDetectorBench, HostVsGpuPath) {
    SKIP_WITHOUT_GPU();
    const char* model = std::getenv("RTDET_DETECTOR_BENCH");
    if (model == nullptr) GTEST_SKIP() << "set RTDET_DETECTOR_BENCH=MODEL to time the GPU path";
    const char* cache = std::getenv("RTDET_DETECTOR_BENCH_CACHE");
    detector::DetectorConfig c;
    c.model = model;
    c.device = "cuda";
    c.precision = engine::Precision::FP16;
    c.max_batch = 64;
    c.plan_cache_dir = cache ? cache : (fs::temp_directory_path() / "rtdet_detector_bench").string();
    // Random-weight models give many low scores: a high threshold keeps NMS out of the comparison.
    const char* conf = std::getenv("RTDET_DETECTOR_BENCH_CONF");
    c.conf_threshold = conf ? std::stof(conf) : 0.5f;
    std::vector<Image> frames;
    for (int i = 0; i < 4; ++i) frames.push_back(scene(1280, 720, 10 + static_cast<uint32_t>(i)));
    detector::Detector gpu(c);
    c.gpu_pre_post = false;
    detector::Detector host(c);  // the same plan (a cache hit)
    ASSERT_TRUE(gpu.gpu_pre_post());
    ASSERT_FALSE(host.gpu_pre_post());
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    for (const int batch : {1, 64}) {
        std::vector<ImageView> views;
        for (int i = 0; i < batch; ++i)
            views.push_back(frames[static_cast<size_t>(i) % frames.size()].view());
        const int iters = batch == 1 ? 50 : 10;
        for (detector::Detector* det : {&gpu, &host}) {
            for (int i = 0; i < 3; ++i) (void)det->detect(views);
            std::vector<double> total, pre, net, post;
            size_t dets = 0;
            for (int i = 0; i < iters; ++i) {
                const auto& r = det->detect(views);
                const detector::StageTimes& t = det->last_times();
                pre.push_back(t.preprocess_ms);
                net.push_back(t.inference_ms);
                post.push_back(t.postprocess_ms);
                total.push_back(t.preprocess_ms + t.inference_ms + t.postprocess_ms);
                dets = 0;
                for (size_t b = 0; b < views.size(); ++b) dets += r[b].size();
            }
            std::printf(
                "detector bench: %s path, batch %d, 1280x720 frames: %.3f ms per batch (pre %.3f, net %.3f, "
                "post %.3f; medians of %d), %zu detections at %.2f\n",
                det == &gpu ? "GPU" : "host", batch, median(total), median(pre), median(net), median(post),
                iters, dets, c.conf_threshold);
            std::fflush(stdout);
        }
    }
}

}  // namespace
