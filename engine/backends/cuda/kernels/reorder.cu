#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/reorder.cuh"

namespace engine::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per block: kTile x kTileRows

// 32x32 tiles through shared memory: coalesced reads along cols and writes along rows.
template <typename Tin, typename Tout>
__global__ void transpose_tiled(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int rows,
                                int cols, int64_t xbs, int64_t ybs, int tiles_c, int64_t tiles) {
    __shared__ float tile[kTile][kTile + 1];
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
            const int r0 = static_cast<int>(t / tiles_c) * kTile;
            const int c0 = static_cast<int>(t % tiles_c) * kTile;
            for (int j = threadIdx.y; j < kTile; j += kTileRows) {
                const int r = r0 + j, c = c0 + threadIdx.x;
                if (r < rows && c < cols)
                    tile[j][threadIdx.x] = to_f32(xs[static_cast<int64_t>(r) * cols + c]);
            }
            __syncthreads();
            for (int j = threadIdx.y; j < kTile; j += kTileRows) {
                const int c = c0 + j, r = r0 + threadIdx.x;
                if (r < rows && c < cols)
                    ys[static_cast<int64_t>(c) * rows + r] = from_f32<Tout>(tile[threadIdx.x][j]);
            }
            __syncthreads();
        }
    }
}

// Few rows (NCHW -> NHWC of an image, C <= 8): one thread per column reads its `rows` values (coalesced
// across the warp) and writes them contiguously.
template <typename Tin, typename Tout, int R>
__global__ void transpose_few_rows(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int cols,
                                   int64_t xbs, int64_t ybs) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
#pragma unroll
            for (int r = 0; r < R; ++r)
                ys[static_cast<int64_t>(c) * R + r] =
                    from_f32<Tout>(to_f32(xs[static_cast<int64_t>(r) * cols + c]));
        }
    }
}

// Few columns (NHWC -> NCHW with C <= 8): one thread per row.
template <typename Tin, typename Tout, int C>
__global__ void transpose_few_cols(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int rows,
                                   int64_t xbs, int64_t ybs) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += gridDim.x * blockDim.x) {
#pragma unroll
            for (int c = 0; c < C; ++c)
                ys[static_cast<int64_t>(c) * rows + r] =
                    from_f32<Tout>(to_f32(xs[static_cast<int64_t>(r) * C + c]));
        }
    }
}

template <typename Tin, typename Tout>
__global__ void convert_kernel(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int64_t sample,
                               int64_t xbs, int64_t ybs) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < sample;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x)
            ys[i] = from_f32<Tout>(to_f32(xs[i]));
    }
}

template <typename T>
__global__ void pad_channels_kernel(const T* __restrict__ x, T* __restrict__ y, int batch, int64_t pixels,
                                    int c, int pc, int64_t xbs) {
    const int64_t total = pixels * pc;
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const T* xs = x + n * xbs;
        T* ys = y + n * total;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const int64_t p = i / pc;
            const int ch = static_cast<int>(i - p * pc);
            ys[i] = ch < c ? xs[p * c + ch] : T(0);
        }
    }
}

template <typename Tin, typename Tout, int K>
bool try_few(const Tin* x, Tout* y, int batch, int64_t rows, int64_t cols, int64_t xbs, int64_t ybs,
             cudaStream_t s) {
    if (rows == K) {
        transpose_few_rows<Tin, Tout, K>
            <<<grid_2d(cols, batch), kThreads, 0, s>>>(x, y, batch, static_cast<int>(cols), xbs, ybs);
        return true;
    }
    if (cols == K) {
        transpose_few_cols<Tin, Tout, K>
            <<<grid_2d(rows, batch), kThreads, 0, s>>>(x, y, batch, static_cast<int>(rows), xbs, ybs);
        return true;
    }
    return false;
}

template <typename Tin, typename Tout>
void transpose_typed(const Tin* x, Tout* y, int batch, int64_t rows, int64_t cols, int64_t xbs, int64_t ybs,
                     cudaStream_t s) {
    if (try_few<Tin, Tout, 1>(x, y, batch, rows, cols, xbs, ybs, s) ||
        try_few<Tin, Tout, 2>(x, y, batch, rows, cols, xbs, ybs, s) ||
        try_few<Tin, Tout, 3>(x, y, batch, rows, cols, xbs, ybs, s) ||
        try_few<Tin, Tout, 4>(x, y, batch, rows, cols, xbs, ybs, s) ||
        try_few<Tin, Tout, 8>(x, y, batch, rows, cols, xbs, ybs, s))
        return;
    const int tiles_c = static_cast<int>((cols + kTile - 1) / kTile);
    const int64_t tiles = ((rows + kTile - 1) / kTile) * tiles_c;
    const dim3 grid(static_cast<unsigned int>(tiles < 16384 ? tiles : 16384), batch < 65535 ? batch : 65535);
    transpose_tiled<Tin, Tout><<<grid, dim3(kTile, kTileRows), 0, s>>>(
        x, y, batch, static_cast<int>(rows), static_cast<int>(cols), xbs, ybs, tiles_c, tiles);
}

template <typename F>
void dispatch_types(ElemType xt, ElemType yt, F&& f) {
    if (xt == ElemType::F32 && yt == ElemType::F32) return f(float{}, float{});
    if (xt == ElemType::F32 && yt == ElemType::F16) return f(float{}, __half{});
    if (xt == ElemType::F16 && yt == ElemType::F32) return f(__half{}, float{});
    return f(__half{}, __half{});
}

}  // namespace

void launch_transpose(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t rows, int64_t cols,
                      int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream) {
    ENGINE_CHECK(rows < INT32_MAX && cols < INT32_MAX, "cuda transpose: ", rows, " x ", cols,
                 " is too large");
    if (batch <= 0 || rows <= 0 || cols <= 0) return;
    dispatch_types(xt, yt, [&](auto tin, auto tout) {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        transpose_typed(static_cast<const Tin*>(x), static_cast<Tout*>(y), batch, rows, cols, x_batch_stride,
                        y_batch_stride, stream);
    });
    CUDA_CHECK(cudaGetLastError());
}

void launch_convert(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t sample,
                    int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream) {
    if (batch <= 0 || sample <= 0) return;
    dispatch_types(xt, yt, [&](auto tin, auto tout) {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        convert_kernel<Tin, Tout><<<grid_2d(sample, batch), kThreads, 0, stream>>>(
            static_cast<const Tin*>(x), static_cast<Tout*>(y), batch, sample, x_batch_stride, y_batch_stride);
    });
    CUDA_CHECK(cudaGetLastError());
}

void launch_pad_channels_nhwc(const void* x, void* y, size_t elem_size, int batch, int64_t pixels, int c,
                              int padded_c, int64_t x_batch_stride, cudaStream_t stream) {
    ENGINE_CHECK(padded_c >= c && c > 0, "cuda pad_channels: ", c, " channels cannot pad to ", padded_c);
    ENGINE_CHECK(elem_size == 2 || elem_size == 4, "cuda pad_channels: element size ", elem_size);
    if (batch <= 0 || pixels <= 0) return;
    const dim3 grid = grid_2d(pixels * padded_c, batch);
    if (elem_size == 2)
        pad_channels_kernel<__half><<<grid, kThreads, 0, stream>>>(static_cast<const __half*>(x),
                                                                   static_cast<__half*>(y), batch, pixels, c,
                                                                   padded_c, x_batch_stride);
    else
        pad_channels_kernel<float><<<grid, kThreads, 0, stream>>>(
            static_cast<const float*>(x), static_cast<float*>(y), batch, pixels, c, padded_c, x_batch_stride);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace engine::cuda
