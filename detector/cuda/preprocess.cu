#include <cuda_fp16.h>

#include <cmath>

#include "detector/cuda/preprocess.cuh"
#include "engine/backends/cuda/cuda_util.h"

namespace detector::cuda {
namespace {

constexpr float kInv255 = 1.f / 255.f;
constexpr int kThreads = 256;

// Each expression below is rounded as the CPU version rounds it (no fused multiply-add), so the
// results agree with detector/preprocess.cpp to the last bit or so.
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

__device__ __forceinline__ float px(const uint8_t* img, int64_t stride, int x, int y, int ch) {
    return static_cast<float>(img[y * stride + 3 * x + ch]);
}

__device__ __forceinline__ void store(void* out, InputLayout layout, int net_w, int net_h, int x, int y,
                                      int k, float v) {
    if (layout == InputLayout::NchwF32)
        static_cast<float*>(out)[(static_cast<int64_t>(k) * net_h + y) * net_w + x] = v;
    else
        static_cast<__half*>(out)[(static_cast<int64_t>(y) * net_w + x) * 3 + k] = __float2half_rn(v);
}

// darknet resize_image(): the horizontal pass value of source row r at output column c.
__device__ __forceinline__ float darknet_h(const GpuPreprocessArgs& a, float w_scale, int r, int c, int ch) {
    if (c == a.net_w - 1 || a.width == 1) return mul(px(a.image, a.row_stride, a.width - 1, r, ch), kInv255);
    const float sx = mul(static_cast<float>(c), w_scale);
    const int ix = static_cast<int>(sx);
    const float dx = sub(sx, static_cast<float>(ix));
    return add(mul(sub(1.f, dx), mul(px(a.image, a.row_stride, ix, r, ch), kInv255)),
               mul(dx, mul(px(a.image, a.row_stride, ix + 1, r, ch), kInv255)));
}

__global__ void darknet_kernel(GpuPreprocessArgs a) {
    const float w_scale = static_cast<float>(a.width - 1) / static_cast<float>(a.net_w - 1);
    const float h_scale = static_cast<float>(a.height - 1) / static_cast<float>(a.net_h - 1);
    const int64_t total = static_cast<int64_t>(a.net_w) * a.net_h;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int c = static_cast<int>(i % a.net_w);
        const int r = static_cast<int>(i / a.net_w);
        const float sy = mul(static_cast<float>(r), h_scale);
        const int iy = static_cast<int>(sy);
        const float dy = sub(sy, static_cast<float>(iy));
        for (int k = 0; k < 3; ++k) {
            const int ch = 2 - k;
            float v = mul(sub(1.f, dy), darknet_h(a, w_scale, iy, c, ch));
            if (!(r == a.net_h - 1 || a.height == 1))
                v = add(v, mul(dy, darknet_h(a, w_scale, iy + 1, c, ch)));
            store(a.out, a.layout, a.net_w, a.net_h, c, r, k, v);
        }
    }
}

// Half-pixel bilinear of the image into the window [ox, ox + ww) x [oy, oy + wh); pad_value elsewhere.
__global__ void half_pixel_kernel(GpuPreprocessArgs a, int ww, int wh, int ox, int oy) {
    const float sx = static_cast<float>(a.width) / static_cast<float>(ww);
    const float sy = static_cast<float>(a.height) / static_cast<float>(wh);
    const int64_t total = static_cast<int64_t>(a.net_w) * a.net_h;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int c = static_cast<int>(i % a.net_w);
        const int r = static_cast<int>(i / a.net_w);
        const int x = c - ox, y = r - oy;
        if (x < 0 || y < 0 || x >= ww || y >= wh) {
            for (int k = 0; k < 3; ++k) store(a.out, a.layout, a.net_w, a.net_h, c, r, k, a.pad_value);
            continue;
        }
        float fy = sub(mul(add(static_cast<float>(y), 0.5f), sy), 0.5f);
        if (fy < 0) fy = 0;
        int y0 = static_cast<int>(fy);
        if (y0 > a.height - 1) y0 = a.height - 1;
        const int y1 = min(y0 + 1, a.height - 1);
        const float wy = sub(fy, static_cast<float>(y0));
        float fx = sub(mul(add(static_cast<float>(x), 0.5f), sx), 0.5f);
        if (fx < 0) fx = 0;
        const int x0 = min(static_cast<int>(fx), a.width - 1);
        const int x1 = min(x0 + 1, a.width - 1);
        const float wx = sub(fx, static_cast<float>(x0));
        for (int k = 0; k < 3; ++k) {
            const int ch = 2 - k;
            const float top = add(mul(px(a.image, a.row_stride, x0, y0, ch), sub(1.f, wx)),
                                  mul(px(a.image, a.row_stride, x1, y0, ch), wx));
            const float bot = add(mul(px(a.image, a.row_stride, x0, y1, ch), sub(1.f, wx)),
                                  mul(px(a.image, a.row_stride, x1, y1, ch), wx));
            store(a.out, a.layout, a.net_w, a.net_h, c, r, k,
                  mul(add(mul(top, sub(1.f, wy)), mul(bot, wy)), kInv255));
        }
    }
}

}  // namespace

void launch_preprocess(const GpuPreprocessArgs& a, const InputTransform& t, cudaStream_t stream) {
    ENGINE_CHECK(a.image != nullptr && a.width > 0 && a.height > 0, "gpu preprocess: empty image");
    ENGINE_CHECK(a.row_stride >= 3 * static_cast<int64_t>(a.width), "gpu preprocess: row stride ",
                 a.row_stride, " is less than 3 * width ", a.width);
    ENGINE_CHECK(a.net_w > 1 && a.net_h > 1, "gpu preprocess: network input ", a.net_w, "x", a.net_h,
                 " too small");
    ENGINE_CHECK(a.out != nullptr, "gpu preprocess: no output buffer");
    const unsigned int blocks =
        engine::cuda::grid_1d(static_cast<int64_t>(a.net_w) * a.net_h, kThreads, 4096);
    switch (a.policy) {
        case ResizePolicy::Darknet:
            darknet_kernel<<<blocks, kThreads, 0, stream>>>(a);
            break;
        case ResizePolicy::Stretch:
            half_pixel_kernel<<<blocks, kThreads, 0, stream>>>(a, a.net_w, a.net_h, 0, 0);
            break;
        case ResizePolicy::Letterbox: {
            const int new_w = static_cast<int>(std::lround(t.scale_x * static_cast<float>(a.width)));
            const int new_h = static_cast<int>(std::lround(t.scale_y * static_cast<float>(a.height)));
            half_pixel_kernel<<<blocks, kThreads, 0, stream>>>(a, new_w, new_h, static_cast<int>(t.pad_x),
                                                               static_cast<int>(t.pad_y));
            break;
        }
    }
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace detector::cuda
