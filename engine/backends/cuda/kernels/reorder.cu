#include <cmath>
#include <utility>

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
                                int cols, int64_t xbs, int64_t ybs, int tiles_c, int64_t tiles, float x_scale,
                                float y_scale) {
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
                    tile[j][threadIdx.x] = to_real(xs[static_cast<int64_t>(r) * cols + c], x_scale);
            }
            __syncthreads();
            for (int j = threadIdx.y; j < kTile; j += kTileRows) {
                const int c = c0 + j, r = r0 + threadIdx.x;
                if (r < rows && c < cols)
                    ys[static_cast<int64_t>(c) * rows + r] = from_real<Tout>(tile[threadIdx.x][j], y_scale);
            }
            __syncthreads();
        }
    }
}

// Few rows (NCHW -> NHWC of an image, C <= 8): one thread per column reads its `rows` values (coalesced
// across the warp) and writes them contiguously.
template <typename Tin, typename Tout, int R>
__global__ void transpose_few_rows(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int cols,
                                   int64_t xbs, int64_t ybs, float x_scale, float y_scale) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
#pragma unroll
            for (int r = 0; r < R; ++r)
                ys[static_cast<int64_t>(c) * R + r] =
                    from_real<Tout>(to_real(xs[static_cast<int64_t>(r) * cols + c], x_scale), y_scale);
        }
    }
}

// An element's bits, zero-extended (the words transpose_few_rows_x4 packs).
__device__ __forceinline__ uint32_t elem_bits(int8_t v) { return static_cast<uint8_t>(v); }
__device__ __forceinline__ uint32_t elem_bits(__half v) { return __half_as_ushort(v); }
__device__ __forceinline__ uint32_t elem_bits(float v) { return __float_as_uint(v); }

// transpose_few_rows, four columns a thread (cols a multiple of 4, x aligned for 4-element loads, y
// and its batch stride to 4 bytes): R vector loads, the 4 x R outputs packed into R * sizeof(Tout)
// 32-bit stores. For the network's input (3 x 416 x 416 floats to s8 NHWC) one column a thread made 3
// byte stores a pixel, and the Reorder ran at about half the memory's rate (0.114 ms at batch 64 on an
// H100, the bytes moved worth about 0.05).
template <typename Tin, typename Tout, int R>
__global__ void transpose_few_rows_x4(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int cols,
                                      int64_t xbs, int64_t ybs, float x_scale, float y_scale) {
    constexpr int S = static_cast<int>(sizeof(Tout)), NW = R * S;  // the words a thread writes
    const int quads = cols / 4;
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int q = blockIdx.x * blockDim.x + threadIdx.x; q < quads; q += gridDim.x * blockDim.x) {
            uint32_t w[NW] = {};
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const Vec<Tin, 4> v = load_vec<Tin, 4>(xs + static_cast<int64_t>(r) * cols + 4 * q);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int byte = (e * R + r) * S;  // column 4q + e, row r: NHWC element (4q + e) R + r
                    w[byte / 4] |= elem_bits(from_real<Tout>(to_real(v.v[e], x_scale), y_scale))
                                   << (8 * (byte % 4));
                }
            }
            auto* dst = reinterpret_cast<uint32_t*>(ys + static_cast<int64_t>(q) * 4 * R);
#pragma unroll
            for (int j = 0; j < NW; ++j) dst[j] = w[j];
        }
    }
}

// Few columns (NHWC -> NCHW with C <= 8): one thread per row.
template <typename Tin, typename Tout, int C>
__global__ void transpose_few_cols(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int rows,
                                   int64_t xbs, int64_t ybs, float x_scale, float y_scale) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += gridDim.x * blockDim.x) {
#pragma unroll
            for (int c = 0; c < C; ++c)
                ys[static_cast<int64_t>(c) * rows + r] =
                    from_real<Tout>(to_real(xs[static_cast<int64_t>(r) * C + c], x_scale), y_scale);
        }
    }
}

template <typename Tin, typename Tout>
__global__ void convert_kernel(const Tin* __restrict__ x, Tout* __restrict__ y, int batch, int64_t sample,
                               int64_t xbs, int64_t ybs, float x_scale, float y_scale) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const Tin* xs = x + n * xbs;
        Tout* ys = y + n * ybs;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < sample;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x)
            ys[i] = from_real<Tout>(to_real(xs[i], x_scale), y_scale);
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

