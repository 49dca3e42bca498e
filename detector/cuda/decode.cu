#include "detector/cuda/decode.cuh"
#include "engine/backends/cuda/cuda_util.h"

namespace detector::cuda {
namespace {

constexpr int kThreads = 256;

// 1 / (1 + exp(-x)) rounded as the CPU's float expression (std::exp on a float: correctly rounded in
// practice, which exp in double then one rounding reproduces; expf on the GPU may be 2 ulp off).
__device__ __forceinline__ float sigmoid(float x) {
    const float e = static_cast<float>(exp(-static_cast<double>(x)));
    return __fdiv_rn(1.f, __fadd_rn(1.f, e));
}
__device__ __forceinline__ float fexp(float x) { return static_cast<float>(exp(static_cast<double>(x))); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float div(float a, float b) { return __fdiv_rn(a, b); }

__device__ __forceinline__ float clampf(float v, float lo, float hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// One thread per (anchor, cell).
__global__ void decode_kernel(GpuDecodeArgs a) {
    const int plane = a.gh * a.gw;
    const int total = a.num_anchors * plane;
    const int stride_c = 5 + a.classes;
    const float s = a.scale_x_y;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
        const int anchor = i / plane;
        const int cell = i - anchor * plane;
        const float* base = a.head + static_cast<int64_t>(anchor) * stride_c * plane;
        const float obj = sigmoid(base[4 * plane + cell]);
        if (!(obj > a.conf_threshold)) continue;
        const int row = cell / a.gw, col = cell - (cell / a.gw) * a.gw;
        const float nw = static_cast<float>(a.net_w), nh = static_cast<float>(a.net_h);
        // The CPU decoder's expressions (detector/yolo_decode.cpp, InputTransform::to_image), rounded alike.
        const float half_s = div(sub(s, 1.f), 2.f);
        const float bx = div(sub(add(static_cast<float>(col), mul(sigmoid(base[cell]), s)), half_s),
                             static_cast<float>(a.gw));
        const float by = div(sub(add(static_cast<float>(row), mul(sigmoid(base[plane + cell]), s)), half_s),
                             static_cast<float>(a.gh));
        const float bw = div(mul(fexp(base[2 * plane + cell]), a.anchors[2 * anchor]), nw);
        const float bh = div(mul(fexp(base[3 * plane + cell]), a.anchors[2 * anchor + 1]), nh);
        const float hw = div(bw, 2.f), hh = div(bh, 2.f);
        const float iw = static_cast<float>(a.image_w), ih = static_cast<float>(a.image_h);
        const float x1 = clampf(div(sub(mul(sub(bx, hw), nw), a.pad_x), a.scale_x), 0.f, iw);
        const float y1 = clampf(div(sub(mul(sub(by, hh), nh), a.pad_y), a.scale_y), 0.f, ih);
        const float x2 = clampf(div(sub(mul(add(bx, hw), nw), a.pad_x), a.scale_x), 0.f, iw);
        const float y2 = clampf(div(sub(mul(add(by, hh), nh), a.pad_y), a.scale_y), 0.f, ih);
        for (int c = 0; c < a.classes; ++c) {
            const float score = mul(obj, sigmoid(base[static_cast<int64_t>(5 + c) * plane + cell]));
            if (!(score > a.conf_threshold)) continue;
            const int k = atomicAdd(a.count, 1);
            if (k < a.capacity) a.out[k] = {x1, y1, x2, y2, score, obj, c, a.order_base + i * a.classes + c};
        }
    }
}

}  // namespace

GpuDecodeArgs make_decode_args(const YoloHead& head, int gh, int gw, int net_w, int net_h,
                               float conf_threshold, const InputTransform& t) {
    ENGINE_CHECK(head.num_anchors() >= 1 && head.num_anchors() <= kMaxGpuAnchors, "gpu decode: head '",
                 head.output, "' has ", head.num_anchors(), " anchors (1..", kMaxGpuAnchors, " supported)");
    GpuDecodeArgs a;
    a.gh = gh;
    a.gw = gw;
    a.num_anchors = head.num_anchors();
    for (size_t i = 0; i < head.anchors.size(); ++i) a.anchors[i] = head.anchors[i];
    a.classes = head.classes;
    a.scale_x_y = head.scale_x_y;
    a.net_w = net_w;
    a.net_h = net_h;
    a.conf_threshold = conf_threshold;
    a.scale_x = t.scale_x;
    a.scale_y = t.scale_y;
    a.pad_x = t.pad_x;
    a.pad_y = t.pad_y;
    a.image_w = t.image_w;
    a.image_h = t.image_h;
    return a;
}

void launch_decode_yolo(const GpuDecodeArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.head != nullptr && a.out != nullptr && a.count != nullptr, "gpu decode: missing buffers");
    ENGINE_CHECK(a.gh > 0 && a.gw > 0 && a.classes > 0 && a.num_anchors > 0, "gpu decode: empty head");
    const int total = a.num_anchors * a.gh * a.gw;
    decode_kernel<<<engine::cuda::grid_1d(total, kThreads, 4096), kThreads, 0, stream>>>(a);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace detector::cuda
