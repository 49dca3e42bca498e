// The detector's GPU pre/post-processing (detector/cuda) vs the CPU versions (detector/preprocess.h,
// detector/yolo_decode.h): every resize policy into NCHW F32 and NHWC F16, odd image sizes and row
// padding; decode on random heads with the candidate set compared entry by entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "detector/cuda/decode.cuh"
#include "detector/cuda/preprocess.cuh"
#include "detector/yolo_decode.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/test_image.h"

namespace {

using engine::cuda::DeviceBuffer;

using Image = testing_util::BgrTestImage;
using testing_util::random_image;

class CudaPreprocess : public ::testing::TestWithParam<detector::ResizePolicy> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

TEST_P(CudaPreprocess, MatchesCpu) {
    const detector::ResizePolicy policy = GetParam();
    struct Case {
        int w, h, pad, net_w, net_h;
    };
    const std::vector<Case> cases = {{640, 480, 0, 416, 416},  {97, 211, 5, 320, 320},
                                     {1280, 720, 3, 416, 256}, {1, 1, 0, 32, 32},
                                     {416, 416, 0, 416, 416},  {33, 17, 1, 64, 96}};
    for (const Case& c : cases) {
        const Image img = random_image(c.w, c.h, c.pad, 7);
        const detector::InputTransform t = detector::make_transform(policy, c.w, c.h, c.net_w, c.net_h);
        std::vector<float> cpu(static_cast<size_t>(3) * c.net_w * c.net_h), scratch;
        (void)detector::preprocess(img.view(), policy, c.net_w, c.net_h, 0.5f, cpu.data(), scratch);

        DeviceBuffer dimg(img.bytes.size());
        dimg.upload(img.bytes.data(), img.bytes.size());
        for (auto layout : {detector::cuda::InputLayout::NchwF32, detector::cuda::InputLayout::NhwcF16}) {
            const bool f16 = layout == detector::cuda::InputLayout::NhwcF16;
            DeviceBuffer out(cpu.size() * (f16 ? 2 : 4));
            detector::cuda::GpuPreprocessArgs a;
            a.image = static_cast<const uint8_t*>(dimg.get());
            a.width = c.w;
            a.height = c.h;
            a.row_stride = img.stride;
            a.policy = policy;
            a.net_w = c.net_w;
            a.net_h = c.net_h;
            a.pad_value = 0.5f;
            a.out = out.get();
            a.layout = layout;
            detector::cuda::launch_preprocess(a, t, nullptr);
            CUDA_CHECK(cudaDeviceSynchronize());
            std::vector<std::byte> host(out.bytes());
            out.download(host.data(), host.size());
            double worst = 0;
            for (int k = 0; k < 3; ++k)
                for (int y = 0; y < c.net_h; ++y)
                    for (int x = 0; x < c.net_w; ++x) {
                        const size_t planar = (static_cast<size_t>(k) * c.net_h + y) * c.net_w + x;
                        const size_t nhwc = (static_cast<size_t>(y) * c.net_w + x) * 3 + k;
                        const float g =
                            f16 ? engine::fp16_to_fp32(reinterpret_cast<const uint16_t*>(host.data())[nhwc])
                                : reinterpret_cast<const float*>(host.data())[planar];
                        worst = std::max(worst, static_cast<double>(std::fabs(g - cpu[planar])));
                    }
            // F32: the same float operations in the same order (1e-6 allows libm-free rounding noise);
            // F16: one rounding of values in [0, 1] (2^-11).
            EXPECT_LE(worst, f16 ? 5e-4 : 1e-6)
                << detector::resize_policy_name(policy) << " " << c.w << "x" << c.h << " -> " << c.net_w
                << "x" << c.net_h << (f16 ? " nhwc f16" : " nchw f32");
        }
    }
}

std::string policy_name(const ::testing::TestParamInfo<detector::ResizePolicy>& p) {
    return std::string(detector::resize_policy_name(p.param));
}

INSTANTIATE_TEST_SUITE_P(Policies, CudaPreprocess,
                         ::testing::Values(detector::ResizePolicy::Darknet, detector::ResizePolicy::Stretch,
                                           detector::ResizePolicy::Letterbox),
                         policy_name);

using Key = std::tuple<int, float, float, float, float, float>;

Key key_of(int cls, float score, const detector::Box& b) { return {cls, score, b.x1, b.y1, b.x2, b.y2}; }

TEST(CudaDecode, MatchesCpuCandidates) {
    SKIP_WITHOUT_CUDA();
    detector::YoloHead head;
    head.output = "yolo_16";
    head.anchors = {10, 14, 23, 27, 37, 58};
    head.classes = 80;
    head.scale_x_y = 1.05f;
    const int gh = 13, gw = 17, net_w = 416, net_h = 416;
    const float thr = 0.3f;
    const detector::InputTransform t =
        detector::make_transform(detector::ResizePolicy::Letterbox, 640, 480, net_w, net_h);
    // Logits spread so that some objectness and class scores pass the threshold.
    engine::Tensor h = testing_util::random_tensor({3 * 85, gh, gw}, 5, -6.f, 3.f);
    std::vector<detector::Detection> cpu;
    detector::decode_yolo_head(h.data_as<float>(), gh, gw, head, net_w, net_h, thr, t, cpu);
    ASSERT_GT(cpu.size(), 20u) << "the test head should yield candidates";

    // Room for every candidate (the random head passes the threshold in ~9k (cell, anchor, class)s).
    constexpr int kCapacity = 1 << 15;
    ASSERT_LT(cpu.size(), static_cast<size_t>(kCapacity));
    DeviceBuffer dhead(h.bytes()), dout(sizeof(detector::cuda::GpuDetection) * kCapacity),
        dcount(sizeof(int));
    dhead.upload(h.data(), h.bytes());
    CUDA_CHECK(cudaMemset(dcount.get(), 0, sizeof(int)));
    detector::cuda::GpuDecodeArgs a = detector::cuda::make_decode_args(head, gh, gw, net_w, net_h, thr, t);
    a.head = dhead.as<float>();
    a.out = dout.as<detector::cuda::GpuDetection>();
    a.count = dcount.as<int>();
    a.capacity = kCapacity;
    detector::cuda::launch_decode_yolo(a, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    int count = 0;
    dcount.download(&count, sizeof(int));
    ASSERT_LE(count, kCapacity);
    std::vector<detector::cuda::GpuDetection> gpu(static_cast<size_t>(count));
    dout.download(gpu.data(), gpu.size() * sizeof(detector::cuda::GpuDetection));

    // Candidates within 1e-5 of the threshold may fall either way (expf vs std::exp): left out.
    auto near = [&](float v) { return std::fabs(v - thr) < 1e-5f; };
    std::vector<Key> a_keys, b_keys;
    for (const auto& d : cpu)
        if (!near(d.score) && !near(d.objectness)) a_keys.push_back(key_of(d.class_id, d.score, d.box));
    for (const auto& d : gpu)
        if (!near(d.score) && !near(d.objectness))
            b_keys.push_back(key_of(d.class_id, d.score, {d.x1, d.y1, d.x2, d.y2}));
    std::sort(a_keys.begin(), a_keys.end());
    std::sort(b_keys.begin(), b_keys.end());
    ASSERT_EQ(a_keys.size(), b_keys.size());
    for (size_t i = 0; i < a_keys.size(); ++i) {
        const auto& [ca, sa, x1a, y1a, x2a, y2a] = a_keys[i];
        const auto& [cb, sb, x1b, y1b, x2b, y2b] = b_keys[i];
        ASSERT_EQ(ca, cb) << i;
        EXPECT_NEAR(sa, sb, 1e-5) << i;
        EXPECT_NEAR(x1a, x1b, 1e-3) << i;
        EXPECT_NEAR(y1a, y1b, 1e-3) << i;
        EXPECT_NEAR(x2a, x2b, 1e-3) << i;
        EXPECT_NEAR(y2a, y2b, 1e-3) << i;
    }

    // A capacity smaller than the candidates: the count is still the full count, nothing overruns.
    CUDA_CHECK(cudaMemset(dcount.get(), 0, sizeof(int)));
    a.capacity = 3;
    detector::cuda::launch_decode_yolo(a, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    int again = 0;
    dcount.download(&again, sizeof(int));
    EXPECT_EQ(again, count);
}

}  // namespace
