#include "detector/cuda/gpu_path.h"

#include <algorithm>
#include <cstring>

#include "detector/cuda/decode.cuh"
#include "detector/cuda/preprocess.cuh"
#include "detector/yolo_decode.h"
#include "engine/backends/cuda/cuda_util.h"
#include "engine/core/log.h"

namespace detector::cuda {

using engine::cuda::DeviceBuffer;
using engine::cuda::PinnedBuffer;

// ---- GpuPreprocessor ----

bool is_pinned(const void* p) {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return a.type == cudaMemoryTypeHost;
}

struct GpuPreprocessor::Impl {
    cudaStream_t stream = nullptr;
    std::vector<PinnedBuffer> staging;  // per batch slot: the frame, rows packed (3 * width bytes)
    std::vector<DeviceBuffer> frames;   // per batch slot: its device copy
};

GpuPreprocessor::GpuPreprocessor(int max_batch, void* stream) : impl_(std::make_unique<Impl>()) {
    ENGINE_CHECK(max_batch >= 1, "gpu preprocess: max batch must be >= 1, got ", max_batch);
    impl_->stream = static_cast<cudaStream_t>(stream);
    impl_->staging.resize(static_cast<size_t>(max_batch));
    impl_->frames.resize(static_cast<size_t>(max_batch));
}

GpuPreprocessor::~GpuPreprocessor() = default;

void GpuPreprocessor::run(std::span<const ImageView> images, ResizePolicy policy, int net_w, int net_h,
                          float pad_value, float* out, std::span<InputTransform> transforms) {
    Impl& m = *impl_;
    ENGINE_CHECK(images.size() <= m.staging.size(), "gpu preprocess: ", images.size(),
                 " images for a max batch of ", m.staging.size());
    ENGINE_CHECK(transforms.size() >= images.size(), "gpu preprocess: room for ", transforms.size(),
                 " transforms, ", images.size(), " images");
    ENGINE_CHECK(net_w > 1 && net_h > 1, "gpu preprocess: network input ", net_w, "x", net_h, " too small");
    const size_t sample = static_cast<size_t>(3) * net_w * net_h;
    for (size_t b = 0; b < images.size(); ++b) {
        const ImageView& img = images[b];
        ENGINE_CHECK(img.data != nullptr && img.width > 0 && img.height > 0, "preprocess: image ", b,
                     " of the batch is empty");
        const size_t row = static_cast<size_t>(3) * img.width;
        ENGINE_CHECK(img.row_stride >= static_cast<int64_t>(row), "preprocess: image ", b, " has row stride ",
                     img.row_stride, ", less than 3 * width ", img.width);
        const size_t bytes = row * static_cast<size_t>(img.height);
        // Grown (never shrunk) to the largest frame: the previous run's copies are done (run() waits).
        if (m.frames[b].bytes() < bytes) m.frames[b] = DeviceBuffer(bytes);
        if (is_pinned(img.data)) {
            // Page-locked frame (detector/gpu_host.h): straight to the device, no staging copy.
            CUDA_CHECK(cudaMemcpy2DAsync(m.frames[b].get(), row, img.data,
                                         static_cast<size_t>(img.row_stride), row,
                                         static_cast<size_t>(img.height), cudaMemcpyHostToDevice, m.stream));
        } else {
            if (m.staging[b].bytes() < bytes) m.staging[b] = PinnedBuffer(bytes);
            auto* dst = static_cast<uint8_t*>(m.staging[b].get());
            if (img.row_stride == static_cast<int64_t>(row)) {
                std::memcpy(dst, img.data, bytes);
            } else {
                for (int y = 0; y < img.height; ++y)
                    std::memcpy(dst + static_cast<size_t>(y) * row, img.data + y * img.row_stride, row);
            }
            CUDA_CHECK(cudaMemcpyAsync(m.frames[b].get(), dst, bytes, cudaMemcpyHostToDevice, m.stream));
        }
        transforms[b] = make_transform(policy, img.width, img.height, net_w, net_h);
        GpuPreprocessArgs a;
        a.image = m.frames[b].as<uint8_t>();
        a.width = img.width;
        a.height = img.height;
        a.row_stride = static_cast<int64_t>(row);
        a.policy = policy;
        a.net_w = net_w;
        a.net_h = net_h;
        a.pad_value = pad_value;
        a.out = out + b * sample;
        a.layout = InputLayout::NchwF32;
        launch_preprocess(a, transforms[b], m.stream);
    }
    CUDA_CHECK(cudaStreamSynchronize(m.stream));
}

// ---- GpuDecoder ----

struct GpuDecoder::Impl {
    std::vector<YoloHead> heads;
    cudaStream_t stream = nullptr;
    int capacity = 0;
    DeviceBuffer candidates;  // max_batch * capacity GpuDetection
    DeviceBuffer counts;      // max_batch int
    PinnedBuffer host_counts;
    PinnedBuffer host_candidates;  // grown to the most candidates of one run
    std::vector<GpuDetection> sorted;
    std::vector<float> host_head;  // overflow fallback: one head of one image
    int overflows = 0;
};

GpuDecoder::GpuDecoder(std::vector<YoloHead> heads, int max_batch, void* stream, int capacity)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    ENGINE_CHECK(max_batch >= 1, "gpu decode: max batch must be >= 1, got ", max_batch);
    ENGINE_CHECK(capacity >= 1, "gpu decode: capacity must be >= 1, got ", capacity);
    ENGINE_CHECK(!heads.empty(), "gpu decode: no heads");
    m.heads = std::move(heads);
    m.stream = static_cast<cudaStream_t>(stream);
    m.capacity = capacity;
    const size_t slots = static_cast<size_t>(max_batch) * static_cast<size_t>(capacity);
    m.candidates = DeviceBuffer(slots * sizeof(GpuDetection));
    m.counts = DeviceBuffer(static_cast<size_t>(max_batch) * sizeof(int));
    m.host_counts = PinnedBuffer(static_cast<size_t>(max_batch) * sizeof(int));
}