// F32 NCHW (C <= 4 planes) -> s8 NHWC padded to 4 channels, four pixels a thread: C 16-byte loads, one
// 16-byte store (pixels a multiple of 4; x, its batch stride and y aligned for them).
template <int C>
__global__ void quantize_nchw_to_nhwc4_x4(const float* __restrict__ x, int8_t* __restrict__ y, int batch,
                                          int64_t pixels, int64_t xbs, float scale, float inv) {
    static_assert(C >= 1 && C <= 4, "at most 4 channels");
    const int64_t quads = pixels / 4;
    for (int n = blockIdx.y; n < batch; n += gridDim.y)
        for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < quads;
             q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            uint32_t w[4] = {0, 0, 0, 0};  // pixel e's word: channel r in byte r
#pragma unroll
            for (int r = 0; r < C; ++r) {
                const Vec<float, 4> v = load_vec<float, 4>(x + n * xbs + r * pixels + 4 * q);
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    w[e] |= static_cast<uint32_t>(static_cast<uint8_t>(quantize_s8_dev(v.v[e], scale, inv)))
                            << (8 * r);
            }
            *reinterpret_cast<uint4*>(y + (n * pixels + 4 * q) * 4) = make_uint4(w[0], w[1], w[2], w[3]);
        }
}

// The same for any C <= padded_c and alignment: one pixel a thread, padded_c / 4 word stores.
__global__ void quantize_nchw_to_nhwc_padded_kernel(const float* __restrict__ x, int8_t* __restrict__ y,
                                                    int batch, int c, int64_t pixels, int padded_c,
                                                    int64_t xbs, float scale, float inv) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y)
        for (int64_t px = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; px < pixels;
             px += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            auto* dst = reinterpret_cast<uint32_t*>(y + (n * pixels + px) * padded_c);
            for (int j = 0; j < padded_c / 4; ++j) {
                uint32_t w = 0;
                for (int b = 0; b < 4 && 4 * j + b < c; ++b)
                    w |= static_cast<uint32_t>(static_cast<uint8_t>(
                             quantize_s8_dev(x[n * xbs + (4 * j + b) * pixels + px], scale, inv)))
                         << (8 * b);
                dst[j] = w;
            }
        }
}

template <typename Tin, typename Tout, int K>
bool try_few(const Tin* x, Tout* y, int batch, int64_t rows, int64_t cols, int64_t xbs, int64_t ybs,
             float x_scale, float y_scale, cudaStream_t s) {
    if (rows == K) {
        if (cols % 4 == 0 && xbs % 4 == 0 && aligned_to(x, 4 * sizeof(Tin)) && aligned_to(y, 4) &&
            (ybs * static_cast<int64_t>(sizeof(Tout))) % 4 == 0)
            transpose_few_rows_x4<Tin, Tout, K><<<grid_2d(cols / 4, batch), kThreads, 0, s>>>(
                x, y, batch, static_cast<int>(cols), xbs, ybs, x_scale, y_scale);
        else
            transpose_few_rows<Tin, Tout, K><<<grid_2d(cols, batch), kThreads, 0, s>>>(
                x, y, batch, static_cast<int>(cols), xbs, ybs, x_scale, y_scale);
        return true;
    }
    if (cols == K) {
        transpose_few_cols<Tin, Tout, K><<<grid_2d(rows, batch), kThreads, 0, s>>>(
            x, y, batch, static_cast<int>(rows), xbs, ybs, x_scale, y_scale);
        return true;
    }
    return false;
}

template <typename Tin, typename Tout>
void transpose_typed(const Tin* x, Tout* y, int batch, int64_t rows, int64_t cols, int64_t xbs, int64_t ybs,
                     float x_scale, float y_scale, cudaStream_t s) {
    if (try_few<Tin, Tout, 1>(x, y, batch, rows, cols, xbs, ybs, x_scale, y_scale, s) ||
        try_few<Tin, Tout, 2>(x, y, batch, rows, cols, xbs, ybs, x_scale, y_scale, s) ||
        try_few<Tin, Tout, 3>(x, y, batch, rows, cols, xbs, ybs, x_scale, y_scale, s) ||
        try_few<Tin, Tout, 4>(x, y, batch, rows, cols, xbs, ybs, x_scale, y_scale, s) ||
        try_few<Tin, Tout, 8>(x, y, batch, rows, cols, xbs, ybs, x_scale, y_scale, s))
        return;
    const int tiles_c = static_cast<int>((cols + kTile - 1) / kTile);
    const int64_t tiles = ((rows + kTile - 1) / kTile) * tiles_c;
    const dim3 grid(static_cast<unsigned int>(tiles < 16384 ? tiles : 16384), batch < 65535 ? batch : 65535);
    transpose_tiled<Tin, Tout><<<grid, dim3(kTile, kTileRows), 0, s>>>(x, y, batch, static_cast<int>(rows),
                                                                       static_cast<int>(cols), xbs, ybs,
                                                                       tiles_c, tiles, x_scale, y_scale);
}

