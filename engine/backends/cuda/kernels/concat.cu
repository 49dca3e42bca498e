#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/concat.cuh"
#include "engine/backends/cuda/kernels/device_util.cuh"

namespace engine::cuda {
namespace {

// One thread per (pixel, word of the pixel's c_in elements); all sizes in words of type W.
template <typename W>
__global__ void copy_channels_kernel(const W* __restrict__ x, W* __restrict__ y, int batch, int64_t pixels,
                                     int in_words, int out_words, int offset_words, int64_t xbs,
                                     int64_t ybs) {
    const int64_t total = pixels * in_words;
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const W* xs = x + n * xbs;
        W* ys = y + n * ybs + offset_words;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const int64_t p = i / in_words;
            const int k = static_cast<int>(i - p * in_words);
            ys[p * out_words + k] = xs[i];
        }
    }
}

bool word_fits(const ChannelCopyArgs& a, size_t word) {
    const auto wb = static_cast<int64_t>(word);
    const auto eb = static_cast<int64_t>(a.elem_size);
    return (a.c_in * eb) % wb == 0 && (a.c_out * eb) % wb == 0 && (a.c_offset * eb) % wb == 0 &&
           (a.x_batch_stride * eb) % wb == 0 && (a.y_batch_stride * eb) % wb == 0 && aligned_to(a.x, word) &&
           aligned_to(a.y, word);
}

template <typename W>
void launch_words(const ChannelCopyArgs& a, cudaStream_t stream) {
    const auto eb = static_cast<int64_t>(a.elem_size);
    const auto wb = static_cast<int64_t>(sizeof(W));
    const int in_words = static_cast<int>(a.c_in * eb / wb);
    copy_channels_kernel<W><<<grid_2d(a.pixels * in_words, a.batch), kThreads, 0, stream>>>(
        static_cast<const W*>(a.x), static_cast<W*>(a.y), a.batch, a.pixels, in_words,
        static_cast<int>(a.c_out * eb / wb), static_cast<int>(a.c_offset * eb / wb),
        a.x_batch_stride * eb / wb, a.y_batch_stride * eb / wb);
}

}  // namespace

void launch_copy_channels_nhwc(const ChannelCopyArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.elem_size == 1 || a.elem_size == 2 || a.elem_size == 4, "cuda concat: element size ",
                 a.elem_size);
    ENGINE_CHECK(a.c_offset >= 0 && a.c_offset + a.c_in <= a.c_out, "cuda concat: channels [", a.c_offset,
                 ", ", a.c_offset + a.c_in, ") outside the output's ", a.c_out);
    if (a.batch <= 0 || a.pixels <= 0 || a.c_in <= 0) return;
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