GpuDecoder::~GpuDecoder() = default;

int GpuDecoder::overflows() const { return impl_->overflows; }

void GpuDecoder::run(std::span<const GpuHead> heads, int n, int net_w, int net_h, float conf_threshold,
                     std::span<const InputTransform> transforms, std::vector<std::vector<Detection>>& out) {
    Impl& m = *impl_;
    const size_t max_batch = m.counts.bytes() / sizeof(int);
    ENGINE_CHECK(n >= 1 && static_cast<size_t>(n) <= max_batch, "gpu decode: batch ", n,
                 " for a max batch of ", max_batch);
    ENGINE_CHECK(heads.size() == m.heads.size(), "gpu decode: ", heads.size(), " head outputs for ",
                 m.heads.size(), " heads");
    ENGINE_CHECK(transforms.size() >= static_cast<size_t>(n) && out.size() >= static_cast<size_t>(n),
                 "gpu decode: fewer transforms or result vectors than images");
    auto* cand = m.candidates.as<GpuDetection>();
    auto* counts = m.counts.as<int>();
    CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(n) * sizeof(int), m.stream));
    for (int b = 0; b < n; ++b) {
        int order_base = 0;
        for (size_t h = 0; h < heads.size(); ++h) {
            const YoloHead& desc = m.heads[h];
            const GpuHead& gh = heads[h];
            GpuDecodeArgs a = make_decode_args(desc, gh.gh, gh.gw, net_w, net_h, conf_threshold,
                                               transforms[static_cast<size_t>(b)]);
            const size_t sample =
                static_cast<size_t>(desc.num_anchors()) * (5 + desc.classes) * gh.gh * gh.gw;
            a.head = gh.data + static_cast<size_t>(b) * sample;
            a.out = cand + static_cast<size_t>(b) * m.capacity;
            a.count = counts + b;
            a.capacity = m.capacity;
            a.order_base = order_base;
            order_base += desc.num_anchors() * gh.gh * gh.gw * desc.classes;
            launch_decode_yolo(a, m.stream);
        }
    }
    auto* host_counts = static_cast<int*>(m.host_counts.get());
    CUDA_CHECK(cudaMemcpyAsync(host_counts, counts, static_cast<size_t>(n) * sizeof(int),
                               cudaMemcpyDeviceToHost, m.stream));
    CUDA_CHECK(cudaStreamSynchronize(m.stream));
    size_t total = 0;
    for (int b = 0; b < n; ++b) total += static_cast<size_t>(std::min(host_counts[b], m.capacity));
    if (m.host_candidates.bytes() < total * sizeof(GpuDetection))
        m.host_candidates = PinnedBuffer(std::max<size_t>(total, 1024) * sizeof(GpuDetection));
    auto* host_cand = static_cast<GpuDetection*>(m.host_candidates.get());
    size_t offset = 0;
    for (int b = 0; b < n; ++b) {
        const size_t k = static_cast<size_t>(std::min(host_counts[b], m.capacity));
        if (k > 0 && host_counts[b] <= m.capacity)
            CUDA_CHECK(cudaMemcpyAsync(host_cand + offset, cand + static_cast<size_t>(b) * m.capacity,
                                       k * sizeof(GpuDetection), cudaMemcpyDeviceToHost, m.stream));
        offset += k;
    }
    CUDA_CHECK(cudaStreamSynchronize(m.stream));
    offset = 0;
    for (int b = 0; b < n; ++b) {
        std::vector<Detection>& dets = out[static_cast<size_t>(b)];
        dets.clear();
        const int count = host_counts[b];
        const size_t k = static_cast<size_t>(std::min(count, m.capacity));
        const GpuDetection* first = host_cand + offset;
        offset += k;
        if (count > m.capacity) {
            // Too many candidates for the buffer: this image is decoded on the host, completely.
            if (m.overflows++ == 0)
                engine::logger().warn(
                    "gpu decode: an image had {} candidates above the threshold {} (buffer {}): "
                    "decoding such images on the CPU",
                    count, conf_threshold, m.capacity);
            for (size_t h = 0; h < heads.size(); ++h) {
                const YoloHead& desc = m.heads[h];
                const GpuHead& gh = heads[h];
                const size_t sample =
                    static_cast<size_t>(desc.num_anchors()) * (5 + desc.classes) * gh.gh * gh.gw;
                m.host_head.resize(sample);
                CUDA_CHECK(cudaMemcpy(m.host_head.data(), gh.data + static_cast<size_t>(b) * sample,
                                      sample * sizeof(float), cudaMemcpyDeviceToHost));
                decode_yolo_head(m.host_head.data(), gh.gh, gh.gw, desc, net_w, net_h, conf_threshold,
                                 transforms[static_cast<size_t>(b)], dets);
            }
            continue;
        }
        m.sorted.assign(first, first + k);
        std::sort(m.sorted.begin(), m.sorted.end(),
                  [](const GpuDetection& x, const GpuDetection& y) { return x.order < y.order; });
        for (const GpuDetection& d : m.sorted)
            dets.push_back({{d.x1, d.y1, d.x2, d.y2}, d.class_id, d.score, d.objectness});
    }
}

}  // namespace detector::cuda