// Calls f(X{}, Y{}) with the C++ element types of xt and yt.
template <typename F>
void dispatch_types(ElemType xt, ElemType yt, F&& f) {
    auto with_y = [&](auto tin) {
        if (yt == ElemType::F32) return f(tin, float{});
        if (yt == ElemType::F16) return f(tin, __half{});
        return f(tin, int8_t{});
    };
    if (xt == ElemType::F32) return with_y(float{});
    if (xt == ElemType::F16) return with_y(__half{});
    return with_y(int8_t{});
}

// The scales of S8 conversions are divisors and factors: a scale that is not a finite value > 0 is a bug
// of the caller (the backend refuses uncalibrated values before any launch).
void check_scales(ElemType xt, ElemType yt, float x_scale, float y_scale, const char* what) {
    for (const auto& [t, s] : {std::pair{xt, x_scale}, std::pair{yt, y_scale}})
        ENGINE_CHECK(t != ElemType::S8 || (s > 0 && std::isfinite(s)), "cuda ", what, ": s8 scale ", s,
                     " is not a finite value > 0");
}

}  // namespace

void launch_transpose(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t rows, int64_t cols,
                      int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream, float x_scale,
                      float y_scale) {
    ENGINE_CHECK(rows < INT32_MAX && cols < INT32_MAX, "cuda transpose: ", rows, " x ", cols,
                 " is too large");
    check_scales(xt, yt, x_scale, y_scale, "transpose");
    if (batch <= 0 || rows <= 0 || cols <= 0) return;
    dispatch_types(xt, yt, [&](auto tin, auto tout) {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        transpose_typed(static_cast<const Tin*>(x), static_cast<Tout*>(y), batch, rows, cols, x_batch_stride,
                        y_batch_stride, x_scale, y_scale, stream);
    });
    CUDA_CHECK(cudaGetLastError());
}

void launch_convert(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t sample,
                    int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream, float x_scale,
                    float y_scale) {
    check_scales(xt, yt, x_scale, y_scale, "convert");
    if (batch <= 0 || sample <= 0) return;
    dispatch_types(xt, yt, [&](auto tin, auto tout) {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        convert_kernel<Tin, Tout><<<grid_2d(sample, batch), kThreads, 0, stream>>>(
            static_cast<const Tin*>(x), static_cast<Tout*>(y), batch, sample, x_batch_stride, y_batch_stride,
            x_scale, y_scale);
    });
    CUDA_CHECK(cudaGetLastError());
}

void launch_quantize_nchw_to_nhwc_padded(const float* x, int8_t* y, int batch, int c, int64_t pixels,
                                         int padded_c, int64_t x_batch_stride, float y_scale,
                                         cudaStream_t stream) {
    ENGINE_CHECK(c > 0 && padded_c >= c && padded_c % 4 == 0 && aligned_to(y, 4), "cuda quantize: ", c,
                 " channels padded to ", padded_c, " (a multiple of 4, into 4-byte aligned memory)");
    check_scales(ElemType::F32, ElemType::S8, 1.f, y_scale, "quantize");
    if (batch <= 0 || pixels <= 0) return;
    const float inv = 1.f / y_scale;
    if (padded_c == 4 && pixels % 4 == 0 && x_batch_stride % 4 == 0 && aligned_to(x, 16) &&
        aligned_to(y, 16)) {
        const dim3 grid = grid_2d(pixels / 4, batch);
        if (c == 3)
            quantize_nchw_to_nhwc4_x4<3>
                <<<grid, kThreads, 0, stream>>>(x, y, batch, pixels, x_batch_stride, y_scale, inv);
        else if (c == 1)
            quantize_nchw_to_nhwc4_x4<1>
                <<<grid, kThreads, 0, stream>>>(x, y, batch, pixels, x_batch_stride, y_scale, inv);
        else if (c == 2)
            quantize_nchw_to_nhwc4_x4<2>
                <<<grid, kThreads, 0, stream>>>(x, y, batch, pixels, x_batch_stride, y_scale, inv);
        else
            quantize_nchw_to_nhwc4_x4<4>
                <<<grid, kThreads, 0, stream>>>(x, y, batch, pixels, x_batch_stride, y_scale, inv);
    } else {
        quantize_nchw_to_nhwc_padded_kernel<<<grid_2d(pixels, batch), kThreads, 0, stream>>>(
            x, y, batch, c, pixels, padded_c, x_batch_stride, y_scale, inv);
    }
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
