#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/resize.cuh"

namespace engine::cuda {
namespace {

// One thread per (output pixel, chunk of the pixel's C elements as W-byte words).
template <typename W>
__global__ void resize_nhwc_kernel(const W* __restrict__ x, W* __restrict__ y, int batch, int w_in, int words,
                                   int oh, int ow, const int32_t* __restrict__ hm,
                                   const int32_t* __restrict__ wm, int64_t xbs, int64_t ybs) {
    const int64_t total = static_cast<int64_t>(oh) * ow * words;
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const W* xs = x + n * xbs;
        W* ys = y + n * ybs;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const int k = static_cast<int>(i % words);
            const int64_t p = i / words;
            const int ox = static_cast<int>(p % ow);
            const int oy = static_cast<int>(p / ow);
            ys[i] = xs[(static_cast<int64_t>(__ldg(hm + oy)) * w_in + __ldg(wm + ox)) * words + k];
        }
    }
}

template <typename W>
void launch_words(const ResizeNhwcArgs& a, cudaStream_t stream) {
    const auto eb = static_cast<int64_t>(a.elem_size);
    const auto wb = static_cast<int64_t>(sizeof(W));
    const int words = static_cast<int>(a.c * eb / wb);
    const int64_t xbs = a.x_batch_stride * eb / wb;
    const int64_t ybs = a.y_batch_stride * eb / wb;
    resize_nhwc_kernel<W>
        <<<grid_2d(static_cast<int64_t>(a.oh) * a.ow * words, a.batch), kThreads, 0, stream>>>(
            static_cast<const W*>(a.x), static_cast<W*>(a.y), a.batch, a.w, words, a.oh, a.ow, a.h_map,
            a.w_map, xbs, ybs);
}

// The widest word (16, 8, 4, 2 or 1 bytes) that divides a pixel's bytes, both batch strides and both
// pointers' alignment (s8 pixels of an odd channel count go byte by byte).
bool word_fits(const ResizeNhwcArgs& a, size_t word) {
    const int64_t wb = static_cast<int64_t>(word);
    const int64_t eb = static_cast<int64_t>(a.elem_size);
    return (a.c * eb) % wb == 0 && (a.x_batch_stride * eb) % wb == 0 && (a.y_batch_stride * eb) % wb == 0 &&
           aligned_to(a.x, word) && aligned_to(a.y, word);
}

}  // namespace

void launch_resize_nearest_nhwc(const ResizeNhwcArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.elem_size == 1 || a.elem_size == 2 || a.elem_size == 4, "cuda resize: element size ",
                 a.elem_size);
    if (a.batch <= 0 || a.oh <= 0 || a.ow <= 0 || a.c <= 0) return;
    if (word_fits(a, 16))
        launch_words<uint4>(a, stream);
    else if (word_fits(a, 8))
        launch_words<uint2>(a, stream);
    else if (word_fits(a, 4))
        launch_words<uint32_t>(a, stream);
    else if (word_fits(a, 2))
        launch_words<uint16_t>(a, stream);
    else
        launch_words<uint8_t>(a, stream);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace engine::cuda
